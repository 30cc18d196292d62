"""Search knobs as one strict dataclass (params.yaml `search:` block, `codeq eval`).

Defaults follow CodeQ (K rewrites per expansion, T ~ 0.8, UCB1 with c ~ sqrt(2)) and REx
(Tang et al. 2024: C = 5 as the heuristic's weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from codeq_lib.config import ConfigError


@dataclass
class SearchConfig:
    K: int = field(default=4, metadata={"help": "rewrites sampled per LLM call (one batched policy.sample call per rollout)"})
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature for rewrites (CodeQ uses ~0.8)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass for rewrites"})
    max_new_tokens: int = field(default=384, metadata={"help": "token cap of one rewrite"})
    single_pass_temperature: float = field(default=0.0, metadata={"help": "temperature of the single-pass baseline (0 = greedy)"})
    c: float = field(default=math.sqrt(2.0), metadata={"help": "UCB1 exploration constant"})
    use_critic: bool = field(default=False, metadata={"help": "blend a self-critique score into node values (CodeQ / Agent Q)"})
    alpha: float = field(default=0.5, metadata={"help": "critic blend: Q = alpha*Q_mcts + (1-alpha)*Q_critic"})
    early_stop: bool = field(default=True, metadata={"help": "stop as soon as a program passes every search test"})
    rex_C: float = field(default=5.0, metadata={"help": "REx heuristic weight C in Beta(1 + C*R, 1 + C*(1-R) + N)"})
    refine_attempts: int = field(default=4, metadata={"help": "A: attempts per refine episode before restarting from the buggy code"})
    feedback_items: int = field(default=3, metadata={"help": "failing visible tests shown to the policy as feedback"})
    seed: int = field(default=0, metadata={"help": "base seed for sampling and Thompson draws"})

    def __post_init__(self) -> None:
        checks = {
            "K": self.K >= 1,
            "temperature": self.temperature >= 0,
            "single_pass_temperature": self.single_pass_temperature >= 0,
            "top_p": 0 < self.top_p <= 1,
            "max_new_tokens": self.max_new_tokens >= 1,
            "c": self.c >= 0,
            "alpha": 0 <= self.alpha <= 1,
            "rex_C": self.rex_C >= 0,
            "refine_attempts": self.refine_attempts >= 1,
            "feedback_items": self.feedback_items >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"SearchConfig.{name}: invalid value {getattr(self, name)!r}")
