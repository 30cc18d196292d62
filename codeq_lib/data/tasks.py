"""The task model (schema v1, DESIGN.md "Contracts") and its strict JSONL loader/writer.

One task per line. Required: `id`, `entry_point`, `buggy_code`, `visible_tests`,
`hidden_tests`; each test is `{"args": [...], "kwargs": {...}, "expected": <JSON>}`.
A malformed file is refused with the file, line and field at fault; writing is atomic.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.errors import UserError, located
from codeq_lib.io import atomic_write_text

SCHEMA_VERSION = 1
CATEGORIES = ("syntax", "reference", "logic", "multiple")
DIFFICULTIES = ("easy", "medium", "hard")
# Non-JSON argument/return types the harness converts from/to their list encoding
# (LeetCode style: ListNode as [1,2,3], TreeNode as level order with nulls).
# "inplace" means the function returns None and the checked value is its first argument
# after the call (LeetCode's "do not return anything, modify nums in-place").
ARG_TYPES = ("ListNode", "TreeNode")
RETURN_TYPES = ("ListNode", "TreeNode", "inplace")
COMPARE_MODES = ("exact", "unordered")
_ENTRY_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$")

REQUIRED = ("id", "entry_point", "buggy_code", "visible_tests", "hidden_tests")
OPTIONAL = (
    "schema_version",
    "description",
    "category",
    "minor_type",
    "difficulty",
    "reference_code",
    "source",
    "problem",
    "arg_types",
    "return_type",
    "compare",
    "meta",
)


class TaskFileError(UserError):
    """A task file is malformed; the message names the file, line and field:
    `<file>:<line>: <field>: <what is wrong and what is allowed>`."""

    def __init__(self, path: str | Path, line: int | None, field_name: str | None, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field_name, message
        super().__init__(located(self.path, line, field_name, message))


@dataclass
class TestCase:
    __test__ = False  # not a pytest class

    args: list[Any]
    expected: Any
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"args": self.args, "kwargs": self.kwargs, "expected": self.expected}


@dataclass
class Task:
    id: str
    entry_point: str
    buggy_code: str
    visible_tests: list[TestCase]
    hidden_tests: list[TestCase]
    description: str = ""
    category: str | None = None
    minor_type: str | None = None
    difficulty: str | None = None
    reference_code: str | None = None
    source: str | None = None
    problem: str | None = None
    arg_types: list[str | None] | None = None
    return_type: str | None = None
    compare: str = "exact"
    meta: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def group(self) -> str:
        """The split unit: the problem (DebugBench slug, curriculum function), else the id."""
        return self.problem or self.id

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["visible_tests"] = [t.to_dict() for t in self.visible_tests]
        out["hidden_tests"] = [t.to_dict() for t in self.hidden_tests]
        return out


def _check_json_value(value: Any, where: str) -> None:
    """Refuse values that are not plain JSON (NaN/Infinity, non-string keys, objects)."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a JSON value (NaN/Infinity)")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            _check_json_value(item, f"{where}.{key}")
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a JSON value")


def _parse_tests(raw: Any, name: str, path, line) -> list[TestCase]:
    if not isinstance(raw, list):
        raise TaskFileError(path, line, name, f"must be a list of tests, got {type(raw).__name__}")
    tests = []
    for i, item in enumerate(raw):
        where = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise TaskFileError(path, line, where, "each test must be an object with args/kwargs/expected")
        unknown = set(item) - {"args", "kwargs", "expected"}
        if unknown:
            raise TaskFileError(path, line, where, f"unknown key(s) {sorted(unknown)}; allowed: args, kwargs, expected")
        if "expected" not in item:
            raise TaskFileError(path, line, f"{where}.expected", "is missing")
        args = item.get("args", [])
        kwargs = item.get("kwargs", {})
        if not isinstance(args, list):
            raise TaskFileError(path, line, f"{where}.args", "must be a list")
        if not isinstance(kwargs, dict):
            raise TaskFileError(path, line, f"{where}.kwargs", "must be an object")
        for key, value in (("args", args), ("kwargs", kwargs), ("expected", item["expected"])):
            try:
                _check_json_value(value, f"{where}.{key}")
            except ValueError as exc:
                raise TaskFileError(path, line, f"{where}.{key}", str(exc)) from None
        tests.append(TestCase(args=args, kwargs=kwargs, expected=item["expected"]))
    return tests


