"""Search core: UCB1 order, backup arithmetic, dedup, MCTS on a hand-computed script,
budget accounting exact to the call, determinism under a seed, tree save/load.

The policy is scripted (no model); the sandbox is the real subprocess sandbox.
"""

from __future__ import annotations

import math
import random

import pytest

from codeq_lib.config import ConfigError, from_dict
from codeq_lib.search import MODES, SearchConfig, Tree, load_trees, run_search, save_trees
from codeq_lib.search.mcts import backup, blend, commit, select_child, select_leaf, ucb1
from codeq_lib.search.scripted import ScriptedPolicy
from codeq_lib.search.tree import Node
from search_support import (BUGGY, GOOD, GOOD_REFORMATTED, ONE_THIRD, OVERFIT, TWO_THIRDS, ZERO,
                            fence, make_task)


def node(i, visits=0, value=None, parent=0, pass_fraction=0.5):
    return Node(task_id="t", id=i, parent=parent, code=f"x={i}", code_hash=str(i), norm_hash=str(i),
                visits=visits, value=value, pass_fraction=pass_fraction)


# ---- pure pieces, hand-computed ----

def test_ucb1_values():
    assert ucb1(0.5, 0, 10, 1.4) == math.inf
    assert ucb1(0.5, 2, 8, 1.0) == pytest.approx(0.5 + math.sqrt(math.log(8) / 2))
    assert ucb1(0.25, 4, 1, 2.0) == pytest.approx(0.25)  # ln 1 = 0: pure exploitation
    assert ucb1(0.7, 3, 9, 0.0) == pytest.approx(0.7)


def test_select_child_unvisited_first_then_ucb_order():
    visited_high = node(1, visits=5, value=0.9)
    visited_low = node(2, visits=1, value=0.2)
    unvisited = node(3, visits=0, value=None)
    assert select_child([visited_high, visited_low, unvisited], 6, 1.0) is unvisited
    # 0.9 + sqrt(ln 6 / 5) = 1.499 < 0.2 + sqrt(ln 6 / 1) = 1.539: exploration wins at c=1 ...
    assert select_child([visited_high, visited_low], 6, 1.0) is visited_low
    # ... and exploitation wins at c=0.5: 1.1002 > 0.8694.
    assert select_child([visited_high, visited_low], 6, 0.5) is visited_high
    # ties go to the earliest child; unscorable (could not run) children are never selected
    assert select_child([node(4, 1, 0.5), node(5, 1, 0.5)], 2, 1.0).id == 4
    assert select_child([node(6, 0, None, pass_fraction=None)], 1, 1.0) is None


def test_select_leaf_descends_by_ucb_to_an_unexpanded_node():
    tree = Tree(task_id="t")
    root = tree.add("r = 0", None, pass_fraction=0.0, total=1, visits=3, value=0.5, expanded=True)
    good = tree.add("r = 1", root, pass_fraction=1.0, total=1, visits=2, value=0.75, expanded=True)
    tree.add("r = 2", root, pass_fraction=0.0, total=1, visits=1, value=0.0)
    deep = tree.add("r = 3", good, pass_fraction=0.5, total=1, visits=1, value=0.5)
    # c = 0: pure exploitation goes root -> good -> deep (the only, unexpanded, child)
    assert select_leaf(tree, 0.0) is deep
    # c = 2: good scores 0.75 + 2*sqrt(ln 3 / 2) = 2.232 > 0.0 + 2*sqrt(ln 3 / 1) = 2.096
    assert select_leaf(tree, 2.0) is deep
    # c = 10: exploration wins (0.75 + 7.41 = 8.16 < 10.48): the less-visited child is a leaf
    assert select_leaf(tree, 10.0) is tree.nodes[2]
    tree.nodes[2].visits = 0  # an unvisited sibling is taken first whatever c is
    assert select_leaf(tree, 0.0) is tree.nodes[2]


