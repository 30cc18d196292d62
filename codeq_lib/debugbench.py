"""DebugBench Python 3 -> schema-v1 tasks: load, dedup, categorise, parse, synthesise tests.

DebugBench (Tian et al. 2024, arXiv:2401.04621) ships LeetCode problems with a correct
`oracle_code`, an implanted-bug `buggy_code` and the problem's example text, but no
executable tests. Tests are built here: the examples are parsed into arguments, random
extra inputs are drawn from the oracle's type annotations, and the *oracle* is run in the
sandbox to give every expected value (the example text is checked against it and the
disagreements counted, never trusted over it). Examples become `visible_tests`; examples
plus random inputs become `hidden_tests`.

Pure parts (record loading, categories, literal parsing, signatures, input generation) are
plain functions; the sandbox only enters in `synthesise_tests` / `build_debugbench_tasks`.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.hashing import normalized_code_hash, sha256_text
from codeq_lib.tasks import Task, TestCase

HF_PREFIX = "hf:"
DEFAULT_HF_DATASET = "Rtian/DebugBench"
REQUIRED_KEYS = ("slug", "description", "examples", "constraints", "oracle_code", "buggy_code", "level")

# DebugBench's taxonomy (Tian et al. 2024, Table 1): four major categories, minor types
# named as the shard files (`python3_<minor type>.json`) and the HF `subtype` column.
# "illegal separation" only occurs in the C++/Java shards; it is listed for the HF path.
BUG_CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("misused == or =", "missing colons", "unclosed parentheses", "illegal indentation",
                     "unclosed string", "illegal comment", "illegal separation"), "syntax"),
    **dict.fromkeys(("faulty indexing", "undefined objects", "undefined methods", "illegal keywords"),
                    "reference"),
    **dict.fromkeys(("condition error", "operation error", "variable error", "other error"), "logic"),
    **dict.fromkeys(("double", "triple", "quadruple"), "multiple"),
}


def bug_category(minor_type: str) -> str:
    """Map a DebugBench minor bug type to its major category.

    >>> bug_category("faulty indexing"), bug_category("triple")
    ('reference', 'multiple')
    """
    try:
        return BUG_CATEGORIES[minor_type]
    except KeyError:
        raise ValueError(f"unknown DebugBench bug type {minor_type!r}; known: {sorted(BUG_CATEGORIES)}") from None


# ---------------------------------------------------------------------------- loading

def _check_record(record: Any, where: str) -> dict:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: each record must be a JSON object, got {type(record).__name__}")
    for key in REQUIRED_KEYS:
        if key not in record:
            raise ValueError(f"{where}: field {key!r} is missing (required: {list(REQUIRED_KEYS)})")
    if not isinstance(record["examples"], list):
        raise ValueError(f"{where}: field 'examples' must be a list of strings")
    if record["level"] not in ("easy", "medium", "hard"):
        raise ValueError(f"{where}: field 'level' is {record['level']!r}; allowed: easy, medium, hard")
    bug_category(record["minor_type"])
    return record


def load_shards(folder: str | Path) -> list[dict]:
    """Read every `python3_*.json` shard of a local DebugBench `benchmark/` folder (sorted)."""
    folder = Path(folder)
    shards = sorted(folder.glob("python3_*.json"))
    if not shards:
        raise FileNotFoundError(f"{folder}: no python3_*.json DebugBench shards found")
    records = []
    for shard in shards:
        minor_type = shard.stem[len("python3_"):]
        with open(shard, encoding="utf-8") as handle:
            rows = json.load(handle)
        if not isinstance(rows, list):
            raise ValueError(f"{shard}: must hold a JSON list of records")
        for index, row in enumerate(rows):
            record = {**row, "minor_type": minor_type, "shard": shard.name, "index": index}
            records.append(_check_record(record, f"{shard}[{index}]"))
    return records


def load_hf(dataset: str = DEFAULT_HF_DATASET, split: str = "test") -> list[dict]:
    """The HF dataset, Python 3 rows only, renamed to the shard field names.

    Column names per the dataset card (slug, category, subtype, language, level,
    release_time, question, examples, constraints, solution, solution_explanation,
    buggy_code, bug_explanation). Not runnable here (no hub access); tests use the shards.
    """
    from datasets import load_dataset

    rows = load_dataset(dataset, split=split)
    records = []
    for index, row in enumerate(rows):
        if row.get("language") != "python3":
            continue
        record = {
            "slug": row["slug"], "description": row["question"], "examples": list(row["examples"]),
            "constraints": row["constraints"], "oracle_code": row["solution"], "buggy_code": row["buggy_code"],
            "level": row["level"], "content": row.get("solution_explanation", ""),
            "explanations": row.get("bug_explanation", ""), "release_time": row.get("release_time"),
            "minor_type": row["subtype"], "shard": f"{dataset}:{split}", "index": index,
        }
        records.append(_check_record(record, f"{dataset}:{split}[{index}]"))
    return records


def load_debugbench_records(source: str | Path) -> list[dict]:
    """`source` is a folder of `python3_*.json` shards or `"hf:Rtian/DebugBench"`."""
    if isinstance(source, str) and source.startswith(HF_PREFIX):
        return load_hf(source[len(HF_PREFIX):] or DEFAULT_HF_DATASET)
    return load_shards(source)


def buggy_code_key(code: str) -> str:
    """Hash of a buggy program that ignores formatting but keeps every bug.

    A program that parses is hashed on its AST (`normalized_code_hash`: comments, blank
    lines and spacing do not count). One that does not parse keeps its indentation, since
    for "illegal indentation" and friends the layout *is* the bug (hashing's fallback
    folds all whitespace, which would merge different syntax bugs); only trailing spaces
    and blank lines are ignored.
    """
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        lines = [line.rstrip() for line in code.splitlines() if line.strip()]
        return "unparsed:" + sha256_text("\n".join(lines))
    return normalized_code_hash(code)


def record_key(record: dict) -> str:
    """Identity for dedup: slug + the formatting-insensitive buggy program."""
    return record["slug"] + ":" + buggy_code_key(record["buggy_code"])


def dedup_records(records: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Keep the first record per `record_key`; count what was removed, by minor type."""
    kept, seen = [], {}
    removed: collections.Counter = collections.Counter()
    for record in records:
        key = record_key(record)
        if key in seen:
            removed[record["minor_type"]] += 1
            seen[key].setdefault("duplicate_types", []).append(record["minor_type"])
            continue
        seen[key] = record
        kept.append(record)
    return kept, dict(sorted(removed.items()))


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
    if isinstance(value, float) and value != value:  # NaN is no JSON value
        raise ValueError("NaN")
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
    siblings: list[str] = field(default_factory=list)  # other public methods of the class

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
    siblings = [m.name for m in _public_methods(cls) if m.name != node.name]
    return Signature(cls.name, node.name, params, returns, siblings)


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


