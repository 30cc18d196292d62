"""Paired statistics for comparisons on the same tasks (round vs base, strategy vs strategy).

Two runs evaluated on the same held-out tasks are paired data: each task is solved by both,
neither, only a or only b. What carries the evidence is the discordant tasks, so:

- `mcnemar_exact`: the exact (binomial) two-sided McNemar test on the discordant counts;
  under H0 a discordant task is a fair coin between "only a" and "only b".
- `clustered_bootstrap`: tasks are clustered (several bugs planted in one problem are not
  independent draws), so intervals resample whole **problems** with replacement, seeded,
  and take the percentile interval. The estimate on each resample is the ratio of sums over
  the drawn problems (tasks per problem vary), the standard cluster bootstrap of a mean.
- `paired_comparison` joins two runs' per-task rows by task id and returns one entry of
  `results/metrics/paired.json` (its fields are named in the study issue and the README).
- `mcnemar_power`: the exact power of that test for n tasks at given discordance rates, used
  for the study's power calculation (README).

A task's problem is `problem_key` (`codeq_lib.data.problems`), written into every result row.
"""

from __future__ import annotations

import math
import random
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

N_BOOT = 10_000
CI_METHOD = f"percentile bootstrap over problems (clusters), {N_BOOT} resamples, seed 0"


def _binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exact."""
    if k < 0:
        return 0.0
    return min(1.0, sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2 ** n)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p from the two discordant counts.

    >>> mcnemar_exact(0, 0)
    1.0
    >>> round(mcnemar_exact(0, 3), 4)   # 16 vs 12 of 27 with 4 discordant at best: p >= 0.125
    0.25
    >>> round(mcnemar_exact(1, 9), 4)
    0.0215
    """
    if a_only < 0 or b_only < 0:
        raise ValueError(f"mcnemar_exact: counts must be >= 0, got {a_only}, {b_only}")
    n = a_only + b_only
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * _binom_cdf_half(min(a_only, b_only), n))


def _by_cluster(values: Sequence[float], clusters: Sequence[Any]) -> list[tuple[float, int]]:
    sums: dict[Any, list[float]] = {}
    for value, cluster in zip(values, clusters, strict=True):
        entry = sums.setdefault(cluster, [0.0, 0])
        entry[0] += value
        entry[1] += 1
    return [(s, int(n)) for s, n in sums.values()]


