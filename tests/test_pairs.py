"""Pair building on hand-made trees (node dicts per docs/interfaces.md), with hand-computed values."""

from __future__ import annotations

import doctest
import json

import pytest

from codeq_lib import pairs as pairs_module
from codeq_lib.cli import main as codeq_main
from codeq_lib.config import ConfigError, from_dict
from codeq_lib.hashing import normalized_code_hash
from codeq_lib.io import read_json, read_jsonl, write_jsonl
from codeq_lib.pairs import (
    DROP_REASONS,
    PairLeakError,
    PairsConfig,
    build_pairs,
    check_no_leak,
    test_split_hashes as split_hashes,
)
from codeq_lib.data.tasks import Task, TestCase, save_tasks

PROMPT = [{"role": "user", "content": "Fix this program:\n```python\ndef add(a, b):\n    return a - b\n```"}]


def node(task_id, node_id, code, *, parent="0", q=0.0, critic=None, visits=1, prompt=PROMPT, rnd=1):
    completion = None if parent is None else f"Here is the fix:\n```python\n{code}\n```"
    return {
        "task_id": task_id, "id": node_id, "parent": parent, "code": code,
        "code_hash": None, "norm_hash": None, "completion": completion,
        "prompt": None if parent is None else prompt, "visits": visits, "value": q,
        "q_mcts": q, "q_critic": critic, "pass_fraction": q, "passed": None, "total": None,
        "test_results": [], "critic_score": critic, "depth": 0 if parent is None else 1,
        "round": rnd, "policy_id": "tiny", "status": "pass" if q == 1.0 else "fail",
    }


def tree(task_id, children, root_code="def add(a, b):\n    return a - b"):
    """A root plus children given as (id, code, q, visits)."""
    nodes = [node(task_id, "0", root_code, parent=None, q=0.0, visits=sum(c[3] for c in children))]
    nodes += [node(task_id, cid, code, q=q, visits=v) for cid, code, q, v in children]
    return nodes


GOOD = "def add(a, b):\n    return a + b"
GOOD_REFORMATTED = "def add(a, b):\n    # fixed\n    return a+b"
BAD = "def add(a, b):\n    return a * b"
HALF = "def add(a, b):\n    return abs(a) + b"


def test_doctests_pass():
    assert doctest.testmod(pairs_module).failed == 0


def test_siblings_become_one_pair_with_hand_computed_metadata():
    nodes = tree("t1", [("1", GOOD, 1.0, 3), ("2", BAD, 0.0, 2)])
    rows, report = build_pairs(nodes, config=PairsConfig(alpha=1.0, threshold=0.1))
    assert len(rows) == 1 and report["kept"] == 1 and report["candidate_pairs"] == 1
    row = rows[0]
    assert row["prompt"] == PROMPT
    assert row["chosen"] == [{"role": "assistant", "content": nodes[1]["completion"]}]
    assert row["rejected"] == [{"role": "assistant", "content": nodes[2]["completion"]}]
    assert (row["task_id"], row["q_chosen"], row["q_rejected"], row["margin"]) == ("t1", 1.0, 0.0, 1.0)
    assert (row["visits_chosen"], row["visits_rejected"], row["round"]) == (3, 2, 1)
    # smoothing = 0.3 * 4 / (4 + min(3, 2)) = 0.2 -> weight 0.8
    assert row["weight"] == pytest.approx(0.8)


def test_blended_q_uses_critic_and_falls_back_to_mcts():
    nodes = tree("t1", [("1", GOOD, 0.5, 2), ("2", BAD, 0.5, 2)])
    nodes[1]["q_critic"], nodes[2]["q_critic"] = 1.0, 0.0
    rows, _ = build_pairs(nodes, config=PairsConfig(alpha=0.5, threshold=0.1))
    # 0.5*0.5 + 0.5*1.0 = 0.75 vs 0.5*0.5 + 0.5*0.0 = 0.25
    assert (rows[0]["q_chosen"], rows[0]["q_rejected"]) == (0.75, 0.25)
    nodes[1]["q_critic"] = None  # Q falls back to Q_mcts = 0.5: margin 0.25 vs 0.5
    rows, _ = build_pairs(nodes, config=PairsConfig(alpha=0.5, threshold=0.1))
    assert (rows[0]["q_chosen"], rows[0]["q_rejected"]) == (0.5, 0.25)


def test_drop_reasons_are_counted():
    nodes = tree("t1", [
        ("1", GOOD, 1.0, 3),
        ("2", GOOD, 0.0, 1),              # identical program to 1
        ("3", GOOD_REFORMATTED, 0.0, 1),  # same normalised hash as 1
        ("4", HALF, 0.95, 1),             # margin 0.05 to node 1
        ("5", BAD, 0.0, 0),               # chosen side 4 vs 5 ok; 5 never chosen
    ])
    rows, report = build_pairs(nodes, config=PairsConfig(alpha=1.0, threshold=0.1, min_visits=1))
    dropped = report["dropped"]
    assert set(dropped) == set(DROP_REASONS)
    assert report["candidate_pairs"] == 10
    assert dropped["identical"] == 1            # (1,2)
    assert dropped["near_identical"] == 2       # (1,3), (2,3)
    assert dropped["small_margin"] == 3         # (1,4) 1.0 vs 0.95; (2,5), (3,5) 0 vs 0
    assert report["kept"] + sum(dropped.values()) == report["candidate_pairs"]
    kept = {(r["chosen_id"], r["rejected_id"]) for r in rows}
    assert kept == {("1", "5"), ("4", "2"), ("4", "3"), ("4", "5")}