# ---------------------------------------------------------------------------- random inputs

@dataclass
class ValueSpec:
    """How to draw one argument: its kind and the ranges read off constraints and examples."""

    kind: str  # one of VALUE_KINDS
    name: str = ""
    relation: Relation | None = None  # an int bounded by another argument (see parse_relations)
    int_range: tuple[int, int] = (0, 10)
    len_range: tuple[int, int] = (1, 6)
    inner_len: tuple[int, int] | None = None  # rows of a grid; None for square grids
    charset: str = "abc"
    word_len: tuple[int, int] = (1, 4)
    sorted: bool = False
    distinct: bool = False
    bst: bool = False


VALUE_KINDS = ("int", "float", "bool", "str", "list_int", "list_float", "list_bool", "list_str",
               "grid_int", "grid_str", "tree", "linked")
_ANNOTATION_KINDS = {
    "int": "int", "float": "float", "bool": "bool", "str": "str",
    "List[int]": "list_int", "list[int]": "list_int", "List[float]": "list_float", "List[bool]": "list_bool",
    "List[str]": "list_str", "list[str]": "list_str", "List[List[int]]": "grid_int", "list[list[int]]": "grid_int",
    "List[List[str]]": "grid_str",
}
MAX_LEN = 12  # random lists/strings stay small: fast oracles, readable feedback
INT_WINDOW = 20  # random ints within [-20, 20] of zero unless constraints or examples say more


def _observed_kind(values: list[Any]) -> str | None:
    """The kind of a parameter with no (usable) annotation, read from its example values."""
    def kind_of(value: Any) -> str | None:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        if isinstance(value, list):
            inner = {kind_of(item) for item in value} - {None}
            if inner <= {"int"}:
                return "list_int"
            if inner <= {"int", "float"}:
                return "list_float"
            if inner == {"str"}:
                return "list_str"
            if inner == {"list_int"}:
                return "grid_int"
            if inner == {"list_str"}:
                return "grid_str"
        return None
    kinds = {kind_of(value) for value in values}
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else None


def value_kind(annotation: str | None, observed: list[Any]) -> str | None:
    """Kind from the annotation (`Optional[...]` unwrapped), else from the example values."""
    if annotation:
        kind = node_kind(annotation)
        if kind:
            return "tree" if kind == "TreeNode" else "linked"
        inner = re.sub(r"^Optional\[(.*)\]$", r"\1", annotation.replace(" ", ""))
        if inner in _ANNOTATION_KINDS:
            return _ANNOTATION_KINDS[inner]
    return _observed_kind(observed) if observed else None


