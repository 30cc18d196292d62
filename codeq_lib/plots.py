"""Figures for the results: solve rates with 95% CIs, readable without the notebook.

Every function takes a tidy DataFrame with columns `rate`, `lo`, `hi` (the Wilson 95%
interval) and `n`, plus the grouping columns it names, and returns the matplotlib Figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the pipeline writes files, it never opens windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def rate_bars(df: pd.DataFrame, x: str, hue: str, title: str, ylabel: str = "solve rate (hidden tests)"):
    """Grouped bars of `rate` by `x` and `hue`, with asymmetric CI error bars and n on top."""
    xs = list(dict.fromkeys(df[x]))
    hues = list(dict.fromkeys(df[hue]))
    width = 0.8 / max(len(hues), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(xs) * max(1, len(hues)) / 2), 3.6))
    for i, value in enumerate(hues):
        sub = df[df[hue] == value].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) + (i - (len(hues) - 1) / 2) * width
        rate = sub["rate"].to_numpy(dtype=float)
        err = np.vstack([rate - sub["lo"].to_numpy(dtype=float), sub["hi"].to_numpy(dtype=float) - rate])
        ax.bar(pos, rate, width, yerr=np.clip(np.nan_to_num(err), 0.0, None), capsize=3, label=str(value))
        for p, r, n in zip(pos, rate, sub["n"]):
            if not np.isnan(r):
                ax.text(p, 0.01, f"n={int(n)}", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(np.arange(len(xs)), [str(v) for v in xs])
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, title=hue, title_fontsize=7)
    fig.tight_layout()
    return fig


def rate_lines(df: pd.DataFrame, x: str, hue: str, title: str, xlabel: str | None = None):
    """`rate` against a numeric `x` (rollout budget, alpha, K) per `hue`, CI as a band."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for value, sub in df.sort_values(x).groupby(hue, sort=False):
        ax.plot(sub[x], sub["rate"], marker="o", label=str(value))
        ax.fill_between(sub[x], sub["lo"], sub["hi"], alpha=0.15)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel("solve rate (hidden tests)")
    ax.set_title(title)
    ax.legend(fontsize=7, title=hue, title_fontsize=7)
    fig.tight_layout()
    return fig


def save(fig, path: str | Path) -> Path:
    """Write PNG (for the README) atomically-enough: matplotlib writes to a temp name first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)
    plt.close(fig)
    return path
