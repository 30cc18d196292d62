"""Training reports: a run's `log.jsonl` -> a per-step CSV and a figure (issue 6, item 5).

DPO logs loss, reward accuracy (how often the implicit reward ranks chosen above rejected)
and reward margins; GRPO logs loss, mean reward, its spread within groups and the solve
fraction. Whichever of these a log holds is written; the figure has one panel per metric,
so a reader sees at a glance whether a round learned anything or diverged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.io import atomic_write_text, read_jsonl

# (log key, CSV column / panel title), in the order they are drawn.
METRICS = (
    ("loss", "loss"),
    ("rewards/accuracies", "reward_accuracy"),
    ("rewards/margins", "reward_margin"),
    ("rewards/chosen", "reward_chosen"),
    ("rewards/rejected", "reward_rejected"),
    ("reward", "reward"),
    ("reward_std", "reward_std"),
    ("solved", "solved"),
    ("grad_norm", "grad_norm"),
    ("learning_rate", "learning_rate"),
)


def step_rows(log: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per logged training step (the final summary line, without a loss, is skipped).

    >>> step_rows([{"step": 1, "loss": 0.69, "rewards/margins": 0.0}, {"step": 1, "train_loss": 0.7}])
    [{'step': 1, 'loss': 0.69, 'reward_margin': 0.0}]
    """
    rows = []
    for entry in log:
        if "loss" not in entry:
            continue
        row = {"step": int(entry.get("step", len(rows) + 1))}
        row.update({column: entry[key] for key, column in METRICS if key in entry})
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns = ["step"] + [column for _, column in METRICS if any(column in row for row in rows)]
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else repr(float(row[c])) if c != "step" else str(row[c])
                              for c in columns))
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: str | os.PathLike, title: str = "training") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for _, c in METRICS if c not in ("learning_rate", "grad_norm") and any(c in r for r in rows)]
    fig, axes = plt.subplots(1, max(1, len(columns)), figsize=(3.2 * max(1, len(columns)), 2.8), squeeze=False)
    for ax, column in zip(axes[0], columns):
        points = [(r["step"], r[column]) for r in rows if column in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3)
        ax.set_title(column.replace("_", " "))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_report(log_path: str | os.PathLike, out_dir: str | os.PathLike, name: str = "train") -> dict[str, Any]:
    """Write `<name>_log.csv` and `<name>_curves.png` into `out_dir`; returns paths and counts."""
    rows = step_rows(read_jsonl(log_path))
    if not rows:
        raise ValueError(f"{log_path}: no logged training steps (no line with a 'loss')")
    out_dir = Path(out_dir)
    csv_path = atomic_write_text(out_dir / f"{name}_log.csv", to_csv(rows))
    png_path = plot(rows, out_dir / f"{name}_curves.png", title=name)
    return {"csv": str(csv_path), "figure": str(png_path), "steps": len(rows)}