_NUMBER = r"-?\s*\d+(?:\s*[*x^]\s*\d+)*"
_BOUNDS_RE = re.compile(rf"({_NUMBER})\s*<=\s*([^<>=]+?)\s*<=\s*({_NUMBER})")
_RANGE_RE = re.compile(r"range\s*\[\s*(-?\d+)\s*,\s*(-?\d+)\s*\]")
# "nums[i] is either 0, 1, or 2" / "grid[i][j] is 0 or 1": a small set of allowed values
_CHOICES_RE = re.compile(r"([A-Za-z_]\w*(?:\[[a-z]\])+)\s+is\s+(?:either\s+)?"
                         r"(-?\d+(?:\s*,\s*(?:or\s+)?-?\d+)*(?:\s*,?\s*or\s+-?\d+)?)\b")


def _number(text: str) -> int:
    """'2 * 104' -> 208. LeetCode's superscripts are flattened in DebugBench (10^4 reads
    as 104), so bounds are approximate; every range is clipped to a small window anyway."""
    value = 1
    for part in re.split(r"[*x^]", text.replace(" ", "")):
        value *= int(part)
    return value


def parse_constraints(text: str) -> dict[str, tuple[int, int]]:
    """Bounds by subject: `1 <= nums.length <= 104` -> {"nums.length": (1, 104)}.

    "nums[i] is either 0, 1, or 2" gives {"nums[i]": (0, 2)}.
    `1 <= m, n <= 100` gives both names; "number of nodes ... range [0, 104]" gives
    "nodes" (the size of a tree or linked list).
    """
    bounds: dict[str, tuple[int, int]] = {}
    for line in (text or "").splitlines():
        for match in _BOUNDS_RE.finditer(line):
            lo, hi = _number(match.group(1)), _number(match.group(3))
            for subject in match.group(2).split(","):
                bounds.setdefault(subject.strip(), (lo, hi))
        for match in _CHOICES_RE.finditer(line):
            numbers = [int(n) for n in re.findall(r"-?\d+", match.group(2))]
            bounds.setdefault(match.group(1), (min(numbers), max(numbers)))
        if "node" in line.lower():
            match = _RANGE_RE.search(line)
            if match:
                bounds.setdefault("nodes", (int(match.group(1)), int(match.group(2))))
    return bounds


_SUBJECT = r"[A-Za-z_]\w*(?:\[[a-z]\])*"
_RELATION_RE = re.compile(rf"({_NUMBER})\s*<=\s*({_SUBJECT}(?:\s*,\s*{_SUBJECT})*)\s*(<=|<)\s*"
                          r"([A-Za-z_]\w*)(\.length)?(?![\w.\[])")
_ALIAS_RE = re.compile(r"\b([A-Za-z_]\w*)\s*==\s*([A-Za-z_]\w*)\.length\b")


@dataclass
class Relation:
    """An int input bounded by another input: `lo <= name <(=) ref[.length]`."""

    lo: int
    ref: str
    length: bool
    offset: int  # -1 for a strict `<`


def parse_relations(text: str) -> dict[str, Relation]:
    r"""Bounds naming another input, the usual way LeetCode keeps indices valid.

    `n == edges.length` makes `n` an alias of `edges.length`, so `0 <= node1 < n` bounds
    node1 by len(edges) even though `n` is no parameter.

    >>> rel = parse_relations("n == edges.length\n0 <= node1, node2 < n\n1 <= k <= nums.length")
    >>> rel["node2"], rel["k"]
    (Relation(lo=0, ref='edges', length=True, offset=-1), Relation(lo=1, ref='nums', length=True, offset=0))
    """
    text = text or ""
    aliases = {match.group(1): match.group(2) for match in _ALIAS_RE.finditer(text)}
    relations: dict[str, Relation] = {}
    for line in text.splitlines():
        for match in _RELATION_RE.finditer(line):
            ref, length = match.group(4), bool(match.group(5))
            if not length and ref in aliases:
                ref, length = aliases[ref], True
            offset = -1 if match.group(3) == "<" else 0
            for subject in match.group(2).split(","):
                relations.setdefault(subject.strip(), Relation(_number(match.group(1)), ref, length, offset))
    return relations


def _bound(bounds: dict[str, tuple[int, int]], *subjects: str) -> tuple[int, int] | None:
    for subject in subjects:
        if subject in bounds:
            return bounds[subject]
    return None


