"""Which tasks a stage runs on: task files or globs, a seeded stratified draw, held-out checks.

The study draws its tasks, never takes a file's first N (files are ordered by source and
problem, so a head is a handful of easy problems). `stratified_sample` allocates the draw to
strata (category x difficulty by default) in proportion to their sizes, by largest remainder,
then draws within each stratum with a seeded RNG; nested draws (`stratified_sample` of a
sample) give the smaller sets of the study (search strategies, ablations) inside the larger.
"""

from __future__ import annotations

import glob
import random
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from codeq_lib.data.tasks import Task, load_tasks

STRATA = ("category", "difficulty")


def task_files(patterns: str | Iterable[str]) -> list[Path]:
    """Files named by a path, a glob or a list of them, sorted; an unmatched name is an error."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    files: set[Path] = set()
    for pattern in patterns:
        matched = glob.glob(str(pattern))
        if not matched:
            raise FileNotFoundError(f"task file {pattern!r}: no such file (or the glob matches nothing)")
        files.update(Path(f) for f in matched)
    return sorted(files)


def load_task_files(patterns: str | Iterable[str]) -> list[Task]:
    """Every task of the files named (in file order, files sorted); a duplicate id is an error."""
    tasks, seen = [], {}
    for path in task_files(patterns):
        for task in load_tasks(path):
            if task.id in seen:
                raise ValueError(f"{path}: task {task.id!r} is also in {seen[task.id]}")
            seen[task.id] = path
            tasks.append(task)
    return tasks


def stratified_sample(tasks: Sequence[Task], n: int | None, seed: int = 0,
                      strata: Sequence[str] = STRATA) -> list[Task]:
    """`n` tasks drawn seeded, in proportion to the strata; all of them when n is None or >= len.
    The result keeps the input order.

    >>> from codeq_lib.data.tasks import TestCase
    >>> def t(i, c): return Task(id=f"t{i}", entry_point="f", buggy_code="", visible_tests=[],
    ...                          hidden_tests=[], category=c, difficulty="easy")
    >>> pool = [t(i, "logic") for i in range(6)] + [t(i + 6, "syntax") for i in range(3)]
    >>> picked = stratified_sample(pool, 3)
    >>> sorted(x.category for x in picked)
    ['logic', 'logic', 'syntax']
    >>> picked == stratified_sample(pool, 3) and len(stratified_sample(pool, None)) == 9
    True
    """
    if n is None or n >= len(tasks):
        return list(tasks)
    if n < 0:
        raise ValueError(f"sample: {n} must be >= 0")
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, task in enumerate(tasks):
        groups[tuple(str(getattr(task, key)) for key in strata)].append(index)
    keys = sorted(groups)
    quotas = {key: n * len(groups[key]) / len(tasks) for key in keys}
    counts = {key: int(quotas[key]) for key in keys}
    rest = n - sum(counts.values())
    for key in sorted(keys, key=lambda k: (-(quotas[k] - counts[k]), k))[:rest]:
        counts[key] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for key in keys:
        chosen.extend(rng.sample(groups[key], counts[key]))
    return [tasks[i] for i in sorted(chosen)]


def select_tasks(patterns: str | Iterable[str], sample: int | list[int] | None = None, seed: int = 0,
                 limit: int | None = None) -> list[Task]:
    """A stage's tasks: the files' tasks, a stratified draw of `sample` (a list: nested draws in
    turn, e.g. [300, 100]: 100 of the 300 that another stage draws with [300]), then the first
    `limit` (tiny smoke runs only)."""
    tasks = load_task_files(patterns)
    for n in sample if isinstance(sample, list) else [sample]:
        tasks = stratified_sample(tasks, n, seed)
    return tasks[:limit]


def refuse_held_out(tasks: Sequence[Task], held_out: str | Iterable[str], stage: str) -> None:
    """Training stages (collection, GRPO) refuse any task of a held-out file, by id and by
    problem key, naming the first one found."""
    try:
        files = task_files(held_out)
    except FileNotFoundError:
        return  # no held-out files written yet (nothing to leak)
    held = load_task_files(files)
    ids = {t.id for t in held}
    keys = {t.meta.get("problem_key") for t in held} - {None}
    for task in tasks:
        if task.id in ids:
            raise ValueError(f"{stage}: task {task.id!r} is in a held-out file ({', '.join(map(str, files))}); "
                             "training stages take the training split only")
        key = task.meta.get("problem_key")
        if key is not None and key in keys:
            raise ValueError(f"{stage}: task {task.id!r} has problem key {key!r}, which a held-out task shares")
