"""DebugBench Python 3: loading, dedup, categories and test synthesis, on the real shards
in ../shared/debugbench/python3. Example parsing and random inputs have their own test
files (test_leetcode_examples.py, test_random_inputs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeq_lib.data import debugbench as db
from codeq_lib.data.tasks import Task, save_tasks, load_tasks

DEBUGBENCH = Path(__file__).resolve().parents[2] / "shared" / "debugbench" / "python3"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return db.load_debugbench_records(DEBUGBENCH)


# ---------------------------------------------------------------------------- loading, dedup

def test_load_counts_match_the_shard_readme(records):
    assert len(records) == 1414
    assert len({r["slug"] for r in records}) == 225
    assert len({r["buggy_code"] for r in records}) == 1368
    levels = {level: sum(r["level"] == level for r in records) for level in ("easy", "medium", "hard")}
    assert levels == {"easy": 355, "medium": 590, "hard": 469}
    assert len({r["minor_type"] for r in records}) == 17


def test_minor_type_comes_from_the_file_name(records):
    by_type = {}
    for record in records:
        by_type[record["minor_type"]] = by_type.get(record["minor_type"], 0) + 1
    assert by_type["double"] == 250 and by_type["triple"] == 250 and by_type["quadruple"] == 231
    assert by_type["misused == or ="] == 45 and by_type["other error"] == 20


def test_every_minor_type_maps_to_its_paper_category(records):
    categories = {}
    for record in records:
        categories.setdefault(db.bug_category(record["minor_type"]), set()).add(record["minor_type"])
    assert categories == {
        "syntax": {"misused == or =", "missing colons", "unclosed parentheses", "illegal indentation",
                   "unclosed string", "illegal comment"},
        "reference": {"faulty indexing", "undefined objects", "undefined methods", "illegal keywords"},
        "logic": {"condition error", "operation error", "variable error", "other error"},
        "multiple": {"double", "triple", "quadruple"},
    }
    assert db.bug_category("illegal separation") == "syntax"
    with pytest.raises(ValueError, match="unknown DebugBench bug type 'typo'"):
        db.bug_category("typo")


def test_dedup_counts_on_the_real_shards(records):
    kept, removed = db.dedup_records(records)
    assert len(kept) == 1359
    assert sum(removed.values()) == 55
    assert removed["triple"] == 29
    assert len({db.record_key(r) for r in kept}) == len(kept)


def test_dedup_ignores_formatting_but_keeps_indentation_bugs():
    base = {"slug": "s", "minor_type": "double"}
    same = [dict(base, buggy_code="def f(x):\n    return x  # c\n"),
            dict(base, buggy_code="def f(x):\n\n    return x\n")]
    kept, removed = db.dedup_records(same)
    assert len(kept) == 1 and removed == {"double": 1}
    # neither parses: different indentation is a different bug, not a duplicate
    broken = [dict(base, buggy_code="def f(x)\n    if x:\n    return x\n"),
              dict(base, buggy_code="def f(x)\n    if x:\n        return x\n")]
    assert len(db.dedup_records(broken)[0]) == 2
    # the same program under another slug is another task
    assert len(db.dedup_records([same[0], dict(same[0], slug="t")])[0]) == 2


def test_bad_folder_and_bad_record_are_refused_with_their_place(tmp_path):
    with pytest.raises(FileNotFoundError, match="no python3_\\*.json"):
        db.load_debugbench_records(tmp_path)
    (tmp_path / "python3_double.json").write_text(json.dumps([{"slug": "x"}]))
    with pytest.raises(ValueError, match=r"python3_double.json\[0\]: field 'description' is missing"):
        db.load_debugbench_records(tmp_path)
    (tmp_path / "python3_double.json").unlink()
    record = {key: "x" for key in db.REQUIRED_KEYS} | {"examples": [], "level": "easy"}
    (tmp_path / "python3_typo.json").write_text(json.dumps([record]))
    with pytest.raises(ValueError, match="unknown DebugBench bug type 'typo'"):
        db.load_debugbench_records(tmp_path)


# ---------------------------------------------------------------------------- planning (no sandbox)

def test_plan_problem_on_a_real_tree_record(records):
    record = next(r for r in records if r["slug"] == "maximum-depth-of-binary-tree")
    plan = db.plan_problem(record, n_random=4, seed=0)
    assert plan.signature.entry_point == "Solution.maxDepth"
    assert plan.arg_types == ["TreeNode"] and plan.return_type is None and plan.compare == "exact"
    assert plan.example_args == [[[3, 9, 20, None, None, 15, 7]], [[1, None, 2]]]
    assert plan.example_outputs == [3, 2]
    # 4 random inputs, then edge cases: the empty tree ("nodes in the range [0, 104]") and a long one
    assert len(plan.random_args) > 4 and [[]] in plan.random_args
    assert max(len(args[0]) for args in plan.random_args) > 12  # longer than any random draw (MAX_LEN)
    assert plan.random_args == db.plan_problem(record, n_random=4, seed=0).random_args
    assert plan.random_args != db.plan_problem(record, n_random=4, seed=1).random_args


def test_task_ids_are_readable_and_stable(records):
    record = next(r for r in records if r["minor_type"] == "misused == or =")
    assert db.task_id(record).startswith(f"db-{record['slug']}-misused-eq-or-assign-")
    assert db.task_id(record) == db.task_id(dict(record))


# ---------------------------------------------------------------------------- synthesis (sandbox)

@pytest.fixture(scope="module")
def built():
    from codeq_lib.sandbox import make_sandbox

    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        return db.build_debugbench_tasks(DEBUGBENCH, sandbox, n_random=3, seed=0, limit=60, progress=False)


def test_build_on_a_slice_counts(built):
    """60 evenly spaced records: every bug type, counts that do not depend on the sandbox."""
    tasks, report = built
    assert report["records_loaded"] == 1414 and report["records_used"] == 60
    assert report["problems_used"] == 44 and report["after_dedup"] == 60 and report["dedup_removed"] == 0
    assert report["examples_total"] == 107
    assert report["dropped"]["design_class"] == 1 and report["dropped"]["unsupported_type"] == 1
    assert report["tasks"] == len(tasks) == 60 - report["dropped_total"]
    assert sorted(report["by_category"]) == ["logic", "multiple", "reference", "syntax"]
    assert len(report["by_minor_type"]) >= 15
    assert sum(report["by_difficulty"].values()) == len(tasks)
    assert report["hidden_tests"] > report["visible_tests"] > 0
    assert set(report["dropped"]) == set(report["drop_examples"])  # every reason shows where
    strength = report["hidden_strength"]
    # structured strings ('a==b') defeat random inputs: the oracle rejects them all, and it shows
    assert strength["tasks_without_extra_tests"] == sum(len(t.hidden_tests) == len(t.visible_tests) for t in tasks)
    assert strength["tasks_without_extra_tests"] <= len(tasks) // 10
    assert strength["longest_input_median"] > 5  # issue 14: the median was 5 before edge cases
    assert sum(strength["distinguishing_hidden"].values()) == len(tasks)
    assert strength["tasks_weak_hidden"] == sum(t.meta["weak_hidden"] for t in tasks)


def test_built_tasks_are_valid_and_their_oracles_pass_every_hidden_test(built, tmp_path):
    from codeq_lib.sandbox import make_sandbox

    tasks, _ = built
    path = save_tasks(tasks, tmp_path / "db.jsonl")
    assert [t.id for t in load_tasks(path)] == [t.id for t in tasks]
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        oracle = sandbox.run_batch([(t.reference_code, t, t.hidden_tests) for t in tasks])
        buggy = sandbox.run_batch([(t.buggy_code, t, t.hidden_tests) for t in tasks])
    assert [r.status for r in oracle] == ["pass"] * len(tasks)
    assert all(r.status != "pass" for r in buggy)
    # issue 14: the count of hidden tests that tell each bug from its oracle is recorded
    assert [t.meta["distinguishing_hidden"] for t in tasks] == [
        sum(o.status != "pass" for o in r.outcomes) for r in buggy]
    assert all(t.meta["weak_hidden"] == (t.meta["distinguishing_extras"] == 0) for t in tasks)
    for task in tasks:
        assert task.source == "debugbench" and task.problem and task.entry_point.startswith("Solution.")
        assert task.hidden_tests[:len(task.visible_tests)] == task.visible_tests
        assert "Constraints:" in task.description and "Example 1:" in task.description
        assert task.id.startswith(f"db-{task.problem}-{db._type_slug(task.minor_type)}-")


def test_oracle_beats_example_text():
    """A stated output that disagrees with the oracle is counted, and the oracle's value kept."""
    from codeq_lib.sandbox import make_sandbox

    record = {"slug": "add-two", "minor_type": "operation error", "level": "easy", "shard": "t", "index": 0,
              "description": "Return a + b.", "constraints": "0 <= a, b <= 5",
              "examples": ["Input: a = 1, b = 2\nOutput: 3", "Input: a = 2, b = 2\nOutput: 5"],
              "oracle_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        return a + b\n",
              "buggy_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        return a - b\n"}
    plan = db.plan_problem(record, n_random=3, seed=0)
    assert all(0 <= a <= 5 and 0 <= b <= 5 for a, b in plan.random_args)
    tests = [db.TestCase(args=a, expected=None) for a in plan.example_args + plan.random_args]
    with make_sandbox(backend="subprocess", workers=1) as sandbox:
        first = sandbox.run(record["oracle_code"], db._probe_task(plan, tests), tests)
        second = sandbox.run(record["oracle_code"] + "\n", db._probe_task(plan, tests), tests)
    resolved = db.resolve_tests(plan, db.oracle_answers(first, second))
    assert [t.expected for t in resolved.visible] == [3, 4]
    assert resolved.disagreements == 1
    assert [t.expected for t in resolved.hidden[2:]] == [a + b for a, b in plan.random_args]
    task = db.make_task(record, plan, resolved)
    assert isinstance(task, Task) and task.category == "logic" and task.meta["example_disagreements"] == 1


