"""One canonical problem key across sources, and the leak check a joint split must pass.

DESIGN.md, protocol rule 1: the split is by problem and joint across sources. Each source
names its problems its own way: curriculum `binary_search` and `fizzbuzz`, DebugBench
`binary-search` and `fizz-buzz`, MBPP by task number (its function is `binary_search`).
Split separately, 15 DebugBench test tasks shared a problem with curriculum training tasks
(issue 14). The key here joins them:

1. a *name*: the problem's name with case and separators folded away (`binary_search`,
   `binary-search`, `binarySearch` -> `binarysearch`); for MBPP, whose problems are numbered,
   the function's name;
2. a *content check*: problems whose tasks share a normalised program (a reference or a
   buggy program, `hashing.normalized_code_hash`) are one problem, whatever their names.

Problems linked by either are one connected component; its key is the smallest name in
it. The key is conservative by design: two unrelated problems that happen to share a
name land on one side together, which costs nothing; a shared problem split apart would
leak.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterable, Mapping

from codeq_lib.hashing import normalized_code_hash
from codeq_lib.data.tasks import Task


def fold_name(name: str) -> str:
    """Case and separators folded away.

    >>> fold_name("binary_search"), fold_name("binary-search"), fold_name("Binary Search"), fold_name("fizzBuzz")
    ('binarysearch', 'binarysearch', 'binarysearch', 'fizzbuzz')
    """
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def problem_name(task: Task) -> str:
    """The name a task's problem goes by: MBPP problems are numbered, so their function's
    name; every other source names its problems (curriculum function, DebugBench slug)."""
    if (task.source or "").startswith("mbpp"):
        return task.entry_point.rsplit(".", 1)[-1]
    return task.problem or task.id


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller root wins: order-independent


@functools.lru_cache(maxsize=None)
def _program_hash(code: str) -> str:
    # every reference is shared by several tasks, and the key, the leak check and the report
    # each hash every program: parse each text once
    with warnings.catch_warnings():  # planted bugs make the parser warn (`1if`)
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return normalized_code_hash(code)


def task_programs(task: Task) -> list[str]:
    """Normalised hashes of the programs a task holds (buggy and reference)."""
    return [_program_hash(code) for code in (task.buggy_code, task.reference_code) if code]


def problem_keys(tasks: Iterable[Task]) -> dict[str, str]:
    """task id -> canonical problem key (see the module doc). Depends only on the set of
    tasks, not their order. Every task's `(source, problem)` is one node, so two sources'
    problems join only through a folded name or a shared program."""
    union = _UnionFind()
    node_of: dict[str, str] = {}
    for task in tasks:
        node = f"problem:{task.source}:{task.problem or task.id}"
        node_of[task.id] = node
        union.union(node, "name:" + fold_name(problem_name(task)))
        for program in task_programs(task):
            union.union(node, "program:" + program)
    names: dict[str, str] = {}
    for item in list(union.parent):
        if item.startswith("name:"):
            root = union.find(item)
            names[root] = min(names.get(root, item), item)
    return {task_id: names[union.find(node)][len("name:"):] for task_id, node in node_of.items()}


def shared_across_splits(splits: Mapping[str, list[Task]], key_of: Callable[[Task], str]) -> dict[str, list[str]]:
    """What two splits share: problem keys, and normalised programs (buggy or reference).

    Returns {"problem_keys": [...], "programs": [...]} (empty lists when the split is clean),
    each item named with the splits it is in. `prepare` refuses a split where either is
    non-empty (issue 14); the report records both counts.
    """
    key_sides: dict[str, set[str]] = {}
    program_sides: dict[str, set[str]] = {}
    program_owner: dict[str, str] = {}
    for name, tasks in splits.items():
        for task in tasks:
            key_sides.setdefault(key_of(task), set()).add(name)
            for program in task_programs(task):
                program_sides.setdefault(program, set()).add(name)
                program_owner.setdefault(program, task.id)
    keys = [f"{key} in {sorted(sides)}" for key, sides in sorted(key_sides.items()) if len(sides) > 1]
    programs = [f"program of {program_owner[p]} in {sorted(sides)}"
                for p, sides in sorted(program_sides.items()) if len(sides) > 1]
    return {"problem_keys": keys, "programs": programs}


__all__ = ["fold_name", "problem_keys", "problem_name", "shared_across_splits", "task_programs"]