def _int_window(bound: tuple[int, int] | None, observed: list[int]) -> tuple[int, int]:
    """A small range inside the constraint that covers the examples' magnitudes."""
    reach = max([INT_WINDOW] + [abs(v) for v in observed])
    if bound is None:  # stay inside what the examples show: values outside it may be invalid
        if not observed:
            return (0, INT_WINDOW)
        lo, hi = min(observed), max(observed)
        return (lo, hi) if hi > lo else (lo, lo + INT_WINDOW)
    lo, hi = bound
    small_lo, small_hi = max(lo, -reach), min(hi, reach)
    if small_lo > small_hi:  # e.g. 100 <= x <= 10^9 with small examples
        return lo, min(hi, lo + reach)
    return small_lo, small_hi


def _len_window(bound: tuple[int, int] | None, observed: list[int]) -> tuple[int, int]:
    lo = bound[0] if bound else min(observed + [1])
    hi = bound[1] if bound else MAX_LEN
    cap = min(MAX_LEN, max(observed + [6]) + 2)
    lo = max(lo, 0)
    return (lo, max(lo, min(hi, cap)))


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _lines_about(constraints: str, name: str) -> str:
    return " ".join(line for line in (constraints or "").splitlines() if re.search(rf"\b{re.escape(name)}\b", line))


def value_spec(name: str, annotation: str | None, observed: list[Any], constraints: str,
               description: str = "") -> ValueSpec | None:
    """Everything needed to draw random values of one parameter (None: kind unknown)."""
    kind = value_kind(annotation, observed)
    if kind is None:
        return None
    bounds = parse_constraints(constraints)
    about = _lines_about(constraints, name).lower()
    leaves = [v for value in observed for v in _flatten(value)]
    ints = [v for v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]
    strings = [v for v in leaves if isinstance(v, str)]
    lengths = [len(v) for v in observed if isinstance(v, (list, str))]
    if kind == "int":
        int_bound = _bound(bounds, name)
    elif kind in ("tree", "linked"):
        int_bound = _bound(bounds, "Node.val", "node.val")
        lengths = [len([v for v in value if v is not None]) for value in observed if isinstance(value, list)]
    else:
        int_bound = _bound(bounds, f"{name}[i]", f"{name}[i][j]", f"{name}[j]")
    len_bound = _bound(bounds, "nodes") if kind in ("tree", "linked") else _bound(bounds, f"{name}.length")
    relation = parse_relations(constraints).get(name if kind == "int" else f"{name}[i]") \
        if kind in ("int", "list_int") else None
    if relation is not None and int_bound is None:
        int_bound = (relation.lo, max([relation.lo + INT_WINDOW] + [int(v) for v in ints]))
    spec = ValueSpec(kind=kind, name=name, relation=relation,
                     int_range=_int_window(int_bound, [int(v) for v in ints]),
                     len_range=_len_window(len_bound, lengths))
    chars = sorted({char for text in strings for char in text})
    quoted = re.findall(r"'(.)'", about)
    spec.charset = "".join(chars) or "".join(sorted(set(quoted))) or ("0123456789" if "digit" in about else "abc")
    words = [len(s) for s in strings]
    spec.word_len = (max(min(words + [1]), 1 if kind == "list_str" else 0), min(max(words + [4]), 8))
    if kind.startswith("grid"):
        rows = [row for value in observed if isinstance(value, list) for row in value if isinstance(row, list)]
        inner = sorted({len(row) for row in rows})
        square = all(isinstance(v, list) and all(isinstance(r, list) and len(r) == len(v) for r in v) for v in observed)
        spec.inner_len = None if square and len(inner) > 1 else (min(inner or [1]), max(inner or [3]))
    examples_sorted = all(isinstance(v, list) and v == sorted(v, key=str if kind == "list_str" else None)
                          for v in observed if isinstance(v, list) and kind in ("list_int", "list_str", "linked"))
    spec.sorted = bool(re.search(r"sorted|non-decreasing|ascending|increasing", about)) or (
        examples_sorted and len(leaves) >= 6 and kind in ("list_int", "linked"))
    spec.distinct = bool(re.search(r"distinct|unique", about))
    spec.bst = kind == "tree" and "binary search tree" in description.lower()
    return spec


def _draw_tree(rng: random.Random, spec: ValueSpec) -> list[Any]:
    """A random binary tree (a BST when asked) as LeetCode level order, trailing nulls cut."""
    size = rng.randint(*spec.len_range)
    lo, hi = spec.int_range
    values = rng.sample(range(lo, hi + 1), min(size, hi - lo + 1)) if (spec.bst or spec.distinct) \
        else [rng.randint(lo, hi) for _ in range(size)]
    if not values:
        return []
    root: list[Any] = [values[0], None, None]  # [val, left, right]
    for value in values[1:]:
        node = root
        while True:
            side = (1 if value < node[0] else 2) if spec.bst else rng.choice((1, 2))
            if node[side] is None:
                node[side] = [value, None, None]
                break
            node = node[side]
    out, queue = [], [root]
    for node in queue:
        out.append(None if node is None else node[0])
        if node is not None:
            queue.extend((node[1], node[2]))
    while out and out[-1] is None:
        out.pop()
    return out


