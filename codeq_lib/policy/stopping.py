"""Stop a rewrite once its program has ended: at the fence that closes its first code block,
or at the first top-level line of test code after the program.

The repair prompt asks for one full program in a ```python block; instruction-tuned models
then often add an explanation that nobody reads (the extractor keeps only the code), or go
on inside the block with usage and tests (`print(f(3))`, `assert f(2) == 4`, `for case in
cases: ...`, `sol = Solution()`). That code is not part of the repair: it runs at import in
the sandbox, where a wrong expectation or a crash fails a correct function, and it is where
small models ramble until max_new_tokens (22% of the embedded model's MCTS samples did).
So a row's program ends at the first COMPLETE top-level line that starts no definition
(not def / class / @ / import / from / a comment / an UPPER_CASE constant) once the code
before it parses and defines a function or class: the stop sequences of Codex's HumanEval
evaluation ("\\nprint", "\\nif", ...), made safe for multi-function programs by the parse
check (a line inside a string or an open bracket never ends the program). That line is cut
off the completion (`program_end` gives where). On a CPU every token costs, so rows of a
batch stop independently (transformers' per-row stopping criteria, or decode.py's loop).
"""

from __future__ import annotations

import ast
import re

from transformers import StoppingCriteria

FENCE = "```"
_OPENING_FENCE_RE = re.compile(r"```[^\n`]*\n")
_PROGRAM_LINE_RE = re.compile(r"(def |async def |class |@|import |from |#|```|~~~|[A-Z_][A-Z0-9_]*\s*(:|=[^=]))")


def code_block_closed(text: str) -> bool:
    """True once `text` holds an opening and a closing fence.

    >>> code_block_closed("Here:\\n```python\\ndef f(): pass\\n```")
    True
    >>> code_block_closed("```python\\ndef f(): pass\\n")
    False
    """
    return text.count(FENCE) >= 2


def _defines_something(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in tree.body)


def trailing_test_code(text: str) -> int | None:
    """Where top-level test code begins in the first code block of `text` (the index of its
    first complete line), or None while the block holds only the program.

    >>> text = "```python\\ndef f(x):\\n    return x\\n\\nprint(f(2))\\n"
    >>> text[trailing_test_code(text):]
    'print(f(2))\\n'
    >>> trailing_test_code("```python\\ndef f(x):\\n    return x\\nMOD = 7\\n") is None
    True
    >>> trailing_test_code("```python\\ndef f():\\n    s = '''\\nprint(1)\\n") is None  # inside a string
    True
    """
    opening = _OPENING_FENCE_RE.search(text)
    if opening is None:
        return None
    start = position = opening.end()
    while True:
        end = text.find("\n", position)
        if end < 0:  # the last line is not complete yet
            return None
        line = text[position:end]
        if line.startswith(FENCE):
            return None  # the block closed first: nothing to cut
        if line[:1].strip() and not _PROGRAM_LINE_RE.match(line) and _defines_something(text[start:position]):
            return position
        position = end + 1


def program_end(text: str) -> int | None:
    """Where the program of a completion ends: after the fence that closes its first code
    block (the text is kept whole), at the start of top-level test code (cut there), or None
    while it goes on."""
    if code_block_closed(text):
        return len(text)
    return trailing_test_code(text)


class CodeBlockClosed(StoppingCriteria):
    """transformers' per-row stopping criterion for `program_end` (HFPolicy decoder "generate")."""

    def __init__(self, tokenizer, prompt_length: int):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        return torch.tensor([program_end(t) is not None for t in texts], device=input_ids.device)


class ProgramEndTracker:
    """`program_end` checked as a completion grows, without re-reading it: the opening fence is
    found once and the scan for top-level test code resumes at the first line not yet judged
    (a complete line's verdict never changes as text is added after it). `extend(piece)`
    returns True once the program has ended; `program_end(text)` on the final text says where.
    """

    def __init__(self) -> None:
        self.text = ""
        self._block_start: int | None = None
        self._position = 0

    def extend(self, piece: str) -> bool:
        self.text += piece
        if code_block_closed(self.text):
            return True
        if self._block_start is None:
            opening = _OPENING_FENCE_RE.search(self.text)
            if opening is None:
                return False
            self._block_start = self._position = opening.end()
        text, start = self.text, self._block_start
        while True:
            end = text.find("\n", self._position)
            if end < 0:
                return False
            line = text[self._position:end]
            if line.startswith(FENCE):
                return False  # cannot happen without code_block_closed; kept as trailing_test_code
            if line[:1].strip() and not _PROGRAM_LINE_RE.match(line) and _defines_something(text[start:self._position]):
                return True
            self._position = end + 1
