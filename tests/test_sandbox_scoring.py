"""Pure pieces of the sandbox: comparison, record parsing, status, harness conversions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeq_lib.sandbox import harness
from codeq_lib.sandbox.result import ExecResult, could_not_run
from codeq_lib.sandbox.scoring import overall_status, parse_records, score_response, values_equal
from codeq_lib.sandbox.result import TestOutcome


@pytest.mark.parametrize("got, expected, compare, equal", [
    (3, 3, "exact", True),
    (3, 4, "exact", False),
    (0.30000000000000004, 0.3, "exact", True),
    (1.0, 1, "exact", True),
    (1.001, 1, "exact", False),
    (True, 1, "exact", False),
    (1, True, "exact", False),
    ([1, [2.0000000001]], [1, [2.0]], "exact", True),
    ([1, [2.0000000001]], [1, [2]], "exact", False),  # an int is compared exactly (issue 15)
    (float(999_999_937 + 500), 999_999_937, "exact", False),
    (999_999_937, float(999_999_937 + 500), "exact", False),
    (2.0, 2, "exact", True),
    (10**18, 1e18, "exact", True),
    (10**18 + 1, 1e18, "exact", False),
    ({"a": 1}, {"a": 1.0}, "exact", True),
    ({"a": 1}, {"b": 1}, "exact", False),
    ([[1, 2], [3]], [[3], [1, 2]], "unordered", True),
    ([[1, 2], [3]], [[3], [2, 1]], "unordered", False),  # only the top level is a multiset
    ([1, 1, 2], [1, 2, 2], "unordered", False),
    ([1, 2], [1, 2, 3], "unordered", False),
    ("1", 1, "exact", False),
    (None, None, "exact", True),
    ("inf", float("inf"), "exact", False),
])
def test_values_equal(got, expected, compare, equal):
    assert values_equal(got, expected, compare) is equal


def test_values_equal_rejects_unknown_mode():
    with pytest.raises(ValueError, match="not one of"):
        values_equal(1, 1, "fuzzy")


def test_parse_records_ignores_forgeries_and_junk():
    text = "\n".join([
        '{"i": 0, "got": "1"}',          # before load: ignored
        '{"load": "ok"}',
        'not json',
        '[1, 2]',
        '{"i": 0, "got": "3"}',
        '{"i": 0, "got": "4"}',          # repeat: first wins
        '{"i": 7, "got": "3"}',          # out of range
        '{"i": true, "got": "3"}',       # bool is not an index
        '{"i": 1, "error": "ValueError: x"}',
        '{"load_error": "late"}',        # after load: ignored
    ])
    loaded, load_error, records = parse_records(text, 2)
    assert (loaded, load_error) == (True, None)
    assert records == {0: {"i": 0, "got": "3"}, 1: {"i": 1, "error": "ValueError: x"}}


def test_score_response_timeout_keeps_finished_tests():
    response = {"records": '{"load": "ok"}\n{"i": 0, "got": "3"}\n', "timed_out": True, "stdout": "", "stderr": ""}
    result = score_response(response, [3, 4, 5], "exact", {"timeout_s": 1.0}, "subprocess")
    assert [o.status for o in result.outcomes] == ["pass", "timeout", "not_run"]
    assert (result.status, result.passed, result.pass_fraction) == ("timeout", 1, 1 / 3)


def test_score_response_crash_mid_run():
    response = {"records": '{"load": "ok"}\n', "signal": 11, "stdout": "", "stderr": ""}
    result = score_response(response, [3], "exact", {"timeout_s": 1.0}, "docker")
    assert result.status == "error" and "SIGSEGV" in result.outcomes[0].error


def test_score_response_load_error():
    response = {"records": '{"load_error": "NameError: name \'x\' is not defined"}\n', "exit_code": 0}
    result = score_response(response, [1, 2], "exact", {"timeout_s": 1.0}, "subprocess")
    assert (result.status, result.passed, result.error) == ("error", 0, "NameError: name 'x' is not defined")
    assert [o.status for o in result.outcomes] == ["not_run", "not_run"]


def test_overall_status_priority():
    o = lambda s: TestOutcome(status=s)  # noqa: E731
    assert overall_status([o("pass"), o("pass")], None) == "pass"
    assert overall_status([o("pass"), o("fail")], None) == "fail"
    assert overall_status([o("fail"), o("error")], None) == "error"
    assert overall_status([o("error"), o("timeout")], None) == "timeout"
    assert overall_status([o("not_run")], "SyntaxError") == "error"


def test_could_not_run_is_not_zero():
    result = could_not_run(3, "worker died", "subprocess")
    assert result.pass_fraction is None and result.to_dict()["pass_fraction"] is None
    assert ExecResult.from_dict(result.to_dict()) == result


@given(st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=30))
def test_tree_round_trip(values):
    # Canonical level-order encodings (no trailing nulls, children of null skipped) round-trip.
    canonical = harness.tree_to_list(harness.list_to_tree(values, harness_namespace()["TreeNode"]))
    again = harness.tree_to_list(harness.list_to_tree(canonical, harness_namespace()["TreeNode"]))
    assert again == canonical


@given(st.lists(st.integers()))
def test_linked_list_round_trip(values):
    node_cls = harness_namespace()["ListNode"]
    assert harness.linked_to_list(harness.list_to_linked(values, node_cls)) == values


def harness_namespace(_cache={}):
    if not _cache:
        _cache.update(harness.base_namespace())
    return _cache


def test_tree_examples():
    tree_cls = harness_namespace()["TreeNode"]
    assert harness.tree_to_list(harness.list_to_tree([1, None, 2, 3], tree_cls)) == [1, None, 2, 3]
    assert harness.tree_to_list(harness.list_to_tree([], tree_cls)) == []
    root = harness.list_to_tree([4, 2, 7], tree_cls)
    assert (root.val, root.left.val, root.right.val) == (4, 2, 7)


def test_canonical_reads_builtin_subclasses_through_base_type():
    class Liar(int):
        def __eq__(self, other):
            return True

    class Seq(list):
        def __iter__(self):
            return iter([9])

    assert harness.canonical(Liar(5)) == 5 and type(harness.canonical(Liar(5))) is int
    assert harness.canonical(Seq([1, 2])) == [1, 2]
    assert harness.canonical((1, (2, 3))) == [1, [2, 3]]
    assert harness.canonical({3, 1, 2}) == [1, 2, 3]
    assert harness.canonical(x * x for x in range(3)) == [0, 1, 4]
    assert harness.canonical(float("nan")) == "nan"
    with pytest.raises(TypeError, match="not serialisable"):
        harness.canonical(object())


def test_linked_cycle_is_an_error_not_a_hang():
    node_cls = harness_namespace()["ListNode"]
    head = harness.list_to_linked([1, 2], node_cls)
    head.next.next = head
    with pytest.raises(ValueError, match="cycle"):
        harness.linked_to_list(head)


def test_serialise_result_inplace_and_types():
    node_cls = harness_namespace()["ListNode"]
    assert json.loads(harness.serialise_result(None, [1, 2], "inplace")) == [1, 2]
    assert json.loads(harness.serialise_result(harness.list_to_linked([1, 2], node_cls), None, "ListNode")) == [1, 2]
    assert json.loads(harness.serialise_result(None, None, "ListNode")) == []


# -- issue 15: every parse of the child's channel is bounded and yields strict, safe values --

def test_deeply_nested_record_line_is_ignored_not_raised():
    deep = "[" * 100_000 + "]" * 100_000
    text = "\n".join(['{"load": "ok"}', deep, '{"i": 0, "got": ' + json.dumps(deep) + "}", '{"i": 1, "got": "2"}'])
    loaded, _, records = parse_records(text, 2)
    assert loaded and set(records) == {0, 1}
    result = score_response({"records": text}, [[], 2], "exact", {"timeout_s": 1.0}, "subprocess")
    assert [o.status for o in result.outcomes] == ["error", "pass"]
    assert "nested deeper than" in result.outcomes[0].error


def test_nan_and_infinity_tokens_are_not_json():
    text = '{"load": "ok"}\n{"i": 0, "got": "NaN"}\n{"i": 1, "got": "[Infinity]"}\n{"i": 2, "got": "\\"nan\\""}\n'
    result = score_response({"records": text}, [1, [1], "nan"], "exact", {"timeout_s": 1.0}, "subprocess")
    assert [o.status for o in result.outcomes] == ["error", "error", "pass"]
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON out


def test_flood_of_records_reads_a_bounded_prefix():
    flood = '{"load": "ok"}\n' + '{"i": 99, "got": "1"}\n' * 200_000 + '{"i": 0, "got": "1"}\n'
    loaded, _, records = parse_records(flood, 1)
    assert loaded and records == {}  # the record after the flood is past the bounded prefix


def test_candidate_text_with_lone_surrogates_is_made_safe():
    text = '{"load": "ok"}\n' + json.dumps({"i": 0, "error": "ValueError: \udc80\x00"}) + "\n" + \
        json.dumps({"i": 1, "got": json.dumps(["\ud800x"])}) + "\n"
    result = score_response({"records": text}, [1, ["\ud800x"]], "exact", {"timeout_s": 1.0}, "subprocess")
    assert result.outcomes[0].error == "ValueError: \ufffd\ufffd"
    assert (result.outcomes[1].status, result.outcomes[1].got) == ("pass", ["\ufffdx"])
    json.dumps(result.outcomes[1].got, ensure_ascii=False).encode("utf-8")  # no lone surrogate left


def test_doctests_of_scoring():
    import doctest

    from codeq_lib.sandbox import scoring

    failed, attempted = doctest.testmod(scoring)
    assert attempted > 0 and failed == 0
