"""Bug tasks from reference problems: plant bugs with `mutate`, keep the ones that are real.

A reference problem is a schema-v1 `Task` whose `buggy_code` is its correct reference (MBPP
problems from `mbpp`, the curriculum's functions, DebugBench's oracles). For each problem
and each category (syntax, reference, logic, multiple) seeded candidates are drawn, run on
the problem's hidden tests in the sandbox, and the first that passes every keep-check
(issue 14) becomes a task:

1. it parses, unless it is a syntax bug (`mutate.claims_hold`);
2. it fails at least one hidden test and, unless it is a syntax bug, at least one visible
   test (so the search has a signal to follow);
3. it is not equivalent to the reference on the hidden tests: the same check as 2, since
   every expected value is the reference's own output;
4. it is not a duplicate: its normalised program differs from every reference, every
   original bug and every bug kept before it.

Its `category` and `minor_type` record what was done; its `difficulty` is measured: the
size of the fix in tokens (`mutate.fix_size`, thresholds in `mutate.DIFFICULTY_TOKENS`).
"""

from __future__ import annotations

import collections
import json
import random
import re
import warnings
from dataclasses import dataclass
from typing import Any

from codeq_lib.data.debugbench import buggy_code_key
from codeq_lib.hashing import sha256_text
from codeq_lib.data.mutate import CATEGORIES, Candidate, candidates, difficulty_of, fix_size
from codeq_lib.data.tasks import Task

# The source a generated task records: MBPP has no bugs of its own, so its tasks keep the
# name; bugs planted in the curriculum's and DebugBench's references are told apart from
# those sources' own bugs.
GENERATED_SOURCE = {"mbpp": "mbpp", "curriculum": "curriculum-mutated", "debugbench": "debugbench-mutated"}
ID_PREFIX = {"mbpp": "", "curriculum": "curmut-", "debugbench": "dbmut-"}
# Why a draw kept nothing: no operator of the category found a site whose output holds the
# category's claim (`mutate.claims_hold`: keep-check 1), a duplicate (4), a bug the hidden (2, 3)
# or the visible (2) tests cannot see, a run the sandbox could not make.
REJECTIONS = ("no_site", "duplicate", "passes_hidden", "passes_visible", "could_not_run")


def reference_problems(tasks: list[Task]) -> list[Task]:
    """One reference problem per `task.problem` from tasks that carry `reference_code`
    (the first task of each problem, in input order): its reference becomes `buggy_code`."""
    seen, out = set(), []
    for task in tasks:
        if task.problem in seen or not task.reference_code:
            continue
        seen.add(task.problem)
        out.append(Task(id=f"{task.problem}-ref", entry_point=task.entry_point, buggy_code=task.reference_code,
                        visible_tests=task.visible_tests, hidden_tests=task.hidden_tests,
                        description=task.description, reference_code=task.reference_code, source=task.source,
                        problem=task.problem, arg_types=task.arg_types, return_type=task.return_type,
                        compare=task.compare))
    return out


def _slug(text: str) -> str:
    """'misused == or =' -> 'misused-eq-or-assign' (as DebugBench task ids spell it)."""
    text = text.replace("==", " eq ").replace("=", " assign ")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _visible_indices(reference: Task) -> list[int]:
    """Where the visible tests sit in the hidden list (every source puts them there)."""
    position = {json.dumps([t.args, t.kwargs], sort_keys=True): i for i, t in enumerate(reference.hidden_tests)}
    indices = [position.get(json.dumps([t.args, t.kwargs], sort_keys=True)) for t in reference.visible_tests]
    if None in indices:
        raise ValueError(f"{reference.id}: a visible test is not among the hidden tests")
    return indices


@dataclass
class _Slot:
    """One (problem, category) still looking for its bug."""

    reference: Task
    category: str
    rng: random.Random
    kept: Task | None = None


