"""Code extraction: hand-written edge cases, then the corpus of real SmolLM2 outputs."""

import ast
import json
from pathlib import Path

import pytest

from codeq_lib.io import read_jsonl
from codeq_lib.policy.extract import extract_code

CORPUS = Path(__file__).parent / "data" / "model_outputs" / "corpus.jsonl"


def test_fenced_block_with_prose_around():
    text = "Here is the fix:\n```python\ndef add(a, b):\n    return a + b\n```\nThis adds the numbers."
    got = extract_code(text, "add")
    assert (got.code, got.has_entry_point, got.reason, got.syntax_ok) == ("def add(a, b):\n    return a + b\n", True, "fenced", True)


def test_prefers_the_block_that_defines_the_entry_point():
    text = ("Install:\n```bash\npip install x\n```\nHelper:\n```python\nimport math\n```\n"
            "Fix:\n```py\ndef add(a, b):\n    return a + b\n```\nAlso:\n```python\ndef add(a, b):\n    return b + a + 0\n```")
    got = extract_code(text, "add")
    assert got.code == "def add(a, b):\n    return a + b\n"
    assert got.has_entry_point


def test_block_that_parses_beats_a_broken_one():
    text = "```python\ndef add(a, b)\n    return a + b\n```\n```python\ndef add(a, b):\n    return a + b\n```"
    assert extract_code(text, "add").code == "def add(a, b):\n    return a + b\n"


def test_unclosed_fence_is_a_truncated_block_cut_to_what_parses():
    text = "Sure!\n```python\ndef add(a, b):\n    return a + b\n\ndef helper(x):\n    return [x,"
    got = extract_code(text, "add")
    assert got.code == "def add(a, b):\n    return a + b\n"
    assert got.reason == "fenced+unclosed+trimmed"
    assert got.has_entry_point and got.syntax_ok


def test_unfenced_code_with_prose():
    text = "The bug is the minus sign. Corrected:\n\ndef add(a, b):\n    # use plus\n    return a + b\n\nThat's it, it now adds."
    got = extract_code(text, "add")
    assert got.code == "def add(a, b):\n    # use plus\n    return a + b\n"
    assert got.reason == "unfenced" and got.has_entry_point


def test_bare_code_without_prose():
    got = extract_code("def add(a, b):\n    return a + b\n", "add")
    assert (got.reason, got.has_entry_point) == ("whole", True)


def test_dropped_entry_point_is_detected():
    got = extract_code("```python\ndef plus(a, b):\n    return a + b\n```", "add")
    assert got.code.startswith("def plus") and not got.has_entry_point


def test_class_method_needs_both_class_and_method():
    method_only = "```python\nclass Solution:\n    def other(self):\n        return 1\n```"
    wrong_class = "```python\nclass Helper:\n    def twoSum(self, nums, target):\n        return []\n```"
    right = "```python\nclass Solution:\n    def twoSum(self, nums, target):\n        return []\n```"
    top_level_function = "```python\ndef twoSum(nums, target):\n    return []\n```"
    assert not extract_code(method_only, "Solution.twoSum").has_entry_point
    assert not extract_code(wrong_class, "Solution.twoSum").has_entry_point
    assert not extract_code(top_level_function, "Solution.twoSum").has_entry_point
    assert extract_code(right, "Solution.twoSum").has_entry_point


def test_example_calls_and_main_guard_are_dropped():
    text = ("```python\nimport math\n\ndef add(a, b):\n    return a + b\n\nprint(add(1, 2))\nadd(5, 5)  # Output: 10\n"
            "X = 3\nadd(1, 2) == 3\nif __name__ == '__main__':\n    print(add(X, 1))\n```")
    got = extract_code(text, "add")
    assert got.code == "import math\n\ndef add(a, b):\n    return a + b\n\nX = 3\n"
    assert got.reason == "fenced+dropped_calls"


def test_indented_block_is_dedented():
    text = "Fixed:\n    ```python\n    def add(a, b):\n        return a + b\n    ```"
    assert extract_code(text, "add").code == "def add(a, b):\n    return a + b\n"


def test_nothing_to_extract():
    assert extract_code("", "add").reason == "empty"
    got = extract_code("I am not sure what the bug is. Could you explain more?", "add")
    assert (got.code, got.has_entry_point, got.reason) == ("", False, "no_code")


def test_syntax_error_that_cannot_be_trimmed_keeps_the_code():
    got = extract_code("```python\ndef add(a, b)\n    return a + b\n```", "add")
    assert got.code == "def add(a, b)\n    return a + b\n"
    assert got.has_entry_point and not got.syntax_ok  # the sandbox reports the syntax error


def test_tilde_fences_and_longer_backtick_fences():
    assert extract_code("~~~python\ndef add(a, b):\n    return a + b\n~~~", "add").has_entry_point
    text = "````python\ndef add(a, b):\n    s = '```'\n    return a + b\n````"
    assert extract_code(text, "add").code == "def add(a, b):\n    s = '```'\n    return a + b\n"


# ---- the corpus of real outputs of the embedded model (tests/data/model_outputs) ----

def _corpus():
    return read_jsonl(CORPUS)


def test_corpus_is_real_model_output():
    rows = _corpus()
    assert len(rows) == 42
    assert {row["model"] for row in rows} == {"smollm2-135m-instruct"}
    assert {row["finish_reason"] for row in rows} == {"stop", "length"}  # some are truncated


LABELS = json.loads((CORPUS.parent / "labels.json").read_text())  # hand-checked per output


@pytest.mark.parametrize("row", _corpus(), ids=lambda row: row["id"])
def test_corpus_extraction_matches_hand_checked_labels(row):
    got = extract_code(row["text"], row["entry_point"], original=row["buggy_code"])
    assert {"reason": got.reason, "has_entry_point": got.has_entry_point, "syntax_ok": got.syntax_ok} == LABELS[row["id"]]
    if got.syntax_ok:
        ast.parse(got.code)
    assert "```" not in got.code


def test_corpus_counts():
    rows = {row["id"]: row for row in _corpus()}
    assert set(rows) == set(LABELS)
    dropped = [i for i, label in LABELS.items() if not label["has_entry_point"]]
    # SmolLM2 turns every `class Solution` method into a bare function here: detected.
    assert sum(i.startswith("Solution.") for i in dropped) == 11
    assert sorted(i for i in dropped if not i.startswith("Solution.")) == ["fib-160-2", "fib-48-2"]


def test_echoed_buggy_block_loses_to_the_fix_in_a_real_output():
    row = next(r for r in _corpus() if r["id"] == "add-160-0")
    assert extract_code(row["text"], "add").code == 'def add(a, b):\n    """Add two numbers"""\n    return a - b\n'
    assert extract_code(row["text"], "add", original=row["buggy_code"]).code == "def add(a, b):\n    return a + b\n"
