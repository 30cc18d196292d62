"""DebugBench Python 3: loading, dedup, categories, example parsing, signatures, random
inputs and test synthesis, on the real shards in ../shared/debugbench/python3."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeq_lib import debugbench as db
from codeq_lib.tasks import Task, save_tasks, load_tasks

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


# ---------------------------------------------------------------------------- example parsing

@pytest.mark.parametrize("text,value", [
    ("true", True), ("false", False), ("null", None), ("-7", -7), ("2.50000", 2.5),
    ('"007"', "007"), ('"a,b = c"', "a,b = c"), ("[[1,null],[true,-2]]", [[1, None], [True, -2]]),
    ("['a','b']", ["a", "b"]), ('[["1","0"],["0","1"]]', [["1", "0"], ["0", "1"]]), ("[]", []),
    ('"say \\"hi\\""', 'say "hi"'), ("(1, 2)", [1, 2]),
])
def test_parse_literal(text, value):
    parsed = db.parse_literal(text)
    assert parsed == value and type(parsed) is type(value)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4), max_leaves=12)
PY_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
                         lambda children: st.lists(children, max_size=4), max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_property_any_json_literal_parses_to_itself(value):
    assert db.parse_literal(json.dumps(value)) == value


@settings(max_examples=100, deadline=None)
@given(PY_VALUES)
def test_property_python_style_literals_parse_too(value):
    """Single-quoted strings (Python repr), with LeetCode's words only outside quotes."""
    text = repr(value).replace("True", "true").replace("False", "false").replace("None", "null") \
        if not _has_text(value) else repr(value)
    assert db.parse_literal(text) == value


def _has_text(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and any(_has_text(v) for v in value))


@pytest.mark.parametrize("text", ["", "00000010100", "5, nums = [1,1,2,_]", "abc", "3221225471 (1011)", "nan",
                                  "__import__('os')"])
def test_parse_literal_refuses_non_literals(text):
    with pytest.raises(ValueError):
        db.parse_literal(text)


def test_parse_example_with_explanation_and_quoted_commas():
    inputs, output = db.parse_example(
        'Input: words = ["a,b","c"], k = -1, s = "0012"\nOutput: [true,false]\nExplanation: a = 1, b = 2')
    assert inputs == {"words": ["a,b", "c"], "k": -1, "s": "0012"}
    assert output == [True, False]
    assert db.parse_example("Input: n = 3\nOutput: 3 ")[1] == 3


def test_every_real_example_either_parses_or_is_a_known_bad_format(records):
    failures = []
    total = 0
    for record in {r["slug"]: r for r in records}.values():
        for text in record["examples"]:
            total += 1
            try:
                db.parse_example(text)
            except ValueError:
                failures.append(record["slug"])
    assert total == 540 and len(failures) == 9
    # design problems (call sequences), `_` placeholders, and bit strings given as numbers
    assert sorted(set(failures)) == ["design-a-text-editor", "design-hashmap", "generate-random-point-in-a-circle",
                                     "online-election", "range-sum-query-immutable",
                                     "remove-duplicates-from-sorted-array-ii", "reverse-bits"]


# ---------------------------------------------------------------------------- signatures, io types

TREE_ORACLE = """
class Solution:
    def helper(self, node, depth):
        return depth if node is None else max(self.helper(node.left, depth + 1), self.helper(node.right, depth + 1))
    def maxDepth(self, root: Optional[TreeNode], extra: int = 0) -> int:
        return self.helper(root, 0)
"""


def test_signature_picks_the_method_no_other_method_calls():
    sig = db.oracle_signature(TREE_ORACLE)
    assert sig.entry_point == "Solution.maxDepth"
    assert [(p.name, p.annotation, p.has_default) for p in sig.params] == \
        [("root", "Optional[TreeNode]", False), ("extra", "int", True)]
    assert db.io_types(sig) == ([ "TreeNode", None], None)
    assert db.bind_example({"root": [1, 2]}, sig) == [[1, 2]]
    assert db.bind_example({"tree": [1, 2]}, sig) == [[1, 2]]  # renamed parameter: by position
    with pytest.raises(ValueError, match="arg_mismatch"):
        db.bind_example({"head": [1], "pos": 0, "x": 1}, sig)


