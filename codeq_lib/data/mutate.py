"""Seeded mutation operators that plant DebugBench-style bugs in any correct program.

DebugBench (Tian et al. 2024, arXiv:2401.04621, Table 1) files its bugs under four major
categories and minor types. Each operator here plants one minor type, edits the program's
*text* at one site (so the rest keeps its layout and the fix is as small as the bug), and
declares the category its output belongs to:

- syntax (the program no longer parses): missing colons, unclosed parentheses, unclosed
  string, illegal indentation, illegal keywords (another language's `&&`, `else if`,
  `$NULL`), misused == or = (`if a = b:`, filed as syntax by DebugBench);
- reference (parses, names something that is not there, or indexes past what is meant):
  undefined objects, undefined methods, faulty indexing;
- logic (parses, same names, wrong result): condition error, operation error, variable
  error, misused == or = (`x == e` as a statement: the assignment silently lost),
  off-by-one, wrong constant;
- multiple: two, three or four of the above ("double", "triple", "quadruple").

`plant(code, operator, rng)` applies one operator; `candidates(...)` draws a seeded list of
(category, minor type, program) for one reference. Whether a candidate is *kept* (it fails
a hidden test, it is no copy of another, ...) is decided with the sandbox in `bugs.py`.
Operators are pure functions of the program text and a `random.Random`.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import keyword
import random
import re
import tokenize
import warnings
from dataclasses import dataclass
from typing import Callable

CATEGORY_OF: dict[str, str] = {}  # operator name -> the category its output belongs to
OPERATORS: dict[str, Callable[[str, random.Random], str | None]] = {}
MINOR_TYPE: dict[str, str] = {}  # operator name -> the DebugBench minor type it plants


def _operator(name: str, category: str, minor_type: str):
    def register(func):
        OPERATORS[name], CATEGORY_OF[name], MINOR_TYPE[name] = func, category, minor_type
        return func
    return register


# ---------------------------------------------------------------------------- text helpers

def _line_starts(code: str) -> list[int]:
    starts, total = [0], 0
    for line in code.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def _offset(code: str, starts: list[int], lineno: int, col_bytes: int) -> int:
    """ast positions count UTF-8 bytes within a line; text offsets count characters."""
    line = code[starts[lineno - 1]:starts[lineno]] if lineno < len(starts) else ""
    return starts[lineno - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "ignore"))


def _span(code: str, node: ast.AST) -> tuple[int, int]:
    starts = _line_starts(code)
    return (_offset(code, starts, node.lineno, node.col_offset),
            _offset(code, starts, node.end_lineno, node.end_col_offset))


def _replace(code: str, start: int, end: int, text: str) -> str:
    return code[:start] + text + code[end:]


def _tokens(code: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def _token_span(code: str, token: tokenize.TokenInfo) -> tuple[int, int]:
    starts = _line_starts(code)  # tokenize columns count characters, not bytes
    return starts[token.start[0] - 1] + token.start[1], starts[token.end[0] - 1] + token.end[1]


def parses(code: str) -> bool:
    """Whether `code` is Python (parser warnings, e.g. a planted `1if`, are silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # MBPP's '\w' in plain strings
        try:
            ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            return False
    return True


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds or reads (a new name must be none of these)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


# Names the sandbox preamble and builtins provide: an "undefined" name must avoid them all.
_PROVIDED = set(dir(builtins)) | set(keyword.kwlist) | {
    "collections", "math", "heapq", "bisect", "itertools", "functools", "string", "re", "operator", "random",
    "List", "Dict", "Optional", "Tuple", "Set", "ListNode", "TreeNode", "inf", "gcd", "lcm", "ceil", "floor",
    "sqrt", "isqrt", "log", "log2", "log10", "comb", "perm", "factorial", "add", "sub", "mul", "xor", "lt", "le",
    "gt", "ge", "itemgetter", "attrgetter", "defaultdict", "Counter", "deque", "OrderedDict", "heappush",
    "heappop", "heapify", "bisect_left", "bisect_right", "accumulate", "permutations", "combinations",
    "product", "reduce", "lru_cache", "cache"}


def _fresh_name(base: str, taken: set[str], rng: random.Random) -> str | None:
    """A near-miss of `base` that nothing defines: a typo, a plural, another language's spelling."""
    options = [base + "s", base + "1", base[:-1] if len(base) > 2 else base + "_", base.capitalize(),
               base + "_list", "new_" + base, base.replace("_", "") if "_" in base else base + "Val"]
    rng.shuffle(options)
    for name in options:
        if name.isidentifier() and name not in taken and name not in _PROVIDED and not keyword.iskeyword(name):
            return name
    return None


def _function_nodes(tree: ast.AST) -> list[ast.AST]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _loads_in(scope: ast.AST) -> list[ast.Name]:
    return [node for node in ast.walk(scope) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]


def _stores_in(scope: ast.AST) -> set[str]:
    names = {node.id for node in ast.walk(scope) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        names |= {arg.arg for arg in scope.args.args + scope.args.kwonlyargs}
    return names


# ---------------------------------------------------------------------------- syntax

_HEADERS = ("def", "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "class")


@_operator("missing_colon", "syntax", "missing colons")
def missing_colon(code: str, rng: random.Random) -> str | None:
    """Drop the colon that ends a compound statement's header."""
    tokens = _tokens(code)
    sites = []
    for index, token in enumerate(tokens[:-1]):
        if token.type == tokenize.OP and token.string == ":" and tokens[index + 1].type in (
                tokenize.NEWLINE, tokenize.COMMENT):
            line_tokens = [t for t in tokens if t.start[0] == token.start[0] and t.type == tokenize.NAME]
            if line_tokens and line_tokens[0].string in _HEADERS:
                sites.append(token)
    if not sites:
        return None
    start, end = _token_span(code, rng.choice(sites))
    return _replace(code, start, end, "")


@_operator("unclosed_paren", "syntax", "unclosed parentheses")
def unclosed_paren(code: str, rng: random.Random) -> str | None:
    """Drop one closing bracket that ends a line (Python then reads on and fails)."""
    tokens = _tokens(code)
    sites = [t for i, t in enumerate(tokens[:-1]) if t.type == tokenize.OP and t.string in ")]"
             and tokens[i + 1].type in (tokenize.NEWLINE, tokenize.COMMENT, tokenize.OP)]
    if not sites:
        return None
    start, end = _token_span(code, rng.choice(sites))
    return _replace(code, start, end, "")


@_operator("unclosed_string", "syntax", "unclosed string")
def unclosed_string(code: str, rng: random.Random) -> str | None:
    """Drop the closing quote of a one-line string literal."""
    sites = [t for t in _tokens(code) if t.type == tokenize.STRING and t.start[0] == t.end[0]
             and re.fullmatch(r"[rRbBuUfF]{0,2}(['\"]).*\1", t.string, re.S) and not t.string.endswith(("'''", '"""'))]
    if not sites:
        return None
    start, end = _token_span(code, rng.choice(sites))
    return _replace(code, end - 1, end, "")


@_operator("bad_indentation", "syntax", "illegal indentation")
def bad_indentation(code: str, rng: random.Random) -> str | None:
    """Indent one statement deeper than its neighbours, or pull it out of its block.

    A shifted line can still parse (the only line of a block moves with its block), so
    sites are tried in a seeded order until one breaks the program."""
    lines = code.splitlines(keepends=True)
    sites = [i for i, line in enumerate(lines) if line[:1] in " \t" and line.strip()
             and not line.strip().startswith("#")]
    rng.shuffle(sites)
    for index in sites[:8]:
        line = lines[index]
        indent = line[:len(line) - len(line.lstrip())]
        for shifted in ((indent + "  ", indent[:-1]) if rng.random() < 0.5 else (indent[:-1], indent + "  ")):
            mutated = "".join(lines[:index] + [shifted + line.lstrip()] + lines[index + 1:])
            if not parses(mutated):
                return mutated
    return None


_FOREIGN_SPELLINGS = {"and": "&&", "or": "||", "not": "!", "elif": "else if", "None": "$NULL", "def": "function",
                      "lambda": "fn", "is": "===", "pass": "continue;;"}


@_operator("illegal_keyword", "syntax", "illegal keywords")
def illegal_keyword(code: str, rng: random.Random) -> str | None:
    """A keyword spelled as in C, Java or JavaScript (DebugBench's `$NULL`, `console.log`)."""
    tokens = [t for t in _tokens(code) if t.type == tokenize.NAME and t.string in _FOREIGN_SPELLINGS]
    if not tokens:
        return None
    token = rng.choice(tokens)
    start, end = _token_span(code, token)
    return _replace(code, start, end, _FOREIGN_SPELLINGS[token.string])


@_operator("assign_in_condition", "syntax", "misused == or =")
def assign_in_condition(code: str, rng: random.Random) -> str | None:
    """`if a == b:` -> `if a = b:` (a syntax error in Python, as DebugBench files it)."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [node for stmt in ast.walk(tree) if isinstance(stmt, (ast.If, ast.While))
             for node in ast.walk(stmt.test) if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq)]
    if not sites:
        return None
    node = rng.choice(sites)
    start, end = _span(code, node)
    text = code[start:end]
    match = re.search(r"==", text)
    return _replace(code, start + match.start(), start + match.end(), "=") if match else None


# ---------------------------------------------------------------------------- reference

def _parse(code: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # MBPP's '\w' in plain strings
        try:
            return ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            return None


@_operator("undefined_name", "reference", "undefined objects")
def undefined_name(code: str, rng: random.Random) -> str | None:
    """Read a variable under a near-miss name that nothing defines (NameError)."""
    tree = _parse(code)
    if tree is None:
        return None
    taken = _bound_names(tree)
    sites = [node for func in _function_nodes(tree) for node in _loads_in(func)
             if node.id in _stores_in(func)]
    if not sites:
        return None
    node = rng.choice(sites)
    name = _fresh_name(node.id, taken, rng)
    if name is None:
        return None
    start, end = _span(code, node)
    return _replace(code, start, end, name)


_METHOD_MISSPELLINGS = {"append": "push", "extend": "addAll", "pop": "popLast", "insert": "insertAt",
                        "split": "splitBy", "join": "joinWith", "lower": "toLower", "upper": "toUpper",
                        "strip": "trim", "items": "entries", "keys": "keySet", "values": "valueList",
                        "get": "getOrDefault", "sort": "sorted", "count": "countOf", "index": "indexOf",
                        "replace": "replaceAll", "add": "push", "remove": "delete", "startswith": "startsWith",
                        "endswith": "endsWith", "find": "search", "isdigit": "isDigit", "update": "merge"}


@_operator("undefined_method", "reference", "undefined methods")
def undefined_method(code: str, rng: random.Random) -> str | None:
    """Call a method under another language's name (`lst.push(x)`: AttributeError)."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr in _METHOD_MISSPELLINGS]
    if not sites:
        return None
    attribute = rng.choice(sites)
    start, end = _span(code, attribute)
    text = code[start:end]
    cut = text.rfind(attribute.attr)
    return _replace(code, start + cut, start + cut + len(attribute.attr), _METHOD_MISSPELLINGS[attribute.attr])


# Subscripts that are type annotations (`List[int]`), not indexing
_TYPING_NAMES = {"List", "Dict", "Optional", "Tuple", "Set", "list", "dict", "tuple", "set", "Union", "Callable"}


@_operator("faulty_index", "reference", "faulty indexing")
def faulty_index(code: str, rng: random.Random) -> str | None:
    """Shift one subscript by one (`a[i]` -> `a[i + 1]`, `a[0]` -> `a[1]`)."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [node.slice for node in ast.walk(tree) if isinstance(node, ast.Subscript)
             and not isinstance(node.slice, (ast.Slice, ast.Tuple)) and isinstance(node.ctx, ast.Load)
             and not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str))
             and not (isinstance(node.value, ast.Name) and node.value.id in _TYPING_NAMES)]
    if not sites:
        return None
    index = rng.choice(sites)
    start, end = _span(code, index)
    text = code[start:end]
    if isinstance(index, ast.Constant) and isinstance(index.value, int) and not isinstance(index.value, bool):
        return _replace(code, start, end, str(index.value + (1 if index.value >= 0 else -1)))
    return _replace(code, start, end, f"{text} {rng.choice('+-')} 1")


# ---------------------------------------------------------------------------- logic

_COMPARE_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "in": "not in",
                  "not in": "in", "is": "is not", "is not": "is"}


def _condition_nodes(tree: ast.AST) -> list[ast.AST]:
    tests = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            tests.append(node.test)
        elif isinstance(node, ast.comprehension):
            tests.extend(node.ifs)
    return tests


@_operator("condition_error", "logic", "condition error")
def condition_error(code: str, rng: random.Random) -> str | None:
    """Flip one comparison in a condition (`<` -> `<=`, `==` -> `!=`), or `and` <-> `or`."""
    tree = _parse(code)
    if tree is None:
        return None
    compares = [node for test in _condition_nodes(tree) for node in ast.walk(test)
                if isinstance(node, ast.Compare) and len(node.ops) == 1]
    bools = [node for test in _condition_nodes(tree) for node in ast.walk(test) if isinstance(node, ast.BoolOp)]
    if not compares and not bools:
        return None
    node = rng.choice(compares + bools)
    start, end = _span(code, node)
    text = code[start:end]
    if isinstance(node, ast.BoolOp):
        word = "and" if isinstance(node.op, ast.And) else "or"
        match = re.search(rf"\b{word}\b", text)
        return _replace(code, start + match.start(), start + match.end(), "or" if word == "and" else "and") \
            if match else None
    left_end = _span(code, node.left)[1] - start
    right_start = _span(code, node.comparators[0])[0] - start
    operator = " ".join(text[left_end:right_start].split())
    if operator not in _COMPARE_SWAPS:
        return None
    return _replace(code, start + left_end, start + right_start, f" {_COMPARE_SWAPS[operator]} ")


_BINOP_SWAPS = {ast.Add: "-", ast.Sub: "+", ast.Mult: "+", ast.FloorDiv: "/", ast.Div: "//", ast.Mod: "//",
                ast.Pow: "*", ast.BitAnd: "|", ast.BitOr: "&", ast.BitXor: "|", ast.LShift: ">>", ast.RShift: "<<"}
_BINOP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/", ast.Mod: "%",
               ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}


@_operator("operation_error", "logic", "operation error")
def operation_error(code: str, rng: random.Random) -> str | None:
    """Swap one arithmetic operator (`+` -> `-`, `//` -> `/`, `%` -> `//`), in an expression
    or an augmented assignment."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [node for node in ast.walk(tree) if isinstance(node, (ast.BinOp, ast.AugAssign))
             and type(node.op) in _BINOP_SWAPS
             and not (isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant)
                      and isinstance(node.left.value, str))]  # '%' formatting is no arithmetic
    if not sites:
        return None
    node = rng.choice(sites)
    start, end = _span(code, node)
    text = code[start:end]
    left = node.left if isinstance(node, ast.BinOp) else node.target
    right = node.right if isinstance(node, ast.BinOp) else node.value
    gap_start, gap_end = _span(code, left)[1] - start, _span(code, right)[0] - start
    gap = text[gap_start:gap_end]
    symbol = _BINOP_TEXT[type(node.op)] + ("=" if isinstance(node, ast.AugAssign) else "")
    at = gap.find(symbol)
    if at < 0:
        return None
    new = _BINOP_SWAPS[type(node.op)] + ("=" if isinstance(node, ast.AugAssign) else "")
    return _replace(code, start + gap_start + at, start + gap_start + at + len(symbol), new)


@_operator("variable_error", "logic", "variable error")
def variable_error(code: str, rng: random.Random) -> str | None:
    """Read another variable of the same function in place of the right one (`i` for `j`)."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = []
    for func in _function_nodes(tree):
        local = sorted(_stores_in(func))
        for node in _loads_in(func):
            others = [name for name in local if name != node.id]
            if node.id in local and others:
                sites.append((node, others))
    if not sites:
        return None
    node, others = rng.choice(sites)
    start, end = _span(code, node)
    return _replace(code, start, end, rng.choice(others))


@_operator("assign_as_compare", "logic", "misused == or =")
def assign_as_compare(code: str, rng: random.Random) -> str | None:
    """`x = e` -> `x == e`: still Python, but the assignment is silently lost."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [node for node in ast.walk(tree) if isinstance(node, ast.Assign) and len(node.targets) == 1
             and isinstance(node.targets[0], (ast.Name, ast.Subscript, ast.Attribute))]
    if not sites:
        return None
    node = rng.choice(sites)
    start, _ = _span(code, node)
    target_end = _span(code, node.targets[0])[1]
    value_start = _span(code, node.value)[0]
    gap = code[target_end:value_start]
    at = gap.find("=")
    if at < 0:
        return None
    return _replace(code, target_end + at, target_end + at + 1, "==")


