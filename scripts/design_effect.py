"""The clustering a study actually had: the intra-class correlation of solved outcomes within
problems, and the design effect it implies, per run. The power table in the README assumes an
ICC of 0.3; this measures it on the runs' result rows.

    python scripts/design_effect.py results/eval/base/single_pass@1 results/eval/round2/single_pass@1

Each argument is a run folder (its results.jsonl) or a results.jsonl. The ICC is the one-way
ANOVA estimator for unequal cluster sizes (Donner 1986): (MSB - MSW) / (MSB + (n0 - 1) MSW),
with n0 = (N - sum n_i^2 / N) / (k - 1); the design effect is Kish's 1 + (m - 1) ICC with m the
mean tasks per problem (`codeq_lib.paired.design_effect`). Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def anova_icc(clusters: list[list[float]]) -> float:
    """One-way ANOVA ICC of outcomes grouped in clusters of unequal sizes (nan if undefined)."""
    clusters = [c for c in clusters if c]
    sizes = [len(c) for c in clusters]
    n, k = sum(sizes), len(clusters)
    if k < 2 or n <= k:
        return float("nan")
    grand = sum(sum(c) for c in clusters) / n
    means = [sum(c) / len(c) for c in clusters]
    msb = sum(len(c) * (m - grand) ** 2 for c, m in zip(clusters, means)) / (k - 1)
    msw = sum((x - m) ** 2 for c, m in zip(clusters, means) for x in c) / (n - k)
    n0 = (n - sum(s * s for s in sizes) / n) / (k - 1)
    denominator = msb + (n0 - 1) * msw
    return (msb - msw) / denominator if denominator else float("nan")


def run_clustering(path: Path) -> dict:
    from codeq_lib.io import iter_jsonl
    from codeq_lib.paired import design_effect

    results = path / "results.jsonl" if path.is_dir() else path
    if not results.is_file():
        raise SystemExit(f"design_effect.py: {results}: no such results file")
    by_problem: dict[str, list[float]] = defaultdict(list)
    for number, row in iter_jsonl(results):  # a line that is not JSON raises with its number
        try:
            by_problem[row["problem_key"]].append(1.0 if row["solved"] else 0.0)
        except (KeyError, TypeError) as error:
            raise SystemExit(f"design_effect.py: {results}:{number}: not a result row ({error!r})") from None
    n = sum(len(v) for v in by_problem.values())
    icc = anova_icc(list(by_problem.values()))
    m = n / len(by_problem) if by_problem else float("nan")
    return {"run": str(path), "n_tasks": n, "n_problems": len(by_problem), "tasks_per_problem": m,
            "icc": icc, "design_effect": design_effect(m, icc) if by_problem else float("nan")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders or results.jsonl files")
    args = parser.parse_args(argv)
    for run in args.runs:
        print(json.dumps(run_clustering(Path(run))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
