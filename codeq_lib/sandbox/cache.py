"""Execution cache keyed by (code hash, tests hash), as DESIGN.md's search section asks.

The tests hash covers everything that changes a result: the tests with their expected
values and the task's entry point, argument/return types and compare mode. Results that
could not run are never cached (the next try may succeed).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from codeq_lib.hashing import code_hash, json_hash
from codeq_lib.sandbox.result import ExecResult


def tests_key(task, tests) -> str:
    return json_hash({
        "entry_point": task.entry_point,
        "arg_types": task.arg_types,
        "return_type": task.return_type,
        "compare": task.compare,
        "tests": [t.to_dict() for t in tests],
    })


def cache_key(code: str, task, tests) -> tuple[str, str]:
    return code_hash(code), tests_key(task, tests)


class ResultCache:
    """A thread-safe LRU of ExecResult dicts (copies go in and out, never shared objects)."""

    def __init__(self, max_entries: int = 100_000):
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[str, str], dict] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key) -> ExecResult | None:
        with self._lock:
            stored = self._data.get(key)
            if stored is None:
                return None
            self._data.move_to_end(key)
        result = ExecResult.from_dict(copy.deepcopy(stored))
        result.cached = True
        return result

    def put(self, key, result: ExecResult) -> None:
        if result.status == "could_not_run":
            return
        with self._lock:
            self._data[key] = result.to_dict()
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
