"""LeetCode example parsing, the oracle's entry signature, io types and example binding
(codeq_lib.data.leetcode_examples), on hand-written cases and the real DebugBench shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeq_lib.data import leetcode_examples as lx
from codeq_lib.data.debugbench import load_debugbench_records

DEBUGBENCH = Path(__file__).resolve().parents[2] / "shared" / "debugbench" / "python3"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return load_debugbench_records(DEBUGBENCH)


# ---------------------------------------------------------------------------- example parsing

@pytest.mark.parametrize("text,value", [
    ("true", True), ("false", False), ("null", None), ("-7", -7), ("2.50000", 2.5),
    ('"007"', "007"), ('"a,b = c"', "a,b = c"), ("[[1,null],[true,-2]]", [[1, None], [True, -2]]),
    ("['a','b']", ["a", "b"]), ('[["1","0"],["0","1"]]', [["1", "0"], ["0", "1"]]), ("[]", []),
    ('"say \\"hi\\""', 'say "hi"'), ("(1, 2)", [1, 2]),
])
def test_parse_literal(text, value):
    parsed = lx.parse_literal(text)
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
    assert lx.parse_literal(json.dumps(value)) == value


@settings(max_examples=100, deadline=None)
@given(PY_VALUES)
def test_property_python_style_literals_parse_too(value):
    """Single-quoted strings (Python repr), with LeetCode's words only outside quotes."""
    text = repr(value).replace("True", "true").replace("False", "false").replace("None", "null") \
        if not _has_text(value) else repr(value)
    assert lx.parse_literal(text) == value


def _has_text(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and any(_has_text(v) for v in value))


@pytest.mark.parametrize("text", ["", "00000010100", "5, nums = [1,1,2,_]", "abc", "3221225471 (1011)", "nan",
                                  "__import__('os')"])
def test_parse_literal_refuses_non_literals(text):
    with pytest.raises(ValueError):
        lx.parse_literal(text)


def test_parse_example_with_explanation_and_quoted_commas():
    inputs, output = lx.parse_example(
        'Input: words = ["a,b","c"], k = -1, s = "0012"\nOutput: [true,false]\nExplanation: a = 1, b = 2')
    assert inputs == {"words": ["a,b", "c"], "k": -1, "s": "0012"}
    assert output == [True, False]
    assert lx.parse_example("Input: n = 3\nOutput: 3 ")[1] == 3


def test_every_real_example_either_parses_or_is_a_known_bad_format(records):
    failures = []
    total = 0
    for record in {r["slug"]: r for r in records}.values():
        for text in record["examples"]:
            total += 1
            try:
                lx.parse_example(text)
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
    sig = lx.oracle_signature(TREE_ORACLE)
    assert sig.entry_point == "Solution.maxDepth"
    assert [(p.name, p.annotation, p.has_default) for p in sig.params] == \
        [("root", "Optional[TreeNode]", False), ("extra", "int", True)]
    assert lx.io_types(sig) == ([ "TreeNode", None], None)
    assert lx.bind_example({"root": [1, 2]}, sig) == [[1, 2]]
    assert lx.bind_example({"tree": [1, 2]}, sig) == [[1, 2]]  # renamed parameter: by position
    with pytest.raises(ValueError, match="arg_mismatch"):
        lx.bind_example({"head": [1], "pos": 0, "x": 1}, sig)


SOLUTION = "class Solution:\n    def {}:\n        pass\n"


def test_signature_design_class_and_inplace_rules():
    with pytest.raises(ValueError, match="design_class"):
        lx.oracle_signature("class LRUCache:\n    def get(self, key: int) -> int:\n        return 1\n")
    inplace = lx.oracle_signature(SOLUTION.format("sortColors(self, nums: List[int]) -> None"))
    assert lx.io_types(inplace) == ([None], "inplace")
    linked = lx.oracle_signature(SOLUTION.format("reorderList(self, head: Optional[ListNode]) -> None"))
    assert lx.io_types(linked) == (["ListNode"], "inplace")
    scalar = lx.oracle_signature(SOLUTION.format("f(self, n: int) -> None"))
    with pytest.raises(ValueError, match="inplace_without_list"):
        lx.io_types(scalar)
    nested = lx.oracle_signature(SOLUTION.format("f(self, lists: List[Optional[ListNode]]) -> int"))
    with pytest.raises(ValueError, match="unsupported_type"):
        lx.io_types(nested)


def test_real_signatures_resolve_for_all_but_the_counted_problems(records):
    reasons = {}
    for record in {r["slug"]: r for r in records}.values():
        names = []
        for text in record["examples"]:
            try:
                names.append(list(lx.parse_example(text)[0]))
            except ValueError:
                pass
        try:
            lx.io_types(lx.oracle_signature(record["oracle_code"], names, record["slug"]))
        except ValueError as exc:
            reasons.setdefault(str(exc).split(":")[0], []).append(record["slug"])
    assert {k: len(v) for k, v in reasons.items()} == {"design_class": 4, "unsupported_type": 5}
    assert "linked-list-in-binary-tree" not in str(reasons)  # picked isSubPath over its helper


def test_docstring_examples_hold():
    import doctest

    assert doctest.testmod(lx).failed == 0
