"""MBPP (Austin et al. 2021, arXiv:2108.07732) -> reference problems with executable tests.

MBPP ships 974 problems, each a statement, a reference solution and three `assert
f(...) == value` lines (plus, for 11 problems, harder `challenge_test_list` asserts). A
problem becomes a *reference problem*: a schema-v1 `Task` whose `buggy_code` is still the
reference (the bug generator, `mutate`, turns it into bug tasks). Here:

- the asserts are parsed into argument lists; the literal on the right of `==` is only
  checked against the reference, never trusted: every expected value comes from running the
  reference in the sandbox (tuples become lists, as in every JSON task);
- three asserts are weak tests, so hidden tests add seeded random and edge-case inputs typed
  from the observed arguments (`random_inputs`, the synthesis DebugBench uses), with the
  reference as the oracle, run twice so an order- or randomness-dependent answer is dropped;
- a problem is dropped, and counted by reason, when it has several top-level functions,
  prints instead of returning, needs objects from `test_setup_code`, or has values JSON
  cannot carry (sets, non-string dict keys, bytes, ...).
"""

from __future__ import annotations

import ast
import collections
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeq_lib.data.random_inputs import edge_inputs, random_inputs, value_spec
from codeq_lib.data.tasks import Task, TestCase

SOURCE = "mbpp"
FIELDS = {"text": str, "code": str, "task_id": int, "test_setup_code": str, "test_list": list,
          "challenge_test_list": list}
# Calls wrapping the function in an assert that make element order irrelevant.
_UNORDERED_WRAPPERS = {"set", "sorted", "frozenset", "Counter", "collections.Counter"}


class Drop(ValueError):
    """A problem that cannot become a task; `reason` is what the report counts."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


def load_mbpp(path: str | Path) -> list[dict]:
    """Read `mbpp.jsonl` strictly: a bad line is refused with the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: MBPP file not found (expected ../shared/mbpp/mbpp.jsonl)")
    records, seen = [], {}
    with open(path, encoding="utf-8") as handle:
        for lineno, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{lineno}: each line must be a JSON object")
            for name, kind in FIELDS.items():
                if name not in record:
                    raise ValueError(f"{path}:{lineno}: field {name!r} is missing (required: {list(FIELDS)})")
                if not isinstance(record[name], kind) or (kind is int and isinstance(record[name], bool)):
                    raise ValueError(f"{path}:{lineno}: field {name!r} must be {kind.__name__}, "
                                     f"got {type(record[name]).__name__}")
            for name in ("test_list", "challenge_test_list"):
                if not all(isinstance(item, str) for item in record[name]):
                    raise ValueError(f"{path}:{lineno}: field {name!r} must be a list of strings")
            if record["task_id"] in seen:
                raise ValueError(f"{path}:{lineno}: field 'task_id' {record['task_id']} repeats line "
                                 f"{seen[record['task_id']]}")
            seen[record["task_id"]] = lineno
            records.append({**record, "line": lineno})
    if not records:
        raise ValueError(f"{path}: contains no problems")
    return records


def clean_code(code: str) -> str:
    """MBPP's references use CRLF and trailing spaces; keep the program, drop those."""
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def to_json(value: Any, where: str) -> Any:
    """A Python literal as the JSON a task stores: tuples become lists; anything JSON cannot
    carry without changing its meaning (sets, non-string keys, bytes, NaN) is refused."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Drop("non_json_values", f"{where}: {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(item, where) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise Drop("non_json_values", f"{where}: a dict with non-string keys")
        return {key: to_json(item, where) for key, item in value.items()}
    raise Drop("non_json_values", f"{where}: a {type(value).__name__} value")


@dataclass
class MbppProblem:
    """One MBPP problem parsed, before anything has run."""

    task_id: int
    entry_point: str
    params: list[str]
    reference: str
    description: str
    assert_args: list[list[Any]]  # test_list, in order: the visible tests
    challenge_args: list[list[Any]]
    stated: list[Any]  # the literal after `==` per assert (visible then challenge), or None
    compare: str


def _defined_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _call_of(node: ast.AST, names: set[str]) -> tuple[ast.Call | None, bool]:
    """The first call to one of `names` inside an assert's left side, and whether it was
    wrapped in an order-insensitive call (`set(f(x)) == {...}`)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
        return node, False
    if isinstance(node, ast.Call):
        wrapper = ast.unparse(node.func)
        for arg in node.args:
            call, wrapped = _call_of(arg, names)
            if call is not None:
                return call, wrapped or wrapper in _UNORDERED_WRAPPERS
    return None, False


