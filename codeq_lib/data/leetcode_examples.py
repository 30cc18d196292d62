"""LeetCode example text -> call arguments, and the oracle's entry point.

DebugBench (Tian et al. 2024, arXiv:2401.04621) gives each problem's examples as LeetCode
prose (`Input: nums = [1,2], k = 3` / `Output: true`). This module turns that text into
JSON values, reads the entry method of the oracle's `class Solution` and the io types the
harness needs (interfaces.md: `arg_types`, `return_type`), and orders an example's named
inputs as that method's positional parameters. All pure functions; `debugbench` uses them
to plan a problem's tests, `random_inputs` to tell linked structures from plain JSON.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------- examples

_LITERAL_WORDS = {"true": "True", "false": "False", "null": "None"}
_TOKEN_RE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[A-Za-z_]\w*|.', re.S)


def parse_literal(text: str) -> Any:
    """A LeetCode literal -> JSON value; ValueError if it is not one.

    JSON first (true/false/null, nested lists, "007" stays a string), then Python syntax
    with the LeetCode words swapped outside strings (single-quoted chars, `None`).

    >>> parse_literal('[[1,-2],[3.5,null]]'), parse_literal('"007"'), parse_literal("['a','b']")
    ([[1, -2], [3.5, None]], '007', ['a', 'b'])
    """
    text = text.strip()
    if not text:
        raise ValueError("empty literal")
    try:
        value = json.loads(text)
    except ValueError:
        tokens = [_LITERAL_WORDS.get(tok, tok) for tok in _TOKEN_RE.findall(text)]
        bare = [tok for tok in tokens if tok[0].isalpha() or tok[0] == "_"]
        if any(tok not in ("True", "False", "None") for tok in bare):
            raise ValueError(f"not a literal: {text[:60]!r}") from None
        try:
            value = ast.literal_eval("".join(tokens))
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError(f"not a literal: {text[:60]!r} ({type(exc).__name__})") from None
    return _to_json(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("dict with non-string keys")
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):  # NaN/Infinity are no JSON values
        raise ValueError(f"{value!r} is not a JSON number")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"{type(value).__name__} is not a JSON value")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    parts, depth, start, quote = [], 0, 0, None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[({":
            depth += 1
        elif char in "])}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return parts


_ASSIGN_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*(.*)$", re.S)


def parse_assignments(text: str) -> dict[str, Any]:
    """`a = [1,2], b = "x"` -> {"a": [1, 2], "b": "x"}; ValueError if any piece is not one.

    >>> parse_assignments('nums = [1,2,3], target = -7, s = "007"')
    {'nums': [1, 2, 3], 'target': -7, 's': '007'}
    """
    pieces: list[str] = []
    for part in _split_top_level(text):
        if _ASSIGN_RE.match(part) or not pieces:
            pieces.append(part)
        else:  # a comma inside an unbracketed value: glue it back
            pieces[-1] += "," + part
    values = {}
    for piece in pieces:
        match = _ASSIGN_RE.match(piece)
        if not match:
            raise ValueError(f"not `name = value`: {piece.strip()[:60]!r}")
        values[match.group(1)] = parse_literal(match.group(2))
    return values


_EXAMPLE_RE = re.compile(r"Input:\s*(.*?)\s*\n\s*Output:\s*(.*?)\s*(?:\n\s*Explanation\b|\n\s*\n|$)", re.S)


def parse_example(text: str) -> tuple[dict[str, Any], Any]:
    """One DebugBench example string -> (named inputs, the output it states)."""
    match = _EXAMPLE_RE.search(text)
    if not match:
        raise ValueError(f"no `Input: ... Output: ...` in {text[:60]!r}")
    inputs = parse_assignments(match.group(1))
    output = parse_literal(match.group(2).splitlines()[0] if match.group(2) else "")
    return inputs, output


# ---------------------------------------------------------------------------- signatures

@dataclass
class Param:
    name: str
    annotation: str | None  # `ast.unparse` text, e.g. "List[int]", "Optional[TreeNode]"
    has_default: bool = False


@dataclass
class Signature:
    class_name: str
    method: str
    params: list[Param]
    returns: str | None

    @property
    def entry_point(self) -> str:
        return f"{self.class_name}.{self.method}"


def _public_methods(cls: ast.ClassDef) -> list[ast.FunctionDef]:
    return [node for node in cls.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


def _signature(cls: ast.ClassDef, node: ast.FunctionDef) -> Signature:
    args = node.args.args[1:]  # drop self
    n_defaults = len(node.args.defaults)
    params = [Param(arg.arg, ast.unparse(arg.annotation).strip("'\"") if arg.annotation else None,
                    index >= len(args) - n_defaults) for index, arg in enumerate(args)]
    returns = ast.unparse(node.returns).strip("'\"") if node.returns else None
    return Signature(cls.name, node.name, params, returns)


def oracle_signature(code: str, example_names: list[list[str]] | None = None, slug: str = "") -> Signature:
    """The entry method of the oracle's `class Solution` (the last one if defined twice).

    With several public methods (helpers such as `check`, `dp`), pick the one whose
    parameter names match the examples' names, else whose parameter count does, else the
    one no other method calls, else the one named most like the slug.
    Raise ValueError naming why there is no single entry (design problems have no
    `Solution` class: LeetCode calls their methods in sequence, which tests cannot express).
    """
    tree = ast.parse(code)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Solution"]
    if not classes:
        names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        raise ValueError(f"design_class: no `class Solution` (classes: {names})")
    cls = classes[-1]
    methods = _public_methods(cls)
    if not methods:
        raise ValueError("no_method: `class Solution` has no public method")
    if len(methods) == 1:
        return _signature(cls, methods[0])
    for names in example_names or []:
        matching = [m for m in methods if [a.arg for a in m.args.args[1:]] == names]
        if len(matching) == 1:
            return _signature(cls, matching[0])
    for names in example_names or []:
        matching = [m for m in methods if len(m.args.args) - 1 == len(names)]
        if len(matching) == 1:
            return _signature(cls, matching[0])
    called = {node.attr for method in methods for node in ast.walk(method)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "self" and node.attr != method.name}  # recursion is no call from another
    roots = [m for m in methods if m.name not in called]
    if len(roots) == 1:
        return _signature(cls, roots[0])
    if slug:  # e.g. addNegabinary over its helper addBinary for "adding-two-negabinary-numbers"
        words = [word for word in slug.split("-") if len(word) > 2]
        scores = {m.name: sum(word in m.name.lower() for word in words) for m in roots or methods}
        best = max(scores.values())
        if list(scores.values()).count(best) == 1:
            return _signature(cls, next(m for m in methods if scores.get(m.name) == best))
    raise ValueError(f"ambiguous_entry: public methods {[m.name for m in methods]}")


def node_kind(annotation: str | None) -> str | None:
    """'TreeNode' / 'ListNode' for a linked-structure annotation, None for plain JSON."""
    if annotation is None:
        return None
    for kind in ("TreeNode", "ListNode"):
        if kind in annotation:
            return kind
    return None


_UNSUPPORTED_RE = re.compile(r"\b(Node|CustomFunction|MountainArray|NestedInteger|Employee|Master|"
                             r"ImmutableListNode|Sea|Robot|ArrayReader)\b|List\[.*(TreeNode|ListNode)")


def io_types(signature: Signature) -> tuple[list[str | None], str | None]:
    """`arg_types` and `return_type` (interfaces.md); ValueError for what the harness can't express.

    `-> None` is LeetCode's "modify in place": the checked value is the first argument.
    """
    for param in signature.params:
        if param.annotation and _UNSUPPORTED_RE.search(param.annotation):
            raise ValueError(f"unsupported_type: parameter {param.name}: {param.annotation}")
    if signature.returns and _UNSUPPORTED_RE.search(signature.returns):
        raise ValueError(f"unsupported_type: returns {signature.returns}")
    arg_types = [node_kind(param.annotation) for param in signature.params]
    if signature.returns == "None":
        first = signature.params[0].annotation if signature.params else None
        if not first or not (first.startswith(("List", "list")) or node_kind(first)):
            raise ValueError(f"inplace_without_list: returns None, first parameter is {first}")
        return arg_types, "inplace"
    return arg_types, node_kind(signature.returns)


def bind_example(inputs: dict[str, Any], signature: Signature) -> list[Any]:
    """Order an example's named inputs as the oracle's positional parameters.

    Same names -> by name; else the same count -> by position (LeetCode lists inputs in
    signature order; oracles often rename them, e.g. `A` for `nums`). ValueError otherwise.
    """
    required = [p.name for p in signature.params if not p.has_default]
    names = [p.name for p in signature.params]
    if set(inputs) <= set(names) and set(required) <= set(inputs):
        return [inputs[name] for name in names if name in inputs]
    if len(inputs) == len(required):
        return list(inputs.values())
    raise ValueError(f"arg_mismatch: example names {list(inputs)} vs parameters {names}")
