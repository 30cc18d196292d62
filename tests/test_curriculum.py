"""The project's own curriculum (issue 2): its shape, its schema, and proof of its data.

The proof runs in the project's sandbox: every reference passes all its hidden tests (so
the committed expected values are the reference's outputs), and every buggy version fails
at least one hidden test and at least one visible test (so search has a signal to follow).
"""

from __future__ import annotations

import ast
import json
from collections import Counter

import pytest

from codeq_lib.data.curriculum import (
    MIN_EXTRA_HIDDEN,
    curriculum_counts,
    curriculum_tasks,
    fill_expected,
    problem_tasks,
    python_literal,
)
from codeq_lib.data.curriculum_bugs import PROBLEMS
from codeq_lib.hashing import normalized_code_hash
from codeq_lib.sandbox import make_sandbox
from codeq_lib.data.tasks import CATEGORIES, DIFFICULTIES, load_tasks, save_tasks, task_from_dict

TASKS = curriculum_tasks()


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


@pytest.fixture(scope="module")
def runs():
    """Sandbox results per task id: reference and buggy code on hidden tests, buggy on visible."""
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        reference = sandbox.run_batch([(t.reference_code, t, t.hidden_tests) for t in TASKS])
        buggy = sandbox.run_batch([(t.buggy_code, t, t.hidden_tests) for t in TASKS])
        buggy_visible = sandbox.run_batch([(t.buggy_code, t, t.visible_tests) for t in TASKS])
    return {
        t.id: {"reference": r, "buggy": b, "buggy_visible": v}
        for t, r, b, v in zip(TASKS, reference, buggy, buggy_visible)
    }


def test_size_and_every_cell_populated():
    assert len(TASKS) >= 60
    counts = curriculum_counts(TASKS)
    assert set(counts) == set(CATEGORIES)
    for category in CATEGORIES:
        assert set(counts[category]) == set(DIFFICULTIES)
        for difficulty in DIFFICULTIES:
            assert counts[category][difficulty] >= 4, (category, difficulty)
    assert sum(n for row in counts.values() for n in row.values()) == len(TASKS)


def test_ids_unique_and_named_after_problem():
    assert len({t.id for t in TASKS}) == len(TASKS)
    for task in TASKS:
        assert task.id.startswith(f"cur-{task.problem}-")
        assert task.source == "curriculum"
        assert task.group == task.problem
        assert task.minor_type and task.description and task.reference_code


def test_problems_are_the_split_unit():
    per_problem = Counter(t.problem for t in TASKS)
    assert len(per_problem) >= 25
    assert all(2 <= n <= 3 for n in per_problem.values()), per_problem
    for task in TASKS:
        # the problem is the function's name; LeetCode-style ones are Solution.<problem>
        assert task.entry_point.rpartition(".")[2] == task.problem
    assert sum("." in t.entry_point for t in TASKS) >= 3


def test_round_trip_through_schema(tmp_path):
    for task in TASKS:
        assert task_from_dict(json.loads(json.dumps(task.to_dict()))) == task
    path = save_tasks(TASKS, tmp_path / "curriculum.jsonl")
    assert load_tasks(path) == TASKS


def test_visible_tests_are_a_subset_of_hidden_tests():
    for task in TASKS:
        hidden = [t.to_dict() for t in task.hidden_tests]
        assert 2 <= len(task.visible_tests) <= 3, task.id
        assert all(t.to_dict() in hidden for t in task.visible_tests), task.id
        assert len(hidden) >= len(task.visible_tests) + MIN_EXTRA_HIDDEN, task.id


def test_syntax_bugs_do_not_parse_and_others_do():
    for task in TASKS:
        assert _parses(task.reference_code), task.id
        if task.category == "syntax":
            assert not _parses(task.buggy_code), task.id
        elif task.category in ("reference", "logic"):
            assert _parses(task.buggy_code), task.id


def test_bugs_of_one_problem_differ():
    for problem in {t.problem for t in TASKS}:
        codes = [t.buggy_code for t in TASKS if t.problem == problem]
        reference = next(t.reference_code for t in TASKS if t.problem == problem)
        hashes = {normalized_code_hash(code) for code in codes}
        assert len(hashes) == len(codes), problem
        assert normalized_code_hash(reference) not in hashes, problem