def parse_assert(text: str, names: set[str], where: str) -> tuple[str, list[Any], Any, bool]:
    """`assert f(1, (2, 3)) == [4]` -> ("f", [1, [2, 3]], [4], unordered). The stated value
    is None when it is not a literal (it is only ever checked, never used)."""
    try:
        statement = ast.parse(text.strip()).body[0]
    except (SyntaxError, IndexError):
        raise Drop("unparsed_assert", f"{where}: {text[:80]!r}") from None
    if not isinstance(statement, ast.Assert):
        raise Drop("unparsed_assert", f"{where}: not an assert")
    test = statement.test
    left, stated_node = (test.left, test.comparators[0]) if (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)) else (test, None)
    call, unordered = _call_of(left, names)
    if call is None:
        raise Drop("unparsed_assert", f"{where}: no call to {sorted(names)}")
    if call.keywords or any(isinstance(arg, ast.Starred) for arg in call.args):
        raise Drop("unparsed_assert", f"{where}: keyword or starred arguments")
    try:
        args = [ast.literal_eval(arg) for arg in call.args]
    except (ValueError, SyntaxError, TypeError):
        raise Drop("non_literal_args", f"{where}: {ast.unparse(call)[:80]}") from None
    stated = None
    if stated_node is not None:
        try:
            stated = ast.literal_eval(stated_node)
        except (ValueError, SyntaxError, TypeError):
            stated = None
    return call.func.id, [to_json(arg, where) for arg in args], stated, unordered


def parse_problem(record: dict) -> MbppProblem:
    """Parse one MBPP record; raise `Drop` (with its reason) when it cannot become a task."""
    where = f"mbpp task {record['task_id']}"
    reference = clean_code(record["code"])
    try:
        tree = ast.parse(reference)
    except SyntaxError as exc:
        raise Drop("reference_syntax_error", f"{where}: {exc}") from None
    functions = _defined_functions(tree)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if len(functions) + len(classes) > 1:
        raise Drop("multiple_functions", f"{where}: defines {[n.name for n in functions + classes]}")
    if not functions:
        raise Drop("no_function", f"{where}: defines no function")
    names = {functions[0].name}
    if record["test_setup_code"].strip():
        # The two MBPP problems with setup code build Node objects there and pass them by
        # name; a JSON task cannot carry them.
        raise Drop("setup_code_objects", f"{where}: tests use objects built in test_setup_code")
    parsed = [parse_assert(text, names, f"{where} test_list[{i}]") for i, text in enumerate(record["test_list"])]
    challenge = [parse_assert(text, names, f"{where} challenge_test_list[{i}]")
                 for i, text in enumerate(record["challenge_test_list"])]
    if not parsed:
        raise Drop("no_tests", f"{where}: test_list is empty")
    arities = {len(args) for _, args, _, _ in parsed + challenge}
    if len(arities) != 1:
        raise Drop("varying_arity", f"{where}: asserts pass {sorted(arities)} arguments")
    function = functions[0]
    params = [arg.arg for arg in function.args.args]
    text = " ".join(record["text"].split())
    signature = f"{function.name}({', '.join(params)})"
    return MbppProblem(
        task_id=record["task_id"], entry_point=function.name, params=params, reference=reference,
        description=f"{text}\n\nWrite it as the Python function `{signature}`.",
        assert_args=[args for _, args, _, _ in parsed], challenge_args=[args for _, args, _, _ in challenge],
        stated=[stated for _, _, stated, _ in parsed + challenge],
        compare="unordered" if any(unordered for *_, unordered in parsed) else "exact")


def extra_inputs(problem: MbppProblem, n_random: int, seed: int) -> list[list[Any]]:
    """Seeded random inputs, then edge cases, typed from the asserts' arguments (no execution).

    Seeded by (seed, task id), so a problem's inputs do not depend on which others are built.
    A parameter whose observed values have no single kind (e.g. int and list) gets none.
    """
    observed = problem.assert_args + problem.challenge_args
    names = problem.params if len(problem.params) == len(observed[0]) else [f"arg{i}" for i in range(len(observed[0]))]
    specs = [value_spec(name, None, [args[i] for args in observed], "", "") for i, name in enumerate(names)]
    if not specs or not all(specs):
        return []
    rng = random.Random(f"{seed}:mbpp:{problem.task_id}")
    randoms = random_inputs(specs, n_random, rng, observed) if n_random > 0 else []
    edges = edge_inputs(specs, rng, observed + randoms)
    return randoms + edges


def problem_id(task_id: int) -> str:
    """The problem name a task records (the split's canonical key is built from it)."""
    return f"mbpp-{task_id}"


def _canonical_literal(value: Any) -> Any:
    """The stated literal as the harness would serialise it (tuples as lists, sets sorted)."""
    from codeq_lib.sandbox.harness import canonical

    return json.loads(json.dumps(canonical(value), sort_keys=True))