def test_low_visits_drop_and_task_cap():
    nodes = tree("t1", [("1", GOOD, 1.0, 0), ("2", BAD, 0.0, 5)])
    rows, report = build_pairs(nodes, config=PairsConfig(alpha=1.0, min_visits=1))
    assert rows == [] and report["dropped"]["low_visits"] == 1

    many = tree("t2", [(str(i), f"def add(a, b):\n    return a + b + {i}", i / 10, 2) for i in range(6)])
    rows, report = build_pairs(many, config=PairsConfig(alpha=1.0, threshold=0.05, max_pairs_per_task=3))
    assert len(rows) == 3 and report["dropped"]["task_cap"] == 15 - 3 - report["dropped"]["small_margin"]
    assert [round(r["margin"], 6) for r in rows] == [0.5, 0.4, 0.4]  # widest margins kept


def test_siblings_need_same_parent_and_same_prompt():
    other_prompt = [{"role": "user", "content": "a different request"}]
    nodes = tree("t1", [("1", GOOD, 1.0, 3)])
    nodes.append(node("t1", "2", BAD, q=0.0, prompt=other_prompt))
    nodes.append(node("t1", "3", HALF, parent="1", q=0.0))
    rows, report = build_pairs(nodes, config=PairsConfig(alpha=1.0))
    assert rows == [] and report["candidate_pairs"] == 0


def test_no_pair_from_a_test_task_or_carrying_test_code():
    train_task_tree = tree("train-1", [("1", GOOD, 1.0, 3), ("2", BAD, 0.0, 2)])
    test_tree = tree("test-1", [("1", GOOD, 1.0, 3), ("2", HALF, 0.0, 2)])
    secret = "def mul(a, b):\n    return a * b"
    test_task = Task(id="test-2", entry_point="mul", buggy_code="def mul(a, b):\n    return a + b",
                     visible_tests=[TestCase(args=[2, 3], expected=6)], hidden_tests=[],
                     reference_code=secret)
    # a training tree whose sibling reproduces the test task's reference (a near duplicate)
    leaky_sibling = tree("train-2", [("1", "def mul(a, b):\n    'doc'\n    return a * b", 1.0, 3),
                                     ("2", BAD, 0.0, 1)])
    # a training tree whose parent (shown in the prompt) is the test task's buggy code
    leaky_parent = tree("train-3", [("1", GOOD, 1.0, 3), ("2", HALF, 0.0, 1)],
                        root_code=test_task.buggy_code)
    nodes = train_task_tree + test_tree + leaky_sibling + leaky_parent
    hashes = split_hashes([test_task])
    assert normalized_code_hash(secret) in hashes
    rows, report = build_pairs(nodes, test_task_ids={"test-1", "test-2"}, test_norm_hashes=hashes,
                               config=PairsConfig(alpha=1.0))
    assert [r["task_id"] for r in rows] == ["train-1"]
    assert report["dropped"]["test_split_task"] == 1
    assert report["dropped"]["leak"] == 2
    for row in rows:
        for side in ("chosen_code", "rejected_code"):
            assert normalized_code_hash(row[side]) not in hashes
    check_no_leak(rows, {"test-1", "test-2"}, hashes)
    with pytest.raises(PairLeakError, match="test-1"):
        check_no_leak([dict(rows[0], task_id="test-1")], {"test-1"}, hashes)
    with pytest.raises(PairLeakError, match="chosen program"):
        check_no_leak([dict(rows[0], chosen_code=secret)], set(), hashes)
    leaky_prompt = [{"role": "user", "content": f"Fix this:\n```python\n{test_task.buggy_code}\n```"}]
    with pytest.raises(PairLeakError, match="prompt"):
        check_no_leak([dict(rows[0], prompt=leaky_prompt)], set(), hashes)
    # a prompt showing a test program is caught even when the parent node is not in the input
    orphan = [node("train-4", "1", GOOD, q=1.0, prompt=leaky_prompt), node("train-4", "2", BAD, prompt=leaky_prompt)]
    rows, report = build_pairs(orphan, test_norm_hashes=hashes, config=PairsConfig(alpha=1.0))
    assert rows == [] and report["dropped"]["leak"] == 1


def test_config_is_strict():
    with pytest.raises(ConfigError, match="tresh"):
        from_dict(PairsConfig, {"tresh": 0.1}, where="params.yaml:pairs")
    with pytest.raises(ValueError, match="alpha"):
        PairsConfig(alpha=1.5)