def test_backup_running_mean_and_blend():
    root, child, grandchild = node(0, parent=None), node(1), node(2, parent=1)
    path = [grandchild, child, root]
    backup(path, 1.0)
    backup([child, root], 0.0)
    backup([root], 0.5)
    assert (grandchild.visits, grandchild.value) == (1, 1.0)
    assert (child.visits, child.value) == (2, 0.5)
    assert (root.visits, root.value_sum, root.value) == (3, 1.5, 0.5)
    root.q_critic = 0.9
    backup([root], 0.5, alpha=0.25, use_critic=True)
    assert root.q_mcts == pytest.approx(0.5)
    assert root.value == pytest.approx(0.25 * 0.5 + 0.75 * 0.9)
    assert blend(0.4, None, 0.3, True) == 0.4
    assert blend(0.4, 1.0, 0.3, False) == 0.4


def test_commit_prefers_passing_nodes_over_higher_value():
    tree = Tree(task_id="t")
    root = tree.add("def f():\n    return 0\n", None, pass_fraction=0.0, total=2, status="fail")
    a = tree.add("def f():\n    return 1\n", root, pass_fraction=1.0, passed=2, total=2, status="pass", value=0.6)
    b = tree.add("def f():\n    return 2\n", root, pass_fraction=0.5, passed=1, total=2, status="fail", value=0.9)
    assert commit(tree) is a
    a.status, a.passed = "fail", 1
    assert commit(tree) is b


def test_search_config_is_strict():
    assert from_dict(SearchConfig, {"K": 2, "c": 1}).c == 1.0
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(SearchConfig, {"k": 2})
    with pytest.raises(ConfigError, match="alpha"):
        from_dict(SearchConfig, {"alpha": 1.5})


# ---- MCTS on a scripted policy, every number by hand ----

