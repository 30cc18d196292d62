"""The sandbox's result types: a fixed status set, per-test outcomes, JSON round-trip.

"Could not run" is not "scored zero" (STYLE.md rule 6): `pass_fraction` is None for it, so
reward functions can return None as TRL expects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "error", "timeout", "could_not_run")
TEST_STATUSES = ("pass", "fail", "error", "timeout", "not_run")


@dataclass
class TestOutcome:
    """One test: `got` is the canonical JSON value returned (filled even when `expected` is None)."""

    status: str
    got: Any = None
    expected: Any = None
    error: str | None = None

    __test__ = False  # not a pytest class

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExecResult:
    """One candidate against one list of tests."""

    status: str
    passed: int
    total: int
    outcomes: list[TestOutcome] = field(default_factory=list)
    backend: str = "subprocess"
    network_isolated: bool = False
    static_findings: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    cached: bool = False
    wall_s: float = 0.0

    @property
    def pass_fraction(self) -> float | None:
        if self.status == "could_not_run" or self.total == 0:
            return None
        return self.passed / self.total

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pass_fraction"] = self.pass_fraction
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> "ExecResult":
        data = {k: v for k, v in obj.items() if k != "pass_fraction"}
        data["outcomes"] = [TestOutcome(**o) for o in data.get("outcomes", [])]
        return cls(**data)


def could_not_run(tests_total: int, error: str, backend: str, findings: list[dict] | None = None) -> ExecResult:
    """A result for a candidate that never got a fair run (bad input, a worker that died)."""
    return ExecResult(
        status="could_not_run",
        passed=0,
        total=tests_total,
        outcomes=[TestOutcome(status="not_run") for _ in range(tests_total)],
        backend=backend,
        static_findings=findings or [],
        error=error,
    )