def test_cli_writes_pairs_and_report(tmp_path):
    trees = tmp_path / "trees.jsonl"
    write_jsonl(trees, tree("train-1", [("1", GOOD, 1.0, 3), ("2", BAD, 0.0, 2)]))
    test_tasks = tmp_path / "test.jsonl"
    save_tasks([Task(id="test-1", entry_point="f", buggy_code="def f():\n    return 1",
                     visible_tests=[TestCase(args=[], expected=1)], hidden_tests=[])], test_tasks)
    out = tmp_path / "pairs" / "pairs.jsonl"
    rc = codeq_main(["pairs", "--trees", str(trees), "--tasks-test", str(test_tasks), "--out", str(out),
                     "--set", "alpha=1.0", "threshold=0.2"])
    assert rc == 0
    rows = read_jsonl(out)
    assert len(rows) == 1 and rows[0]["chosen"][0]["role"] == "assistant"
    report = read_json(out.with_suffix(".report.json"))
    assert report["kept"] == 1 and report["run"]["config"]["threshold"] == 0.2
    json.dumps(report)  # plain JSON, no NaN


def test_unscored_and_codeless_nodes():
    nodes = tree("t1", [("1", GOOD, 1.0, 2), ("2", BAD, 0.0, 1)])
    could_not_run = node("t1", "3", "def add(a, b):\n    while True: pass", q=0.0)
    could_not_run.update(q_mcts=None, value=None, pass_fraction=None, visits=0, status="could_not_run")
    no_code = node("t1", "4", "", q=0.0)
    no_code.update(code="", completion="I am not sure.", q_mcts=None, value=None, pass_fraction=None, visits=0)
    rows, report = build_pairs(nodes + [could_not_run, no_code], config=PairsConfig(alpha=1.0))
    assert report["dropped"]["unscored"] == 3  # node 3 against each of 1, 2, 4
    kept = {(r["chosen_id"], r["rejected_id"]) for r in rows}
    assert kept == {("1", "2"), ("1", "4")}  # a codeless answer is a scored, wrong "rejected"
    assert [r["rejected"][0]["content"] for r in rows if r["rejected_id"] == "4"] == ["I am not sure."]


def test_pairs_from_a_real_mcts_tree():
    """The search's own tree (ScriptedPolicy + the real sandbox) goes through unchanged."""
    from codeq_lib.sandbox import make_sandbox
    from codeq_lib.search import run_search
    from codeq_lib.search.config import SearchConfig
    from codeq_lib.search.scripted import ScriptedPolicy

    task = Task(id="add-1", entry_point="add", buggy_code="def add(a, b):\n    return a - b\n",
                visible_tests=[TestCase(args=[1, 2], expected=3), TestCase(args=[2, 2], expected=4)],
                hidden_tests=[TestCase(args=[5, 5], expected=10)])
    script = [f"```python\n{GOOD}\n```", f"```python\n{BAD}\n```", "no idea", f"```python\n{HALF}\n```"]
    with make_sandbox(workers=1, timeout_s=5.0) as sandbox:
        result = run_search(task, ScriptedPolicy(script), sandbox, "mcts", budget=2,
                            config=SearchConfig(K=4, early_stop=False), round=1)
    rows, report = build_pairs(result.tree, config=PairsConfig(alpha=1.0, threshold=0.1))
    assert rows, report
    for row in rows:
        assert row["q_chosen"] - row["q_rejected"] > 0.1 and row["round"] == 1
        assert row["prompt"][-1]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    assert any(row["chosen_code"].strip() == GOOD for row in rows)
    # the same tree with the correct program declared a test-split program: it never appears
    rows, report = build_pairs(result.tree, test_norm_hashes={normalized_code_hash(GOOD)},
                               config=PairsConfig(alpha=1.0))
    assert report["dropped"]["leak"] > 0
    assert all(normalized_code_hash(r["chosen_code"]) != normalized_code_hash(GOOD) for r in rows)


def test_winners_are_passing_distinct_programs_never_from_a_test_task():
    from codeq_lib.pairs import build_winners

    def scored(n, passed, total):
        return {**n, "passed": passed, "total": total}

    nodes = tree("t1", [("1", GOOD, 1.0, 3), ("2", BAD, 0.0, 2), ("3", GOOD_REFORMATTED, 1.0, 1)])
    nodes = [scored(n, 5, 5) if n["code"] in (GOOD, GOOD_REFORMATTED) and n["parent"] else scored(n, 1, 5)
             for n in nodes]
    held = tree("t9", [("1", GOOD, 1.0, 1)])
    held = [scored(n, 5, 5) for n in held]
    rows, report = build_winners(nodes + held, test_task_ids={"t9"}, max_per_task=4)
    # GOOD and its reformatting are one program (normalised hash): one winner; BAD never; t9 never
    assert [(r["task_id"], r["chosen_code"]) for r in rows] == [("t1", GOOD)]
    assert rows[0]["completion"] == [{"role": "assistant", "content": nodes[1]["completion"]}]
    assert rows[0]["prompt"] == PROMPT
    assert report["dropped"]["duplicate"] == 1 and report["dropped"]["test_split_task"] == 1
    leaky, _ = build_winners(nodes, test_norm_hashes={normalized_code_hash(GOOD)})
    assert leaky == []