def task_from_dict(obj: Any, path: str | Path = "<dict>", line: int | None = None) -> Task:
    """Validate one task object; raise TaskFileError naming the field at fault."""
    if not isinstance(obj, dict):
        raise TaskFileError(path, line, None, f"each line must be a JSON object, got {type(obj).__name__}")
    for name in REQUIRED:
        if name not in obj:
            raise TaskFileError(path, line, name, "is required but missing")
    unknown = sorted(set(obj) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise TaskFileError(path, line, unknown[0], f"is not a schema v{SCHEMA_VERSION} field (put extras under 'meta')")
    version = obj.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise TaskFileError(path, line, "schema_version", f"is {version!r}; this codeq reads version {SCHEMA_VERSION}")
    for name in ("id", "entry_point", "buggy_code"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise TaskFileError(path, line, name, "must be a non-empty string")
    if not _ENTRY_RE.match(obj["entry_point"]):
        raise TaskFileError(path, line, "entry_point", f"{obj['entry_point']!r} is not a function name or Class.method")
    for name in ("description", "minor_type", "reference_code", "source", "problem"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise TaskFileError(path, line, name, "must be a string")
    for name, allowed in (("category", CATEGORIES), ("difficulty", DIFFICULTIES),
                          ("return_type", RETURN_TYPES), ("compare", COMPARE_MODES)):
        if obj.get(name) is not None and obj[name] not in allowed:
            # category and difficulty are optional labels a user's own bug may not have
            hint = "; leave the field out when it is not known" if name in ("category", "difficulty") else ""
            raise TaskFileError(path, line, name, f"{obj[name]!r} is not one of {list(allowed)}{hint}")
    arg_types = obj.get("arg_types")
    if arg_types is not None:
        if not isinstance(arg_types, list) or any(a is not None and a not in ARG_TYPES for a in arg_types):
            raise TaskFileError(path, line, "arg_types", f"must be a list of null or one of {list(ARG_TYPES)}")
    if obj.get("meta") is not None and not isinstance(obj["meta"], dict):
        raise TaskFileError(path, line, "meta", "must be an object")
    visible = _parse_tests(obj["visible_tests"], "visible_tests", path, line)
    hidden = _parse_tests(obj["hidden_tests"], "hidden_tests", path, line)
    if not visible and not hidden:
        raise TaskFileError(path, line, "hidden_tests", "a task needs at least one test")
    return Task(
        id=obj["id"],
        entry_point=obj["entry_point"],
        buggy_code=obj["buggy_code"],
        visible_tests=visible,
        hidden_tests=hidden,
        description=obj.get("description") or "",
        category=obj.get("category"),
        minor_type=obj.get("minor_type"),
        difficulty=obj.get("difficulty"),
        reference_code=obj.get("reference_code"),
        source=obj.get("source"),
        problem=obj.get("problem"),
        arg_types=arg_types,
        return_type=obj.get("return_type"),
        compare=obj.get("compare") or "exact",
        meta=obj.get("meta") or {},
    )


def load_tasks(path: str | Path) -> list[Task]:
    """Read and validate a schema-v1 JSONL file. Empty files and duplicate ids are errors."""
    path = Path(path)
    if not path.exists():
        raise TaskFileError(path, None, None, "file not found")
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text, parse_constant=_refuse_constant)
            except ValueError as exc:
                raise TaskFileError(path, lineno, None, f"not valid JSON ({exc})") from None
            task = task_from_dict(obj, path, lineno)
            if task.id in seen:
                raise TaskFileError(path, lineno, "id", f"duplicate id {task.id!r} (first on line {seen[task.id]})")
            seen[task.id] = lineno
            tasks.append(task)
    if not tasks:
        raise TaskFileError(path, None, None, "contains no tasks")
    return tasks


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def save_tasks(tasks: Iterable[Task], path: str | Path) -> Path:
    """Validate every task, then write the file atomically (nothing partial on error)."""
    lines = []
    for task in tasks:
        obj = task.to_dict()
        task_from_dict(json.loads(json.dumps(obj)), path, len(lines) + 1)  # round-trip check
        lines.append(json.dumps(obj, sort_keys=True, allow_nan=False))
    return atomic_write_text(path, "".join(line + "\n" for line in lines))
