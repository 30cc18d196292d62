"""Explorer helpers: table, diff, layout and drawing on a real search tree."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from codeq_lib.explore import draw_tree, label, node_diff, node_table, test_results_table, tidy_layout, tree_graph
from codeq_lib.sandbox import make_sandbox
from codeq_lib.search import SearchConfig, run_search
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import BUGGY, GOOD, ONE_THIRD, TWO_THIRDS, fence, make_task


@pytest.fixture(scope="module")
def tree():
    policy = ScriptedPolicy([fence(TWO_THIRDS), fence(ONE_THIRD), fence(GOOD), fence(BUGGY)])
    with make_sandbox(workers=1) as sandbox:
        return run_search(make_task(), policy, sandbox, "mcts", 2, SearchConfig(K=2, c=1.0, early_stop=False)).tree


def test_node_table(tree):
    table = node_table(tree)
    assert list(table.index) == [0, 1, 2, 3]
    assert list(table["visits"]) == [4, 2, 1, 1]
    assert list(table["passed"]) == [1, 2, 1, 3]


def test_node_diff():
    diff = node_diff(BUGGY, GOOD)
    assert "-    return a - b" in diff and "+    return a + b" in diff
    assert node_diff(BUGGY, BUGGY) == ""


def test_results_and_labels(tree):
    results = test_results_table(tree[0])
    assert list(results["status"]) == ["fail", "pass", "fail"]
    assert label({"visits": 3, "pass_fraction": 2 / 3}) == "3/0.67"
    assert label({"visits": 0, "pass_fraction": None}) == "0/-"


def test_layout_and_drawing(tree, tmp_path):
    graph = tree_graph(tree)
    assert sorted(graph.edges) == [(0, 1), (0, 2), (1, 3)]
    positions = tidy_layout(graph)
    assert positions[0][1] == 0.0 and positions[3][1] == -2.0
    assert positions[1][0] < positions[2][0]
    ax = draw_tree(tree, highlight=[3])
    ax.figure.savefig(tmp_path / "tree.png")
    assert (tmp_path / "tree.png").stat().st_size > 1000
