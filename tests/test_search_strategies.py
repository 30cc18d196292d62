"""REx selection statistics and the refine / best-of-n / single-pass control flow."""

from __future__ import annotations

import random


from codeq_lib.search import SearchConfig, run_search
from codeq_lib.search.rex import rex_beta_params, rex_pick
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import BUGGY, GOOD, ONE_THIRD, OVERFIT, TWO_THIRDS, ZERO, fence, make_task


def pick_rate(arms, C, draws=4000, seed=0):
    rng = random.Random(seed)
    picks = [rex_pick(arms, C, rng) for _ in range(draws)]
    return [picks.count(i) / draws for i in range(len(arms))]


def test_rex_beta_params_by_hand():
    assert rex_beta_params(1.0, 0, 5.0) == (6.0, 1.0)
    assert rex_beta_params(0.0, 3, 5.0) == (1.0, 9.0)
    assert rex_beta_params(0.5, 2, 4.0) == (3.0, 5.0)


def test_rex_prefers_higher_reward():
    rates = pick_rate([(0.9, 0), (0.3, 0)], C=5.0)
    assert rates[0] > 0.8
    # larger C sharpens the preference (the heuristic is trusted more)
    assert pick_rate([(0.9, 0), (0.3, 0)], C=20.0)[0] > rates[0]


def test_rex_failed_refinements_lower_the_pick_rate():
    fresh, tried = pick_rate([(0.6, 0), (0.6, 0)], C=5.0), pick_rate([(0.6, 6), (0.6, 0)], C=5.0)
    assert abs(fresh[0] - 0.5) < 0.05
    assert tried[0] < 0.25
    # enough failures flip the order against a better program
    assert pick_rate([(0.9, 30), (0.4, 0)], C=5.0)[0] < 0.5


def test_rex_refines_the_sampled_program(sandbox):
    policy = ScriptedPolicy([fence(TWO_THIRDS), fence(ZERO), fence(ONE_THIRD), fence(GOOD)])
    result = run_search(make_task(), policy, sandbox, "rex", 4, SearchConfig(K=1, early_stop=True), seed=0)
    assert result.answer_code == GOOD
    assert result.counters["llm_calls"] == 4
    tree = result.tree
    # each call's parent is an existing scorable node, recorded as one more visit (1 + refinements)
    assert sum(n["visits"] - 1 for n in tree if n["visits"] > 0) == 4
    assert all(n["parent"] < n["id"] for n in tree[1:])


def test_refine_chains_attempts_and_restarts_episodes(sandbox):
    """A=2: calls go root -> best child -> root (new episode) -> best child."""
    policy = ScriptedPolicy([fence(TWO_THIRDS), fence(ONE_THIRD), fence(ZERO), fence(OVERFIT.replace("99", "98")),
                             fence(ONE_THIRD.replace("a * b", "b * a")), fence(ZERO.replace("None", "-1")),
                             fence(OVERFIT.replace("99", "97")), fence(OVERFIT.replace("99", "96"))])
    config = SearchConfig(K=2, refine_attempts=2, early_stop=False)
    result = run_search(make_task(), policy, sandbox, "refine", 4, config, seed=0)
    tree = result.tree
    parents = [tree[i]["parent"] for i in range(1, len(tree))]
    assert parents == [0, 0, 1, 1, 0, 0, 5, 5]
    # attempt 2 sees the failing tests of attempt 1's best rewrite
    second_prompt = tree[3]["prompt"][-1]["content"]
    assert "abs(b)" in second_prompt and "It fails these tests" in second_prompt
    assert result.counters["llm_calls"] == 4


def test_single_pass_is_one_greedy_sample(sandbox):
    policy = ScriptedPolicy([fence(ONE_THIRD)])
    result = run_search(make_task(), policy, sandbox, "single_pass", 20, SearchConfig(), seed=0)
    assert policy.history[0]["n"] == 1 and policy.history[0]["temperature"] == 0.0
    assert result.answer_code == ONE_THIRD  # committed even though it fails: it is the only answer


def test_best_of_n_commits_the_best_visible_score(sandbox):
    policy = ScriptedPolicy([fence(ZERO), fence(TWO_THIRDS), fence(ONE_THIRD), fence(BUGGY)])
    result = run_search(make_task(), policy, sandbox, "best_of_n", 2, SearchConfig(K=2, early_stop=False))
    assert result.answer_code == TWO_THIRDS
    assert all(n["parent"] == 0 for n in result.tree[1:])
