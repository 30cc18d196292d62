"""The evaluation protocol in code (DESIGN.md "The protocol", items 2 and 3).

During evaluation the search gets `search_view(task)`, a copy with NO hidden tests, so it
cannot run them even by mistake. The hidden tests live only in a `HiddenTestGuard`, which
runs them once per task, on the single program the search committed to, and counts every
run. Calling it before the commit, twice, or on another program raises `ProtocolError`.
Oracle best-of-n (selection with hidden tests) goes through `oracle_scores` and is counted
apart, so it can never be mistaken for a pass@1.

On the training split the protocol allows all tests as reward: `training_reward_tests`
says so explicitly, and collection passes them to the search by name.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Iterable

from codeq_lib.data.tasks import Task, TestCase


class ProtocolError(RuntimeError):
    """Hidden tests were requested outside the one allowed run."""


# meta keys a search may read (the problem's key names the task's cluster in logs); every other
# key stays out of reach: DebugBench's bug explanation, a planted bug's operators and the
# status of the buggy program on hidden tests would all tell the search what the fix is
SEARCH_META_KEYS = ("problem_key",)


def search_view(task: Task) -> Task:
    """The task as the search may see it: visible tests only, no reference solution, no bug
    explanation or other metadata about the bug (`SEARCH_META_KEYS`)."""
    meta = {key: task.meta[key] for key in SEARCH_META_KEYS if key in task.meta}
    return dataclasses.replace(task, hidden_tests=[], reference_code=None, meta=meta)


def training_reward_tests(task: Task) -> list[TestCase]:
    """Protocol item 3: on the TRAINING split, collection may reward with every test."""
    return list(task.visible_tests) + list(task.hidden_tests)


class HiddenTestGuard:
    """The only object able to run hidden tests during evaluation."""

    def __init__(self, tasks: Iterable[Task], sandbox: Any):
        self._hidden = {task.id: list(task.hidden_tests) for task in tasks}
        self._sandbox = sandbox
        self._committed: dict[str, str] = {}
        self.runs: Counter[str] = Counter()
        self.oracle_runs: Counter[str] = Counter()

    @property
    def total_runs(self) -> int:
        return sum(self.runs.values())

    def _check_known(self, task: Task) -> None:
        if task.id not in self._hidden:
            raise ProtocolError(f"task {task.id!r}: not registered with the hidden-test guard")

    def commit(self, task: Task, code: str) -> None:
        """Fix the one answer for `task`; a second commit is refused."""
        self._check_known(task)
        if task.id in self._committed:
            raise ProtocolError(f"task {task.id!r}: an answer was already committed")
        self._committed[task.id] = code

    def run_hidden(self, task: Task, code: str) -> Any:
        """Run the hidden tests on the committed answer, exactly once per task."""
        self._check_known(task)
        if task.id not in self._committed:
            raise ProtocolError(f"task {task.id!r}: hidden tests requested before the search committed")
        if self._committed[task.id] != code:
            raise ProtocolError(f"task {task.id!r}: hidden tests requested on a program other than the committed one")
        if self.runs[task.id]:
            raise ProtocolError(f"task {task.id!r}: hidden tests already ran once")
        self.runs[task.id] += 1
        return self._sandbox.run(code, task, self._hidden[task.id])

    def oracle_scores(self, task: Task, codes: list[str]) -> list[float | None]:
        """ORACLE ONLY: hidden-test pass fractions of many programs (labelled, never pass@1)."""
        self._check_known(task)
        self.oracle_runs[task.id] += len(codes)
        results = self._sandbox.run_batch([(code, task, self._hidden[task.id]) for code in codes])
        return [r.pass_fraction for r in results]
