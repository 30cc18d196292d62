"""Random extra inputs for a LeetCode problem, from annotations, constraints and examples.

Each parameter gets a `ValueSpec` (its kind and ranges) read off the oracle's type
annotation, the problem's constraint lines (`1 <= nums.length <= 104`, `0 <= k < n`,
`n == a.length == b.length`) and the example values; `random_inputs` draws distinct
argument lists from the specs and then applies the equal-length and bounded-by relations
between arguments. Pure functions of a seeded `random.Random`; the oracle, run by
`debugbench`, gives the expected values.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from codeq_lib.data.leetcode_examples import node_kind


@dataclass
class ValueSpec:
    """How to draw one argument: its kind and the ranges read off constraints and examples."""

    kind: str  # one of VALUE_KINDS
    name: str = ""
    relation: Relation | None = None  # an int bounded by another argument (see parse_relations)
    same_length: tuple[str, ...] = ()  # inputs whose length (an int: value) equals this one's
    int_range: tuple[int, int] = (0, 10)
    len_range: tuple[int, int] = (1, 6)
    inner_len: tuple[int, int] | None = None  # rows of a grid; None for square grids
    charset: str = "abc"
    word_len: tuple[int, int] = (1, 4)
    sorted: bool = False
    distinct: bool = False
    bst: bool = False
    long_len: int = 0  # the length of `edge_inputs`' long case (0: len_range's top)
    short_len: int | None = None  # its shortest case (None: len_range's bottom)


VALUE_KINDS = ("int", "float", "bool", "str", "list_int", "list_float", "list_bool", "list_str",
               "grid_int", "grid_str", "tree", "linked")
_ANNOTATION_KINDS = {
    "int": "int", "float": "float", "bool": "bool", "str": "str",
    "List[int]": "list_int", "list[int]": "list_int", "List[float]": "list_float", "List[bool]": "list_bool",
    "List[str]": "list_str", "list[str]": "list_str", "List[List[int]]": "grid_int", "list[list[int]]": "grid_int",
    "List[List[str]]": "grid_str",
}
MAX_LEN = 12  # random lists/strings stay small: fast oracles, readable feedback
# Edge cases go further (issue 14: the median longest DebugBench input was 5 long), but stay
# small enough for a quadratic oracle to answer in milliseconds.
LONG_LEN = 30
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


_CHAIN_HEAD_RE = re.compile(r"([A-Za-z_]\w*(?:\[[a-z]\])*)(\.length)?\s*$")
_CHAIN_TAIL_RE = re.compile(r"\s*([A-Za-z_]\w*(?:\[[a-z]\])*)(\.length)?")


def parse_equal_lengths(text: str) -> list[tuple[str, ...]]:
    r"""Groups of inputs that share one length: `n == nums1.length == nums2.length`.

    An int in a group (`n`) equals that length; element subjects (`grid[i].length`) and
    numbers are left out.

    >>> parse_equal_lengths("n == aliceValues.length == bobValues.length\nedges[i].length == 2")
    [('n', 'aliceValues', 'bobValues')]
    >>> parse_equal_lengths("speed.length == n\nefficiency.length == n")
    [('speed', 'n', 'efficiency')]
    """
    groups = []
    for line in (text or "").splitlines():
        parts = line.split("==")
        members, has_length = [], False
        for index, part in enumerate(parts if len(parts) > 1 else []):
            match = (_CHAIN_HEAD_RE.search(part) if index == 0 else _CHAIN_TAIL_RE.match(part))
            if match and "[" not in match.group(1):
                members.append(match.group(1))
                has_length |= bool(match.group(2))
        if len(members) >= 2 and has_length:
            groups.append(tuple(members))
    merged: list[tuple[str, ...]] = []  # `speed.length == n` + `efficiency.length == n`: one group
    for group in groups:
        overlapping = [other for other in merged if set(other) & set(group)]
        union = [name for other in overlapping for name in other] + list(group)
        merged = [other for other in merged if other not in overlapping] + [tuple(dict.fromkeys(union))]
    return merged


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
    same_length = tuple(other for group in parse_equal_lengths(constraints) if name in group
                        for other in group if other != name)
    spec = ValueSpec(kind=kind, name=name, relation=relation, same_length=same_length,
                     int_range=_int_window(int_bound, [int(v) for v in ints]),
                     len_range=_len_window(len_bound, lengths))
    spec.long_len = max(spec.len_range[1], min(LONG_LEN, len_bound[1] if len_bound else LONG_LEN))
    # With no constraint text at all (MBPP) the empty input is tried, and the oracle rejects
    # it if invalid; LeetCode constraints often bound a length only through another input
    # (`n == speed.length`, `1 <= n`), so there the shortest observed length stands.
    spec.short_len = max(len_bound[0], 0) if len_bound else (0 if not (constraints or "").strip() else None)
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
    # sorted when the constraints say so, or when every example is (6+ values: not by chance)
    numeric_lists = kind in ("list_int", "linked") and len(ints) == len(leaves)
    examples_sorted = numeric_lists and all(v == sorted(v) for v in observed if isinstance(v, list))
    spec.sorted = bool(re.search(r"sorted|non-decreasing|ascending|increasing", about)) or (
        examples_sorted and len(leaves) >= 6)
    spec.distinct = bool(re.search(r"distinct|unique", about))
    spec.bst = kind == "tree" and "binary search tree" in description.lower()
    return spec


def _draw_tree(rng: random.Random, spec: ValueSpec, size: int | None = None) -> list[Any]:
    """A random binary tree (a BST when asked) as LeetCode level order, trailing nulls cut;
    `size` nodes (at most the value range allows when they must be distinct), else drawn."""
    size = rng.randint(*spec.len_range) if size is None else size
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


def draw_value(rng: random.Random, spec: ValueSpec, size: int | None = None) -> Any:
    """One random value of `spec` (JSON; trees and linked lists as their list encoding);
    `size` fixes the length instead of drawing it."""
    fixed_size = size
    size = rng.randint(*spec.len_range) if size is None else size
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
        return _draw_tree(rng, spec, fixed_size)
    size = max(size, 1)
    cols = size if spec.inner_len is None else rng.randint(*spec.inner_len)
    if spec.kind == "grid_int":
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(size)]
    if spec.kind == "grid_str":
        return [[rng.choice(spec.charset) for _ in range(cols)] for _ in range(size)]
    raise ValueError(f"unknown value kind {spec.kind!r}; allowed: {list(VALUE_KINDS)}")


def apply_equal_lengths(args: list[Any], specs: list[ValueSpec], rng: random.Random) -> list[Any]:
    """Make inputs of one `parse_equal_lengths` group agree: the first list-like input sets
    the length, later ones are redrawn at it, ints in the group take it as their value."""
    position = {spec.name: index for index, spec in enumerate(specs)}
    for index, spec in enumerate(specs):
        group = [position[name] for name in spec.same_length if name in position]
        anchors = [i for i in sorted(group + [index]) if isinstance(args[i], (list, str))
                   and specs[i].kind not in ("tree", "grid_int", "grid_str")]
        if not anchors or anchors[0] == index:
            continue
        length = len(args[anchors[0]])
        if spec.kind == "int":
            args[index] = length
        elif index in anchors:
            args[index] = draw_value(rng, spec, size=length)
    return args


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


def edge_values(spec: ValueSpec, rng: random.Random) -> list[Any]:
    """Boundary values of one argument: the shortest allowed (empty when the constraints allow
    it), a single element, the long case, and for numbers the range's two ends; for lists of
    numbers also one list of extremes. Pure function of `rng`; duplicates are left to the caller."""
    lo, hi = spec.int_range
    if spec.kind in ("int", "float"):
        return [lo, hi] if spec.kind == "int" else [float(lo), float(hi)]
    if spec.kind == "bool":
        return [False, True]
    shortest = spec.len_range[0] if spec.short_len is None else spec.short_len
    sizes = sorted({shortest, max(shortest, 1), spec.long_len or spec.len_range[1]})
    if spec.kind.startswith("grid"):  # a 1 x 1 grid and the largest random one
        sizes = sorted({max(shortest, 1), spec.len_range[1]})
    values = [draw_value(rng, spec, size=size) for size in sizes]
    if spec.kind in ("list_int", "list_float", "linked") and not spec.distinct:
        size = max(spec.len_range[1], 2)
        extremes = [rng.choice((lo, hi)) for _ in range(size)]
        values.append(sorted(extremes) if spec.sorted else extremes)
    return values


def relations_hold(args: list[Any], specs: list[ValueSpec]) -> bool:
    """Whether every bounded-by relation holds (`apply_relations` skips one it cannot meet,
    e.g. `1 <= k <= n` once an edge case made n zero)."""
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
        values = args[index] if isinstance(args[index], list) else [args[index]]
        if any(isinstance(v, int) and not relation.lo <= v <= top for v in values):
            return False
    return True


def edge_inputs(specs: list[ValueSpec], rng: random.Random, avoid: list[list[Any]] = ()) -> list[list[Any]]:
    """Edge-case argument lists (issue 14): one argument at a time at each of its `edge_values`,
    the others drawn at random; then the equal-length and bounded-by relations are applied,
    as for `random_inputs`, so an edge case stays inside the problem's constraints. Distinct,
    and none equal to one in `avoid`."""
    seen = {json.dumps(args, sort_keys=True) for args in avoid}
    out: list[list[Any]] = []
    for index, spec in enumerate(specs):
        for value in edge_values(spec, rng):
            args = [draw_value(rng, other) if i != index else value for i, other in enumerate(specs)]
            args = apply_relations(apply_equal_lengths(args, specs, rng), specs, rng)
            key = json.dumps(args, sort_keys=True)
            if key not in seen and relations_hold(args, specs):
                seen.add(key)
                out.append(args)
    return out


def random_inputs(specs: list[ValueSpec], count: int, rng: random.Random,
                  avoid: list[list[Any]] = ()) -> list[list[Any]]:
    """`count` distinct argument lists (none equal to one in `avoid`), a bounded number of tries."""
    seen = {json.dumps(args, sort_keys=True) for args in avoid}
    out: list[list[Any]] = []
    for _ in range(count * 5):
        if len(out) >= count:
            break
        args = [draw_value(rng, spec) for spec in specs]
        args = apply_relations(apply_equal_lengths(args, specs, rng), specs, rng)
        key = json.dumps(args, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(args)
    return out
