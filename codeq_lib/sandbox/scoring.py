"""Trusted-side scoring: parse the child's records and compare them with the expected values.

Pure functions. The child only ever sends return values (canonical JSON); the expected values
never leave this process, and nothing the candidate prints is read here.
"""

from __future__ import annotations

import json
import math
import re
import signal as _signal
from itertools import accumulate
from typing import Any

from codeq_lib.sandbox.result import ExecResult, TestOutcome

# LeetCode accepts floating answers "within 1e-5 of the actual value"; the relative part
# keeps very large values from needing absolute agreement to 1e-5. Only between two floats:
# an int on either side is compared exactly (issue 15 class 6).
REL_TOL = 1e-6
ABS_TOL = 1e-5

# Everything below parses text written from inside the candidate's process, so every parse
# is bounded (issue 15 class 1): nesting depth is checked before json.loads (which would
# raise RecursionError, or recurse in values_equal later), NaN/Infinity tokens are refused
# (strict JSON out, class 7), and only as many lines are read as an honest child writes.
MAX_GOT_DEPTH = 256  # the harness caps a returned value at 200 levels; leave it headroom
MAX_ERROR_CHARS = 2000
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Lone surrogates (a str json.loads built from "\ud800") and control characters other than
# tab and newline: a tokenizer raises on the first, terminals and prompts mangle the rest.
_UNSAFE_CHARS = re.compile(r"[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f]")


def json_depth(text: str) -> int:
    """Deepest bracket nesting of JSON `text`, brackets inside strings not counted.

    >>> json_depth('[1, [2, "]]]"], {"a": []}]')
    3
    """
    brackets = _BRACKETS.findall(_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not JSON")


def loads_bounded(text: str, max_depth: int) -> Any:
    """json.loads for untrusted text: ValueError (never RecursionError) when it is not
    strict JSON (NaN, Infinity) or nests deeper than `max_depth`.

    >>> loads_bounded('[[1]]', 2)
    [[1]]
    >>> loads_bounded('[[1]]', 1)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested deeper than 1
    """
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth}")
    return json.loads(text, parse_constant=_refuse_constant)


