"""Seeded train/val/test split of tasks **by group**, never by row.

DESIGN.md, protocol rule 1: DebugBench has 1,414 Python rows but only 225 problems
(`slug`), so a row-level split would put the same problem on both sides and let training
pairs leak the test answers. Every task carries `task.group` (its problem, else its id);
whole groups go to one side. `assert_disjoint` is the check later stages and tests call on
any split they read.

With `stratify` (e.g. "difficulty") the groups are split within each stratum, so every
difficulty is held out in proportion: on the 30-problem curriculum a plain shuffle once
put 3 hard tasks of 26 in test.
"""

from __future__ import annotations

import collections
import dataclasses
import random
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from codeq_lib.data.tasks import Task

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


def apportion(total: int, weights: list[int], caps: list[int]) -> list[int]:
    """Share `total` units among strata in proportion to `weights`, at most `caps[i]` each.

    Largest remainder (Hamilton's method): every stratum gets the floor of its quota
    `total * weight / sum(weights)`, and the units left go one each to the largest
    remainders (ties: the earlier stratum), so a share is the floor or the ceiling of its
    quota unless a cap binds. Integer arithmetic, so no float rounding decides a tie.

    >>> apportion(9, [10, 10, 10], [10, 10, 10]), apportion(45, [60, 90, 75], [60, 90, 75])
    ([3, 3, 3], [12, 18, 15])
    >>> apportion(2, [1, 1, 1], [1, 1, 1]), apportion(1, [3, 1], [0, 1])  # a full stratum is skipped
    ([1, 1, 0], [0, 1])
    """
    whole = sum(weights)
    if total > sum(caps):
        raise ValueError(f"split: cannot place {total} groups in strata holding {sum(caps)}")
    if total == 0 or whole == 0:
        return [0] * len(weights)
    shares = [min(total * weight // whole, cap) for weight, cap in zip(weights, caps)]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    left = total - sum(shares)
    while left > 0:
        for i in order:
            if left and shares[i] < caps[i]:
                shares[i] += 1
                left -= 1
    return shares


def _stratum_order(value: Hashable) -> tuple[bool, str]:
    """Sort key for stratum values of any type (None last)."""
    return (value is None, str(value))


def _cut_strata(ordered: list[str], strata: Mapping[str, Hashable], n_test: int, n_val: int,
                rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """Apportion the test and val counts over the strata, then shuffle and cut each one."""
    missing = [group for group in ordered if group not in strata]
    if missing:
        raise ValueError(f"split: no stratum for {len(missing)} group(s), e.g. {missing[:5]}")
    members: dict[Hashable, list[str]] = {}
    for group in ordered:
        members.setdefault(strata[group], []).append(group)
    keys = sorted(members, key=_stratum_order)
    sizes = [len(members[key]) for key in keys]
    test_counts = apportion(n_test, sizes, sizes)
    val_counts = apportion(n_val, sizes, [size - n for size, n in zip(sizes, test_counts)])
    test, val, train = [], [], []
    for key, n_t, n_v in zip(keys, test_counts, val_counts):
        stratum = members[key]  # sorted, as `ordered` is
        rng.shuffle(stratum)
        test += stratum[:n_t]
        val += stratum[n_t:n_t + n_v]
        train += stratum[n_t + n_v:]
    return test, val, train


def split_groups(groups: Iterable[str], test_fraction: float, seed: int, val_fraction: float = 0.0,
                 strata: Mapping[str, Hashable] | None = None) -> dict[str, list[str]]:
    """Assign each distinct group to train/val/test: sort, seeded shuffle, cut.

    Sorting first makes the result independent of the input order; `random.Random(seed)`
    makes it reproducible across machines and Python versions (its `shuffle` is stable
    for a given seed since Python 3.2). With `strata` (group -> stratum value) the same
    total test and val counts are shared among the strata by `apportion`, and each
    stratum (in sorted order) is shuffled and cut on its own.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError(f"split: test_fraction + val_fraction = {test_fraction + val_fraction} must be < 1")
    ordered = sorted(set(groups))
    n_test, n_val = group_counts(len(ordered), test_fraction, val_fraction)
    rng = random.Random(seed)
    if strata is None:
        rng.shuffle(ordered)
        test, val, train = ordered[:n_test], ordered[n_test:n_test + n_val], ordered[n_test + n_val:]
    else:
        test, val, train = _cut_strata(ordered, strata, n_test, n_val, rng)
    return {"test": sorted(test), "val": sorted(val), "train": sorted(train)}


def _group_of(key: Callable[[Task], str] | None) -> Callable[[Task], str]:
    return key if key is not None else (lambda task: task.group)


def group_strata(tasks: list[Task], attribute: str | list[str] | tuple[str, ...],
                 key: Callable[[Task], str] | None = None) -> dict[str, Any]:
    """Each group's value of the task field `attribute` (e.g. "difficulty"), or of several
    fields as a tuple (e.g. ["source", "difficulty"]: a joint split held out per source).

    A group whose tasks disagree takes its most common value (ties: the first in sorted
    order, so the input order does not matter). `key` gives a task's group (default
    `task.group`; the joint split passes the canonical problem key).
    """
    allowed = [f.name for f in dataclasses.fields(Task)]
    attributes = [attribute] if isinstance(attribute, str) else list(attribute)
    for name in attributes:
        if name not in allowed:
            raise ValueError(f"split: stratify={name!r} is not a task field; allowed: {allowed}")
    group_of = _group_of(key)
    values: dict[str, collections.Counter] = {}
    for task in tasks:
        parts = [getattr(task, name) for name in attributes]
        for name, part in zip(attributes, parts):
            if not isinstance(part, Hashable):
                raise ValueError(f"split: stratify={name!r}: task {task.id!r} has an unhashable "
                                 f"{type(part).__name__} value; stratify on a scalar field")
        value = parts[0] if isinstance(attribute, str) else tuple(parts)
        values.setdefault(group_of(task), collections.Counter())[value] += 1
    return {group: min(counts.items(), key=lambda item: (-item[1], *_stratum_order(item[0])))[0]
            for group, counts in values.items()}


def split_by_group(tasks: list[Task], test_fraction: float, seed: int, val_fraction: float = 0.0,
                   stratify: str | list[str] | None = None,
                   key: Callable[[Task], str] | None = None) -> dict[str, list[Task]]:
    """Split tasks by group; returns {"train", "val", "test"} (val may be empty).

    The group is `task.group` unless `key` says otherwise (the joint split over all sources
    passes the canonical problem key, `problems.problem_keys`). `stratify` names a task
    field or a list of them (e.g. "difficulty"): groups are then split within each value
    (see `group_strata`, `split_groups`), so each is held out in proportion. Tasks keep
    their input order inside each split, so a sorted task file stays sorted.
    """
    group_of = _group_of(key)
    strata = group_strata(tasks, stratify, key) if stratify is not None else None
    assignment = split_groups((group_of(task) for task in tasks), test_fraction, seed, val_fraction, strata)
    side_of = {group: name for name, groups in assignment.items() for group in groups}
    splits: dict[str, list[Task]] = {name: [] for name in SPLIT_NAMES}
    for task in tasks:
        splits[side_of[group_of(task)]].append(task)
    return splits


def assert_disjoint(splits: dict[str, list[Task]], key: Callable[[Task], str] | None = None) -> None:
    """Raise SplitLeakError if any group is in two splits, or a task id is repeated.

    The group is `task.group` unless `key` says otherwise. The message names the offending
    groups (at most 10) and the splits they are in.
    """
    group_of = _group_of(key)
    seen: dict[str, str] = {}
    leaks: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    for name, tasks in splits.items():
        for task in tasks:
            if task.id in ids:
                raise SplitLeakError(f"task id {task.id!r} is in split {ids[task.id]!r} and again in {name!r}")
            ids[task.id] = name
            group = group_of(task)
            first = seen.setdefault(group, name)
            if first != name:
                leaks.setdefault(group, {first}).add(name)
    if leaks:
        shown = sorted(leaks)[:10]
        detail = ", ".join(f"{group!r} in {sorted(leaks[group])}" for group in shown)
        more = f" (and {len(leaks) - len(shown)} more)" if len(leaks) > len(shown) else ""
        raise SplitLeakError(f"{len(leaks)} group(s) on more than one side of the split: {detail}{more}")


def split_sizes(splits: dict[str, list[Task]]) -> dict[str, dict[str, int]]:
    """Tasks and groups per split (for the data report)."""
    return {name: {"tasks": len(tasks), "groups": len({t.group for t in tasks})}
            for name, tasks in splits.items()}


__all__ = ["SPLIT_NAMES", "SplitLeakError", "apportion", "assert_disjoint", "group_counts", "group_strata",
           "split_by_group", "split_groups", "split_sizes"]
