"""Static checks, as information only (issue 3 item 6): never used to refuse or score.

AST rules, each reported as {"rule", "line", "message"}:
- `forbidden_import`: importing modules that reach the OS, network or interpreter internals.
- `dunder_access`: attribute access or names like `__class__`, `__globals__`, `__builtins__`
  (the usual first step of escaping a Python sandbox).
- `test_lookup_table`: a literal in the code equal to a visible test's input or expected
  value (a program that memorises the tests instead of solving the problem).
"""

from __future__ import annotations

import ast
from typing import Any

FORBIDDEN_MODULES = frozenset({
    "os", "sys", "subprocess", "socket", "shutil", "ctypes", "multiprocessing", "threading",
    "signal", "resource", "importlib", "builtins", "pathlib", "io", "pty", "fcntl", "mmap",
    "gc", "inspect", "urllib", "http", "requests", "pickle", "marshal", "asyncio", "select",
})
# Dunders that are ordinary in LeetCode-style code and not an escape route.
ALLOWED_DUNDERS = frozenset({
    "__init__", "__name__", "__main__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__",
    "__hash__", "__repr__", "__str__", "__len__", "__iter__", "__next__", "__getitem__",
    "__setitem__", "__contains__", "__call__", "__slots__", "__add__", "__bool__",
})


def _finding(rule: str, node: ast.AST, message: str) -> dict:
    return {"rule": rule, "line": getattr(node, "lineno", None), "message": message}


def import_findings(tree: ast.AST) -> list[dict]:
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                out.append(_finding("forbidden_import", node, f"imports {name!r}"))
    return out


def dunder_findings(tree: ast.AST) -> list[dict]:
    out = []
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name and name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS:
            out.append(_finding("dunder_access", node, f"uses {name!r}"))
    return out


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    return True, value


def _normalise(value: Any) -> Any:
    """Tuples as lists (test values are JSON), so `(1, 2)` in code matches `[1, 2]` in a test."""
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def _distinctive(value: Any) -> bool:
    """Worth flagging: containers with >= 3 items or strings of >= 4 characters (not 0, 1, '')."""
    if isinstance(value, str):
        return len(value) >= 4
    if isinstance(value, list):
        return len(value) >= 3
    return False


def lookup_findings(tree: ast.AST, visible_tests) -> list[dict]:
    targets = []
    for test in visible_tests:
        targets.extend(v for v in list(test.args) + list(test.kwargs.values()) if _distinctive(v))
        if _distinctive(test.expected):
            targets.append(test.expected)
    if not targets:
        return []
    out: list[dict] = []
    _visit_literals(tree, targets, out)
    return out


def _visit_literals(tree: ast.AST, targets: list, out: list[dict]) -> None:
    """Depth first, in source order; a flagged literal is reported once, not again for its
    parts. An explicit stack, not recursion: a candidate's expression can nest thousands
    deep (`1+1+...`) and must not raise RecursionError in the trusted parent (issue 15)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Constant)):
            ok, value = _literal(node)
            if ok:
                candidates = [value] + (list(value.keys()) + list(value.values()) if isinstance(value, dict) else [])
                if any(_normalise(item) in targets for item in candidates):
                    out.append(_finding("test_lookup_table", node, "literal equals a visible test's input or expected value"))
                    continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def find_issues(code: str, task) -> list[dict]:
    """All findings for `code` (empty when it does not parse: the run reports that)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    visible = getattr(task, "visible_tests", None) or []
    return import_findings(tree) + dunder_findings(tree) + lookup_findings(tree, visible)
