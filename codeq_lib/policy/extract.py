"""Pull the rewritten program out of a raw model completion.

Small models wrap code in prose, emit several blocks (a fix, then "alternatively..."),
forget the fence, or run out of tokens inside one. Extraction is pure and cheap, so it is
tested on a corpus of real SmolLM2 outputs (tests/data/model_outputs/). Rules, in order:

1. Fenced blocks (```python, ```py, or an untagged fence); an unclosed last fence is a
   truncated block and runs to the end of the text. Blocks tagged with another language
   (```bash, ```text, ```output) are ignored.
2. Among them, prefer the FIRST block that parses and defines the entry point (the model's
   answer usually comes first; later blocks are variations or usage), skipping blocks that
   only repeat the `original` program when it is given (SmolLM2 often echoes the buggy code
   first and fixes it in a second block), then the first that defines it at all, then the
   first that parses, then the first.
3. No fence: the whole text if it parses, else the span from the first line that starts
   code (def/class/import/from/@) to the last line that can belong to it.
4. Code that does not parse (truncation) is cut back line by line to the longest prefix
   that parses, if that prefix still defines something.
5. Top-level expression statements (`print(add(1, 2))`, `add(5, 5)`, `add_test() == 12`)
   and `if __name__ == "__main__"` blocks are dropped: they run at import time in the
   sandbox, decide nothing, and a crashing one would fail a correct function.
`has_entry_point` is False when the rewrite dropped the function (or, for `Class.method`,
the class or the method) that the tests call.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from codeq_lib.hashing import normalize_code

PYTHON_TAGS = {"", "python", "python3", "py", "py3", "python2"}
_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*$", re.MULTILINE)
_CODE_START_RE = re.compile(r"^(def |async def |class |import |from \S+ import |@)")


@dataclass
class Extraction:
    code: str
    has_entry_point: bool
    reason: str  # how the code was found, e.g. "fenced", "fenced+unclosed", "unfenced+trimmed"
    syntax_ok: bool = True


@dataclass
class Block:
    code: str
    tag: str
    closed: bool


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced block in order; an opening fence with no closing one runs to the end.

    >>> [b.code for b in fenced_blocks("a\\n```python\\nx = 1\\n```\\nb\\n```\\ny = 2")]
    ['x = 1', 'y = 2']
    """
    blocks, matches, index = [], list(_FENCE_RE.finditer(text)), 0
    while index < len(matches):
        opening = matches[index]
        fence, tag = opening.group(1), opening.group(2).lower()
        closing = next(
            (m for m in matches[index + 1:] if m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2)),
            None,
        )
        end = closing.start() if closing else len(text)
        body = text[opening.end():end].strip("\n")
        blocks.append(Block(textwrap.dedent(body), tag, closing is not None))
        if closing is None:
            break
        index = matches.index(closing) + 1
    return blocks


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def defines_entry_point(code: str, entry_point: str) -> bool:
    """True if the module defines `func` at top level, or for `Class.method` a top-level
    class with that method. Falls back to a regex when the code does not parse."""
    class_name, _, method = entry_point.rpartition(".")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        if class_name:
            return bool(re.search(rf"^class\s+{re.escape(class_name)}\b", code, re.M)) and bool(
                re.search(rf"^\s+(async\s+)?def\s+{re.escape(method)}\s*\(", code, re.M)
            )
        return bool(re.search(rf"^(async\s+)?def\s+{re.escape(method)}\s*\(", code, re.M))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    if not class_name:
        return any(isinstance(node, functions) and node.name == method for node in tree.body)
    return any(
        isinstance(node, ast.ClassDef)
        and node.name == class_name
        and any(isinstance(item, functions) and item.name == method for item in node.body)
        for node in tree.body
    )


def longest_parsing_prefix(code: str, min_lines: int = 1) -> str | None:
    """The longest line prefix that parses (a truncated completion cut to its last complete
    statement), or None."""
    lines = code.splitlines()
    for end in range(len(lines), min_lines - 1, -1):
        candidate = "\n".join(lines[:end]).rstrip()
        if candidate and parses(candidate):
            return candidate
    return None


def unfenced_span(text: str) -> str | None:
    """From the first line that starts code to the last line that is indented, blank, or
    itself starts code (prose after the program ends it)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _CODE_START_RE.match(line)), None)
    if start is None:
        return None
    end = start
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line[0] in " \t#)]}" or _CODE_START_RE.match(line) or re.match(r"^[A-Za-z_]\w*\s*=", line):
            end = i
        else:
            break
    return "\n".join(lines[start:end + 1]).rstrip()


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def drop_top_level_calls(code: str) -> tuple[str, bool]:
    """Remove top-level expression statements (calls, `add_test() == 12`; a bare string
    stays) and `if __name__ == ...` blocks, keeping the rest of the text as written."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code, False
    spans = [
        (node.lineno, node.end_lineno)
        for node in tree.body
        if (isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant)) or _is_main_guard(node)
    ]
    if not spans:
        return code, False
    drop = {line for first, last in spans for line in range(first, (last or first) + 1)}
    kept = [line for number, line in enumerate(code.splitlines(), start=1) if number not in drop]
    return "\n".join(kept).rstrip(), True


def choose_block(blocks: list[Block], entry_point: str, original: str | None = None) -> Block | None:
    python_blocks = [b for b in blocks if b.tag in PYTHON_TAGS and b.code.strip()]
    original_form = normalize_code(original) if original else None
    rules = (
        lambda b: parses(b.code) and defines_entry_point(b.code, entry_point) and normalize_code(b.code) != original_form,
        lambda b: parses(b.code) and defines_entry_point(b.code, entry_point),
        lambda b: defines_entry_point(b.code, entry_point),
        lambda b: parses(b.code),
        lambda b: True,
    )
    for rule in rules:
        for block in python_blocks:
            if rule(block):
                return block
    return None


def extract_code(text: str, entry_point: str, original: str | None = None) -> Extraction:
    """The program in `text` and whether it still defines `entry_point` (see module doc).
    With `original` (the program that was to be fixed), a block that merely repeats it
    (same normalised code) loses to a later block that changes something."""
    if not text or not text.strip():
        return Extraction("", False, "empty", False)
    block = choose_block(fenced_blocks(text), entry_point, original)
    if block is not None:
        code, reason = block.code, "fenced" if block.closed else "fenced+unclosed"
    elif parses(textwrap.dedent(text).strip("\n")):
        code, reason = textwrap.dedent(text).strip("\n"), "whole"
    else:
        span = unfenced_span(text)
        if span is None:
            return Extraction("", False, "no_code", False)
        code, reason = span, "unfenced"
    if not parses(code):
        prefix = longest_parsing_prefix(code)
        if prefix is not None and defines_entry_point(prefix, entry_point):
            code, reason = prefix, reason + "+trimmed"
    code, dropped = drop_top_level_calls(code)
    if dropped:
        reason += "+dropped_calls"
    return Extraction(code.rstrip() + "\n" if code.strip() else "", defines_entry_point(code, entry_point), reason, parses(code))
