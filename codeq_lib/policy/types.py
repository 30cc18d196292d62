"""The small value types every policy backend returns (docs/interfaces.md "Policy")."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Generation:
    """One completion. `finish_reason` is "stop" (ended at EOS) or "length" (hit
    max_new_tokens: the text may be truncated mid-program)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PolicyStats:
    """Exact counters. `calls`: generate calls (one per `sample`/`sample_batch`);
    `sequences`: completions returned; `prompt_tokens`: prompt tokens processed, each
    distinct prompt counted once per call (the K copies share it) plus critic prompts;
    `generated_tokens`: completion tokens up to and including EOS, padding excluded;
    `cache_hits`: sample calls answered by a `call_cache.CachedPolicy` (not counted above).
    Readable as attributes or as a mapping (`stats["calls"]`)."""

    calls: int = 0
    critic_calls: int = 0
    sequences: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    cache_hits: int = 0

    def __getitem__(self, key: str) -> int:
        return getattr(self, key)

    def keys(self):
        return asdict(self).keys()

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
