"""Execution cache keyed by (code hash, tests hash), as DESIGN.md's search section asks.

The tests hash covers everything that changes a result: the tests with their expected
values and the task's entry point, argument/return types and compare mode. Results that
could not run are never cached (the next try may succeed); neither are timeouts (the pool
skips them: they depend on the machine's load).

The cache is bounded by bytes, not only by entries (issue 15 class 8): each entry is stored
as its JSON text (which is also how copies go out), and an entry larger than
`max_entry_bytes` is not kept at all, so a candidate returning 12 MB costs that once, not
twice.
"""

from __future__ import annotations

import json
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
    """A thread-safe LRU of ExecResults kept as JSON text (copies in and out, never shared
    objects), bounded by `max_entries` and by `max_bytes` of text."""

    def __init__(self, max_entries: int = 100_000, max_bytes: int = 256 * 1024 * 1024,
                 max_entry_bytes: int = 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.bytes = 0
        self._data: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key) -> ExecResult | None:
        with self._lock:
            stored = self._data.get(key)
            if stored is None:
                return None
            self._data.move_to_end(key)
        result = ExecResult.from_dict(json.loads(stored))
        result.cached = True
        return result

    def put(self, key, result: ExecResult) -> None:
        if result.status == "could_not_run":
            return
        try:
            text = json.dumps(result.to_dict(), allow_nan=False)
        except ValueError:  # not plain JSON: not worth a special path, just not cached
            return
        if len(text) > self.max_entry_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self.bytes -= len(old) if old is not None else 0
            self._data[key] = text
            self.bytes += len(text)
            while len(self._data) > self.max_entries or self.bytes > self.max_bytes:
                _, dropped = self._data.popitem(last=False)
                self.bytes -= len(dropped)