def make_bug_task(reference: Task, candidate: Candidate, result) -> Task:
    """The task for a kept candidate; `result` is its ExecResult on the hidden tests."""
    origin = reference.source or "unknown"
    size = fix_size(candidate.code, reference.reference_code)
    visible = set(_visible_indices(reference))
    failed = [i for i, o in enumerate(result.outcomes) if o.status != "pass"] if result is not None else []
    category_slug = _slug(candidate.minor_type)
    return Task(
        id=f"{ID_PREFIX.get(origin, origin + '-')}{reference.problem}-{candidate.category}-{category_slug}-"
           f"{sha256_text(candidate.code)[:8]}",
        entry_point=reference.entry_point, buggy_code=candidate.code, visible_tests=reference.visible_tests,
        hidden_tests=reference.hidden_tests, description=reference.description, category=candidate.category,
        minor_type=candidate.minor_type, difficulty=difficulty_of(size["tokens"]),
        reference_code=reference.reference_code, source=GENERATED_SOURCE.get(origin, origin + "-mutated"),
        problem=reference.problem, arg_types=reference.arg_types, return_type=reference.return_type,
        compare=reference.compare,
        meta={"operators": list(candidate.operators), "fix_tokens": size["tokens"], "fix_lines": size["lines"],
              "generated_from": reference.id, "buggy_hidden_status": result.status if result else "error",
              # with a syntax bug nothing runs: every hidden test tells it apart
              "distinguishing_hidden": len(failed) if result is not None else len(reference.hidden_tests),
              "failed_visible": len(visible & set(failed)) if result is not None else len(visible)})


def generate_bug_tasks(references: list[Task], sandbox, *, seed: int = 0, per_category: int = 1,
                       tries: int = 3, known_programs: set[str] = frozenset(),
                       progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Up to `per_category` bug tasks per reference problem and category, each drawn in at
    most `tries` rounds (one sandbox batch per round: most slots fill in the first).

    `known_programs` holds `buggy_code_key`s no kept bug may repeat (the sources' own bugs).
    Slots are seeded by (seed, reference id, category, slot number), so a problem's bugs do
    not depend on which other problems are built. Returns the tasks, in reference order
    then category order, and the report block (kept and rejected counts).
    """
    with warnings.catch_warnings():  # planted bugs make the parser warn (`1if`, "\w"); noise here
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _generate(references, sandbox, seed, per_category, tries, known_programs, progress)


def _generate(references, sandbox, seed, per_category, tries, known_programs, progress):
    seen = set(known_programs) | {buggy_code_key(r.reference_code) for r in references}
    slots = [_Slot(r, category, random.Random(f"{seed}:mutate:{r.id}:{category}:{n}"))
             for r in references for category in CATEGORIES for n in range(per_category)]
    rejected: collections.Counter = collections.Counter()
    for _ in range(tries):
        open_slots = [slot for slot in slots if slot.kept is None]
        if not open_slots:
            break
        drawn: list[tuple[_Slot, Candidate]] = []
        for slot in open_slots:
            candidate = next(iter(candidates(slot.reference.reference_code, slot.rng, 1, [slot.category])), None)
            if candidate is None:
                rejected["no_site"] += 1
            else:
                drawn.append((slot, candidate))
        jobs = [(c.code, s.reference, s.reference.hidden_tests) for s, c in drawn if c.category != "syntax"]
        results = iter(sandbox.run_batch(jobs, progress=progress) if jobs else [])
        for slot, candidate in drawn:  # in slot order, so which duplicate wins is fixed
            result = next(results) if candidate.category != "syntax" else None
            reason = _rejection(slot.reference, candidate, result, seen)
            if reason:
                rejected[reason] += 1
                continue
            seen.add(buggy_code_key(candidate.code))
            slot.kept = make_bug_task(slot.reference, candidate, result)
    tasks = [slot.kept for slot in slots if slot.kept is not None]
    report = {
        "references": len(references), "slots": len(slots), "kept": len(tasks),
        "problems_with_a_bug": len({t.problem for t in tasks}),
        "rejected": {reason: rejected[reason] for reason in REJECTIONS},
        "by_category": dict(sorted(collections.Counter(t.category for t in tasks).items())),
        "by_minor_type": dict(sorted(collections.Counter(t.minor_type for t in tasks).items())),
        "by_difficulty": dict(sorted(collections.Counter(t.difficulty for t in tasks).items())),
        "fix_tokens": dict(sorted(collections.Counter(t.meta["fix_tokens"] for t in tasks).items())),
    }
    return tasks, report


def _rejection(reference: Task, candidate: Candidate, result, seen: set[str]) -> str | None:
    """Why a candidate is not kept (keep-checks 2-4; check 1 ran when it was drawn), or None."""
    if buggy_code_key(candidate.code) in seen:
        return "duplicate"
    if result is None:  # a syntax bug: it cannot run, so it fails every test
        return None
    if result.status == "could_not_run":
        return "could_not_run"
    if result.status == "pass":
        return "passes_hidden"
    if all(result.outcomes[i].status == "pass" for i in _visible_indices(reference)):
        return "passes_visible"
    return None


__all__ = ["GENERATED_SOURCE", "REJECTIONS", "generate_bug_tasks", "make_bug_task", "reference_problems"]
