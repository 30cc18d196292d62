"""A policy without a model: canned completions, counted exactly like the real policy.

Search arithmetic (UCB order, backup, dedup, budgets, determinism) is tested against it.
`script` is a list of completions served in order (cycling), or a callable
`(messages, n, call_index, seed) -> list[str]`. Tokens are whitespace-separated words, so
counts are exact and hand-checkable.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from codeq_lib.policy.types import Generation, PolicyStats


def count_tokens(text: str) -> int:
    return len(text.split())


class ScriptedPolicy:
    def __init__(self, script: Sequence[str] | Callable[..., list[str]],
                 critic: Callable[[list[dict]], float] | float = 0.5, policy_id: str = "scripted"):
        self.script = script
        self.critic_fn = critic
        self.policy_id = policy_id
        self.stats = PolicyStats()
        self.history: list[dict[str, Any]] = []
        self._cursor = 0

    def sample(self, messages: list[dict], n: int = 1, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 256, seed: int | None = 0) -> list[Generation]:
        call_index = self.stats.calls
        if callable(self.script):
            texts = list(self.script(messages, n, call_index, seed))
        else:
            texts = [self.script[(self._cursor + i) % len(self.script)] for i in range(n)]
            self._cursor += n
        if len(texts) != n:
            raise ValueError(f"ScriptedPolicy script returned {len(texts)} completions for n={n}")
        prompt_tokens = sum(count_tokens(m["content"]) for m in messages)
        self.stats.calls += 1
        self.stats.sequences += n
        self.stats.prompt_tokens += prompt_tokens
        self.history.append({"messages": messages, "n": n, "temperature": temperature, "seed": seed})
        gens = []
        for text in texts:
            self.stats.generated_tokens += count_tokens(text)
            gens.append(Generation(text=text, prompt_tokens=prompt_tokens,
                                   completion_tokens=count_tokens(text), finish_reason="stop"))
        return gens

    def critic(self, batch: list[list[dict]]) -> list[float]:
        self.stats.critic_calls += 1
        if callable(self.critic_fn):
            return [float(self.critic_fn(messages)) for messages in batch]
        return [float(self.critic_fn)] * len(batch)
