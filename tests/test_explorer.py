"""The explorer (issue 17) on small real runs: strict reading of runs, node and pair views,
the widgets, the self-contained page and its escaping of adversarial code, `codeq explore`."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from codeq_lib.cli import main
from codeq_lib.data.tasks import load_tasks
from codeq_lib.explorer import ExploreError, load_run, node_view, page_html, round_pairs, write_page
from codeq_lib.explorer.widget import PairViewer, TreeExplorer
from codeq_lib.stages import PairsStage, run_pairs
from explorer_support import INJECTION, make_collect_run, make_eval_run, write_tasks


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sandbox):
    root = tmp_path_factory.mktemp("runs")
    tasks_path = write_tasks(root)
    mcts = make_eval_run(root, sandbox)
    best = make_eval_run(root, sandbox, mode="best_of_n")
    collected = make_collect_run(root, sandbox)
    pairs_dir = root / "round1" / "pairs"
    run_pairs(PairsStage(test_tasks=[], threshold=0.3, max_pairs_per_task=1), str(collected), str(pairs_dir))
    return {"root": root, "tasks": tasks_path, "mcts": mcts, "best": best, "collect": collected,
            "pairs": pairs_dir / "pairs.jsonl"}


@pytest.fixture(scope="module")
def mcts_run(runs):
    return load_run(runs["mcts"], load_tasks(runs["tasks"]))


def test_run_reads_trees_results_and_tasks(mcts_run):
    assert mcts_run.name == "base/mcts@3" and mcts_run.meta["mode"] == "mcts"
    assert list(mcts_run.trees) == ["add-logic", "add-markup", "biggest"]
    assert mcts_run.task_ids(solved=True) == ["add-logic", "add-markup"]
    assert mcts_run.task_ids(solved=False, difficulty="hard") == ["biggest"]
    assert mcts_run.task_ids(category="syntax") == ["add-markup"]
    info = mcts_run.tasks["add-logic"]
    assert info.hidden == "pass 2/2" and info.answer_node is not None
    assert info.test_inputs[0] == {"args": [1, 2], "kwargs": {}, "expected": 3}


def test_node_view_shows_diffs_tests_prompt_and_completion(mcts_run):
    answer = mcts_run.tasks["add-logic"].answer_node
    view = node_view(mcts_run, "add-logic", answer)
    assert view["is_answer"] and view["passes_all"]
    assert "-    return a - b" in view["diff_root"] and "+    return a + b" in view["diff_root"]
    assert view["diff_parent"].startswith(f"--- node {view['parent']} (parent)")
    assert [(t["input"], t["expected"], t["got"], t["status"]) for t in view["tests"]] == [
        ("1, 2", "3", "3", "pass"), ("0, 0", "0", "0", "pass"), ("2, -2", "0", "0", "pass")]
    assert view["prompt"][-1]["role"] == "user" and "```python" in view["completion"]
    assert view["extraction"] == "fenced" and view["stats"]["visits"] >= 1
    root = node_view(mcts_run, "add-logic", 0)
    assert root["diff_root"] is None and root["prompt"] is None and root["tests"][0]["status"] == "fail"


def test_bad_input_gets_one_clear_error(runs, mcts_run, tmp_path):
    with pytest.raises(ExploreError, match=r"tasks.jsonl:1: task_id: is required but missing: this is not a codeq trees"):
        load_run(runs["tasks"])  # a task file where a trees file belongs: another schema
    foreign = tmp_path / "foreign.jsonl"
    node = json.loads((runs["mcts"] / "trees.jsonl").read_text().splitlines()[0])
    foreign.write_text(json.dumps(node) + "\n" + json.dumps({**node, "id": 1, "parent": 0, "reward_model": 1}) + "\n")
    with pytest.raises(ExploreError, match=r"foreign.jsonl:2: reward_model: is not a tree-node field"):
        load_run(foreign)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "trees.jsonl").write_text("")
    with pytest.raises(ExploreError, match=r"empty: holds no tree nodes \(an empty run"):
        load_run(tmp_path / "empty")
    with pytest.raises(ExploreError, match=r"task_id: 'nope' is not in this run; it holds 3 task\(s\): add-logic"):
        node_view(mcts_run, "nope", 0)
    with pytest.raises(ExploreError, match=r"node: 99 is not a node of task 'add-logic'"):
        node_view(mcts_run, "add-logic", 99)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text(json.dumps({**node, "id": 1}) + "\n")
    with pytest.raises(ExploreError, match=r"shuffled.jsonl:1: id: task 'add-logic': node 1 out of order"):
        load_run(shuffled)
    with pytest.raises(ExploreError, match="file not found"):
        load_run(tmp_path / "absent.jsonl")


def test_pairs_kept_and_dropped_with_reasons(runs):
    report = json.loads((runs["pairs"].parent / "report.json").read_text())
    pairs = round_pairs(runs["pairs"], runs["collect"])
    kept = [p for p in pairs if p["drop_reason"] is None]
    assert len(kept) == report["kept"] > 0
    dropped = Counter(p["drop_reason"] for p in pairs if p["drop_reason"] is not None)
    assert dropped == Counter({k: v for k, v in report["dropped"].items() if v})
    assert sum(dropped.values()) + len(kept) == report["candidate_pairs"]
    assert dropped["task_cap"] >= 1 and dropped["small_margin"] + dropped["near_identical"] + dropped["identical"] >= 1


def test_tree_explorer_widget_selects_filters_and_compares(runs, mcts_run):
    best = load_run(runs["best"], load_tasks(runs["tasks"]))
    explorer = TreeExplorer([mcts_run, best], task_id="add-logic")
    assert explorer.side_a.node.value == mcts_run.tasks["add-logic"].answer_node
    explorer.select_node(1)
    assert 'data-node="1"' in explorer.side_a.panel.value and "Diff against its parent" in explorer.side_a.panel.value
    assert 'class="node selected" data-node="1"' in explorer.side_a.tree.value
    explorer.compare.value = best.name
    assert len(explorer.sides.children) == 2 and best.name in explorer.side_b.panel.value
    explorer.solved.value = False
    assert [value for _, value in explorer.task.options] == ["biggest"]
    assert "biggest" in explorer.side_a.panel.value and "biggest" in explorer.side_b.panel.value
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "biggest" in bundle["text/html"]
    with pytest.raises(ExploreError, match="'nope' is not in this run"):
        TreeExplorer([mcts_run], task_id="nope")


def test_pair_viewer_widget(runs):
    viewer = PairViewer(round_pairs(runs["pairs"], runs["collect"]))
    assert "badge kept" in viewer.panel.value and "Rejected &rarr; chosen" in viewer.panel.value
    viewer.filter.value = "task_cap"
    assert "dropped: task_cap" in viewer.panel.value


def _page_data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="codeq-data">(.*?)</script>', text, re.S)
    return json.loads(match.group(1))


def test_page_is_self_contained_and_code_cannot_break_out(runs, mcts_run, tmp_path):
    out = write_page([mcts_run], tmp_path / "trees.html", round_pairs(runs["pairs"], runs["collect"]))
    text = out.read_text()
    assert text.count("</script>") == 2 and "<script>window.pwned" not in text and "<img src=x" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched from anywhere
    data = _page_data(text)
    panels = [panel for task in data["runs"][0]["tasks"] for panel in task["panels"]]
    assert any("&lt;/script&gt;&lt;script&gt;window.pwned" in panel for panel in panels)
    assert INJECTION.splitlines()[1].strip() not in text  # only escaped copies are in the page
    assert data["pairs"] and data["runs"][0]["tasks"][0]["id"] == "add-logic"
    assert 0 < len(data["prompts"]) < len(panels)  # one copy per prompt, shared by its siblings
    assert all('class="prompt-slot"' in panel for panel in panels)
    with pytest.raises(ExploreError, match="nothing to show"):
        page_html([])


def test_codeq_explore_cli(runs, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", "--trees", str(runs["mcts"]), "--trees", str(runs["best"]), "--tasks", str(runs["tasks"]),
                 "--pairs", str(runs["pairs"]), "--pairs-trees", str(runs["collect"]), "--out", str(out)]) == 0
    assert [run["name"] for run in _page_data(out.read_text())["runs"]] == ["base/mcts@3", "base/best_of_n@3"]
    assert "2 run(s), 6 task tree(s)" in capsys.readouterr().err
    assert main(["explore", "--trees", str(runs["tasks"]), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codeq explore: ") and "task_id: is required but missing" in err and "\n" not in err
    assert not (tmp_path / "x.html").exists()


def test_doctests_pass():
    import doctest

    from codeq_lib import cli, errors
    from codeq_lib.explorer import page, render, views

    for module in (cli, errors, page, render, views):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
