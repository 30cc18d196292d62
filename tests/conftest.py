"""Fixtures shared by the search, evaluation and table tests."""

from __future__ import annotations

import pytest

from codeq_lib.sandbox import make_sandbox


@pytest.fixture(scope="module")
def sandbox():
    """A real subprocess sandbox, fresh per test module (so its cache counters start at zero)."""
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sb:
        yield sb
