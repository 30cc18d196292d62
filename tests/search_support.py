"""Shared fixtures for the search tests: tiny real tasks and canned rewrites (no model)."""

from __future__ import annotations

import random

from codeq_lib.data.tasks import task_from_dict

# Visible tests (1,2)->3, (0,0)->0, (2,-2)->0: the buggy `a - b` passes 1 of 3.
VISIBLE = [{"args": [1, 2], "expected": 3}, {"args": [0, 0], "expected": 0}, {"args": [2, -2], "expected": 0}]
HIDDEN = [{"args": [5, 7], "expected": 12}, {"args": [-3, 3], "expected": 0}]

BUGGY = "def add(a, b):\n    return a - b\n"
GOOD = "def add(a, b):\n    return a + b\n"           # 3/3 visible, 2/2 hidden
GOOD_REFORMATTED = "def add(a, b):\n    # sum\n    return (a + b)\n"  # same normalised AST as GOOD
TWO_THIRDS = "def add(a, b):\n    return a + abs(b)\n"   # 2/3 visible
ONE_THIRD = "def add(a, b):\n    return a * b\n"        # 1/3 visible
ZERO = "def add(a, b):\n    return None\n"             # 0/3 visible
# Passes every visible test but not the hidden (-3, 3) -> 0: a visible-test overfit.
OVERFIT = "def add(a, b):\n    return a + b if a >= 0 else 99\n"


def fence(code: str) -> str:
    return f"Here is the fix.\n```python\n{code}```\n"


def make_task(task_id: str = "add", visible=None, hidden=None, **extra):
    obj = {"id": task_id, "entry_point": "add", "buggy_code": BUGGY,
           "visible_tests": VISIBLE if visible is None else visible,
           "hidden_tests": HIDDEN if hidden is None else hidden, "description": "Return a + b."}
    obj.update(extra)
    return task_from_dict(obj)


def random_script(messages, n, call_index, seed):
    """A scripted policy's rewrites: n programs of mixed quality, drawn from the call's seed."""
    rng = random.Random(seed)
    return [fence(rng.choice([GOOD, TWO_THIRDS, ONE_THIRD, ZERO, OVERFIT])) for _ in range(n)]
