"""Wilson and bootstrap intervals and the unbiased pass@k, on hand-computed values."""

from __future__ import annotations

import math
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeq_lib.metrics import bootstrap_ci, pass_at_k, rate_summary, wilson_ci


def test_wilson_hand_computed():
    # 5/10: centre 0.5, half-width 1.96*sqrt(0.025 + 1.96^2/400) / (1 + 1.96^2/10)
    lo, hi = wilson_ci(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    # 0/10 and 10/10 stay inside [0, 1] and are not degenerate (unlike the normal approximation)
    assert wilson_ci(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_ci(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_ci(81, 100) == pytest.approx((0.7222, 0.8748), abs=1e-4)
    assert wilson_ci(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_ci(3, 2)


def test_pass_at_k_hand_computed():
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 0.7
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 8, 3) == 1.0  # n - c < k
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(200, 13, 100) == pytest.approx(1 - comb(187, 100) / comb(200, 100))
    with pytest.raises(ValueError, match="k="):
        pass_at_k(3, 1, 4)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_matches_the_combinatorial_formula(args):
    n, c, k = args
    exact = 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)
    assert math.isclose(pass_at_k(n, c, k), exact, abs_tol=1e-9)


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values, n_boot=1000, seed=1)
    assert lo < 0.3 < hi and 0.15 < lo and hi < 0.45
    assert bootstrap_ci(values, n_boot=1000, seed=1) == (lo, hi)
    assert bootstrap_ci([1.0] * 5) == (1.0, 1.0)


def test_rate_summary_fields():
    summary = rate_summary(3, 4)
    assert summary["n_tasks"] == 4 and summary["solved"] == 3 and summary["solve_rate"] == 0.75
    assert summary["ci95"] == pytest.approx(list(wilson_ci(3, 4)))


def test_doctests_of_the_pure_modules():
    import doctest

    import codeq_lib.collect
    import codeq_lib.metrics
    import codeq_lib.search.mcts
    import codeq_lib.search.rex

    for module in (codeq_lib.metrics, codeq_lib.search.mcts, codeq_lib.search.rex, codeq_lib.collect):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0 and failed == 0, module.__name__