def test_linked_structures_inplace_and_drop_reasons_through_the_sandbox(records):
    from codeq_lib.sandbox import make_sandbox

    def first(slug):  # its "double" bug if it has one (the first sort-colors bug passes all tests)
        rows = [r for r in records if r["slug"] == slug]
        return next((r for r in rows if r["minor_type"] == "double"), rows[0])

    picked = [first(slug) for slug in ("sort-colors", "remove-linked-list-elements", "increasing-order-search-tree",
                                       "design-hashmap", "merge-k-sorted-lists", "linked-list-cycle")]
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        tasks, report = db.build_tasks_from_records(picked, sandbox, n_random=3, seed=0, progress=False)
    by_problem = {t.problem: t for t in tasks}
    assert sorted(by_problem) == ["increasing-order-search-tree", "remove-linked-list-elements", "sort-colors"]
    assert report["dropped"] == {"design_class": 1, "no_usable_examples": 1, "unsupported_type": 1}
    colors = by_problem["sort-colors"]
    assert (colors.arg_types, colors.return_type) == ([None], "inplace")
    assert colors.visible_tests[0].args == [[2, 0, 2, 1, 1, 0]]
    assert colors.visible_tests[0].expected == [0, 0, 1, 1, 2, 2]
    # "nums[i] is either 0, 1, or 2": random inputs respect it, so any correct sort passes
    assert all(set(t.args[0]) <= {0, 1, 2} for t in colors.hidden_tests)
    assert all(t.expected == sorted(t.args[0]) for t in colors.hidden_tests)
    linked = by_problem["remove-linked-list-elements"]
    assert (linked.arg_types, linked.return_type) == (["ListNode", None], "ListNode")
    assert all(t.expected == [v for v in t.args[0] if v != t.args[1]] for t in linked.hidden_tests)
    tree = by_problem["increasing-order-search-tree"]
    assert (tree.arg_types, tree.return_type) == (["TreeNode"], "TreeNode")
    assert all(t.expected[1::2] == [None] * (len(t.expected) // 2) for t in tree.hidden_tests)  # right spine
    assert len(tree.hidden_tests) > len(tree.visible_tests) + 3  # 3 random inputs, then edge cases
    assert all(t.meta["distinguishing_hidden"] >= 1 for t in tasks)


def test_cross_check_marks_random_inputs_the_oracles_disagree_on():
    from codeq_lib.sandbox import TestOutcome

    record = {"slug": "p", "description": "", "constraints": "", "examples": ["Input: x = 1\nOutput: 1"],
              "oracle_code": "class Solution:\n    def f(self, x: int) -> int:\n        return x\n"}
    plans = [db.plan_problem(record, n_random=3, seed=0) for _ in range(2)]
    for plan in plans:  # the three random inputs only: edge cases follow them, not needed here
        plan.random_args = plan.random_args[:3]

    def answers(values):
        return [(value is not None, TestOutcome(status="fail" if value is not None else "error", got=value))
                for value in values]

    first, second = answers([1, 5, 6, 7]), answers([1, 5, 0, None])
    assert db.cross_check(plans, [first, second]) == 1  # index 2 disagrees; index 3 already unusable
    assert [usable for usable, _ in first] == [True, True, False, False]
    resolved = db.resolve_tests(plans[0], first)
    assert [t.expected for t in resolved.hidden] == [1, 5] and resolved.random_dropped == 2


def test_docstring_examples_hold():
    import doctest

    assert doctest.testmod(db).failed == 0


@pytest.mark.parametrize("content,message", [
    ("{}", "must hold a JSON list"),
    (json.dumps([[1]]), r"\[0\]: each record must be a JSON object"),
    (json.dumps([{k: "x" for k in db.REQUIRED_KEYS} | {"examples": "Input: a = 1"}]), "'examples' must be a list"),
    (json.dumps([{k: "x" for k in db.REQUIRED_KEYS} | {"examples": [], "level": "easy", "buggy_code": 3}]),
     "'buggy_code' must be a string"),
    (json.dumps([{k: "x" for k in db.REQUIRED_KEYS} | {"examples": [], "level": "extreme"}]), "allowed: easy"),
])
def test_malformed_shards_are_refused(tmp_path, content, message):
    (tmp_path / "python3_double.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        db.load_debugbench_records(tmp_path)


def test_equal_lengths_and_renamed_parameters_on_real_records(records):
    """Constraints use the examples' names even where the oracle renames its parameters."""
    def plan(slug):
        return db.plan_problem(next(r for r in records if r["slug"] == slug), n_random=6, seed=0)

    stones = plan("stone-game-vi")  # oracle: (a, b); constraints: aliceValues, bobValues
    assert [p.name for p in stones.signature.params] == ["a", "b"]
    assert all(len(alice) == len(bob) for alice, bob in stones.random_args)
    team = plan("maximum-performance-of-a-team")  # speed.length == n, efficiency.length == n, k <= n
    for n, speed, efficiency, k in team.random_args:
        assert n == len(speed) == len(efficiency) and 1 <= k <= n


def test_build_is_deterministic_under_its_seed(built):
    from codeq_lib.sandbox import make_sandbox

    first_tasks, _ = built
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        again, _ = db.build_debugbench_tasks(DEBUGBENCH, sandbox, n_random=3, seed=0, limit=60, progress=False)
        other_seed, _ = db.build_debugbench_tasks(DEBUGBENCH, sandbox, n_random=3, seed=1, limit=60, progress=False)
    assert [t.to_dict() for t in again] == [t.to_dict() for t in first_tasks]
    assert [t.hidden_tests for t in other_seed] != [t.hidden_tests for t in first_tasks]
