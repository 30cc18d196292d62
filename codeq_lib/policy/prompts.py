"""Chat prompts for full-rewrite repair and for the yes/no critic, and visible-test feedback.

A repair prompt carries the problem statement, the program to fix and, when the strategy
gives them, failing visible tests (input, expected, got, error; DebugArena-style feedback)
and earlier attempts (REx / refine). It asks for ONE complete rewrite in a ```python block,
which `extract.py` reads back. The model's own chat template is applied by the backend.
Only visible tests ever reach a prompt (DESIGN.md protocol rule 2): callers pass them in.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

REPAIR_SYSTEM = (
    "You are an expert Python programmer. You fix bugs by rewriting the whole program. "
    "Reply with the complete corrected program in a single ```python code block."
)
CRITIC_SYSTEM = "You are a careful code reviewer. Answer only yes or no."
MAX_VALUE_CHARS = 300
# Lone surrogates and control characters (not tab/newline): a tokenizer raises on the first
# (issue 15: a candidate's exception message crashed the search). The sandbox already
# cleans what it reports; this keeps a result built any other way from reaching a prompt raw.
_UNSAFE_CHARS = re.compile(r"[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f]")


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Long values would crowd the program out of a small context window; unsafe characters
    become U+FFFD."""
    text = _UNSAFE_CHARS.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 15] + " ...[truncated]"


def render_value(value: Any) -> str:
    return clip(json.dumps(value, default=str))


def render_call(entry_point: str, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> str:
    """How the test calls the program, e.g. `add(1, 2)` or `Solution().twoSum([2, 7], 9)`.

    >>> render_call("Solution.twoSum", [[2, 7], 9])
    'Solution().twoSum([2, 7], 9)'
    """
    class_name, _, method = entry_point.rpartition(".")
    parts = [json.dumps(a, default=str) for a in args] + [f"{k}={json.dumps(v, default=str)}" for k, v in (kwargs or {}).items()]
    target = f"{class_name}().{method}" if class_name else method
    return clip(f"{target}({', '.join(parts)})")


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """Read a field from a dataclass-like object or a dict (ExecResult or its to_dict())."""
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def feedback_from_result(task, tests, result, max_items: int = 3) -> list[dict[str, Any]]:
    """Up to `max_items` failing tests as {"input", "expected", "got", "error"} strings
    (None where absent), in test order. A program that did not load or could not run gives
    one item with the error and no input."""
    outcomes = _field(result, "outcomes", None) or []
    items: list[dict[str, Any]] = []
    for test, outcome in zip(tests, outcomes):
        status = _field(outcome, "status")
        if status in ("pass", "not_run"):
            continue
        got = _field(outcome, "got")
        error = _field(outcome, "error") or ("timed out" if status == "timeout" else None)
        items.append(
            {
                "input": render_call(task.entry_point, test.args, test.kwargs),
                "expected": render_value(test.expected),
                "got": None if (got is None and error) else render_value(got),
                "error": clip(str(error)) if error else None,
            }
        )
        if len(items) >= max_items:
            return items
    if not items and _field(result, "status") not in (None, "pass"):
        error = _field(result, "error") or _field(result, "status")
        items.append({"input": None, "expected": None, "got": None, "error": clip(str(error))})
    return items


def render_feedback(feedback: Sequence[dict[str, Any]]) -> str:
    lines = []
    for item in feedback:
        if item.get("input") is None:
            lines.append(f"- The program failed to run: {item.get('error')}")
            continue
        lines.append(f"- Input: {item['input']}")
        lines.append(f"  Expected: {item.get('expected')}")
        if item.get("error"):
            lines.append(f"  Error: {item['error']}")
        else:
            lines.append(f"  Got: {item.get('got')}")
    return "\n".join(lines)


def render_attempts(attempts: Sequence[Any]) -> str:
    """Earlier attempts: each a code string or {"code": ..., "feedback": [...]}."""
    parts = []
    for number, attempt in enumerate(attempts, start=1):
        code = attempt if isinstance(attempt, str) else attempt.get("code", "")
        feedback = [] if isinstance(attempt, str) else attempt.get("feedback") or []
        parts.append(f"Attempt {number}:\n```python\n{code.strip()}\n```")
        if feedback:
            parts.append("It failed these tests:\n" + render_feedback(feedback))
    return "\n".join(parts)


def describe_task(task) -> str:
    class_name, _, method = task.entry_point.rpartition(".")
    signature = f"the method `{method}` of class `{class_name}`" if class_name else f"the function `{method}`"
    text = f"The tests call {signature}; keep its name and parameters."
    return (task.description.strip() + "\n\n" + text) if task.description else text


def build_repair_messages(task, code: str, feedback: Sequence[dict] | None = None, attempts: Sequence[Any] | None = None) -> list[dict]:
    """System + one user message asking for a full rewrite of `code`."""
    sections = [f"Problem:\n{describe_task(task)}", f"This program has a bug:\n```python\n{code.strip()}\n```"]
    if feedback:
        sections.append("It fails these tests:\n" + render_feedback(feedback))
    if attempts:
        sections.append("Earlier attempts that were still wrong:\n" + render_attempts(attempts))
    sections.append("Write the complete corrected program in one ```python code block.")
    return [{"role": "system", "content": REPAIR_SYSTEM}, {"role": "user", "content": "\n\n".join(sections)}]


def build_critic_messages(task, code: str, feedback: Sequence[dict] | None = None) -> list[dict]:
    """A yes/no judgement prompt; the critic reads P("yes") at the first answer token."""
    sections = [f"Problem:\n{describe_task(task)}", f"Candidate program:\n```python\n{code.strip()}\n```"]
    if feedback:
        sections.append("Test results:\n" + render_feedback(feedback))
    sections.append("Is this program correct? Answer yes or no.")
    return [{"role": "system", "content": CRITIC_SYSTEM}, {"role": "user", "content": "\n\n".join(sections)}]