@_operator("off_by_one", "logic", "off-by-one")
def off_by_one(code: str, rng: random.Random) -> str | None:
    """Move one end of a `range(...)` by one, or a bound in a comparison (`n - 1` -> `n`)."""
    tree = _parse(code)
    if tree is None:
        return None
    sites = [arg for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id == "range" for arg in node.args[:2]]
    sites += [node.comparators[0] for node in ast.walk(tree) if isinstance(node, ast.Compare)
              and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE))]
    if not sites:
        return None
    node = rng.choice(sites)
    start, end = _span(code, node)
    text = code[start:end]
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return _replace(code, start, end, str(node.value + rng.choice((-1, 1))))
    if isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant) and node.right.value == 1 \
            and isinstance(node.op, (ast.Add, ast.Sub)):
        return _replace(code, start, end, code[start:_span(code, node.left)[1]])  # `n + 1` -> `n`
    return _replace(code, start, end, f"{text} {rng.choice('+-')} 1")


@_operator("wrong_constant", "logic", "wrong constant")
def wrong_constant(code: str, rng: random.Random) -> str | None:
    """Change one literal: a number (0 <-> 1, n -> n +- 1 or 2n), a boolean, a one-character string."""
    tree = _parse(code)
    if tree is None:
        return None
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    sites = [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and id(node) not in docstrings
             and (isinstance(node.value, (bool, int, float)) or (isinstance(node.value, str)
                                                                  and len(node.value) == 1))]
    if not sites:
        return None
    node = rng.choice(sites)
    start, end = _span(code, node)
    value = node.value
    if isinstance(value, bool):
        new = repr(not value)
    elif isinstance(value, int):
        new = str(rng.choice([1 - value if value in (0, 1) else value + 1, value * 2 if value not in (0, 1) else 2]))
    elif isinstance(value, float):
        new = repr(value * 2 if value else 1.0)
    else:
        new = repr(" " if value != " " else "_")
    return _replace(code, start, end, new)


