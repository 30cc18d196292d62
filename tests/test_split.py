"""Split by group (DESIGN.md protocol rule 1): deterministic, disjoint, sizes as asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeq_lib.split import (
    SplitLeakError,
    assert_disjoint,
    group_counts,
    split_by_group,
    split_groups,
    split_sizes,
)
from codeq_lib.tasks import Task, TestCase

DEBUGBENCH = Path(__file__).resolve().parents[2] / "shared" / "debugbench" / "python3"


def make_task(task_id: str, problem: str | None) -> Task:
    return Task(id=task_id, entry_point="f", buggy_code="def f():\n    return 1\n",
                visible_tests=[TestCase(args=[], expected=2)], hidden_tests=[], problem=problem)


def tasks_for(groups_and_rows: dict[str, int]) -> list[Task]:
    return [make_task(f"{group}-{row}", group) for group, rows in groups_and_rows.items() for row in range(rows)]


def test_group_counts_hand_values():
    assert group_counts(225, 0.2, 0.0) == (45, 0)
    assert group_counts(225, 0.2, 0.1) == (45, 22)  # 22.5 rounds to even
    assert group_counts(10, 0.05, 0.0) == (1, 0)   # a non-zero fraction keeps one group
    assert group_counts(2, 0.5, 0.5) == (1, 0)     # train keeps one group
    assert group_counts(1, 0.5, 0.0) == (0, 0)
    assert group_counts(0, 0.5, 0.0) == (0, 0)


def test_split_keeps_groups_whole_and_is_deterministic():
    tasks = tasks_for({f"p{i}": 1 + i % 4 for i in range(20)})
    first = split_by_group(tasks, test_fraction=0.25, seed=3)
    again = split_by_group(list(reversed(tasks)), test_fraction=0.25, seed=3)
    assert_disjoint(first)
    assert [{t.group for t in first[name]} for name in ("train", "val", "test")] == \
        [{t.group for t in again[name]} for name in ("train", "val", "test")]
    sizes = split_sizes(first)
    assert sizes["test"]["groups"] == 5 and sizes["val"]["groups"] == 0 and sizes["train"]["groups"] == 15
    assert sum(s["tasks"] for s in sizes.values()) == len(tasks) == 50


def test_different_seeds_give_different_splits():
    groups = [f"p{i}" for i in range(50)]
    assert split_groups(groups, 0.2, seed=0)["test"] != split_groups(groups, 0.2, seed=1)["test"]


def test_task_without_problem_is_its_own_group():
    tasks = [make_task(f"t{i}", None) for i in range(10)]
    splits = split_by_group(tasks, 0.3, seed=0)
    assert len(splits["test"]) == 3 and len(splits["train"]) == 7


def test_assert_disjoint_names_the_offending_groups():
    splits = {"train": [make_task("a1", "two-sum"), make_task("b1", "lru")],
              "test": [make_task("a2", "two-sum")]}
    with pytest.raises(SplitLeakError, match=r"1 group.*'two-sum' in \['test', 'train'\]"):
        assert_disjoint(splits)


def test_assert_disjoint_refuses_a_repeated_task_id():
    splits = {"train": [make_task("a1", "x")], "test": [make_task("a1", "x")]}
    with pytest.raises(SplitLeakError, match="task id 'a1'"):
        assert_disjoint(splits)


@pytest.mark.parametrize("test_fraction,val_fraction", [(-0.1, 0.0), (1.0, 0.0), (0.5, 0.5), (True, 0.0)])
def test_bad_fractions_are_refused_with_their_name(test_fraction, val_fraction):
    with pytest.raises(ValueError, match="fraction"):
        split_groups(["a", "b"], test_fraction, seed=0, val_fraction=val_fraction)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=40),
    seed=st.integers(min_value=0, max_value=2**31),
    test_fraction=st.floats(min_value=0.0, max_value=0.6),
    val_fraction=st.floats(min_value=0.0, max_value=0.39),
)
def test_property_disjoint_complete_and_sized(rows, seed, test_fraction, val_fraction):
    tasks = tasks_for({f"g{i}": n for i, n in enumerate(rows)})
    splits = split_by_group(tasks, test_fraction, seed, val_fraction)
    assert_disjoint(splits)
    assert sorted(t.id for side in splits.values() for t in side) == sorted(t.id for t in tasks)
    n_test, n_val = group_counts(len(rows), test_fraction, val_fraction)
    assert len({t.group for t in splits["test"]}) == n_test
    assert len({t.group for t in splits["val"]}) == n_val
    if len(rows) >= 2:
        assert splits["train"], "train always keeps at least one group"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), test_fraction=st.floats(min_value=0.05, max_value=0.5))
def test_property_no_debugbench_slug_on_both_sides(debugbench_stub_tasks, seed, test_fraction):
    splits = split_by_group(debugbench_stub_tasks, test_fraction, seed)
    assert_disjoint(splits)
    train_slugs = {t.problem for t in splits["train"]}
    test_slugs = {t.problem for t in splits["test"]}
    assert not train_slugs & test_slugs
    assert len(train_slugs) + len(test_slugs) == 225


@pytest.fixture(scope="module")
def debugbench_stub_tasks() -> list[Task]:
    """One stub task per real DebugBench Python 3 record (1,414 rows, 225 slugs)."""
    from codeq_lib.debugbench import load_debugbench_records

    records = load_debugbench_records(DEBUGBENCH)
    return [make_task(f"row{i}", record["slug"]) for i, record in enumerate(records)]


def test_debugbench_rows_outnumber_slugs(debugbench_stub_tasks):
    assert len(debugbench_stub_tasks) == 1414
    assert len({t.group for t in debugbench_stub_tasks}) == 225