def test_mcts_hand_computed_tree(sandbox):
    """K=2, budget=2, c=1. Call 0 expands the root into 2/3 and 1/3; UCB picks the 2/3 child;
    call 1 gives GOOD (3/3) and a reformatted duplicate of its parent (merged, not run)."""
    policy = ScriptedPolicy([fence(TWO_THIRDS), fence(ONE_THIRD), fence(GOOD), "```python\n" + TWO_THIRDS.replace("abs(b)", "abs(b)  # same") + "```"])
    config = SearchConfig(K=2, c=1.0, early_stop=False)
    result = run_search(make_task(), policy, sandbox, "mcts", 2, config, seed=0)
    tree = result.tree
    assert [n["code"] for n in tree] == [BUGGY, TWO_THIRDS, ONE_THIRD, GOOD]
    assert [n["parent"] for n in tree] == [None, 0, 0, 1]
    assert [n["visits"] for n in tree] == [4, 2, 1, 1]
    # root: (1/3 + 2/3 + 1/3 + 1) / 4; child 1: (2/3 + 1) / 2
    assert tree[0]["value"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert tree[1]["value"] == pytest.approx(5 / 6)
    assert tree[1]["duplicates"] == 1
    assert result.answer_code == GOOD and result.answer_node == 3
    counters = result.counters
    assert counters["llm_calls"] == policy.stats.calls == 2
    assert counters["samples"] == 4 and counters["duplicates"] == 1
    assert counters["sandbox_runs"] == 1 + 2 + 1  # root, two children, one new child
    assert counters["generated_tokens"] == policy.stats.generated_tokens
    # siblings share their prompt; the root has none
    assert tree[1]["prompt"] == tree[2]["prompt"] and tree[0]["prompt"] is None
    assert "It fails these tests" in tree[3]["prompt"][-1]["content"]


def test_mcts_early_stop_and_duplicate_of_root(sandbox):
    policy = ScriptedPolicy([fence(BUGGY), fence(GOOD), fence(ZERO), fence(ONE_THIRD)])
    result = run_search(make_task(), policy, sandbox, "mcts", 5, SearchConfig(K=2), seed=0)
    assert result.counters["llm_calls"] == 1  # GOOD in the first expansion: stop
    assert result.counters["duplicates"] == 1  # the buggy program again is merged into the root
    assert result.answer_code == GOOD and len(result.tree) == 2


def test_could_not_run_is_no_reward(sandbox):
    """No visible tests: nothing can be scored, so nothing is backed up (not scored zero)."""
    task = make_task(visible=[])
    policy = ScriptedPolicy([fence(GOOD), fence(ZERO)])
    result = run_search(task, policy, sandbox, "mcts", 2, SearchConfig(K=2, early_stop=False), seed=0)
    assert all(n["status"] == "could_not_run" and n["pass_fraction"] is None for n in result.tree)
    assert all(n["visits"] == 0 and n["value"] is None for n in result.tree)
    assert result.counters["llm_calls"] == 2
    assert result.answer_code == BUGGY  # nothing scorable was produced: the root is kept


# ---- budgets, determinism, persistence ----

def random_script(pool):
    def script(messages, n, call_index, seed):
        rng = random.Random(seed)
        return [fence(rng.choice(pool)) for _ in range(n)]
    return script


POOL = [GOOD, TWO_THIRDS, ONE_THIRD, ZERO, OVERFIT, BUGGY, "def add(a, b):\n    return b - a\n",
        "def add(a, b):\n    return a + b + 0 * a\n", "no code here at all"]


@pytest.mark.parametrize("mode", MODES)
def test_budget_is_exact_to_the_call(sandbox, mode):
    policy = ScriptedPolicy(random_script(POOL))
    result = run_search(make_task(), policy, sandbox, mode, 3, SearchConfig(K=3, early_stop=False), seed=1)
    expected_calls = 1 if mode == "single_pass" else 3
    assert result.counters["llm_calls"] == policy.stats.calls == expected_calls
    assert result.counters["samples"] == policy.stats.sequences == (1 if mode == "single_pass" else 9)
    assert result.counters["generated_tokens"] == policy.stats.generated_tokens
    assert result.counters["sandbox_runs"] == len(result.tree)  # every node ran once, duplicates never
    assert result.counters["samples"] == len(result.tree) - 1 + result.counters["duplicates"]
    assert result.counters["sandbox_runs"] <= sandbox.executions + sandbox.cache_hits


@pytest.mark.parametrize("mode", MODES)
def test_trees_are_deterministic_under_a_seed(sandbox, mode):
    def run(seed):
        policy = ScriptedPolicy(random_script(POOL))
        return run_search(make_task(), policy, sandbox, mode, 4, SearchConfig(K=2, early_stop=False), seed=seed)

    first, again = run(7), run(7)
    strip = lambda tree: [{k: v for k, v in n.items() if k != "test_results"} for n in tree]  # noqa: E731
    assert strip(first.tree) == strip(again.tree)
    assert first.answer_code == again.answer_code


def test_tree_round_trip_and_dedup_index(tmp_path, sandbox):
    policy = ScriptedPolicy(random_script(POOL))
    result = run_search(make_task(), policy, sandbox, "mcts", 3, SearchConfig(K=3, early_stop=False), seed=3)
    tree = Tree.from_rows(result.tree)
    save_trees([tree], tmp_path / "trees.jsonl")
    loaded = load_trees(tmp_path / "trees.jsonl")["add"]
    assert loaded.to_rows() == result.tree
    assert loaded.find(GOOD_REFORMATTED) is loaded.find(GOOD)
    assert len({n["norm_hash"] for n in result.tree}) == len(result.tree)
    with pytest.raises(ValueError, match="already in the tree"):
        loaded.add(loaded.root.code, loaded.root)


def test_bad_mode_and_budget_name_the_field(sandbox):
    policy = ScriptedPolicy([fence(GOOD)])
    with pytest.raises(ValueError, match="mode"):
        run_search(make_task(), policy, sandbox, "beam", 2)
    with pytest.raises(ValueError, match="budget"):
        run_search(make_task(), policy, sandbox, "mcts", 0)


def test_critic_blend_in_mcts(sandbox):
    """Q = alpha*Q_mcts + (1-alpha)*Q_critic, one batched critic call per expansion (+ the root)."""
    policy = ScriptedPolicy([fence(TWO_THIRDS), fence(ZERO)], critic=0.2)
    config = SearchConfig(K=2, use_critic=True, alpha=0.75, early_stop=False)
    result = run_search(make_task(), policy, sandbox, "mcts", 1, config)
    child = result.tree[1]
    assert (child["q_mcts"], child["q_critic"]) == (pytest.approx(2 / 3), 0.2)
    assert child["value"] == pytest.approx(0.75 * 2 / 3 + 0.25 * 0.2)
    assert result.counters["critic_calls"] == policy.stats.critic_calls == 2
    assert result.counters["llm_calls"] == 1  # critic calls are counted apart from the budget