# ---------------------------------------------------------------------------- drawing candidates

MULTIPLE = {2: "double", 3: "triple", 4: "quadruple"}
CATEGORIES = ("syntax", "reference", "logic", "multiple")


@dataclass
class Candidate:
    """One planted bug: what was done (operators, in order) and the program that resulted."""

    category: str
    minor_type: str
    operators: tuple[str, ...]
    code: str


def plant(code: str, operator: str, rng: random.Random) -> str | None:
    """Apply one named operator; None when the program has no site for it or nothing changed."""
    if operator not in OPERATORS:
        raise ValueError(f"unknown mutation operator {operator!r}; known: {sorted(OPERATORS)}")
    mutated = OPERATORS[operator](code, rng)
    return mutated if mutated is not None and mutated != code else None


def claims_hold(candidate: Candidate) -> bool:
    """The static half of "the category it claims": a syntax bug does not parse, any other
    bug parses (a multiple bug parses unless one of its operators is a syntax one)."""
    has_syntax = any(CATEGORY_OF[name] == "syntax" for name in candidate.operators)
    return parses(candidate.code) != has_syntax


def operators_of(category: str) -> list[str]:
    return [name for name, owner in CATEGORY_OF.items() if owner == category]


def draw_single(code: str, category: str, rng: random.Random) -> Candidate | None:
    """One bug of `category` (syntax, reference or logic): operators tried in a seeded order."""
    names = operators_of(category)
    rng.shuffle(names)
    for name in names:
        mutated = plant(code, name, rng)
        if mutated is not None:
            candidate = Candidate(category, MINOR_TYPE[name], (name,), mutated)
            if claims_hold(candidate):
                return candidate
    return None


