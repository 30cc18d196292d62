"""Split by group (DESIGN.md protocol rule 1): deterministic, disjoint, sizes as asked;
stratified by a task field, each stratum held out in proportion."""

from __future__ import annotations

import collections
import dataclasses
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeq_lib.data.split import (
    SplitLeakError,
    apportion,
    assert_disjoint,
    group_counts,
    group_strata,
    split_by_group,
    split_groups,
    split_sizes,
)
from codeq_lib.data.tasks import Task, TestCase

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
    from codeq_lib.data.debugbench import load_debugbench_records

    records = load_debugbench_records(DEBUGBENCH)
    return [make_task(f"row{i}", record["slug"]) for i, record in enumerate(records)]


def test_debugbench_rows_outnumber_slugs(debugbench_stub_tasks):
    assert len(debugbench_stub_tasks) == 1414
    assert len({t.group for t in debugbench_stub_tasks}) == 225


def test_docstring_examples_hold():
    import doctest

    import codeq_lib.data.split

    assert doctest.testmod(codeq_lib.data.split).failed == 0


# ---------------------------------------------------------------------------- stratified split

def _reference_split(groups: list[str], test_fraction: float, seed: int, val_fraction: float) -> dict:
    """The unstratified split as a plain loop: sort, shuffle, cut."""
    ordered = sorted(set(groups))
    random.Random(seed).shuffle(ordered)
    n_test, n_val = group_counts(len(ordered), test_fraction, val_fraction)
    return {"test": sorted(ordered[:n_test]), "val": sorted(ordered[n_test:n_test + n_val]),
            "train": sorted(ordered[n_test + n_val:])}


@settings(max_examples=40, deadline=None)
@given(n_groups=st.integers(min_value=0, max_value=40), seed=st.integers(min_value=0, max_value=2**31),
       test_fraction=st.floats(min_value=0.0, max_value=0.6), val_fraction=st.floats(min_value=0.0, max_value=0.39))
def test_property_default_split_is_unchanged(n_groups, seed, test_fraction, val_fraction):
    groups = [f"g{i}" for i in range(n_groups)]
    assert split_groups(groups, test_fraction, seed, val_fraction) == \
        _reference_split(groups, test_fraction, seed, val_fraction)


def _stub(task_id: str, problem: str, difficulty: str | None) -> Task:
    return dataclasses.replace(make_task(task_id, problem), difficulty=difficulty)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_curriculum_stratified_by_difficulty_holds_each_out_in_proportion(seed):
    from codeq_lib.data.curriculum import curriculum_tasks

    tasks = curriculum_tasks()
    difficulty_of = {task.group: task.difficulty for task in tasks}  # one difficulty per problem
    problems = collections.Counter(difficulty_of.values())
    splits = split_by_group(tasks, test_fraction=0.3, seed=seed, stratify="difficulty")
    assert_disjoint(splits)
    n_test, _ = group_counts(len(difficulty_of), 0.3, 0.0)
    test_problems = collections.Counter(difficulty_of[group] for group in {t.group for t in splits["test"]})
    assert sum(test_problems.values()) == n_test  # the same size as the unstratified split
    for difficulty, n in problems.items():
        share = n_test * n / len(difficulty_of)
        assert abs(test_problems[difficulty] - share) <= 1, (difficulty, test_problems, share)
        assert test_problems[difficulty] >= 1
    again = split_by_group(list(reversed(tasks)), test_fraction=0.3, seed=seed, stratify="difficulty")
    assert {name: {t.id for t in side} for name, side in again.items()} == \
        {name: {t.id for t in side} for name, side in splits.items()}


@settings(max_examples=60, deadline=None)
@given(strata=st.lists(st.sampled_from(["easy", "medium", "hard", None]), min_size=1, max_size=40),
       seed=st.integers(min_value=0, max_value=2**31),
       test_fraction=st.floats(min_value=0.0, max_value=0.6), val_fraction=st.floats(min_value=0.0, max_value=0.39))
