"""Result tables: per-task rows from every evaluation folder, grouped into rates with CIs.

An evaluation folder (`<root>/<policy>/<mode>@<budget>[...]/`) holds `results.jsonl` (one row
per task: solved, category, difficulty, ...) and `run.json` (the resolved search config).
`load_rows` flattens them into one DataFrame; `rate_table` groups it into solve rates with
n and a Wilson 95% CI (DESIGN.md protocol item 5). Oracle runs keep their label.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from codeq_lib.io import read_jsonl
from codeq_lib.metrics import wilson_ci

CATEGORY_ORDER = ["syntax", "reference", "logic", "multiple"]
DIFFICULTY_ORDER = ["easy", "medium", "hard"]
MODE_ORDER = ["single_pass", "best_of_n", "oracle_best_of_n", "refine", "rex", "mcts"]  # cheapest first


def load_rows(root: str | Path, policy: str | None = None) -> pd.DataFrame:
    """One row per (evaluation folder, task) under `root`; `policy` defaults to the folder's parent."""
    frames = []
    for results in sorted(Path(root).rglob("results.jsonl")):
        rows = read_jsonl(results)
        if not rows:
            continue
        run = json.loads((results.parent / "run.json").read_text()).get("config", {})
        search = run.get("search", {})
        frame = pd.DataFrame(rows)
        frame["policy"] = policy or results.parent.parent.name
        frame["run"] = results.parent.name
        frame["K"] = search.get("K")
        frame["alpha"] = search.get("alpha") if search.get("use_critic") else 1.0
        frame["early_stop"] = search.get("early_stop")
        frame["llm_calls"] = [row.get("counters", {}).get("llm_calls", 0) for row in rows]
        frame["generated_tokens"] = [row.get("counters", {}).get("generated_tokens", 0) for row in rows]
        # samples: rewrites drawn (a single-pass call is 1 greedy sample, a search call K of them)
        frame["samples"] = [row.get("counters", {}).get("samples", 0) for row in rows]
        edits = [row.get("edit") or {} for row in rows]
        frame["edit_lines"] = [e.get("lines") for e in edits]
        frame["edit_tokens"] = [e.get("tokens") for e in edits]
        frame["within_bug_lines"] = [e.get("within_bug_lines") for e in edits]
        frame["sandbox_runs"] = [row.get("counters", {}).get("sandbox_runs", 0) for row in rows]
        frames.append(frame.drop(columns=["counters", "answer_code"], errors="ignore"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def rate_table(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Solve rate, n, Wilson 95% CI and cost per solved task for each group of `by`."""
    out = []
    for key, group in rows.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        n, solved = len(group), int(group["solved"].sum())
        lo, hi = wilson_ci(solved, n)
        out.append({**dict(zip(by, key)), "n": n, "solved": solved, "rate": solved / n if n else float("nan"),
                    "lo": lo, "hi": hi,
                    # the budget on both axes: what a strategy spent per task, in samples and in tokens
                    "samples_per_task": group["samples"].mean() if "samples" in group else float("nan"),
                    "tokens_per_task": group["generated_tokens"].mean(),
                    "llm_calls_per_solved": group["llm_calls"].sum() / solved if solved else float("nan"),
                    # min_count=1: a quantity not recorded (NaN, as in an anytime reading) stays blank, not 0
                    "tokens_per_solved": group["generated_tokens"].sum(min_count=1) / solved if solved else float("nan"),
                    "sandbox_runs_per_solved": group["sandbox_runs"].sum(min_count=1) / solved if solved else float("nan")})
    table = pd.DataFrame(out)
    for column, order in (("category", CATEGORY_ORDER), ("difficulty", DIFFICULTY_ORDER), ("mode", MODE_ORDER)):
        if column in table:
            table[column] = pd.Categorical(table[column], categories=order + sorted(set(table[column]) - set(order)), ordered=True)
    return table.sort_values(by).reset_index(drop=True)


def precision_table(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Repair precision of the solved answers per group (codeq_lib/precision.py): mean lines and
    tokens changed against the buggy program, and how many changed only the bug's lines (n of
    those where that is defined, with a Wilson 95% CI)."""
    out = []
    for key, group in rows[rows["solved"].astype(bool)].groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        judged = group["within_bug_lines"].dropna()
        precise = int(judged.astype(bool).sum())
        lo, hi = wilson_ci(precise, len(judged)) if len(judged) else (float("nan"), float("nan"))
        out.append({**dict(zip(by, key)), "solved": len(group), "mean_lines_changed": group["edit_lines"].mean(),
                    "mean_tokens_changed": group["edit_tokens"].mean(), "judged": len(judged), "precise": precise,
                    "precise_rate": precise / len(judged) if len(judged) else float("nan"),
                    "precise_lo": lo, "precise_hi": hi})
    return pd.DataFrame(out)


def fmt_rate(row) -> str:
    """'0.423 [0.25, 0.61] (11/26)': the one way a rate is shown in tables and the README."""
    return f"{row['rate']:.3f} [{row['lo']:.2f}, {row['hi']:.2f}] ({int(row['solved'])}/{int(row['n'])})"


def markdown_table(table: pd.DataFrame, index: str, columns: str) -> str:
    """A pivot of formatted rates (index x columns) as a GitHub markdown table."""
    cells = table.assign(cell=table.apply(fmt_rate, axis=1)).pivot(index=index, columns=columns, values="cell")
    cells = cells.reindex(index=list(dict.fromkeys(table[index])), columns=list(dict.fromkeys(table[columns])))
    header = f"| {index} | " + " | ".join(str(c) for c in cells.columns) + " |"
    lines = [header, "|" + "---|" * (len(cells.columns) + 1)]
    for idx, row in cells.iterrows():
        lines.append(f"| {idx} | " + " | ".join(str(v) if isinstance(v, str) else "–" for v in row) + " |")
    return "\n".join(lines) + "\n"


def anytime_budget_rows(rows: pd.DataFrame, budgets: list[int], tasks) -> pd.DataFrame:
    """Per-task outcomes of an early-stopping run at budget B, re-read at each budget b < B.

    Exact, not an approximation, when (1) the run stops at the first program that passes every
    visible test, (2) each task's visible tests are among its hidden tests and (3) the search
    does not depend on its budget (seeds are per call index; UCB ignores the budget). Then the
    budget-b search is the first b calls of the budget-B one: if the budget-B run committed
    after r <= b calls, the budget-b run commits the same program; otherwise it never found a
    visible-passing program, and its answer fails the hidden tests, which include the visible
    ones. Conditions (1) and (2) are checked here; (3) is tested in tests/test_tables.py.
    """
    if not rows["early_stop"].fillna(False).astype(bool).all():
        raise ValueError("anytime budgets need runs with search.early_stop = true")
    by_id = {t.id: t for t in tasks}
    for task_id in rows["task_id"].unique():
        task = by_id[task_id]
        hidden = {repr(t.to_dict()) for t in task.hidden_tests}
        if not all(repr(t.to_dict()) in hidden for t in task.visible_tests):
            raise ValueError(f"task {task_id}: visible tests are not all hidden tests; anytime budgets do not apply")
    frames = []
    for budget in budgets:
        if budget > int(rows["budget"].min()):
            raise ValueError(f"budget {budget} exceeds the run's own budget")
        frame = rows.copy()
        frame["solved"] = frame["solved"].astype(bool) & (frame["llm_calls"] <= budget)
        frame["llm_calls"] = frame["llm_calls"].clip(upper=budget)
        frame[["generated_tokens", "sandbox_runs"]] = float("nan")  # not recorded per call
        frame["budget"] = budget
        frame["run"] = frame["run"] + f" read at {budget}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