def resolve(problem: MbppProblem, extras: list[list[Any]], first, second) -> tuple[Task, dict[str, int]]:
    """A reference problem from two oracle runs (`ExecResult`s on asserts + challenge + extras).

    Raises Drop: the reference fails an assert's inputs (often a tuple argument it mutates as
    a tuple, which JSON gives as a list), returns None everywhere (it prints), disagrees with
    an assert's stated value, or answers an assert differently on the two runs.
    """
    from codeq_lib.sandbox import values_equal

    where = f"mbpp task {problem.task_id}"
    fixed = problem.assert_args + problem.challenge_args
    outcomes = list(zip(first.outcomes, second.outcomes))
    if len(outcomes) != len(fixed) + len(extras):
        raise Drop("reference_fails", f"{where}: {first.error or first.status}")
    # A timeout ends the run but keeps the tests before it: one slow extra input (they come
    # last) costs only itself and those after it, not the problem.
    for index, (a, b) in enumerate(outcomes[:len(fixed)]):
        if a.status not in ("pass", "fail"):
            reason = "non_json_return" if "serialis" in (a.error or "") else "reference_fails"
            raise Drop(reason, f"{where} assert {index}: {a.error or first.error or a.status}")
        if b.status not in ("pass", "fail") or not values_equal(a.got, b.got):
            raise Drop("reference_nondeterministic", f"{where} assert {index}")
    if all(a.got is None for a, _ in outcomes[:len(fixed)]):
        raise Drop("print_only", f"{where}: the reference returns None on every assert")
    for index, stated in enumerate(problem.stated):
        if stated is not None and not values_equal(outcomes[index][0].got, _canonical_literal(stated),
                                                   problem.compare):
            raise Drop("assert_disagrees", f"{where} assert {index}: reference gives "
                       f"{json.dumps(outcomes[index][0].got)[:60]}, the assert states {stated!r}"[:200])
    visible = [TestCase(args=args, expected=outcomes[i][0].got) for i, args in enumerate(problem.assert_args)]
    challenge = [TestCase(args=args, expected=outcomes[len(problem.assert_args) + i][0].got)
                 for i, args in enumerate(problem.challenge_args)]
    usable = [TestCase(args=args, expected=a.got) for args, (a, b) in zip(extras, outcomes[len(fixed):])
              if a.status in ("pass", "fail") and b.status in ("pass", "fail") and values_equal(a.got, b.got)]
    task = Task(id=f"mbpp-{problem.task_id}-ref", entry_point=problem.entry_point, buggy_code=problem.reference,
                visible_tests=visible, hidden_tests=visible + challenge + usable, description=problem.description,
                reference_code=problem.reference, source=SOURCE, problem=problem_id(problem.task_id),
                compare=problem.compare, meta={"mbpp_task_id": problem.task_id, "n_challenge_tests": len(challenge),
                                               "n_extra_tests": len(usable)})
    return task, {"extras_drawn": len(extras), "extras_discarded": len(extras) - len(usable)}


def build_mbpp_references(path: str | Path, sandbox, *, n_random: int = 5, seed: int = 0,
                          limit: int | None = None, progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Load MBPP, parse every problem, run each reference twice on all its inputs; return
    the reference problems (sorted by task id) and the report block (drops by reason)."""
    from codeq_lib.data.debugbench import spread

    records = load_mbpp(path)
    references, report = build_references_from_records(spread(records, limit), sandbox, n_random=n_random,
                                                       seed=seed, progress=progress)
    return references, {"source": str(path), "problems_loaded": len(records), **report}


def build_references_from_records(records: list[dict], sandbox, *, n_random: int = 5, seed: int = 0,
                                  progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """`build_mbpp_references` on records already loaded (tests pass a fixed sample)."""
    dropped: collections.Counter = collections.Counter()
    examples: dict[str, list[str]] = {}
    planned: list[tuple[MbppProblem, list[list[Any]]]] = []
    for record in records:
        try:
            problem = parse_problem(record)
        except Drop as exc:
            dropped[exc.reason] += 1
            examples.setdefault(exc.reason, []).append(str(exc)[:200])
            continue
        planned.append((problem, extra_inputs(problem, n_random, seed)))
    jobs = []
    for problem, extras in planned:
        tests = [TestCase(args=args, expected=None) for args in problem.assert_args + problem.challenge_args + extras]
        probe = Task(id=f"probe-mbpp-{problem.task_id}", entry_point=problem.entry_point,
                     buggy_code=problem.reference, visible_tests=[], hidden_tests=tests, compare=problem.compare)
        jobs.append((problem.reference, probe, tests))
        # a second, uncached run (one more newline changes the cache key), as for DebugBench
        jobs.append((problem.reference + "\n", probe, tests))
    results = sandbox.run_batch(jobs, progress=progress) if jobs else []
    references, totals = [], collections.Counter()
    for index, (problem, extras) in enumerate(planned):
        try:
            task, counts = resolve(problem, extras, results[2 * index], results[2 * index + 1])
        except Drop as exc:
            dropped[exc.reason] += 1
            examples.setdefault(exc.reason, []).append(str(exc)[:200])
            continue
        totals.update(counts)
        references.append(task)
    report = {
        "problems_used": len(records),
        "problems_kept": len(references), "dropped": dict(sorted(dropped.items())),
        "dropped_total": sum(dropped.values()),
        "drop_examples": {reason: texts[:5] for reason, texts in sorted(examples.items())},
        "extra_inputs_drawn": totals["extras_drawn"], "extra_inputs_discarded": totals["extras_discarded"],
        "hidden_tests": sum(len(t.hidden_tests) for t in references),
        "compare_unordered": sum(t.compare == "unordered" for t in references),
    }
    return references, report

__all__ = ["Drop", "MbppProblem", "SOURCE", "build_mbpp_references", "clean_code", "extra_inputs", "load_mbpp",
           "parse_assert", "parse_problem", "problem_id", "resolve", "to_json"]
