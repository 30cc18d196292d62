"""One canonical problem key across sources, the joint split, and the leak refusal."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from codeq_lib.data import problems
from codeq_lib.data.curriculum import curriculum_tasks
from codeq_lib.data.debugbench import load_debugbench_records
from codeq_lib.data.prepare import check_no_leak
from codeq_lib.data.split import SplitLeakError, split_by_group
from codeq_lib.data.tasks import Task, TestCase

DEBUGBENCH = Path(__file__).resolve().parents[2] / "shared" / "debugbench" / "python3"


def task(task_id: str, source: str, problem: str, code: str, reference: str | None = None,
         entry_point: str = "f") -> Task:
    return Task(id=task_id, entry_point=entry_point, buggy_code=code, visible_tests=[],
                hidden_tests=[TestCase(args=[1], expected=1)], source=source, problem=problem,
                reference_code=reference)


@pytest.fixture(scope="module")
def debugbench_like() -> list[Task]:
    """DebugBench's real binary-search and fizz-buzz records as tasks (no tests needed here)."""
    records = [r for r in load_debugbench_records(DEBUGBENCH) if r["slug"] in ("binary-search", "fizz-buzz")]
    return [task(f"db-{i}", "debugbench", r["slug"], r["buggy_code"], r["oracle_code"], "Solution.f")
            for i, r in enumerate(records)]


def test_curriculum_and_debugbench_share_keys_by_name(debugbench_like):
    """Issue 14: curriculum binary_search / fizzbuzz and DebugBench binary-search / fizz-buzz
    were split apart; now each pair is one problem."""
    tasks = curriculum_tasks() + debugbench_like
    keys = problems.problem_keys(tasks)
    by_problem = {}
    for t in tasks:
        by_problem.setdefault(t.problem, set()).add(keys[t.id])
    assert by_problem["binary_search"] == by_problem["binary-search"] == {"binarysearch"}
    assert by_problem["fizzbuzz"] == by_problem["fizz-buzz"] == {"fizzbuzz"}
    assert len({k for v in by_problem.values() for k in v}) == len(by_problem) - 2
    for seed in range(5):  # so the joint split never puts them apart
        splits = split_by_group(tasks, 0.3, seed, 0.1, key=lambda t: keys[t.id])
        sides = {name for name, members in splits.items() for t in members if keys[t.id] == "binarysearch"}
        assert len(sides) == 1


def test_mbpp_problems_go_by_their_function_name():
    mbpp_task = task("mbpp-1-logic", "mbpp", "mbpp-1", "def binary_search(a): return 0\n", entry_point="binary_search")
    curriculum = task("cur-binary_search-1", "curriculum", "binary_search", "def binary_search(a): return 1\n")
    keys = problems.problem_keys([mbpp_task, curriculum])
    assert keys == {"mbpp-1-logic": "binarysearch", "cur-binary_search-1": "binarysearch"}


def test_a_shared_program_joins_problems_whatever_their_names():
    """The content check: a reference in one source equal (normalised) to another's program."""
    a = task("a", "mbpp", "mbpp-7", "def f(x):\n    return x - 1\n", "def f(x):\n    return x + 1\n")
    b = task("b", "curriculum", "increment", "def f(x):  # comment\n    return x + 1\n",
             "def f(x):\n    return x + 1\n")
    c = task("c", "curriculum", "other", "def g(x):\n    return 2\n", "def g(x):\n    return 3\n")
    keys = problems.problem_keys([c, b, a])
    assert keys["a"] == keys["b"] != keys["c"]
    assert keys == problems.problem_keys([a, b, c])  # independent of order


def test_shared_programs_and_keys_are_found_and_refused():
    a = task("a", "mbpp", "p1", "def f(x):\n    return 1\n", "def f(x):\n    return 0\n")
    b = task("b", "mbpp", "p2", "def f(x):\n    return 0  # the reference of p1\n", "def f(x):\n    return 2\n")
    for t, key in ((a, "p1"), (b, "p2")):
        t.meta["problem_key"] = key
    shared = problems.shared_across_splits({"train": [a], "test": [b]}, lambda t: t.meta["problem_key"])
    assert shared["problem_keys"] == [] and shared["programs"] == ["program of a in ['test', 'train']"]
    with pytest.raises(ValueError, match="refusing a split that shares 0 problem key.* and 1 program"):
        check_no_leak({"train": [a], "val": [], "test": [b]})
    b.meta["problem_key"] = "p1"
    with pytest.raises(SplitLeakError, match="'p1' in \\['test', 'train'\\]"):
        check_no_leak({"train": [a], "val": [], "test": [b]})


def test_docstring_examples_hold():
    result = doctest.testmod(problems)
    assert result.failed == 0 and result.attempted >= 1
