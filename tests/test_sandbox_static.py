"""Static checks: each rule with a positive and a negative case (information only)."""

from __future__ import annotations

from codeq_lib.sandbox.static_checks import find_issues
from codeq_lib.data.tasks import task_from_dict

TASK = task_from_dict({
    "id": "s", "entry_point": "f", "buggy_code": "pass", "hidden_tests": [],
    "visible_tests": [{"args": [[5, 3, 9, 1]], "expected": [1, 3, 5, 9]},
                      {"args": ["hello world"], "expected": 0}],
})


def rules(code: str) -> list[str]:
    return [finding["rule"] for finding in find_issues(code, TASK)]


def test_forbidden_import_positive():
    assert rules("import os\ndef f(x):\n    return x\n") == ["forbidden_import"]
    assert rules("from subprocess import run\ndef f(x):\n    return x\n") == ["forbidden_import"]
    assert rules("def f(x):\n    return __import__('socket')\n") == ["forbidden_import", "dunder_access"]


def test_forbidden_import_negative():
    assert rules("import heapq\nfrom collections import deque\ndef f(x):\n    return x\n") == []


def test_dunder_access_positive():
    found = find_issues("def f(x):\n    return ().__class__.__bases__[0].__subclasses__()\n", TASK)
    assert [f["rule"] for f in found] == ["dunder_access"] * 3
    assert found[0]["line"] == 2


def test_dunder_access_negative():
    code = "class Solution:\n    def __init__(self):\n        self.n = 0\n    def __lt__(self, o):\n        return True\n"
    assert rules(code) == []


def test_test_lookup_table_positive():
    assert rules("def f(x):\n    if x == [5, 3, 9, 1]:\n        return [1, 3, 5, 9]\n    return x\n") == ["test_lookup_table"] * 2
    assert rules("ANSWERS = {'hello world': 0}\ndef f(x):\n    return ANSWERS[x]\n") == ["test_lookup_table"]
    assert rules("def f(x):\n    return {(5, 3, 9, 1): 1}.get(tuple(x))\n") == ["test_lookup_table"]


def test_test_lookup_table_negative():
    assert rules("def f(x):\n    return sorted(x) if x else [0, 1]\n") == []


def test_unparsable_code_has_no_findings():
    assert find_issues("def f(:", TASK) == []


def test_deeply_nested_expression_does_not_raise():
    # issue 15: ~1,000 nested operators (as deep as ast.parse allows) made the literal visitor raise RecursionError
    deep = "def f(x):\n    return [5, 3, 9, 1] if x else " + "+".join(["1"] * 995) + "\n"
    assert rules(deep) == ["test_lookup_table"]
