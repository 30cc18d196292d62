"""Paired statistics (codeq_lib/paired.py) on known values and on their defining properties."""

from __future__ import annotations

import random

import pytest

from codeq_lib.paired import (
    clustered_bootstrap,
    clustered_rate,
    comparisons,
    mcnemar_exact,
    mcnemar_power,
    paired_comparison,
)

FIELDS = {"a", "b", "mode", "n_tasks", "n_problems", "a_solved", "b_solved", "b_only", "a_only", "mcnemar_p",
          "diff", "diff_ci95"}


def rows(solved, keys=None, prefix="t"):
    keys = keys or [f"p{i}" for i in range(len(solved))]
    return [{"task_id": f"{prefix}{i}", "solved": s, "problem_key": k} for i, (s, k) in enumerate(zip(solved, keys))]


@pytest.mark.parametrize("a_only,b_only", [(0, 0), (1, 9), (3, 4), (0, 12), (20, 35), (7, 0)])
def test_mcnemar_equals_the_two_sided_exact_binomial_test(a_only, b_only):
    """Against the definition, in exact fractions: the probability, under Bin(n, 1/2), of every
    split at most as likely as the observed one."""
    from fractions import Fraction
    from math import comb

    n = a_only + b_only
    pmf = [Fraction(comb(n, k), 2 ** n) for k in range(n + 1)]
    expected = float(sum(p for p in pmf if p <= pmf[b_only])) if n else 1.0
    assert mcnemar_exact(a_only, b_only) == pytest.approx(min(1.0, expected), rel=1e-12)
    assert mcnemar_exact(a_only, b_only) == mcnemar_exact(b_only, a_only)


def test_a_paired_comparison_counts_discordant_tasks_and_has_every_field():
    a = rows([1, 1, 0, 0, 0, 1], keys=["p", "p", "q", "q", "r", "r"])
    b = rows([1, 0, 1, 1, 0, 1], keys=["p", "p", "q", "q", "r", "r"])
    entry = paired_comparison("base", "round2", "single_pass@1", a, b)
    assert FIELDS <= set(entry)
    assert (entry["a_solved"], entry["b_solved"], entry["a_only"], entry["b_only"]) == (3, 4, 1, 2)
    assert (entry["n_tasks"], entry["n_problems"]) == (6, 3)
    assert entry["diff"] == pytest.approx(1 / 6)
    lo, hi = entry["diff_ci95"]
    assert lo <= entry["diff"] <= hi and entry["significant"] == (not lo <= 0 <= hi)


def test_different_task_sets_are_refused_naming_the_difference():
    with pytest.raises(ValueError, match="different tasks"):
        paired_comparison("a", "b", "m", rows([1, 0]), rows([1, 0, 1]))
    with pytest.raises(ValueError, match="no problem_key"):
        paired_comparison("a", "b", "m", [{"task_id": "x", "solved": True}], [{"task_id": "x", "solved": False}])


def test_clustering_widens_the_interval_when_a_problem_moves_as_one():
    """Ten problems of ten identical tasks each carry ten draws' worth of evidence, not a hundred."""
    values = [float(i % 2) for i in range(10) for _ in range(10)]
    clustered = clustered_bootstrap(values, [i for i in range(10) for _ in range(10)], n_boot=2000)
    independent = clustered_bootstrap(values, list(range(100)), n_boot=2000)
    assert clustered[1] - clustered[0] > 2 * (independent[1] - independent[0])
    rate = clustered_rate([v == 1.0 for v in values], [i for i in range(10) for _ in range(10)])
    assert (rate["n_tasks"], rate["n_problems"], rate["solved"]) == (100, 10, 50)


def test_the_bootstrap_is_seeded():
    values, keys = [1.0, 0.0, 1.0, 1.0, 0.0], ["a", "b", "c", "c", "d"]
    assert clustered_bootstrap(values, keys, seed=3) == clustered_bootstrap(values, keys, seed=3)


def test_comparisons_pair_rounds_strategies_on_nested_draws_and_ablations():
    sp = rows([1, 0, 0, 1, 0, 0])
    runs = {
        ("base", "single_pass@1"): sp,
        ("round1", "single_pass@1"): rows([1, 1, 0, 1, 0, 1]),
        ("base", "mcts@5"): rows([1, 1, 0]),  # a draw nested in single pass's tasks
        ("base", "other@5"): [{"task_id": "elsewhere", "solved": True, "problem_key": "z"}],  # not nested: skipped
        ("ablations", "mcts@5_full"): rows([1, 0, 1]),
        ("ablations", "rex@5_full"): rows([1, 1, 1]),
    }
    found = {(e["kind"], e["a"], e["b"]): e for e in comparisons(runs, ablation_reference="mcts@5_full")}
    assert set(found) == {("round_vs_base", "base", "round1"), ("strategy_vs_strategy", "mcts@5", "single_pass@1"),
                          ("ablation", "mcts@5_full", "rex@5_full")}
    assert found[("strategy_vs_strategy", "mcts@5", "single_pass@1")]["n_tasks"] == 3
    assert found[("round_vs_base", "base", "round1")]["b_only"] == 2


def test_power_is_exact_against_simulation_and_grows_with_n():
    assert mcnemar_power(300, 0.05, 0.10) > mcnemar_power(100, 0.05, 0.10)
    rng = random.Random(0)
    n, pa, pb, trials, rejections = 60, 0.05, 0.2, 3000, 0
    for _ in range(trials):
        a_only = b_only = 0
        for _ in range(n):
            u = rng.random()
            a_only += u < pa
            b_only += pa <= u < pa + pb
        rejections += mcnemar_exact(a_only, b_only) <= 0.05
    assert mcnemar_power(n, pa, pb) == pytest.approx(rejections / trials, abs=0.03)
