"""Repair precision: how much a committed answer changed, and whether it changed only the bug.

Full rewrites can pass the tests while rewriting far more than the bug (the Precise Debugging
Benchmark found frontier models pass unit tests far more often than they repair precisely).
Per committed answer, against the buggy program it was asked to fix:

- `lines` / `tokens`: the size of the change (`codeq_lib.data.mutate.fix_size`: non-blank lines
  and regex tokens that differ, indentation counted);
- `bug_lines`: the size of the reference fix, i.e. the lines the bug occupies;
- `within_bug_lines`: every buggy-program line the answer touched is one the reference fix
  touches too (an insertion counts as touching the line it follows). For a planted bug
  (`codeq_lib.data.mutate`) those are exactly the mutated lines, so this is edit precision;
  for a task whose reference is an independent rewrite (some DebugBench fixes) it is strict.
  None when the answer is the buggy program unchanged.
"""

from __future__ import annotations

import difflib
from typing import Any

from codeq_lib.data.mutate import fix_size


def _lines(code: str) -> list[str]:
    return [line.rstrip() for line in code.splitlines() if line.strip()]


def touched_lines(before: str, after: str) -> set[int]:
    """Indices of `before`'s non-blank lines that `after` replaces or deletes, plus the line an
    insertion follows (-1 for an insertion at the top).

    >>> sorted(touched_lines("a\\nb\\nc\\n", "a\\nB\\nc\\n"))
    [1]
    >>> sorted(touched_lines("a\\nb\\n", "a\\nx\\nb\\n"))
    [0]
    """
    a, b = _lines(before), _lines(after)
    out: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            out.update(range(i1, i2))
        else:
            out.add(i1 - 1)
    return out


def edit_record(buggy: str, answer: str | None, reference: str | None) -> dict[str, Any]:
    """The precision fields of one committed answer (module docstring).

    >>> bug = "def f(a):\\n    x = 1\\n    return a - x\\n"
    >>> ref = "def f(a):\\n    x = 1\\n    return a + x\\n"
    >>> edit_record(bug, ref, ref)["within_bug_lines"]
    True
    >>> edit_record(bug, "def f(a):\\n    y = 1\\n    return a + y\\n", ref)["within_bug_lines"]
    False
    """
    answer = answer or ""
    size = fix_size(buggy, answer)
    record: dict[str, Any] = {"lines": size["lines"], "tokens": size["tokens"], "bug_lines": None,
                              "within_bug_lines": None}
    if reference is not None:
        record["bug_lines"] = fix_size(buggy, reference)["lines"]
        touched = touched_lines(buggy, answer)
        if touched:
            record["within_bug_lines"] = touched <= touched_lines(buggy, reference)
    return record


def edit_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision over the solved answers of a run: mean lines and tokens changed, and how many
    changed only the bug's lines (of those where that is defined), with a Wilson CI.

    >>> edit_summary([{"solved": True, "edit": {"lines": 1, "tokens": 2, "within_bug_lines": True}},
    ...               {"solved": True, "edit": {"lines": 5, "tokens": 9, "within_bug_lines": False}},
    ...               {"solved": False, "edit": {"lines": 0, "tokens": 0, "within_bug_lines": None}}])["precise"]
    1
    """
    from codeq_lib.metrics import wilson_ci

    solved = [row["edit"] for row in rows if row.get("solved") and row.get("edit")]
    judged = [edit for edit in solved if edit.get("within_bug_lines") is not None]
    precise = sum(bool(edit["within_bug_lines"]) for edit in judged)
    return {"solved": len(solved),
            "mean_lines": sum(e["lines"] for e in solved) / len(solved) if solved else None,
            "mean_tokens": sum(e["tokens"] for e in solved) / len(solved) if solved else None,
            "judged": len(judged), "precise": precise,
            "precise_rate": precise / len(judged) if judged else None,
            "precise_ci95": list(wilson_ci(precise, len(judged))) if judged else None}