def draw_multiple(code: str, rng: random.Random) -> Candidate | None:
    """Two to four bugs at once; at most one syntax bug, planted last (nothing parses after it)."""
    count = rng.choice(sorted(MULTIPLE))
    applied: list[str] = []
    for _ in range(count * 3):
        if len(applied) == count:
            break
        last = len(applied) == count - 1
        pool = [n for n in OPERATORS if CATEGORY_OF[n] != "syntax" or last]
        name = rng.choice(pool)
        mutated = plant(code, name, rng)
        if mutated is not None and (CATEGORY_OF[name] == "syntax" or parses(mutated)):
            code, applied = mutated, applied + [name]
    if len(applied) < 2:
        return None
    candidate = Candidate("multiple", MULTIPLE[len(applied)], tuple(applied), code)
    return candidate if claims_hold(candidate) else None


def candidates(code: str, rng: random.Random, per_category: int,
               categories: tuple[str, ...] | list[str] = CATEGORIES) -> list[Candidate]:
    """`per_category` seeded draws for each of `categories`, in that order (may hold
    repeats, which the keep-checks remove)."""
    out = []
    for category in categories:
        if category not in CATEGORIES:
            raise ValueError(f"unknown bug category {category!r}; known: {list(CATEGORIES)}")
        for _ in range(per_category):
            drawn = draw_multiple(code, rng) if category == "multiple" else draw_single(code, category, rng)
            if drawn is not None:
                out.append(drawn)
    return out


