"""The project's own bug curriculum: small Python functions, each with two or three seeded bugs.

The bugs are readable Python data in `curriculum_bugs.py` (one dict per function, one small
dict per bug); this module turns them into schema-v1 `Task`s (DESIGN.md "Contracts").
Categories follow DebugBench (Tian et al., 2024): `syntax` (does not parse), `reference`
(undefined name or method, faulty index, illegal keyword), `logic` (off-by-one, wrong
operator, condition or initial value) and `multiple` (two or three of those at once).

The split unit is the function (`Task.problem`): every function carries 2-3 bugs, and a
by-problem split keeps all of a test function's bugs (and its fix) out of training.

Expected values are committed data, not computed at load time, so the task file is stable.
They were produced from the reference implementation: write a new test as `(args, ...)`
and run `python -m codeq_lib.data.curriculum fill`, which replaces each `...` with the
reference's output in place. `tests/test_curriculum.py` proves the data in the sandbox:
every reference passes all its hidden tests and every buggy version fails at least one.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from codeq_lib.data.tasks import CATEGORIES, DIFFICULTIES, Task, task_from_dict

SOURCE = "curriculum"
BUGS_PATH = Path(__file__).with_name("curriculum_bugs.py")
_PROBLEM_KEYS = {"problem", "entry_point", "difficulty", "description", "reference", "visible", "tests", "bugs"}
_BUG_KEYS = {"category", "minor_type", "code", "difficulty"}
MIN_EXTRA_HIDDEN = 5  # hidden tests = the visible ones plus at least this many more

# What candidate code sees besides its own text (docs/interfaces.md, "Tasks"); the `fill`
# step runs references with the same names so expected values match the sandbox.
_PREAMBLE = (
    "from typing import *\n"
    "import collections, math, heapq, bisect, itertools, functools, string, re\n"
)


def _check_problem(spec: dict[str, Any]) -> None:
    """Refuse a malformed problem dict, naming the problem and the key at fault."""
    name = spec.get("problem", "<unnamed>")
    where = f"curriculum problem {name!r}"
    missing = sorted((_PROBLEM_KEYS - {"visible"}) - set(spec))
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")
    unknown = sorted(set(spec) - _PROBLEM_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_PROBLEM_KEYS)}")
    visible = spec.get("visible", 3)
    if not 1 <= visible <= len(spec["tests"]) - MIN_EXTRA_HIDDEN:
        raise ValueError(
            f"{where}: needs {visible} visible tests plus at least {MIN_EXTRA_HIDDEN} more, "
            f"has {len(spec['tests'])} tests"
        )
    for i, test in enumerate(spec["tests"]):
        if not (isinstance(test, tuple) and len(test) == 2 and isinstance(test[0], list)):
            raise ValueError(f"{where}: tests[{i}] must be a tuple (args list, expected)")
        if test[1] is Ellipsis:
            raise ValueError(f"{where}: tests[{i}] has no expected value; run `python -m codeq_lib.data.curriculum fill`")
    if not spec["bugs"]:
        raise ValueError(f"{where}: has no bugs")
    for j, bug in enumerate(spec["bugs"]):
        unknown = sorted(set(bug) - _BUG_KEYS)
        if unknown or not {"category", "minor_type", "code"} <= set(bug):
            raise ValueError(f"{where}: bugs[{j}] needs category, minor_type, code (optional difficulty); got {sorted(bug)}")
        if bug["category"] not in CATEGORIES:
            raise ValueError(f"{where}: bugs[{j}].category {bug['category']!r} is not one of {list(CATEGORIES)}")
        difficulty = bug.get("difficulty", spec["difficulty"])
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"{where}: bugs[{j}].difficulty {difficulty!r} is not one of {list(DIFFICULTIES)}")


def _test_dict(test: tuple[list[Any], Any]) -> dict[str, Any]:
    args, expected = test
    # json round-trip: tuples become lists, so the committed value is plain JSON.
    return {"args": json.loads(json.dumps(args)), "kwargs": {}, "expected": json.loads(json.dumps(expected))}


def _code(text: str) -> str:
    """Program text as stored: the data file opens each triple-quoted block with a newline."""
    return text.lstrip("\n")


def problem_tasks(spec: dict[str, Any]) -> list[Task]:
    """The tasks of one problem dict: one per bug, ids `cur-<problem>-<n>` from 1."""
    _check_problem(spec)
    tests = [_test_dict(test) for test in spec["tests"]]
    visible = tests[: spec.get("visible", 3)]
    tasks = []
    for n, bug in enumerate(spec["bugs"], start=1):
        obj = {
            "id": f"cur-{spec['problem']}-{n}",
            "entry_point": spec["entry_point"],
            "buggy_code": _code(bug["code"]),
            "reference_code": _code(spec["reference"]),
            "description": " ".join(spec["description"].split()),
            "visible_tests": visible,
            "hidden_tests": tests,
            "problem": spec["problem"],
            "source": SOURCE,
            "category": bug["category"],
            "minor_type": bug["minor_type"],
            "difficulty": bug.get("difficulty", spec["difficulty"]),
        }
        tasks.append(task_from_dict(obj, path=BUGS_PATH.name))
    return tasks


def curriculum_tasks() -> list[Task]:
    """Every curriculum task, in file order (fresh objects on each call)."""
    from codeq_lib.data.curriculum_bugs import PROBLEMS

    tasks = [task for spec in PROBLEMS for task in problem_tasks(spec)]
    ids = Counter(task.id for task in tasks)
    duplicated = sorted(i for i, count in ids.items() if count > 1)
    if duplicated:
        raise ValueError(f"{BUGS_PATH.name}: duplicate task ids {duplicated}")
    return tasks


def curriculum_counts(tasks: list[Task] | None = None) -> dict[str, dict[str, int]]:
    """Task counts as {category: {difficulty: n}} (every cell present, zeros included)."""
    tasks = curriculum_tasks() if tasks is None else tasks
    counts = Counter((task.category, task.difficulty) for task in tasks)
    return {c: {d: counts[(c, d)] for d in DIFFICULTIES} for c in CATEGORIES}


def run_reference(spec: dict[str, Any], args: list[Any]) -> Any:
    """Call the problem's reference on `args` in this process and return its JSON value.

    Only for the `fill` build step on our own, trusted reference code; candidate code runs
    in the sandbox.
    """
    namespace: dict[str, Any] = {"__name__": "__curriculum__"}
    exec(compile(_PREAMBLE + spec["reference"], f"<reference {spec['problem']}>", "exec"), namespace)
    owner, _, method = spec["entry_point"].rpartition(".")
    func = getattr(namespace[owner](), method) if owner else namespace[method]
    return json.loads(json.dumps(func(*json.loads(json.dumps(args)))))


def python_literal(value: Any) -> str:
    """A JSON value as Python source, strings in double quotes to match the data file.

    >>> print(python_literal({"a": [1, None, True, "x'y"]}))
    {"a": [1, None, True, "x'y"]}
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Python literal
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def fill_expected(path: str | Path = BUGS_PATH) -> int:
    """Replace each `(args, ...)` test placeholder in the bugs file with the reference's output.

    Edits the file's text in place (only the `...` tokens), so layout and comments stay as
    written. Returns the number of values filled.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(text, str(path), "exec"), namespace)
    specs = {spec["problem"]: spec for spec in namespace["PROBLEMS"]}
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (line, start col, end col, replacement)
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
        if "problem" not in keys or "tests" not in keys:
            continue
        spec = specs[ast.literal_eval(keys["problem"])]
        for test_node, (args, expected) in zip(keys["tests"].elts, spec["tests"]):
            if expected is Ellipsis:
                placeholder = test_node.elts[1]
                assert placeholder.lineno == placeholder.end_lineno
                value = python_literal(run_reference(spec, args))
                edits.append((placeholder.lineno - 1, placeholder.col_offset, placeholder.end_col_offset, value))
    # Right to left, so earlier column offsets on the same line stay valid.
    for line, start, end, value in sorted(edits, reverse=True):
        lines[line] = lines[line][:start] + value + lines[line][end:]
    if edits:
        path.write_text("".join(lines), encoding="utf-8")
    return len(edits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codeq_lib.data.curriculum", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fill", help="replace `...` expected values in curriculum_bugs.py with the reference's output")
    sub.add_parser("counts", help="print task counts per category x difficulty as JSON")
    args = parser.parse_args(argv)
    if args.command == "fill":
        print(f"filled {fill_expected()} expected value(s) in {BUGS_PATH}")
    else:
        print(json.dumps(curriculum_counts(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
