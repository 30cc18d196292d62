"""Task draws (codeq_lib/data/sample.py): seeded, stratified, nested, and the held-out guard."""

from __future__ import annotations

import doctest
from collections import Counter

import pytest

from codeq_lib.data import sample as sample_module
from codeq_lib.data.sample import load_task_files, refuse_held_out, select_tasks, stratified_sample
from codeq_lib.data.tasks import Task, TestCase, save_tasks


def task(i: int, category: str, difficulty: str, key: str | None = None) -> Task:
    return Task(id=f"t{i}", entry_point="f", buggy_code=f"def f():\n    return {i}\n",
                visible_tests=[TestCase(args=[], expected=i)], hidden_tests=[TestCase(args=[], expected=i)],
                category=category, difficulty=difficulty, meta={"problem_key": key or f"p{i}"})


POOL = ([task(i, "logic", "easy") for i in range(40)] + [task(40 + i, "syntax", "hard") for i in range(20)]
        + [task(60 + i, "reference", "medium") for i in range(10)])


def test_doctests_pass():
    assert doctest.testmod(sample_module).failed == 0


def test_a_draw_is_proportional_to_the_strata_seeded_and_in_file_order():
    drawn = stratified_sample(POOL, 14, seed=3)
    assert Counter(t.category for t in drawn) == {"logic": 8, "syntax": 4, "reference": 2}
    assert drawn == stratified_sample(POOL, 14, seed=3) and drawn != stratified_sample(POOL, 14, seed=4)
    ids = [int(t.id[1:]) for t in drawn]
    assert ids == sorted(ids)
    assert ids != list(range(14))  # not the file's head


def test_nested_draws_are_subsets_and_a_list_draws_in_turn(tmp_path):
    path = tmp_path / "pool.jsonl"
    save_tasks(POOL, str(path))
    big, small = select_tasks(str(path), 30), select_tasks(str(path), [30, 10])
    assert len(big) == 30 and len(small) == 10 and {t.id for t in small} <= {t.id for t in big}
    assert select_tasks(str(path), None, limit=5) == load_task_files(str(path))[:5]


def test_files_by_glob_and_clear_errors(tmp_path):
    save_tasks(POOL[:3], str(tmp_path / "a_train.jsonl"))
    save_tasks(POOL[3:5], str(tmp_path / "b_train.jsonl"))
    assert len(load_task_files(str(tmp_path / "*_train.jsonl"))) == 5
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_task_files(str(tmp_path / "missing.jsonl"))
    save_tasks(POOL[:1], str(tmp_path / "c_train.jsonl"))
    with pytest.raises(ValueError, match="is also in"):
        load_task_files(str(tmp_path / "*_train.jsonl"))


def test_training_stages_refuse_held_out_tasks_and_problems(tmp_path):
    held = [task(100, "logic", "easy", key="shared"), task(101, "logic", "easy")]
    save_tasks(held, str(tmp_path / "x_test.jsonl"))
    pattern = str(tmp_path / "*_test.jsonl")
    refuse_held_out(POOL, pattern, "collect")  # nothing shared
    with pytest.raises(ValueError, match="collect: task 't101' is in a held-out file"):
        refuse_held_out([held[1]], pattern, "collect")
    with pytest.raises(ValueError, match="problem key 'shared'"):
        refuse_held_out([task(7, "logic", "easy", key="shared")], pattern, "grpo")
