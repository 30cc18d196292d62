"""Reward shaping for GRPO: pure functions from execution results to a scalar reward.

Following the DebugArena and GRPO-for-program-repair studies, the signal is the fraction
of tests passed plus a bonus for a full solve (partial credit alone teaches the policy to
settle for "most tests"); two small terms shape the rest: a format term (one fenced
program that defines the entry point) and an anti-hacking penalty per static finding the
sandbox reports (I/O, process or test-harness tampering). The terms are bounded so that
no wrong program can ever outrank a correct one: `RewardConfig` refuses weights that break

    1 + solve_bonus - format_weight - hack_penalty_cap  >  1 + format_weight

(worst-shaped correct program vs. best-shaped program that fails one test). "Could not
score" (the sandbox could not run the program) is `None`, not zero, as TRL's GRPOTrainer
expects: it then ignores that sample rather than punishing it (STYLE.md rule 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RewardConfig:
    solve_bonus: float = field(default=1.0, metadata={"help": "Added when every test passes."})
    format_weight: float = field(
        default=0.1, metadata={"help": "+w for one well-formed program with the entry point, -w otherwise."}
    )
    hack_penalty: float = field(
        default=0.05, metadata={"help": "Subtracted per static finding (forbidden import/call) in the program."}
    )
    hack_penalty_cap: float = field(default=0.2, metadata={"help": "Most the anti-hacking term can subtract."})

    def __post_init__(self) -> None:
        for name in ("solve_bonus", "format_weight", "hack_penalty", "hack_penalty_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"rewards.{name}: {getattr(self, name)} must be >= 0")
        if not self.solve_bonus > 2 * self.format_weight + self.hack_penalty_cap:
            raise ValueError(
                f"rewards.solve_bonus: {self.solve_bonus} must exceed 2*format_weight + hack_penalty_cap "
                f"= {2 * self.format_weight + self.hack_penalty_cap}, or a wrong program could outrank a correct one"
            )


def format_term(well_formed: bool, weight: float) -> float:
    """+weight for a single fenced program that defines the entry point, else -weight.

    >>> format_term(True, 0.1), format_term(False, 0.1)
    (0.1, -0.1)
    """
    return weight if well_formed else -weight


def hack_term(n_findings: int, per_finding: float, cap: float) -> float:
    """A small penalty per static finding, capped so it never dominates.

    >>> hack_term(0, 0.05, 0.2), hack_term(2, 0.05, 0.2), hack_term(10, 0.05, 0.2)
    (0.0, -0.1, -0.2)
    """
    return 0.0 - min(cap, per_finding * max(0, n_findings))


def shaped_reward(
    pass_fraction: float | None, well_formed: bool, n_findings: int = 0, config: RewardConfig = RewardConfig()
) -> float | None:
    """Pass fraction + full-solve bonus + format term + anti-hacking term; None if unscored.

    >>> shaped_reward(1.0, True)
    2.1
    >>> shaped_reward(0.5, True)
    0.6
    >>> shaped_reward(0.0, False)
    -0.1
    >>> shaped_reward(None, True) is None
    True
    """
    if pass_fraction is None:
        return None
    if not 0.0 <= pass_fraction <= 1.0:
        raise ValueError(f"pass_fraction: {pass_fraction} must be in [0, 1] or None")
    solved = pass_fraction >= 1.0
    reward = (
        pass_fraction
        + (config.solve_bonus if solved else 0.0)
        + format_term(well_formed, config.format_weight)
        + hack_term(n_findings, config.hack_penalty, config.hack_penalty_cap)
    )
    return round(reward, 10)


def reward_from_result(result, well_formed: bool, config: RewardConfig = RewardConfig()) -> float | None:
    """`shaped_reward` of a sandbox `ExecResult` (duck-typed: `pass_fraction`, `static_findings`).

    A program that failed to extract has no result (`result is None`): it is scoreable and wrong
    (pass fraction 0), which is different from a program the sandbox could not run.
    """
    if result is None:
        return shaped_reward(0.0, well_formed=False, config=config)
    findings = len(getattr(result, "static_findings", None) or [])
    return shaped_reward(result.pass_fraction, well_formed, findings, config)