def test_every_reference_passes_all_hidden_tests(runs):
    for task in TASKS:
        result = runs[task.id]["reference"]
        assert result.status == "pass", (task.id, result.to_dict())
        assert result.passed == result.total == len(task.hidden_tests)


def test_every_buggy_version_fails_a_hidden_test(runs):
    statuses = Counter()
    for task in TASKS:
        result = runs[task.id]["buggy"]
        assert result.status in ("fail", "error"), (task.id, result.status, result.error)
        assert result.passed < result.total == len(task.hidden_tests), task.id
        if task.category == "syntax":
            # Does not load at all: no test runs, the error names the SyntaxError.
            assert result.status == "error" and result.passed == 0, task.id
            assert "SyntaxError" in (result.error or "") or "IndentationError" in (result.error or ""), task.id
        statuses[result.status] += 1
    assert statuses["fail"] > 0 and statuses["error"] > 0


def test_every_buggy_version_fails_a_visible_test(runs):
    for task in TASKS:
        result = runs[task.id]["buggy_visible"]
        assert result.passed < result.total == len(task.visible_tests), task.id


def _problem(**changes):
    spec = {
        "problem": "double",
        "entry_point": "double",
        "difficulty": "easy",
        "description": "Return twice x.",
        "reference": "\ndef double(x):\n    return 2 * x\n",
        "visible": 2,
        "tests": [([n], 2 * n) for n in range(7)],
        "bugs": [{"category": "logic", "minor_type": "wrong operator", "code": "def double(x):\n    return 2 + x\n"}],
    }
    spec.update(changes)
    return spec


def test_problem_tasks_builds_schema_tasks():
    (task,) = problem_tasks(_problem())
    assert task.id == "cur-double-1" and task.difficulty == "easy" and task.category == "logic"
    assert task.reference_code == "def double(x):\n    return 2 * x\n"  # leading newline dropped
    assert [t.args for t in task.visible_tests] == [[0], [1]]
    assert len(task.hidden_tests) == 7


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"bugs": [{"category": "typo", "minor_type": "x", "code": "x"}]}, "category 'typo'"),
        ({"bugs": [{"category": "logic", "minor_type": "x", "code": "x", "difficulty": "extreme"}]}, "difficulty 'extreme'"),
        ({"bugs": [{"category": "logic", "code": "x"}]}, "bugs[0] needs"),
        ({"bugs": []}, "has no bugs"),
        ({"tests": [([n], ...) for n in range(7)]}, "no expected value"),
        ({"tests": [([n], n) for n in range(6)]}, "plus at least 5 more"),
        ({"weight": 1}, "unknown key(s) ['weight']"),
    ],
)
def test_malformed_problem_is_refused_with_its_name(changes, message):
    with pytest.raises(ValueError) as info:
        problem_tasks(_problem(**changes))
    assert "'double'" in str(info.value) and message in str(info.value)


def test_fill_replaces_placeholders_with_reference_output(tmp_path):
    path = tmp_path / "bugs.py"
    path.write_text(
        "PROBLEMS = [\n"
        "    {\n"
        '        "problem": "shout", "entry_point": "Solution.shout",\n'
        '        "reference": "class Solution:\\n    def shout(self, s, n):\\n        return [s.upper()] * n\\n",\n'
        '        "tests": [\n'
        '            (["hi", 2], ...),  # keep this comment\n'
        '            (["it\'s", 1], ["already filled"]),\n'
        "        ],\n"
        "    },\n"
        "]\n",
        encoding="utf-8",
    )
    assert fill_expected(path) == 1
    text = path.read_text(encoding="utf-8")
    assert '(["hi", 2], ["HI", "HI"]),  # keep this comment\n' in text
    assert '["already filled"]' in text
    assert fill_expected(path) == 0


def test_committed_data_has_no_placeholders():
    for spec in PROBLEMS:
        assert all(expected is not Ellipsis for _, expected in spec["tests"]), spec["problem"]


def test_python_literal_is_valid_python_for_json_values():
    value = {"a": [1, -2.5, None, True, False, "q\"uo'te\n", []], "b": {}}
    assert ast.literal_eval(python_literal(value)) == value