def test_property_stratified_split_is_disjoint_sized_and_proportional(strata, seed, test_fraction, val_fraction):
    tasks = [_stub(f"g{i}-{row}", f"g{i}", value) for i, value in enumerate(strata) for row in range(1 + i % 3)]
    splits = split_by_group(tasks, test_fraction, seed, val_fraction, stratify="difficulty")
    assert_disjoint(splits)
    assert sorted(t.id for side in splits.values() for t in side) == sorted(t.id for t in tasks)
    n_test, n_val = group_counts(len(strata), test_fraction, val_fraction)
    assert len({t.group for t in splits["test"]}) == n_test
    assert len({t.group for t in splits["val"]}) == n_val
    held_out = collections.Counter(t.difficulty for t in splits["test"] if t.id.endswith("-0"))
    for value, n in collections.Counter(strata).items():
        assert abs(held_out[value] - n_test * n / len(strata)) < 1


def test_group_strata_takes_the_most_common_value_and_names_bad_fields():
    tasks = [_stub("a1", "a", "hard"), _stub("a2", "a", "easy"), _stub("a3", "a", "hard"),
             _stub("b1", "b", "medium"), _stub("b2", "b", "easy")]
    assert group_strata(tasks, "difficulty") == {"a": "hard", "b": "easy"}  # b ties: sorted first
    assert group_strata(list(reversed(tasks)), "difficulty") == {"a": "hard", "b": "easy"}
    with pytest.raises(ValueError, match="stratify='level' is not a task field; allowed: .*'difficulty'"):
        split_by_group(tasks, 0.5, seed=0, stratify="level")
    with pytest.raises(ValueError, match="unhashable"):
        group_strata(tasks, "visible_tests")


def test_apportion_hand_values():
    assert apportion(9, [10, 10, 10], [10, 10, 10]) == [3, 3, 3]
    assert apportion(5, [6, 3, 1], [6, 3, 1]) == [3, 2, 0]  # quotas 3, 1.5, 0.5: tie to the earlier
    assert apportion(3, [1, 1, 1], [0, 0, 3]) == [0, 0, 3]  # caps bind
    assert apportion(0, [], []) == []
    with pytest.raises(ValueError, match="cannot place 4 groups"):
        apportion(4, [1, 1], [1, 2])


def test_stratify_on_several_fields_and_split_by_a_given_key():
    """The joint split (issue 14) groups by the canonical problem key and stratifies by
    (source, difficulty): each source's problems are held out in proportion."""
    tasks = []
    for source, n_groups in (("a", 20), ("b", 10)):
        for g in range(n_groups):
            for row in range(2):
                task = dataclasses.replace(make_task(f"{source}{g}-{row}", f"{source}-p{g}"), source=source,
                                           difficulty="easy" if g % 2 else "hard")
                task.meta = {"key": f"k{g % 10}{source}"}
                tasks.append(task)
    strata = group_strata(tasks, ["source", "difficulty"], key=lambda t: t.meta["key"])
    assert strata["k1a"] == ("a", "easy") and strata["k0b"] == ("b", "hard") and len(strata) == 20
    splits = split_by_group(tasks, 0.3, 0, 0.2, stratify=["source", "difficulty"], key=lambda t: t.meta["key"])
    assert_disjoint(splits, key=lambda t: t.meta["key"])
    held_keys = {t.meta["key"] for name in ("test", "val") for t in splits[name]}
    per_stratum = collections.Counter(strata[key] for key in held_keys)
    # 10 of 20 keys held out (0.3 + 0.2) over four strata of five keys: 2 or 3 from every one
    assert len(held_keys) == 10 and sorted(per_stratum.values()) == [2, 2, 3, 3]
    with pytest.raises(SplitLeakError):
        assert_disjoint({"train": tasks[:1], "test": [dataclasses.replace(tasks[1], id="x")]},
                        key=lambda t: t.meta["key"])
