"""Child side of the sandbox: load a candidate, call its entry point, serialise what it returns.

This file runs *inside* the sandbox, next to untrusted code, so it is standalone (stdlib
only, no `codeq_lib` imports): the worker imports it as a top-level module, both on the
host and inside a Docker container that sees only this folder.

What it never gets: the expected values. The parent strips them before a request leaves
the trusted process, so a candidate that reads the harness's memory, patches it, or writes
forged records to the result channel can only claim return values it could have returned
itself; comparison happens in the parent (DESIGN.md "Result comparison", evalplus-style).
"""

from __future__ import annotations

import builtins
import json
import math
import random
import sys
import traceback
import types

# LeetCode's implicit preamble (interfaces.md "Candidate code runs with ..."): typing names,
# the usual modules, and the ListNode / TreeNode classes of its linked-structure problems.
PREAMBLE = '''
from typing import *
import collections, math, heapq, bisect, itertools, functools, string, re, operator, random
from collections import *
from heapq import *
from bisect import *
from itertools import *
from functools import *
from math import inf, gcd, lcm, ceil, floor, sqrt, isqrt, log, log2, log10, comb, perm, factorial
# LeetCode's judge has these names in scope; some accepted DebugBench oracles rely on them.
# Not `from math import *`: it would shadow the builtin pow(a, b, mod) with math.pow.
from operator import add, sub, mul, xor, lt, le, gt, ge, itemgetter, attrgetter


class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next


class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right
'''

MAX_NODES = 100_000  # longest linked structure serialised (a cycle would never end)
MAX_ITEMS = 1_000_000  # most items drained from a returned generator
MAX_DEPTH = 200  # deepest nesting of a returned container

_dumps = json.dumps  # bound at import: a candidate re-binding json.dumps changes nothing here
_seed_random = random.seed  # bound at import, like _dumps: a candidate's `random.seed = ...` is ignored
TEST_SEED = 0  # the seed every test starts from (issue 14)
_BUILTINS = dict(builtins.__dict__)  # restored before each serialisation (patched builtins)


def restore_builtins() -> None:
    """Undo a candidate's patches to builtins (e.g. `isinstance = lambda *a: True`) before
    the harness serialises or reports, so its own code runs on the real builtins."""
    builtins.__dict__.update(_BUILTINS)


def base_namespace() -> dict:
    """A module namespace with the preamble executed (done once per warm worker)."""
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    return namespace


def list_to_linked(values, node_cls):
    """[1, 2, 3] -> ListNode(1) -> ListNode(2) -> ListNode(3); [] -> None."""
    head = None
    for value in reversed(values or []):
        head = node_cls(value, head)
    return head


def linked_to_list(node, depth: int = 0) -> list:
    """Walk `.val` / `.next`; a cycle or an over-long list is an error, not a hang.

    `depth` is the nesting so far: a node whose `.val` is another list stays under MAX_DEPTH
    (issue 15: the cap used to restart here, so nested lists recursed without bound)."""
    out = []
    while node is not None:
        if len(out) >= MAX_NODES:
            raise ValueError(f"linked list longer than {MAX_NODES} nodes (a cycle?)")
        out.append(canonical(node.val, depth + 1))
        node = node.next
    return out


def list_to_tree(values, node_cls):
    """LeetCode level order with nulls, e.g. [1, None, 2, 3] -> its binary tree."""
    if not values or values[0] is None:
        return None
    root = node_cls(values[0])
    queue, index = [root], 1
    for node in queue:
        if index >= len(values):
            break
        for side in ("left", "right"):
            if index < len(values) and values[index] is not None:
                child = node_cls(values[index])
                setattr(node, side, child)
                queue.append(child)
            index += 1
    return root


def tree_to_list(root, depth: int = 0) -> list:
    """Inverse of `list_to_tree`: level order, trailing nulls dropped (`depth` as above)."""
    out, queue, seen = [], [root], 0
    for node in queue:
        seen += 1
        if seen > 2 * MAX_NODES + 1:
            raise ValueError(f"tree larger than {MAX_NODES} nodes (a cycle?)")
        if node is None:
            out.append(None)
            continue
        out.append(canonical(node.val, depth + 1))
        queue.extend((node.left, node.right))
    while out and out[-1] is None:
        out.pop()
    return out


def _float(value: float):
    # JSON has no NaN/Infinity; encode them as strings so they can never equal a number.
    return value if math.isfinite(value) else repr(value)


