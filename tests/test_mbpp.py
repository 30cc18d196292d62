"""MBPP as a task source: loading, assert parsing, drop reasons and oracle-computed tests,
on a fixed sample of real problems from ../shared/mbpp (one sandbox build, ~10 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeq_lib.data import mbpp
from codeq_lib.sandbox import make_sandbox

MBPP = Path(__file__).resolve().parents[2] / "shared" / "mbpp" / "mbpp.jsonl"
# Kept problems of several shapes (tuples, strings, grids, floats, a challenge list: 11),
# and one per drop reason: 6 multiple_functions, 114 reference_fails (needs tuples),
# 115 non_json_values (a set), 143 assert_disagrees, 533 non_literal_args (`int` passed),
# 590 non_json_return (a complex number).
KEPT = (2, 3, 11, 12, 17, 19, 62, 101, 160, 256)
DROPS = {6: "multiple_functions", 114: "reference_fails", 115: "non_json_values", 143: "assert_disagrees",
         533: "non_literal_args", 590: "non_json_return"}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return mbpp.load_mbpp(MBPP)


@pytest.fixture(scope="module")
def built(records):
    sample = [r for r in records if r["task_id"] in set(KEPT) | set(DROPS)]
    with make_sandbox("subprocess", workers=2) as sandbox:
        references, report = mbpp.build_references_from_records(sample, sandbox, n_random=5, seed=0,
                                                                progress=False)
        reruns = sandbox.run_batch([(t.reference_code + "\n\n", t, t.hidden_tests) for t in references])
    return references, report, reruns


def test_load_counts_and_fields(records):
    assert len(records) == 974 and [r["task_id"] for r in records] == list(range(1, 975))
    assert sum(bool(r["challenge_test_list"]) for r in records) == 11
    assert sum(bool(r["test_setup_code"]) for r in records) == 2


@pytest.mark.parametrize("content, message", [
    ('{"text": "t"}\n', "mbpp.jsonl:1: field 'code' is missing"),
    ('not json\n', "mbpp.jsonl:1: not valid JSON"),
    ('{"text": "t", "code": "", "task_id": "1", "test_setup_code": "", "test_list": [], '
     '"challenge_test_list": []}\n', "mbpp.jsonl:1: field 'task_id' must be int"),
])
def test_malformed_lines_are_refused_with_file_line_and_field(tmp_path, content, message):
    path = tmp_path / "mbpp.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        mbpp.load_mbpp(path)


def test_parse_assert_reads_arguments_and_turns_tuples_into_lists():
    assert mbpp.parse_assert("assert f(1, (2, 3), 'x') == (4, 5)", {"f"}, "t") == ("f", [1, [2, 3], "x"], (4, 5), False)
    assert mbpp.parse_assert("assert set(f([1, 2])) == {1}", {"f"}, "t")[3] is True  # order-insensitive
    assert mbpp.parse_assert("assert math.isclose(f(2.5), 6.25)", {"f"}, "t")[1] == [2.5]
    with pytest.raises(mbpp.Drop) as err:
        mbpp.parse_assert("assert f({1, 2}) == 2", {"f"}, "t")
    assert err.value.reason == "non_json_values"
    with pytest.raises(mbpp.Drop) as err:
        mbpp.parse_assert("assert f(x) == 2", {"f"}, "t")
    assert err.value.reason == "non_literal_args"
    with pytest.raises(mbpp.Drop) as err:
        mbpp.parse_assert("assert g(1) == 2", {"f"}, "t")
    assert err.value.reason == "unparsed_assert"


def test_setup_code_objects_are_a_drop_reason(records):
    record = dict(next(r for r in records if r["task_id"] == 2), test_setup_code="root = Node(1)")
    with pytest.raises(mbpp.Drop) as err:
        mbpp.parse_problem(record)
    assert err.value.reason == "setup_code_objects"


def test_drops_are_counted_by_reason(built):
    references, report, _ = built
    assert sorted(t.meta["mbpp_task_id"] for t in references) == sorted(KEPT)
    expected = {}
    for reason in DROPS.values():
        expected[reason] = expected.get(reason, 0) + 1
    assert report["dropped"] == dict(sorted(expected.items()))
    assert report["problems_kept"] == len(KEPT) and report["dropped_total"] == len(DROPS)


def test_expected_values_come_from_the_reference(built):
    references, _, reruns = built
    by_id = {t.meta["mbpp_task_id"]: t for t in references}
    # similar_elements((3, 4, 5, 6), (5, 7, 4, 10)) == (4, 5): the tuple arrives as a list and
    # the tuple answer is stored as the list the harness serialises
    first = by_id[2].visible_tests[0]
    assert first.args == [[3, 4, 5, 6], [5, 7, 4, 10]] and first.expected == [4, 5]
    assert [t.expected for t in by_id[3].visible_tests] == [False, True, True]
    assert by_id[11].meta["n_challenge_tests"] == len(next(
        r for r in mbpp.load_mbpp(MBPP) if r["task_id"] == 11)["challenge_test_list"]) > 0
    for task, rerun in zip(references, reruns):  # the reference passes every hidden test it defined
        assert rerun.status == "pass", (task.id, rerun.error)
        assert task.visible_tests == task.hidden_tests[:len(task.visible_tests)]
        json.dumps([t.to_dict() for t in task.hidden_tests], allow_nan=False)  # plain JSON


def test_hidden_tests_add_random_and_edge_inputs(built):
    references, report, _ = built
    extras = [len(t.hidden_tests) - len(t.visible_tests) - t.meta["n_challenge_tests"] for t in references]
    assert all(n >= 3 for n in extras), extras  # every kept sample problem gets extra inputs
    assert report["extra_inputs_drawn"] > report["extra_inputs_discarded"] > 0
    by_id = {t.meta["mbpp_task_id"]: t for t in references}
    lengths = [len(t.args[0]) for t in by_id[2].hidden_tests]
    assert 0 in lengths and max(lengths) >= 20  # the empty and the long edge cases were answered


def test_extra_inputs_are_seeded(records):
    problem = mbpp.parse_problem(next(r for r in records if r["task_id"] == 17))
    assert mbpp.extra_inputs(problem, 5, seed=0) == mbpp.extra_inputs(problem, 5, seed=0)
    assert mbpp.extra_inputs(problem, 5, seed=0) != mbpp.extra_inputs(problem, 5, seed=1)