SOLUTION = "class Solution:\n    def {}:\n        pass\n"


def test_signature_design_class_and_inplace_rules():
    with pytest.raises(ValueError, match="design_class"):
        db.oracle_signature("class LRUCache:\n    def get(self, key: int) -> int:\n        return 1\n")
    inplace = db.oracle_signature(SOLUTION.format("sortColors(self, nums: List[int]) -> None"))
    assert db.io_types(inplace) == ([None], "inplace")
    linked = db.oracle_signature(SOLUTION.format("reorderList(self, head: Optional[ListNode]) -> None"))
    assert db.io_types(linked) == (["ListNode"], "inplace")
    scalar = db.oracle_signature(SOLUTION.format("f(self, n: int) -> None"))
    with pytest.raises(ValueError, match="inplace_without_list"):
        db.io_types(scalar)
    nested = db.oracle_signature(SOLUTION.format("f(self, lists: List[Optional[ListNode]]) -> int"))
    with pytest.raises(ValueError, match="unsupported_type"):
        db.io_types(nested)


def test_real_signatures_resolve_for_all_but_the_counted_problems(records):
    reasons = {}
    for record in {r["slug"]: r for r in records}.values():
        names = []
        for text in record["examples"]:
            try:
                names.append(list(db.parse_example(text)[0]))
            except ValueError:
                pass
        try:
            db.io_types(db.oracle_signature(record["oracle_code"], names, record["slug"]))
        except ValueError as exc:
            reasons.setdefault(str(exc).split(":")[0], []).append(record["slug"])
    assert {k: len(v) for k, v in reasons.items()} == {"design_class": 4, "unsupported_type": 5}
    assert "linked-list-in-binary-tree" not in str(reasons)  # picked isSubPath over its helper


# ---------------------------------------------------------------------------- random inputs

def test_constraints_parsing():
    bounds = db.parse_constraints("1 <= nums.length <= 104\n-109 <= nums[i] <= 109\n1 <= m, n <= 2 * 100\n"
                                  "The number of nodes in the tree is in the range [0, 104].")
    assert bounds == {"nums.length": (1, 104), "nums[i]": (-109, 109), "m": (1, 200), "n": (1, 200),
                      "nodes": (0, 104)}


def test_value_spec_reads_constraints_and_examples():
    spec = db.value_spec("nums", "List[int]", [[1, 3, 5, 7], [2, 4]],
                         "1 <= nums.length <= 3000\n-5 <= nums[i] <= 10\nnums is sorted in ascending order.\n"
                         "All values of nums are unique.")
    assert (spec.kind, spec.int_range, spec.len_range, spec.sorted, spec.distinct) == \
        ("list_int", (-5, 10), (1, 8), True, True)
    text = db.value_spec("s", "str", ["(*)"], "s[i] is '(', ')' or '*'.")
    assert (text.kind, text.charset) == ("str", "()*")
    grid = db.value_spec("edges", None, [[[0, 1], [1, 2]], [[3, 4]]], "")
    assert (grid.kind, grid.inner_len) == ("grid_int", (2, 2))
    assert db.value_spec("x", None, [{"a": 1}], "") is None


def test_random_values_follow_their_spec():
    rng = random.Random(0)
    for _ in range(200):
        spec = db.ValueSpec(kind="list_int", int_range=(-3, 3), len_range=(2, 5), sorted=True)
        value = db.draw_value(rng, spec)
        assert 2 <= len(value) <= 5 and value == sorted(value) and all(-3 <= v <= 3 for v in value)
        bst = db.draw_value(rng, db.ValueSpec(kind="tree", int_range=(0, 50), len_range=(1, 7), bst=True))
        assert 1 <= len([v for v in bst if v is not None]) <= 7 and bst[-1] is not None
        assert _inorder(bst) == sorted(_inorder(bst))
        word = db.draw_value(rng, db.ValueSpec(kind="str", len_range=(0, 3), charset="01"))
        assert set(word) <= {"0", "1"} and len(word) <= 3
        grid = db.draw_value(rng, db.ValueSpec(kind="grid_int", len_range=(1, 4), inner_len=(2, 2)))
        assert all(len(row) == 2 for row in grid)
        square = db.draw_value(rng, db.ValueSpec(kind="grid_str", len_range=(1, 4), charset="x."))
        assert all(len(row) == len(square) for row in square)