def clustered_bootstrap(values: Sequence[float], clusters: Sequence[Any], n_boot: int = N_BOOT,
                        seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `values`, resampling whole clusters with replacement.

    >>> lo, hi = clustered_bootstrap([1, 1, 0, 0], ["p", "p", "q", "q"])
    >>> (lo, hi)   # two clusters: every resample is all-p, all-q or one of each
    (0.0, 1.0)
    """
    groups = _by_cluster(values, clusters)
    if not groups:
        return (0.0, 0.0)
    rng = random.Random(seed)
    k = len(groups)
    means = []
    for _ in range(n_boot):
        total = count = 0.0
        for _ in range(k):
            s, n = groups[rng.randrange(k)]
            total += s
            count += n
        means.append(total / count)
    means.sort()
    lo = means[int(math.floor((1 - level) / 2 * (n_boot - 1)))]
    hi = means[int(math.ceil((1 + level) / 2 * (n_boot - 1)))]
    return (lo, hi)


def clustered_rate(solved: Sequence[bool], clusters: Sequence[Any]) -> dict[str, Any]:
    """A single solve rate with its problem-clustered 95% CI (and n, n_problems)."""
    values = [1.0 if s else 0.0 for s in solved]
    lo, hi = clustered_bootstrap(values, clusters)
    return {"n_tasks": len(values), "n_problems": len(set(clusters)), "solved": int(sum(values)),
            "rate": sum(values) / len(values) if values else 0.0, "ci95_clustered": [lo, hi],
            "ci_method": CI_METHOD}


def _index(rows: Iterable[Mapping[str, Any]], name: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        task_id = row.get("task_id")
        if task_id is None:
            raise ValueError(f"{name}: a result row has no task_id")
        if task_id in out:
            raise ValueError(f"{name}: task {task_id!r} appears twice")
        out[task_id] = row
    return out


def paired_comparison(a: str, b: str, mode: str, rows_a: Iterable[Mapping[str, Any]],
                      rows_b: Iterable[Mapping[str, Any]], **extra: Any) -> dict[str, Any]:
    """One paired.json entry for runs a and b on the same tasks (`diff` = rate(b) - rate(a)).

    Rows need `task_id`, `solved` and `problem_key`. The two runs must hold the same tasks: a
    comparison on different task sets is not paired, so it is refused, naming the difference.
    """
    index_a, index_b = _index(rows_a, a), _index(rows_b, b)
    if set(index_a) != set(index_b):
        only_a, only_b = sorted(set(index_a) - set(index_b)), sorted(set(index_b) - set(index_a))
        raise ValueError(f"paired comparison {a} vs {b} ({mode}): the runs hold different tasks "
                         f"({len(only_a)} only in {a}, e.g. {only_a[:3]}; {len(only_b)} only in {b}, "
                         f"e.g. {only_b[:3]})")
    ids = sorted(index_a)
    if not ids:
        raise ValueError(f"paired comparison {a} vs {b} ({mode}): no tasks")
    sa = [bool(index_a[i]["solved"]) for i in ids]
    sb = [bool(index_b[i]["solved"]) for i in ids]
    clusters = []
    for i in ids:
        key = index_a[i].get("problem_key") or index_b[i].get("problem_key")
        if not key:
            raise ValueError(f"paired comparison {a} vs {b}: task {i!r} has no problem_key")
        clusters.append(key)
    a_only = sum(x and not y for x, y in zip(sa, sb))
    b_only = sum(y and not x for x, y in zip(sa, sb))
    diffs = [float(y) - float(x) for x, y in zip(sa, sb)]
    lo, hi = clustered_bootstrap(diffs, clusters)
    n = len(ids)
    return {"a": a, "b": b, "mode": mode, "n_tasks": n, "n_problems": len(set(clusters)),
            "a_solved": sum(sa), "b_solved": sum(sb), "b_only": b_only, "a_only": a_only,
            "mcnemar_p": mcnemar_exact(a_only, b_only), "diff": (sum(sb) - sum(sa)) / n,
            "diff_ci95": [lo, hi], "significant": not (lo <= 0.0 <= hi), "ci_method": CI_METHOD, **extra}


def _restricted(rows: Sequence[Mapping[str, Any]], ids: set[str]) -> list[Mapping[str, Any]]:
    return [row for row in rows if row["task_id"] in ids]


def _nested(rx: Sequence[Mapping[str, Any]], ry: Sequence[Mapping[str, Any]]):
    """Both runs on their common tasks when one run's tasks hold the other's (nested draws), else None."""
    ix, iy = {r["task_id"] for r in rx}, {r["task_id"] for r in ry}
    if not (ix <= iy or iy <= ix):
        return None
    common = ix & iy
    return _restricted(rx, common), _restricted(ry, common)


def comparisons(runs: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]], base: str = "base",
                strategy_policy: str = "base", ablations: str = "ablations",
                ablation_reference: str | None = None) -> list[dict[str, Any]]:
    """Every paired comparison the study supports, from `{(policy, run_name): rows}`.

    - `round_vs_base`: each policy other than `base` against `base`, run by run (same mode,
      budget and tasks);
    - `strategy_vs_strategy`: the runs of `strategy_policy` against each other, on the tasks
      both ran (the search strategies' tasks are a draw nested in single pass's, so single pass
      is compared on those; its entry names it in `mode`);
    - `ablation`: each run of the `ablations` policy against `ablation_reference` (the MCTS run
      of the ablations' own settings), on their common tasks.
    Runs whose task sets are neither equal nor nested are not paired and are skipped.
    """
    out = []
    for (policy, run), rows in sorted(runs.items()):
        if policy in (base, ablations) or (base, run) not in runs:
            continue
        joined = _nested(runs[(base, run)], rows)
        if joined:
            out.append(paired_comparison(base, policy, run, *joined, kind="round_vs_base"))
    names = sorted(run for p, run in runs if p == strategy_policy)
    for x, y in combinations(names, 2):
        joined = _nested(runs[(strategy_policy, x)], runs[(strategy_policy, y)])
        if joined:
            out.append(paired_comparison(x, y, f"{strategy_policy}: {x} vs {y}", *joined,
                                         kind="strategy_vs_strategy"))
    if ablation_reference and (ablations, ablation_reference) in runs:
        reference = runs[(ablations, ablation_reference)]
        for (policy, run), rows in sorted(runs.items()):
            if policy != ablations or run == ablation_reference:
                continue
            joined = _nested(reference, rows)
            if joined:
                out.append(paired_comparison(ablation_reference, run, f"ablation: {run}", *joined, kind="ablation"))
    return out


def read_runs(root: str | Path, policy: str | None = None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """`{(policy, run): rows}` from every `results.jsonl` under `root` (`<policy>/<run>/` folders,
    or `<run>/` with `policy` given)."""
    import json

    out = {}
    for path in sorted(Path(root).rglob("results.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            out[(policy or path.parent.parent.name, path.parent.name)] = rows
    return out


def study_report(eval_root: str | Path, ablations_root: str | Path | None = None,
                 ablation_reference: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(paired comparisons, per-run rates with problem-clustered CIs) of a study's runs."""
    runs = read_runs(eval_root)
    if ablations_root is not None and Path(ablations_root).exists():
        runs.update(read_runs(ablations_root, policy="ablations"))
    rates = []
    for (policy, run), rows in sorted(runs.items()):
        rates.append({"policy": policy, "run": run, **clustered_rate(
            [bool(r["solved"]) for r in rows], [r.get("problem_key") or r["task_id"] for r in rows])})
    return comparisons(runs, ablation_reference=ablation_reference), rates


# ---------------------------------------------------------------- power


def _binom_pmf(k: int, n: int, p: float) -> float:
    return math.comb(n, k) * p ** k * (1 - p) ** (n - k)


def mcnemar_power(n: int, p_a_only: float, p_b_only: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided exact McNemar test on n paired tasks.

    A task is "only b" with probability `p_b_only` and "only a" with `p_a_only`; the number of
    discordant tasks D ~ Bin(n, p_a_only + p_b_only), and given D the "only b" count is
    Bin(D, p_b_only / (p_a_only + p_b_only)). Power sums P(reject) over both.

    >>> round(mcnemar_power(300, 0.04, 0.14), 3)
    0.986
    >>> mcnemar_power(10, 0.0, 0.0)
    0.0
    """
    disc = p_a_only + p_b_only
    if disc <= 0:
        return 0.0
    q = p_b_only / disc
    power = 0.0
    for d in range(0, n + 1):
        pd_ = _binom_pmf(d, n, disc)
        if pd_ < 1e-15:
            continue
        # the rejection region for this d: counts k of "only b" with exact p <= alpha
        reject = sum(_binom_pmf(k, d, q) for k in range(d + 1) if mcnemar_exact(d - k, k) <= alpha)
        power += pd_ * reject
    return power


def design_effect(tasks_per_problem: float, icc: float) -> float:
    """Kish's design effect 1 + (m - 1) * ICC of clustering m tasks per problem.

    >>> design_effect(3.0, 0.5)
    2.0
    """
    return 1.0 + (tasks_per_problem - 1.0) * icc