def safe_text(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    r"""Text from a candidate, safe for a prompt, a tokenizer and a strict UTF-8 file:
    clipped, lone surrogates and control characters (not tab/newline) replaced by U+FFFD.

    >>> safe_text("bad \udc80 byte\x00") == "bad \ufffd byte\ufffd"
    True
    """
    return _UNSAFE_CHARS.sub("\ufffd", text[:limit])


def safe_value(value: Any) -> Any:
    """`value` (decoded JSON, depth already bounded) with its strings made safe (unclipped)."""
    if isinstance(value, str):
        return _UNSAFE_CHARS.sub("\ufffd", value)
    if isinstance(value, list):
        return [safe_value(item) for item in value]
    if isinstance(value, dict):
        return {safe_value(key): safe_value(item) for key, item in value.items()}
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def values_equal(got: Any, expected: Any, compare: str = "exact", rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    """Canonical-JSON equality; bools only equal bools; floats within tolerance of floats.

    An int on either side is compared exactly (`2.0 == 2`, but `float(n + 500)` is not `n`
    for n near 1e9, which a relative tolerance would pass):

    >>> values_equal([1, 2.0000000001], [1, 2.0])
    True
    >>> values_equal([1, 2.0000000001], [1, 2])
    False
    >>> values_equal([[2], [1]], [[1], [2]], compare="unordered")
    True
    >>> values_equal(True, 1)
    False
    """
    if compare == "unordered" and isinstance(got, list) and isinstance(expected, list):
        if len(got) != len(expected):
            return False
        return all(values_equal(g, e, "exact", rel_tol, abs_tol)
                   for g, e in zip(sorted(got, key=_sort_key), sorted(expected, key=_sort_key)))
    if compare not in ("exact", "unordered"):
        raise ValueError(f"compare={compare!r} is not one of ['exact', 'unordered']")
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
        if isinstance(got, int) or isinstance(expected, int):
            return got == expected  # Python compares int with float exactly, never rounding
        return math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(
            values_equal(g, e, "exact", rel_tol, abs_tol) for g, e in zip(got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(
            values_equal(got[k], expected[k], "exact", rel_tol, abs_tol) for k in got)
    return type(got) is type(expected) and got == expected


def parse_records(text: str, n_tests: int) -> tuple[bool, str | None, dict[int, dict]]:
    """(loaded, load_error, {test index: record}) from the child's JSON lines.

    The channel is written from inside the candidate's process, so every line is checked:
    malformed or nested lines, out-of-range indices and repeats are ignored (first record
    wins), and only the first 2 * n_tests + 64 lines are read at all (an honest child writes
    n_tests + 1), so a flood of small records costs the parent nothing (issue 15 class 8).
    """
    loaded, load_error, records = False, None, {}
    max_lines = 2 * n_tests + 64
    for line in text.split("\n", max_lines)[:max_lines]:
        try:
            record = loads_bounded(line, max_depth=1)  # records are flat objects
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("load") == "ok" and load_error is None:
            loaded = True
        elif isinstance(record.get("load_error"), str) and not loaded and load_error is None:
            load_error = safe_text(record["load_error"])
        elif loaded and type(record.get("i")) is int and 0 <= record["i"] < n_tests and record["i"] not in records:
            if isinstance(record.get("got"), str) or isinstance(record.get("error"), str):
                records[record["i"]] = record
    return loaded, load_error, records


def _death_reason(response: dict, limits: dict) -> str:
    if response.get("timed_out"):
        return f"timed out after {limits.get('timeout_s')}s"
    if response.get("result_truncated"):
        return "result channel over its size limit"
    if response.get("stopped"):
        return "process stopped itself (a ptrace or signal stop) and was killed"
    sig = response.get("signal")
    if sig is not None:
        name = _signal.Signals(sig).name if sig in _signal.Signals._value2member_map_ else str(sig)
        hint = {"SIGXCPU": " (CPU time limit)", "SIGKILL": " (killed)", "SIGSEGV": " (crashed, e.g. stack overflow)"}
        return f"process killed by signal {name}{hint.get(name, '')}"
    return f"process exited with status {response.get('exit_code')} before finishing this test"


def outcome_for(record: dict, expected: Any, compare: str) -> TestOutcome:
    if "got" in record:
        try:
            got = loads_bounded(record["got"], MAX_GOT_DEPTH)
        except ValueError as exc:
            return TestOutcome(status="error", expected=expected, error=f"return value was not valid JSON ({exc})")
        status = "pass" if values_equal(got, expected, compare) else "fail"
        if "\\u" in record["got"]:  # only escapes can carry a lone surrogate here
            got = safe_value(got)
        return TestOutcome(status=status, got=got, expected=expected)
    return TestOutcome(status="error", expected=expected, error=safe_text(record["error"]))


def overall_status(outcomes: list[TestOutcome], load_error: str | None) -> str:
    """pass (all tests pass) > timeout > error (load error, exception, crash) > fail."""
    statuses = [o.status for o in outcomes]
    if outcomes and load_error is None and all(s == "pass" for s in statuses):
        return "pass"
    if "timeout" in statuses:
        return "timeout"
    if load_error is not None or "error" in statuses or "not_run" in statuses:
        return "error"
    return "fail"


def score_response(response: dict, expected: list[Any], compare: str, limits: dict, backend: str) -> ExecResult:
    """Turn the worker's raw response into an ExecResult (all comparisons happen here)."""
    n = len(expected)
    loaded, load_error, records = parse_records(response.get("records", ""), n)
    outcomes: list[TestOutcome] = []
    reason = None
    if not loaded and load_error is None:
        reason = _death_reason(response, limits)
        load_error = ("timed out while loading the program" if response.get("timed_out")
                      else f"program did not load: {reason}")
    for index, exp in enumerate(expected):
        if load_error is not None and not loaded:
            outcomes.append(TestOutcome(status="timeout" if response.get("timed_out") and index == 0 else "not_run",
                                        expected=exp))
        elif index in records:
            outcomes.append(outcome_for(records[index], exp, compare))
        elif reason is None:
            reason = _death_reason(response, limits)
            status = "timeout" if response.get("timed_out") else "error"
            outcomes.append(TestOutcome(status=status, expected=exp, error=reason))
        else:
            outcomes.append(TestOutcome(status="not_run", expected=exp))
    passed = sum(o.status == "pass" for o in outcomes)
    status = overall_status(outcomes, load_error if not loaded else None)
    error = load_error if not loaded else (reason if status != "pass" else None)
    stdout = response.get("stdout", "")
    if response.get("stdout_dropped"):
        stdout += f"\n[... {response['stdout_dropped']} bytes dropped]"
    stderr = response.get("stderr", "")
    if response.get("stderr_dropped"):
        stderr += f"\n[... {response['stderr_dropped']} bytes dropped]"
    return ExecResult(status=status, passed=passed, total=n, outcomes=outcomes, backend=backend,
                      stdout=stdout, stderr=stderr, error=error, wall_s=float(response.get("wall_s", 0.0)))
