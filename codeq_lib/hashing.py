"""Program identity: exact hashes (caches) and normalised hashes (dedup, leakage checks).

Two programs that differ only in comments, docstrings, blank lines or formatting have the
same `normalized_code_hash`; it is what the search merges duplicates on, what pair building
drops near-identical completions on, and what the protocol's no-leak check compares.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from typing import Any


def sha256_text(text: str) -> str:
    # surrogatepass: model output may hold lone surrogates; they must hash, not crash
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def code_hash(code: str) -> str:
    """Exact hash of the program text (execution cache key)."""
    return sha256_text(code)


def json_hash(obj: Any) -> str:
    """Hash of a JSON-serialisable value in canonical form (e.g. a test list)."""
    return sha256_text(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str))


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node):
        self.generic_visit(node)
        body = getattr(node, "body", None)
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip


def normalize_code(code: str) -> str:
    """Canonical form: the AST dump without docstrings; whitespace-folded text if it does not parse."""
    try:
        tree = _StripDocstrings().visit(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        text = "\n".join(line.split("#", 1)[0].rstrip() for line in code.splitlines())
        return "unparsed:" + re.sub(r"\s+", " ", text).strip()
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def normalized_code_hash(code: str) -> str:
    """Hash of `normalize_code(code)`.

    >>> normalized_code_hash("def f(x):\\n    return x  # c") == normalized_code_hash("def f(x): return x")
    True
    """
    return sha256_text(normalize_code(code))