def _draw_ints(rng: random.Random, spec: ValueSpec, size: int) -> list[int]:
    lo, hi = spec.int_range
    if spec.distinct:
        values = rng.sample(range(lo, hi + 1), min(size, hi - lo + 1))
    else:
        values = [rng.randint(lo, hi) for _ in range(size)]
    return sorted(values) if spec.sorted else values


def _draw_str(rng: random.Random, spec: ValueSpec, size: int) -> str:
    return "".join(rng.choice(spec.charset) for _ in range(size))


def draw_value(rng: random.Random, spec: ValueSpec) -> Any:
    """One random value of `spec` (JSON; trees and linked lists as their list encoding)."""
    size = rng.randint(*spec.len_range)
    lo, hi = spec.int_range
    if spec.kind == "int":
        return rng.randint(lo, hi)
    if spec.kind == "float":
        return round(rng.uniform(lo, hi), 2)
    if spec.kind == "bool":
        return rng.random() < 0.5
    if spec.kind == "str":
        return _draw_str(rng, spec, size)
    if spec.kind in ("list_int", "linked"):
        return _draw_ints(rng, spec, size)
    if spec.kind == "list_float":
        return [round(rng.uniform(lo, hi), 2) for _ in range(size)]
    if spec.kind == "list_bool":
        return [rng.random() < 0.5 for _ in range(size)]
    if spec.kind == "list_str":
        words = [_draw_str(rng, spec, rng.randint(*spec.word_len)) for _ in range(size)]
        return sorted(set(words)) if spec.distinct else words
    if spec.kind == "tree":
        return _draw_tree(rng, spec)
    size = max(size, 1)
    cols = size if spec.inner_len is None else rng.randint(*spec.inner_len)
    if spec.kind == "grid_int":
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(size)]
    if spec.kind == "grid_str":
        return [[rng.choice(spec.charset) for _ in range(cols)] for _ in range(size)]
    raise ValueError(f"unknown value kind {spec.kind!r}; allowed: {list(VALUE_KINDS)}")


def apply_relations(args: list[Any], specs: list[ValueSpec], rng: random.Random) -> list[Any]:
    """Redraw each related int (or list element) inside [lo, its reference's value or
    length (+ offset)], after every argument has been drawn."""
    position = {spec.name: index for index, spec in enumerate(specs)}
    for index, spec in enumerate(specs):
        relation = spec.relation
        if relation is None or relation.ref not in position:
            continue
        ref_value = args[position[relation.ref]]
        if relation.length and isinstance(ref_value, (list, str)):
            top = len(ref_value) + relation.offset
        elif not relation.length and isinstance(ref_value, int) and not isinstance(ref_value, bool):
            top = ref_value + relation.offset
        else:
            continue
        if top < relation.lo:
            continue
        if spec.kind == "int":
            args[index] = rng.randint(relation.lo, top)
        elif isinstance(args[index], list):  # `-1 <= edges[i] < n`: every element
            args[index] = [rng.randint(relation.lo, top) for _ in args[index]]
    return args