def _inorder(level_order: list) -> list:
    """In-order values of a LeetCode level-order tree encoding."""
    if not level_order:
        return []
    nodes = [[level_order[0], None, None]]
    queue, index = [nodes[0]], 1
    for node in queue:
        for side in (1, 2):
            if index < len(level_order) and level_order[index] is not None:
                node[side] = [level_order[index], None, None]
                queue.append(node[side])
            index += 1
    out = []

    def walk(node):
        if node:
            walk(node[1]); out.append(node[0]); walk(node[2])
    walk(nodes[0])
    return out


def test_random_inputs_are_seeded_distinct_and_avoid_examples():
    specs = [db.ValueSpec(kind="int", int_range=(0, 3))]
    first = db.random_inputs(specs, 3, random.Random("0:slug"), avoid=[[0]])
    assert first == db.random_inputs(specs, 3, random.Random("0:slug"), avoid=[[0]])
    assert len(first) == 3 and [0] not in first and len({json.dumps(a) for a in first}) == 3
    assert len(db.random_inputs(specs, 10, random.Random(0))) == 4  # only 4 values exist


def test_plan_problem_on_a_real_tree_record(records):
    record = next(r for r in records if r["slug"] == "maximum-depth-of-binary-tree")
    plan = db.plan_problem(record, n_random=4, seed=0)
    assert plan.signature.entry_point == "Solution.maxDepth"
    assert plan.arg_types == ["TreeNode"] and plan.return_type is None and plan.compare == "exact"
    assert plan.example_args == [[[3, 9, 20, None, None, 15, 7]], [[1, None, 2]]]
    assert plan.example_outputs == [3, 2]
    assert len(plan.random_args) == 4
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
    assert len(tree.hidden_tests) == len(tree.visible_tests) + 3


def test_relations_keep_indices_inside_their_list():
    constraints = "n == edges.length\n-1 <= edges[i] < n\n0 <= node1, node2 < n\n1 <= k <= nums.length"
    relations = db.parse_relations(constraints)
    assert relations["node1"] == db.Relation(lo=0, ref="edges", length=True, offset=-1)
    assert relations["edges[i]"] == db.Relation(lo=-1, ref="edges", length=True, offset=-1)
    assert relations["k"] == db.Relation(lo=1, ref="nums", length=True, offset=0)
    specs = [db.value_spec("edges", "List[int]", [[2, 2, 3, -1]], constraints),
             db.value_spec("node1", "int", [0], constraints), db.value_spec("node2", "int", [1], constraints)]
    for edges, node1, node2 in db.random_inputs(specs, 20, random.Random(0)):
        assert 0 <= node1 < len(edges) and 0 <= node2 < len(edges)
        assert all(-1 <= e < len(edges) for e in edges)


def test_cross_check_marks_random_inputs_the_oracles_disagree_on():
    from codeq_lib.sandbox import TestOutcome

    record = {"slug": "p", "description": "", "constraints": "", "examples": ["Input: x = 1\nOutput: 1"],
              "oracle_code": "class Solution:\n    def f(self, x: int) -> int:\n        return x\n"}
    plans = [db.plan_problem(record, n_random=3, seed=0) for _ in range(2)]

    def answers(values):
        return [(value is not None, TestOutcome(status="fail" if value is not None else "error", got=value))
                for value in values]

    first, second = answers([1, 5, 6, 7]), answers([1, 5, 0, None])
    assert db.cross_check(plans, [first, second]) == 1  # index 2 disagrees; index 3 already unusable
    assert [usable for usable, _ in first] == [True, True, False, False]
    resolved = db.resolve_tests(plans[0], first)
    assert [t.expected for t in resolved.hidden] == [1, 5] and resolved.random_dropped == 2
