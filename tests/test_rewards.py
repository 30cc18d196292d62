"""Reward shaping: hand-computed values, the "never outranks a correct solution" invariant, None."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeq_lib.train import rewards
from codeq_lib.train.rewards import RewardConfig, reward_from_result, shaped_reward


def test_doctests_pass():
    assert doctest.testmod(rewards).failed == 0


def test_hand_computed_values():
    cfg = RewardConfig(solve_bonus=1.0, format_weight=0.1, hack_penalty=0.05, hack_penalty_cap=0.2)
    assert shaped_reward(0.75, True, 0, cfg) == pytest.approx(0.85)
    assert shaped_reward(0.75, False, 3, cfg) == pytest.approx(0.75 - 0.1 - 0.15)
    assert shaped_reward(1.0, False, 9, cfg) == pytest.approx(1.0 + 1.0 - 0.1 - 0.2)


@given(
    wrong_fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    wrong_format=st.booleans(),
    wrong_findings=st.integers(min_value=0, max_value=50),
    right_format=st.booleans(),
    right_findings=st.integers(min_value=0, max_value=50),
)
def test_no_wrong_program_outranks_a_correct_one(wrong_fraction, wrong_format, wrong_findings,
                                                 right_format, right_findings):
    wrong = shaped_reward(wrong_fraction, wrong_format, wrong_findings)
    right = shaped_reward(1.0, right_format, right_findings)
    assert right > wrong


def test_config_refuses_terms_that_could_outrank_a_solve():
    with pytest.raises(ValueError, match="solve_bonus"):
        RewardConfig(solve_bonus=0.3, format_weight=0.1, hack_penalty_cap=0.2)
    with pytest.raises(ValueError, match="format_weight"):
        RewardConfig(format_weight=-0.1)


def test_could_not_score_is_none_not_zero():
    could_not_run = SimpleNamespace(pass_fraction=None, static_findings=[])
    assert reward_from_result(could_not_run, well_formed=True) is None
    assert shaped_reward(None, False) is None
    assert reward_from_result(None, well_formed=False) == pytest.approx(-0.1)  # no program: wrong, scored
    with pytest.raises(ValueError, match="pass_fraction"):
        shaped_reward(1.5, True)


def test_reward_from_result_counts_static_findings():
    result = SimpleNamespace(pass_fraction=0.5, static_findings=[{"rule": "import os"}, {"rule": "open"}])
    assert reward_from_result(result, well_formed=True) == pytest.approx(0.5 + 0.1 - 0.1)
