"""Seeded train/val/test split of tasks **by group**, never by row.

DESIGN.md, protocol rule 1: DebugBench has 1,414 Python rows but only 225 problems
(`slug`), so a row-level split would put the same problem on both sides and let training
pairs leak the test answers. Every task carries `task.group` (its problem, else its id);
whole groups go to one side. `assert_disjoint` is the check later stages and tests call on
any split they read.
"""

from __future__ import annotations

import random
from typing import Iterable

from codeq_lib.tasks import Task

SPLIT_NAMES = ("train", "val", "test")


class SplitLeakError(ValueError):
    """A group (problem) appears in more than one split; the message names the groups."""


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"split: {name}={value!r} must be a number in [0, 1)")


def group_counts(n_groups: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """How many groups go to test and to val: rounded, and at least one each when asked for.

    A non-zero fraction of at least one group keeps a tiny run meaningful (a test split that
    rounds to zero problems would report on nothing); train always keeps at least one group
    when there are two or more (test is served first, then val).

    >>> group_counts(225, 0.2, 0.0)
    (45, 0)
    >>> group_counts(3, 0.1, 0.1)
    (1, 1)
    >>> group_counts(1, 0.5, 0.0)
    (0, 0)
    """
    if n_groups < 2:
        return 0, 0
    n_test = max(1, round(n_groups * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round(n_groups * val_fraction)) if val_fraction > 0 else 0
    budget = n_groups - 1  # train keeps at least one group
    n_test = min(n_test, budget)
    n_val = min(n_val, budget - n_test)
    return n_test, n_val


def split_groups(groups: Iterable[str], test_fraction: float, seed: int,
                 val_fraction: float = 0.0) -> dict[str, list[str]]:
    """Assign each distinct group to train/val/test: sort, seeded shuffle, cut.

    Sorting first makes the result independent of the input order; `random.Random(seed)`
    makes it reproducible across machines and Python versions (its `shuffle` is stable
    for a given seed since Python 3.2).
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError(f"split: test_fraction + val_fraction = {test_fraction + val_fraction} must be < 1")
    ordered = sorted(set(groups))
    random.Random(seed).shuffle(ordered)
    n_test, n_val = group_counts(len(ordered), test_fraction, val_fraction)
    return {
        "test": sorted(ordered[:n_test]),
        "val": sorted(ordered[n_test:n_test + n_val]),
        "train": sorted(ordered[n_test + n_val:]),
    }


def split_by_group(tasks: list[Task], test_fraction: float, seed: int,
                   val_fraction: float = 0.0) -> dict[str, list[Task]]:
    """Split tasks by `task.group`; returns {"train", "val", "test"} (val may be empty).

    Tasks keep their input order inside each split, so a sorted task file stays sorted.
    """
    assignment = split_groups((task.group for task in tasks), test_fraction, seed, val_fraction)
    side_of = {group: name for name, groups in assignment.items() for group in groups}
    splits: dict[str, list[Task]] = {name: [] for name in SPLIT_NAMES}
    for task in tasks:
        splits[side_of[task.group]].append(task)
    return splits


def assert_disjoint(splits: dict[str, list[Task]]) -> None:
    """Raise SplitLeakError if any group is in two splits, or a task id is repeated.

    The message names the offending groups (at most 10) and the splits they are in.
    """
    seen: dict[str, str] = {}
    leaks: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    for name, tasks in splits.items():
        for task in tasks:
            if task.id in ids:
                raise SplitLeakError(f"task id {task.id!r} is in split {ids[task.id]!r} and again in {name!r}")
            ids[task.id] = name
            first = seen.setdefault(task.group, name)
            if first != name:
                leaks.setdefault(task.group, {first}).add(name)
    if leaks:
        shown = sorted(leaks)[:10]
        detail = ", ".join(f"{group!r} in {sorted(leaks[group])}" for group in shown)
        more = f" (and {len(leaks) - len(shown)} more)" if len(leaks) > len(shown) else ""
        raise SplitLeakError(f"{len(leaks)} group(s) on more than one side of the split: {detail}{more}")


def split_sizes(splits: dict[str, list[Task]]) -> dict[str, dict[str, int]]:
    """Tasks and groups per split (for the data report)."""
    return {name: {"tasks": len(tasks), "groups": len({t.group for t in tasks})}
            for name, tasks in splits.items()}


__all__ = ["SPLIT_NAMES", "SplitLeakError", "assert_disjoint", "group_counts", "split_by_group",
           "split_groups", "split_sizes"]
