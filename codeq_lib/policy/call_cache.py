"""Seeded policy calls memoised on disk, so one call is never decoded twice.

A sampling call is a pure function of the weights, the sampler (decoder, dtype, device, the
policy code), the prompt, its sampling knobs and its seed: the searches seed each call from
the task and the call's index (`search.expand.call_seed`). So strategies that begin alike
make the same first calls: best-of-n, refine, MCTS and REx all open with K rewrites of the
buggy program under the same seed, and best-of-n at budget 5 is best-of-n at budget 10 cut
short. With early stopping, that first call is often the whole search. The evaluation and
ablation stages of one policy therefore share this cache (`call_cache` in params.yaml).

The search counters still count every call the strategy makes (the cost of the method);
`PolicyStats.cache_hits` counts the calls this cache answered instead of the model. An
entry is one JSON file written atomically, so concurrent worker processes can share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.hashing import json_hash
from codeq_lib.policy.types import Generation


def policy_code_hash() -> str:
    """sha256 over the source of codeq_lib/policy and codeq_lib/engine: any change to how we
    sample is a new cache."""
    digest = hashlib.sha256()
    package = Path(__file__).parent.parent
    for path in sorted([*(package / "policy").glob("*.py"), *(package / "engine").glob("*.py")]):
        digest.update(f"{path.parent.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass
class CachedPolicy:
    """`policy` with its `sample` calls answered from `cache_dir` when the same call was made
    before under the same `identity` (weights + sampler; see `stages.open_policy`). Every
    other attribute is the wrapped policy's."""

    policy: Any
    cache_dir: Path
    identity: dict[str, Any]
    # calls being decoded now, by cache path: a second search making the same call (strategies
    # open alike) waits for the first instead of decoding it again (study.scheduler threads)
    _inflight: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self.identity = {**self.identity, "policy_code": policy_code_hash()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.policy, name)

    def _path(self, call: dict[str, Any]) -> Path:
        key = json_hash({"identity": self.identity, "call": call})
        return self.cache_dir / key[:2] / f"{key}.json"

    def sample(self, messages: list[dict], n: int = 1, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 256, seed: int = 0) -> list[Generation]:
        decoder = getattr(self.policy, "decoder", None)
        call = {"messages": messages, "n": n, "temperature": temperature, "top_p": top_p,
                "max_new_tokens": max_new_tokens, "seed": seed, "decoder": decoder,
                "stop_at_code_end": getattr(self.policy, "stop_at_code_end", None)}
        if decoder != "loop":  # the engine's samples do not depend on drafting (engine/streams.py)
            call["lookahead"] = getattr(self.policy, "lookahead", None)
            call["lookahead_max"] = getattr(self.policy, "lookahead_max", None)
        path = self._path(call)
        with self._lock:
            pending = self._inflight.get(path)
            owner = pending is None and not path.exists()
            if owner:
                self._inflight[path] = mine = Future()
        if not owner:
            generations = pending.result() if pending is not None else [
                Generation(**row) for row in json.loads(path.read_text())["generations"]]
            with self._lock:
                self.policy.stats.cache_hits += 1
            return generations
        try:
            generations = self.policy.sample(messages, n=n, temperature=temperature, top_p=top_p,
                                             max_new_tokens=max_new_tokens, seed=seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
            partial.write_text(json.dumps({"call": call, "generations": [g.to_dict() for g in generations]}))
            os.replace(partial, path)
            mine.set_result(generations)
            return generations
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(path, None)