def canonical(value, depth: int = 0):
    """Return value -> plain JSON data built only from exact builtin types.

    Subclasses are read through the base type's own methods (`int.__int__`, `list.__iter__`),
    so a candidate's `__eq__`, `__iter__` or `__repr__` overrides cannot shape the result;
    tuples become lists, sets sorted lists, generators are drained.
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"return value nested deeper than {MAX_DEPTH}")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _float(float.__float__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [canonical(item, depth + 1) for item in items]
    if isinstance(value, dict):
        out = {}
        for key, item in dict.items(value):
            key = canonical(key, depth + 1)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise TypeError(f"dict key of type {type(key).__name__} is not JSON")
            out[_dumps(key) if not isinstance(key, str) else key] = canonical(item, depth + 1)
        return out
    if isinstance(value, (set, frozenset)):
        items = [canonical(item, depth + 1) for item in (set.__iter__(value) if isinstance(value, set) else frozenset.__iter__(value))]
        return sorted(items, key=lambda item: _dumps(item, sort_keys=True))
    if isinstance(value, (types.GeneratorType, map, filter, zip, range, reversed, enumerate)):
        items = []
        for item in value:
            if len(items) >= MAX_ITEMS:
                raise ValueError(f"returned iterator yields more than {MAX_ITEMS} items")
            items.append(canonical(item, depth + 1))
        return items
    name = type(value).__name__
    if name == "ListNode" and hasattr(value, "next"):
        return linked_to_list(value, depth)
    if name == "TreeNode" and hasattr(value, "left"):
        return tree_to_list(value, depth)
    raise TypeError(f"return value of type {name} is not serialisable to JSON")


def seed_randomness(seed: int = TEST_SEED) -> None:
    """Seed `random` (and `numpy.random` when the candidate imported numpy) before a test.

    Issue 14: a DebugBench buggy program calling `random.random()` made `prepare` keep
    1,255 tasks on one run and 1,256 on the next. Every test starts from the same seed, so
    a program's outcome on a test depends on neither the test's position nor the worker.
    numpy is seeded only if already imported: importing it here would cost every test.
    """
    _seed_random(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)


def build_args(args: list, arg_types, namespace: dict) -> list:
    """Turn the LeetCode list encodings named by `arg_types` into ListNode / TreeNode objects."""
    out = list(args)
    for index, kind in enumerate(arg_types or []):
        if index >= len(out) or kind is None:
            continue
        if kind == "ListNode":
            out[index] = list_to_linked(out[index], namespace["ListNode"])
        elif kind == "TreeNode":
            out[index] = list_to_tree(out[index], namespace["TreeNode"])
    return out


def serialise_result(value, first_arg, return_type) -> str:
    """The checked value as canonical JSON text ("inplace" checks the first argument)."""
    if return_type == "inplace":
        value = first_arg
    if return_type == "ListNode":
        data = linked_to_list(value)
    elif return_type == "TreeNode":
        data = tree_to_list(value)
    else:
        data = canonical(value)
    return _dumps(data, sort_keys=True, allow_nan=False)


def format_error(exc: BaseException, limit: int = 2000) -> str:
    """'IndexError: list index out of range' (the form feedback and tests read), clipped:
    the parent reads no more than that, so no more is sent."""
    message = str(exc)[:limit]
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def resolve_entry(namespace: dict, entry_point: str):
    """A zero-argument factory giving the callable: `Class.method` -> a fresh instance each call."""
    if "." in entry_point:
        class_name, method = entry_point.split(".", 1)
        cls = namespace.get(class_name)
        if not isinstance(cls, type):
            raise LookupError(f"entry point class {class_name!r} is not defined")
        if not callable(getattr(cls, method, None)):
            raise LookupError(f"entry point method {entry_point!r} is not defined")
        return lambda: getattr(cls(), method)
    func = namespace.get(entry_point)
    if not callable(func):
        raise LookupError(f"entry point {entry_point!r} is not defined")
    return lambda: func


def execute(request: dict, emit, namespace: dict | None = None) -> None:
    """Run `request` (code, entry_point, arg_types, return_type, tests without expected).

    `emit(record)` sends one JSON-able record: first {"load": "ok"} or {"load_error": ...},
    then {"i": index, "got": json_text} or {"i": index, "error": ...} per test as it ends,
    so a timeout still keeps the tests that finished. `namespace` may be a preamble namespace
    built before the fork (the child owns its copy), which saves re-running the preamble.
    """
    namespace = base_namespace() if namespace is None else namespace
    top_name = request["entry_point"].split(".", 1)[0]
    from_preamble = namespace.get(top_name)
    try:
        seed_randomness()  # module-level code that draws at load time is seeded too
        code = compile(request["code"], "<candidate>", "exec")
        exec(code, namespace)
        if from_preamble is not None and namespace.get(top_name) is from_preamble:
            # e.g. an empty program for entry point `add` must not "pass" with operator.add
            raise LookupError(f"entry point {top_name!r} is not defined by the candidate")
        factory = resolve_entry(namespace, request["entry_point"])
    except BaseException as exc:  # SystemExit / KeyboardInterrupt from candidate code too
        restore_builtins()
        emit({"load_error": format_error(exc), "traceback": _short_traceback()})
        return
    restore_builtins()
    emit({"load": "ok"})
    for index, test in enumerate(request["tests"]):
        try:
            # A fresh decode per test is a deep copy: mutating inputs can't leak across tests.
            payload = json.loads(test)
            seed_randomness()
            args = build_args(payload.get("args", []), request.get("arg_types"), namespace)
            value = factory()(*args, **payload.get("kwargs", {}))
            restore_builtins()
            got = serialise_result(value, args[0] if args else None, request.get("return_type"))
            emit({"i": index, "got": got})
        except BaseException as exc:
            restore_builtins()
            emit({"i": index, "error": format_error(exc)})


def _short_traceback(limit: int = 2000) -> str:
    return traceback.format_exc()[-limit:]


if __name__ == "__main__":  # pragma: no cover - debugging aid: run one request from stdin
    execute(json.load(sys.stdin), lambda record: print(json.dumps(record)))