# ---------------------------------------------------------------------------- measured difficulty

_TOKEN_RE = re.compile(r"\w+|\"\"\"|'''|==|!=|<=|>=|//|\*\*|->|[^\s\w]")


def _code_tokens(code: str) -> list[str]:
    """Tokens for diffing, with each line's indentation as one token (a syntax bug may not
    tokenize with `tokenize`, so this is a plain regex lexer)."""
    out = []
    for line in code.splitlines():
        if not line.strip():
            continue
        out.append(f"<indent {len(line) - len(line.lstrip())}>")
        out.extend(_TOKEN_RE.findall(line))
    return out


def fix_size(buggy: str, reference: str) -> dict[str, int]:
    """How big the fix is: tokens and lines that differ between the bug and its reference.

    >>> fix_size("def f(a):\\n    return a - 1\\n", "def f(a):\\n    return a + 1\\n")
    {'tokens': 1, 'lines': 1}
    """
    def changed(a: list[str], b: list[str]) -> int:
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")

    lines_a = [line.rstrip() for line in buggy.splitlines() if line.strip()]
    lines_b = [line.rstrip() for line in reference.splitlines() if line.strip()]
    return {"tokens": changed(_code_tokens(buggy), _code_tokens(reference)), "lines": changed(lines_a, lines_b)}


# Measured difficulty from the fix's size in tokens (docs/data.md): a one-token fix is easy,
# a two-token fix medium, three or more hard.
DIFFICULTY_TOKENS = ((1, "easy"), (2, "medium"))


def difficulty_of(fix_tokens: int) -> str:
    """The difficulty name for a fix of `fix_tokens` tokens.

    >>> [difficulty_of(n) for n in (1, 2, 3, 4, 9)]
    ['easy', 'medium', 'hard', 'hard', 'hard']
    """
    for top, name in DIFFICULTY_TOKENS:
        if fix_tokens <= top:
            return name
    return "hard"


__all__ = ["CATEGORIES", "CATEGORY_OF", "Candidate", "DIFFICULTY_TOKENS", "MINOR_TYPE", "MULTIPLE", "OPERATORS",
           "candidates", "claims_hold", "difficulty_of", "draw_multiple", "draw_single", "fix_size",
           "operators_of", "parses", "plant"]
