"""Task schema v1: the loader accepts good files and refuses bad ones naming line and field."""

import json

import pytest

from codeq_lib.data.tasks import Task, TaskFileError, TestCase, load_tasks, save_tasks, task_from_dict

GOOD = {
    "id": "t1",
    "entry_point": "add",
    "buggy_code": "def add(a, b):\n    return a - b\n",
    "visible_tests": [{"args": [1, 2], "kwargs": {}, "expected": 3}],
    "hidden_tests": [{"args": [1, 2], "expected": 3}, {"args": [0, 0], "expected": 0}],
}


def write_lines(path, objs):
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def test_round_trip(tmp_path):
    task = task_from_dict(GOOD)
    assert task.hidden_tests[0].kwargs == {}
    assert task.group == "t1"
    out = save_tasks([task], tmp_path / "t.jsonl")
    again = load_tasks(out)
    assert again[0].to_dict() == task.to_dict()


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda o: o.pop("entry_point"), "entry_point"),
        (lambda o: o.update(entry_point="1bad name"), "entry_point"),
        (lambda o: o.update(buggy_code=7), "buggy_code"),
        (lambda o: o.update(visible_tests={"args": []}), "visible_tests"),
        (lambda o: o["hidden_tests"][1].pop("expected"), "hidden_tests[1].expected"),
        (lambda o: o["hidden_tests"][0].update(args="1, 2"), "hidden_tests[0].args"),
        (lambda o: o.update(category="semantic"), "category"),
        (lambda o: o.update(difficulty="trivial"), "difficulty"),
        (lambda o: o.update(arg_types=["Graph"]), "arg_types"),
        (lambda o: o.update(colour="red"), "colour"),
        (lambda o: o.update(schema_version=2), "schema_version"),
    ],
)
def test_bad_field_is_named_with_line(tmp_path, mutate, field):
    bad = json.loads(json.dumps(GOOD))
    bad["id"] = "t2"
    mutate(bad)
    path = write_lines(tmp_path / "bad.jsonl", [GOOD, bad])
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    assert info.value.line == 2
    assert info.value.field == field
    assert "bad.jsonl:2" in str(info.value)


def test_non_json_expected_is_refused(tmp_path):
    line = json.dumps(GOOD).replace('"expected": 3}]', '"expected": NaN}]', 1)
    path = write_lines(tmp_path / "nan.jsonl", [line])
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    assert info.value.line == 1


def test_empty_file_duplicate_ids_and_garbage(tmp_path):
    with pytest.raises(TaskFileError, match="no tasks"):
        load_tasks(write_lines(tmp_path / "empty.jsonl", []))
    with pytest.raises(TaskFileError, match="duplicate id 't1'") as info:
        load_tasks(write_lines(tmp_path / "dup.jsonl", [GOOD, GOOD]))
    assert info.value.line == 2
    with pytest.raises(TaskFileError, match="not valid JSON") as info:
        load_tasks(write_lines(tmp_path / "garbage.jsonl", [GOOD, "{not json"]))
    assert info.value.line == 2
    with pytest.raises(TaskFileError, match="file not found"):
        load_tasks(tmp_path / "missing.jsonl")


def test_save_is_atomic_on_invalid_task(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("previous contents\n")
    bad = Task(id="x", entry_point="f", buggy_code="def f(): pass",
               visible_tests=[TestCase(args=[], expected=float("nan"))], hidden_tests=[])
    with pytest.raises(TaskFileError):
        save_tasks([task_from_dict(GOOD), bad], path)
    assert path.read_text() == "previous contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