def random_inputs(specs: list[ValueSpec], count: int, rng: random.Random,
                  avoid: list[list[Any]] = ()) -> list[list[Any]]:
    """`count` distinct argument lists (none equal to one in `avoid`), a bounded number of tries."""
    seen = {json.dumps(args, sort_keys=True) for args in avoid}
    out: list[list[Any]] = []
    for _ in range(count * 5):
        if len(out) >= count:
            break
        args = apply_relations([draw_value(rng, spec) for spec in specs], specs, rng)
        key = json.dumps(args, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(args)
    return out


# ---------------------------------------------------------------------------- test synthesis

_UNORDERED_RE = re.compile(r"\bin any order\b", re.I)
_MANY_ANSWERS_RE = re.compile(r"\breturn any\b|\bany of them\b|\bany valid\b|\bmultiple (valid )?answers\b"
                              r"|\bmultiple solutions\b", re.I)


@dataclass
class ProblemPlan:
    """Everything one problem's tests are built from, before the oracle has run."""

    slug: str
    oracle_code: str
    signature: Signature
    arg_types: list[str | None]
    return_type: str | None
    compare: str
    example_args: list[list[Any]]
    example_outputs: list[Any]
    random_args: list[list[Any]]
    examples_unparsed: int = 0


def plan_problem(record: dict, n_random: int, seed: int) -> ProblemPlan:
    """Parse examples, read the oracle's signature, draw random inputs (no execution).

    Raises ValueError("<reason>: ...") when the problem cannot become a task; the reason
    (before the colon) is what the report counts.
    """
    parsed, unparsed = [], 0
    for text in record["examples"]:
        try:
            parsed.append(parse_example(text))
        except ValueError:
            unparsed += 1
    try:
        signature = oracle_signature(record["oracle_code"], [list(inputs) for inputs, _ in parsed], record["slug"])
    except SyntaxError as exc:
        raise ValueError(f"oracle_syntax_error: {exc}") from None
    arg_types, return_type = io_types(signature)
    bound = []
    for inputs, output in parsed:
        try:
            bound.append((bind_example(inputs, signature), output))
        except ValueError:
            unparsed += 1
    arity = max((len(args) for args, _ in bound), default=0)
    kept = [(args, output) for args, output in bound if len(args) == arity]
    unparsed += len(bound) - len(kept)
    if not kept:
        raise ValueError(f"no_usable_examples: none of {len(record['examples'])} examples parsed and matched")
    params = signature.params[:arity]
    specs = [value_spec(p.name, p.annotation, [args[i] for args, _ in kept], record["constraints"],
                        record["description"]) for i, p in enumerate(params)]
    rng = random.Random(f"{seed}:{record['slug']}")  # per problem: same inputs for every bug of it
    randoms = random_inputs(specs, n_random, rng, [a for a, _ in kept]) if all(specs) and n_random > 0 else []
    compare = "unordered" if _UNORDERED_RE.search(record["description"]) and return_type is None else "exact"
    return ProblemPlan(record["slug"], record["oracle_code"], signature, arg_types[:arity] or None, return_type,
                       compare, [a for a, _ in kept], [o for _, o in kept], randoms, unparsed)


def _probe_task(plan: ProblemPlan, tests: list[TestCase]) -> Task:
    return Task(id=f"probe-{plan.slug}", entry_point=plan.signature.entry_point, buggy_code=plan.oracle_code,
                visible_tests=[], hidden_tests=tests, arg_types=plan.arg_types, return_type=plan.return_type,
                compare=plan.compare)


@dataclass
class ProblemTests:
    visible: list[TestCase]
    hidden: list[TestCase]
    disagreements: int
    random_dropped: int


def oracle_answers(first, second) -> list[tuple[bool, Any]]:
    """(usable, outcome) per test from two runs of one oracle (ExecResults on the same tests).

    Usable means both runs returned and agree: an oracle whose answer depends on hash
    order or `random` cannot define an expected value.
    """
    from codeq_lib.sandbox import values_equal

    return [(a.status in ("pass", "fail") and b.status in ("pass", "fail") and values_equal(a.got, b.got),
             a if a.error or not first.error else dataclasses.replace(a, error=first.error))  # e.g. a load error
            for a, b in zip(first.outcomes, second.outcomes)]


def cross_check(plans: list[ProblemPlan], answers: list[list[tuple[bool, Any]]]) -> int:
    """Several oracles of one problem (DebugBench has up to 3): a random input they do not all
    answer alike is probably outside the problem's constraints, where correct programs may
    differ, so it is marked unusable for all of them. Returns how many inputs were marked."""
    from codeq_lib.sandbox import values_equal

    if len(plans) < 2 or any(p.random_args != plans[0].random_args for p in plans):
        return 0
    marked = 0
    for i in range(len(plans[0].random_args)):
        cells = [answer[len(plan.example_args) + i] for plan, answer in zip(plans, answers)]
        if all(usable for usable, _ in cells) and all(values_equal(outcome.got, cells[0][1].got, plans[0].compare)
                                                      for _, outcome in cells):
            continue
        marked += all(usable for usable, _ in cells)
        for plan, answer in zip(plans, answers):
            index = len(plan.example_args) + i
            answer[index] = (False, answer[index][1])
    return marked


def resolve_tests(plan: ProblemPlan, answers: list[tuple[bool, Any]]) -> ProblemTests:
    """Expected values from the oracle's answers (see `oracle_answers`) on examples + random inputs.

    An example the oracle cannot answer drops the problem; an unusable random input (the
    oracle failed on it, e.g. its constraints were violated, or was unstable) is discarded.
    An example whose stated output differs from the oracle's is kept, with the oracle's
    value, and counted.
    """
    from codeq_lib.sandbox import values_equal

    n_examples = len(plan.example_args)
    for index in range(n_examples):
        usable, outcome = answers[index]
        if outcome.status not in ("pass", "fail"):
            raise ValueError(f"oracle_fails_examples: example {index + 1}: {outcome.error or outcome.status}")
        if not usable:
            raise ValueError(f"oracle_nondeterministic: example {index + 1}")
    visible = [TestCase(args=args, expected=answers[i][1].got) for i, args in enumerate(plan.example_args)]
    disagreements = sum(not values_equal(answers[i][1].got, stated, plan.compare)
                        for i, stated in enumerate(plan.example_outputs))
    randoms = [TestCase(args=args, expected=answers[n_examples + i][1].got)
               for i, args in enumerate(plan.random_args) if answers[n_examples + i][0]]
    return ProblemTests(visible, visible + randoms, disagreements, len(plan.random_args) - len(randoms))


def _type_slug(minor_type: str) -> str:
    """'misused == or =' -> 'misused-eq-or-assign' (task ids stay readable and unique)."""
    text = minor_type.replace("==", " eq ").replace("=", " assign ")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def task_id(record: dict) -> str:
    """Stable id: `db-<slug>-<minor type>-<8 hex of the dedup key>`."""
    return f"db-{record['slug']}-{_type_slug(record['minor_type'])}-{sha256_text(record_key(record))[:8]}"


def describe(record: dict) -> str:
    """The problem as the policy sees it: statement, examples, constraints."""
    examples = "\n\n".join(f"Example {i + 1}:\n{text.strip()}" for i, text in enumerate(record["examples"]))
    return f"{record['description'].strip()}\n\n{examples}\n\nConstraints:\n{(record['constraints'] or '').strip()}"


def make_task(record: dict, plan: ProblemPlan, tests: ProblemTests) -> Task:
    """One DebugBench record -> Task (schema v1); the oracle becomes `reference_code`."""
    meta = {
        "shard": record["shard"], "index": record["index"], "entry_method": plan.signature.method,
        "example_disagreements": tests.disagreements, "n_random_tests": len(tests.hidden) - len(tests.visible),
        "may_have_multiple_answers": bool(_MANY_ANSWERS_RE.search(record["description"])),
    }
    for key in ("type", "duplicate_types", "explanations", "release_time"):
        if record.get(key):
            meta["bug_types" if key == "type" else key] = record[key]
    return Task(id=task_id(record), entry_point=plan.signature.entry_point, buggy_code=record["buggy_code"],
                visible_tests=tests.visible, hidden_tests=tests.hidden, description=describe(record),
                category=bug_category(record["minor_type"]), minor_type=record["minor_type"],
                difficulty=record["level"], reference_code=record["oracle_code"], source="debugbench",
                problem=record["slug"], arg_types=plan.arg_types, return_type=plan.return_type,
                compare=plan.compare, meta=meta)


def _reason(exc: ValueError) -> str:
    head = str(exc).split(":", 1)[0]
    return head if re.fullmatch(r"[a-z_]+", head) else "other"


def build_debugbench_tasks(source, sandbox, *, n_random: int = 5, seed: int = 0, limit: int | None = None,
                           progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Load DebugBench from `source` (shard folder or "hf:Rtian/DebugBench"), keep `limit`
    evenly spaced records if given, and build the tasks: see `build_tasks_from_records`."""
    records = load_debugbench_records(source)
    n_loaded = len(records)
    records = spread(records, limit)
    tasks, report = build_tasks_from_records(records, sandbox, n_random=n_random, seed=seed, progress=progress)
    return tasks, {"source": str(source), "records_loaded": n_loaded, **report}


def spread(records: list[dict], limit: int | None) -> list[dict]:
    """`limit` records evenly spaced over the (shard-sorted) list, so a tiny run still sees
    every bug type instead of the first shard only.

    >>> spread(list(range(10)), 3), spread(list(range(3)), 5), spread([1, 2], None)
    ([0, 3, 6], [0, 1, 2], [1, 2])
    """
    if limit is None or limit >= len(records):
        return list(records)
    if limit < 0:
        raise ValueError(f"limit={limit}: must be a non-negative number of records")
    return [records[i * len(records) // limit] for i in range(limit)]


def build_tasks_from_records(records: list[dict], sandbox, *, n_random: int = 5, seed: int = 0,
                             progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Dedup, plan, run the oracles (twice) and the buggy programs; return tasks + report.

    Problems are planned once per (slug, oracle) and their random inputs seeded by
    (seed, slug), so every bug of a problem gets the same tests. Dropped records are
    counted by reason: the problem's own reason (design_class, unsupported_type,
    no_usable_examples, oracle_fails_examples, ...) for each of its records, and
    buggy_passes_hidden for a bug the hidden tests cannot see.
    """
    from tqdm.auto import tqdm

    kept, removed = dedup_records(records)
    dropped: collections.Counter = collections.Counter()
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in kept:
        groups.setdefault((record["slug"], sha256_text(record["oracle_code"])), []).append(record)
    plans: dict[tuple[str, str], ProblemPlan] = {}
    drop_examples: dict[str, list[str]] = {}
    examples = collections.Counter()
    for key, members in tqdm(groups.items(), desc="plan problems", disable=not progress):
        examples["total"] += len(members[0]["examples"])
        try:
            plans[key] = plan_problem(members[0], n_random, seed)
            examples["unusable"] += plans[key].examples_unparsed
        except ValueError as exc:
            dropped[_reason(exc)] += len(members)
            _note(drop_examples, _reason(exc), f"{key[0]}: {exc}")
            examples["unusable"] += len(members[0]["examples"])
    by_slug: dict[str, list[tuple[str, str]]] = {}
    for key in plans:
        by_slug.setdefault(key[0], []).append(key)
    for keys in by_slug.values():  # one input set per problem, so its oracles can be compared
        shared = plans[keys[0]]
        for key in keys[1:]:
            if len(plans[key].example_args[0]) == len(shared.example_args[0]):
                plans[key].random_args = shared.random_args
    jobs = []
    for plan in plans.values():
        tests = [TestCase(args=a, expected=None) for a in plan.example_args + plan.random_args]
        jobs.append((plan.oracle_code, _probe_task(plan, tests), tests))
        # a second, uncached run (one more newline changes the cache key) catches oracles
        # whose answers depend on hash order or randomness
        jobs.append((plan.oracle_code + "\n", _probe_task(plan, tests), tests))
    results = sandbox.run_batch(jobs, progress=progress) if jobs else []
    answers = {key: oracle_answers(results[2 * i], results[2 * i + 1]) for i, key in enumerate(plans)}
    oracles_disagree = sum(cross_check([plans[k] for k in keys], [answers[k] for k in keys])
                           for keys in by_slug.values())
    candidates, random_dropped, disagreements = [], 0, 0
    for key, plan in plans.items():
        try:
            tests = resolve_tests(plan, answers[key])
        except ValueError as exc:
            dropped[_reason(exc)] += len(groups[key])
            _note(drop_examples, _reason(exc), f"{key[0]}: {exc}"[:300])
            continue
        random_dropped += tests.random_dropped
        disagreements += tests.disagreements
        candidates.extend(make_task(record, plan, tests) for record in groups[key])
    buggy_results = sandbox.run_batch([(t.buggy_code, t, t.hidden_tests) for t in candidates],
                                      progress=progress) if candidates else []
    tasks = []
    for task, result in zip(candidates, buggy_results):
        if result.status == "pass":
            dropped["buggy_passes_hidden"] += 1
            _note(drop_examples, "buggy_passes_hidden", task.id)
            continue
        task.meta["buggy_hidden_status"] = result.status
        tasks.append(task)
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise RuntimeError("debugbench: task ids are not unique; record_key hashing changed?")
    report = build_report(records, kept, removed, dropped, drop_examples, tasks, examples,
                          random_dropped, disagreements, n_random)
    report["random_inputs_oracles_disagree"] = oracles_disagree
    report["problems_with_several_oracles"] = sum(len(keys) > 1 for keys in by_slug.values())
    return tasks, report


def _note(notes: dict[str, list[str]], reason: str, text: str) -> None:
    if text not in notes.setdefault(reason, []):
        notes[reason].append(text)


def _count(values) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


def build_report(records, kept, removed, dropped, drop_examples, tasks, examples,
                 random_dropped, disagreements, n_random) -> dict[str, Any]:
    """The data-report block for DebugBench (prepare writes it into report.json)."""
    return {
        "records_used": len(records),
        "problems_used": len({r["slug"] for r in records}),
        "after_dedup": len(kept),
        "dedup_removed": sum(removed.values()),
        "dedup_removed_by_type": removed,
        "dropped": dict(sorted(dropped.items())),
        "dropped_total": sum(dropped.values()),
        "drop_examples": {k: v[:10] for k, v in sorted(drop_examples.items())},
        "tasks": len(tasks),
        "problems": len({t.problem for t in tasks}),
        "by_category": _count(t.category for t in tasks),
        "by_minor_type": _count(t.minor_type for t in tasks),
        "by_difficulty": _count(t.difficulty for t in tasks),
        "examples_total": examples["total"],
        "examples_unusable": examples["unusable"],
        "example_oracle_disagreements": disagreements,
        "problems_with_disagreement": len({t.problem for t in tasks if t.meta["example_disagreements"]}),
        "n_random_requested": n_random,
        "random_inputs_discarded": random_dropped,
        "visible_tests": sum(len(t.visible_tests) for t in tasks),
        "hidden_tests": sum(len(t.hidden_tests) for t in tasks),
        "compare_unordered": sum(t.compare == "unordered" for t in tasks),
        "return_types": _count(t.return_type or "json" for t in tasks),
        "may_have_multiple_answers": sum(t.meta["may_have_multiple_answers"] for t in tasks),
    }
