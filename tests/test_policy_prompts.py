"""Repair / critic prompts and visible-test feedback."""

import json

from codeq_lib.policy.prompts import (
    build_critic_messages,
    build_repair_messages,
    feedback_from_result,
    render_call,
)
from codeq_lib.sandbox.result import ExecResult, TestOutcome
from codeq_lib.data.tasks import TestCase, task_from_dict

TESTS = [
    {"args": [1, 2], "expected": 3},
    {"args": [2, 2], "expected": 4},
    {"args": [5], "kwargs": {"b": 1}, "expected": 6},
    {"args": [0, 0], "expected": 0},
]
TASK = task_from_dict({"id": "add-1", "entry_point": "add", "buggy_code": "def add(a, b):\n    return a - b\n",
                       "visible_tests": TESTS, "hidden_tests": [{"args": [9, 9], "expected": 18}],
                       "description": "Return a + b."})


def _result():
    return ExecResult(status="fail", passed=1, total=4, outcomes=[
        TestOutcome("fail", got=-1, expected=3),
        TestOutcome("error", got=None, expected=4, error="ZeroDivisionError: division by zero"),
        TestOutcome("timeout", got=None, expected=6),
        TestOutcome("pass", got=0, expected=0),
    ])


def test_feedback_lists_failing_visible_tests_in_order():
    feedback = feedback_from_result(TASK, TASK.visible_tests, _result())
    assert feedback == [
        {"input": "add(1, 2)", "expected": "3", "got": "-1", "error": None},
        {"input": "add(2, 2)", "expected": "4", "got": None, "error": "ZeroDivisionError: division by zero"},
        {"input": "add(5, b=1)", "expected": "6", "got": None, "error": "timed out"},
    ]
    assert len(feedback_from_result(TASK, TASK.visible_tests, _result(), max_items=1)) == 1
    assert feedback_from_result(TASK, TASK.visible_tests, _result().to_dict(), max_items=1) == feedback[:1]


def test_feedback_for_a_program_that_could_not_run():
    result = ExecResult(status="could_not_run", passed=0, total=4, error="SyntaxError: invalid syntax (line 2)",
                        outcomes=[TestOutcome("not_run") for _ in range(4)])
    assert feedback_from_result(TASK, TASK.visible_tests, result) == [
        {"input": None, "expected": None, "got": None, "error": "SyntaxError: invalid syntax (line 2)"}]
    passing = ExecResult(status="pass", passed=1, total=1, outcomes=[TestOutcome("pass", got=3, expected=3)])
    assert feedback_from_result(TASK, TASK.visible_tests[:1], passing) == []


def test_long_values_are_clipped():
    result = ExecResult(status="fail", passed=0, total=1, outcomes=[TestOutcome("fail", got=list(range(1000)))])
    item = feedback_from_result(TASK, [TestCase(args=[list(range(1000))], expected=[1])], result)[0]
    assert len(item["got"]) <= 300 and item["got"].endswith("...[truncated]")
    assert len(item["input"]) <= 300


def test_render_call_for_class_methods():
    assert render_call("Solution.twoSum", [[2, 7], 9], {"k": "x"}) == 'Solution().twoSum([2, 7], 9, k="x")'


def test_repair_prompt_carries_problem_code_feedback_and_attempts():
    feedback = feedback_from_result(TASK, TASK.visible_tests, _result())
    messages = build_repair_messages(TASK, TASK.buggy_code, feedback=feedback,
                                     attempts=["def add(a, b):\n    return a * b", {"code": "def add(a, b):\n    return b", "feedback": feedback[:1]}])
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    for needle in ("Return a + b.", "```python\ndef add(a, b):\n    return a - b\n```", "Input: add(1, 2)", "Expected: 3",
                   "Got: -1", "Error: ZeroDivisionError", "Attempt 1:", "return a * b", "Attempt 2:", "the function `add`"):
        assert needle in user, needle
    assert "9, 9" not in user  # hidden tests never reach a prompt
    plain = build_repair_messages(TASK, TASK.buggy_code)[1]["content"]
    assert "fails these tests" not in plain and "Earlier attempts" not in plain


def test_critic_prompt_asks_for_yes_or_no():
    messages = build_critic_messages(TASK, "def add(a, b):\n    return a + b")
    assert messages[0]["role"] == "system"
    assert messages[1]["content"].endswith("Answer yes or no.")
    assert "return a + b" in messages[1]["content"]


def test_feedback_text_is_made_safe_for_a_tokenizer():
    # issue 15: a candidate's exception message with a lone surrogate crashed the tokenizer
    result = ExecResult(status="error", passed=0, total=1,
                        outcomes=[TestOutcome("error", expected=3, error="ValueError: bad \udc80\x00 text")])
    feedback = feedback_from_result(TASK, TASK.visible_tests[:1], result)
    assert feedback[0]["error"] == "ValueError: bad \ufffd\ufffd text"
    messages = build_repair_messages(TASK, "def add(a, b):\n    return a - b\n", feedback=feedback)
    json.dumps(messages, ensure_ascii=False).encode("utf-8")
