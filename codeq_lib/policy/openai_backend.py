"""A policy served over an OpenAI-compatible HTTP API (vLLM, llama.cpp server, SGLang...).

Same interface as `HFPolicy`: `sample` sends ONE /v1/chat/completions request with `n=K`
(vLLM batches the K completions); servers that return fewer choices than asked
(`transformers serve` and llama-cpp-python's server ignore `n`) get follow-up requests for
the rest, each counted in `stats.calls`. The critic asks for one token at temperature 0 with
`top_logprobs` and reads P(yes) from the returned log-probabilities; a server that returns
no log-probabilities (`transformers serve`) gives the greedy answer's 1.0 / 0.0 (0.5 for
neither). Critic prompts go out concurrently. Stdlib only (urllib): no new dependency.
The client is tested against a real `transformers serve` process on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

from codeq_lib.policy.hf_policy import NO_WORDS, YES_WORDS
from codeq_lib.policy.types import Generation, PolicyStats


class ServerError(RuntimeError):
    """The server refused or failed a request; the message names the URL."""


def p_yes_from_top_logprobs(top_logprobs: Sequence[dict[str, Any]]) -> float:
    """P(yes) renormalised over the yes/no variants among the returned alternatives of the
    first answer token; 0.5 (no information) if neither appears.

    >>> round(p_yes_from_top_logprobs([{"token": "Yes", "logprob": math.log(0.6)},
    ...                                {"token": "No", "logprob": math.log(0.2)}]), 6)
    0.75
    """
    yes = sum(math.exp(item["logprob"]) for item in top_logprobs if item["token"] in YES_WORDS)
    no = sum(math.exp(item["logprob"]) for item in top_logprobs if item["token"] in NO_WORDS)
    return 0.5 if yes + no == 0 else min(1.0, max(0.0, yes / (yes + no)))


def p_yes_from_answer(text: str) -> float:
    """Fallback without log-probabilities: the greedy answer word itself.

    >>> [p_yes_from_answer(t) for t in ("Yes.", " no", "Maybe")]
    [1.0, 0.0, 0.5]
    """
    word = text.strip().lower()
    return 1.0 if word.startswith("yes") else 0.0 if word.startswith("no") else 0.5


def split_tokens(total: int, texts: Sequence[str]) -> list[int]:
    """Per-choice completion tokens when the server reports only the total for n > 1:
    proportional to text length, summing exactly to `total` (an estimate per choice; the
    total, which `stats` records, is exact).

    >>> split_tokens(10, ["aaaa", "a", ""])
    [8, 2, 0]
    """
    weights = [len(t) for t in texts]
    if not texts or sum(weights) == 0:
        return [total // max(len(texts), 1)] * len(texts)
    shares = [total * w // sum(weights) for w in weights]
    for i in sorted(range(len(texts)), key=lambda i: -weights[i])[: total - sum(shares)]:
        shares[i] += 1
    return shares


@dataclass
class OpenAIPolicy:
    base_url: str  # e.g. "http://127.0.0.1:8000/v1"
    model: str
    api_key: str | None = None
    timeout_s: float = 300.0
    max_parallel: int = 8
    extra_body: dict[str, Any] = field(default_factory=dict)  # server-specific fields (vLLM top_k, ...)
    stats: PolicyStats = field(default_factory=PolicyStats)
    # many searches share one policy (study.scheduler): each call is its own request, the
    # server batches them; only the counters need a lock
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def policy_id(self) -> str:
        return f"openai:{self.model}"

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServerError(f"{url}: HTTP {exc.code}: {exc.read()[:500].decode(errors='replace')}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ServerError(f"{url}: {exc}") from None

    def _chat(self, messages, n, temperature, top_p, max_new_tokens, seed) -> tuple[list[Generation], dict]:
        body = self.post("/chat/completions", {
            "model": self.model, "messages": messages, "n": n, "temperature": temperature,
            "top_p": top_p, "max_tokens": max_new_tokens, "seed": seed, **self.extra_body,
        })
        choices = sorted(body.get("choices", []), key=lambda c: c.get("index", 0))[:n]
        usage = body.get("usage") or {}
        texts = [c["message"].get("content") or "" for c in choices]
        counts = split_tokens(int(usage.get("completion_tokens", 0)), texts)
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        gens = [Generation(text, prompt_tokens, count, c.get("finish_reason") or "stop")
                for text, count, c in zip(texts, counts, choices)]
        return gens, usage

    def sample(self, messages: list[dict], n: int = 1, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 256, seed: int = 0) -> list[Generation]:
        gens: list[Generation] = []
        while len(gens) < n:
            batch, usage = self._chat(messages, n - len(gens), temperature, top_p, max_new_tokens, seed + len(gens))
            if not batch:
                raise ServerError(f"{self.base_url}: no choices returned")
            with self._lock:
                self.stats.calls += 1
                self.stats.prompt_tokens += int(usage.get("prompt_tokens", 0))
                self.stats.generated_tokens += int(usage.get("completion_tokens", 0))
            gens.extend(batch)
        with self._lock:
            self.stats.sequences += len(gens)
        return gens

    def sample_batch(self, message_lists: Sequence[list[dict]], n: int = 1, **kwargs) -> list[list[Generation]]:
        with ThreadPoolExecutor(self.max_parallel) as pool:
            return list(pool.map(lambda m: self.sample(m, n=n, **kwargs), message_lists))

    def _judge(self, messages: list[dict]) -> tuple[float, int]:
        body = self.post("/chat/completions", {
            "model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
            "logprobs": True, "top_logprobs": 20,
        })
        choice = body["choices"][0]
        content = (choice.get("logprobs") or {}).get("content") or []
        prompt_tokens = int((body.get("usage") or {}).get("prompt_tokens", 0))
        if content and content[0].get("top_logprobs"):
            return p_yes_from_top_logprobs(content[0]["top_logprobs"]), prompt_tokens
        return p_yes_from_answer((choice.get("message") or {}).get("content") or ""), prompt_tokens

    def critic(self, message_lists: Sequence[list[dict]]) -> list[float]:
        if not message_lists:
            return []
        with ThreadPoolExecutor(self.max_parallel) as pool:
            results = list(pool.map(self._judge, message_lists))
        with self._lock:
            self.stats.critic_calls += 1
            self.stats.prompt_tokens += sum(tokens for _, tokens in results)
        return [score for score, _ in results]


# ---------------------------------------------------------------- a round's policy on vLLM


def served_name(model: str) -> str:
    """The name a served policy answers to (scripts/serve_vllm.sh): "base" for the base
    checkpoint, the folder's name (round1, round2, ...) for a round's adapter policy.

    >>> served_name("models/base")
    'base'
    """
    from pathlib import Path

    from codeq_lib.policy.models import policy_record

    path = Path(model)
    return path.name if path.is_dir() and policy_record(path) is not None else "base"


def served_policy(base_url: str, model: str, **options: Any) -> OpenAIPolicy:
    """An `OpenAIPolicy` on a vLLM server started by scripts/serve_vllm.sh, sampling from
    `model`: the base, or a round's adapter policy (base + LoRA, unmerged; the server loads
    the adapter at run time through `/v1/load_lora_adapter` if it does not list it yet, which
    needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, as the script sets)."""
    from pathlib import Path

    policy = OpenAIPolicy(base_url=base_url, model=served_name(model), **options)
    url = base_url.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=policy.timeout_s) as response:
            listed = {entry.get("id") for entry in json.loads(response.read()).get("data", [])}
    except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
        raise ServerError(f"{url}: no policy server answers there ({exc}); start one with `make serve` "
                          "(scripts/serve_vllm.sh) or set the stage's `server: null`") from None
    if policy.model != "base":
        if policy.model not in listed:
            policy.post("/load_lora_adapter", {"lora_name": policy.model, "lora_path": str(Path(model).resolve())})
    return policy
