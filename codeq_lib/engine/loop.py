"""`loop`: the in-process engine. Rows of many calls decode in one batch with continuous
batching; a finished row's slot goes to the next waiting call.

Many searches run at once (threads, `study.scheduler`), each blocking in `policy.sample`;
their calls land here. One engine thread owns the model: between decode steps it admits
waiting calls (each prompt prefilled alone into a free slot, then copied to its n rows),
runs batched critic passes, and steps every live row once with its prompt-lookup drafts
(`drafts.py`), verified by speculative sampling from the row's own random stream
(`streams.py`). A call's future resolves when its last row ends.

What a call returns does not depend on its neighbours: every row draws from its own stream
(call seed, row index, token index), and the forward pass gives each row the logits it would
get alone (`slotted.py`). So answers, trees and token counts are the same at any
concurrency (tests/test_engine_loop.py). Per-token Python work is incremental: drafts from an
n-gram index, the stop rule resumes where it stopped (`policy.stopping.ProgramEndTracker`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch

from codeq_lib.engine.drafts import DraftIndex, PromptIndex
from codeq_lib.engine.slotted import SlottedModel, gemm_row_invariant_from
from codeq_lib.engine.streams import DRAW, row_seed, sample_rows, uniform, verify_rows


# tokens a decode pass feeds in all before drafts are cut (pass_width); measured on this CPU
# (bench/throughput.py --tokens-per-pass): see docs/performance.md
TOKENS_PER_PASS = 24


class RowStop(Protocol):
    def push(self, token: int) -> bool:
        """Called with each new token (after EOS checks); True when the row ends after it."""


@dataclass
class DecodedRow:
    token_ids: list[int]
    stopped: bool  # ended at EOS or at its stop rule, not at max_new_tokens


@dataclass
class _Call:
    prompts: list[list[int]]
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    future: Future
    rows: list["_Row"] = field(default_factory=list)
    open_rows: int = 0


@dataclass
class _Row:
    call: _Call
    index: int  # row index within its call (prompt-major, as num_return_sequences)
    seed: int
    drafts: DraftIndex
    stop: RowStop | None
    position: int  # cache positions filled with final tokens (prompt + all but the last token)
    tokens: list[int] = field(default_factory=list)
    stopped: bool = False
    finished: bool = False


@dataclass
class _Critic:
    prompts: list[list[int]]
    future: Future


class LoopEngine:
    """The batching decode loop behind `HFPolicy` (engine "loop"); thread-safe `sample`/`critic`."""

    def __init__(self, model: Any, eos_ids: set[int], pad_id: int, lookahead: int = 4, max_rows: int = 64,
                 row_stop: Callable[[], RowStop] | None = None, min_rows: int | None = None,
                 tokens_per_pass: int = TOKENS_PER_PASS):
        if lookahead < 0:
            raise ValueError(f"lookahead: {lookahead} is not >= 0 (0: no drafts)")
        if max_rows < 1:
            raise ValueError(f"max_rows: {max_rows} is not >= 1")
        self.forward = SlottedModel(model)
        self.eos_ids, self.pad_id = set(eos_ids), pad_id
        self.lookahead, self.max_rows, self.row_stop = lookahead, max_rows, row_stop
        if min_rows is None:  # token rows per pass for which this machine's GEMM rounds like any larger batch
            min_rows = gemm_row_invariant_from(self.forward.config.hidden_size, self.forward.dtype, self.forward.device)
        self.forward.min_rows = self.min_rows = min_rows
        self.tokens_per_pass = tokens_per_pass
        self.cache = self.forward.new_cache(slots=max(8, min(max_rows, 16)), length=512)
        self.live: list[_Row] = []
        self.waiting: list[_Call] = []
        self.critics: list[_Critic] = []
        self.steps = 0  # decode passes run (for benchmarks)
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the callers' side (any thread) -------------------------------------------------------
    def submit(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, max_new_tokens: int,
               seed: int) -> Future:
        """A future of [[DecodedRow] * n per prompt] for `n` continuations of each prompt."""
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1, got n={n}, max_new_tokens={max_new_tokens}")
        if any(not prompt for prompt in prompts):
            raise ValueError("every prompt needs at least one token")
        call = _Call([list(p) for p in prompts], n, temperature, top_p, max_new_tokens, seed, Future())
        self._enqueue("waiting", call)
        return call.future

    def sample(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, max_new_tokens: int,
               seed: int) -> list[list[DecodedRow]]:
        return self.submit(prompts, n, temperature, top_p, max_new_tokens, seed).result()

    def critic_logits(self, prompts: list[list[int]]) -> torch.Tensor:
        """Next-token logits (prompts x vocab, fp32) after each prompt, batched with other callers'."""
        if any(not prompt for prompt in prompts):
            raise ValueError("every prompt needs at least one token")
        request = _Critic([list(p) for p in prompts], Future())
        self._enqueue("critics", request)
        return request.future.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _enqueue(self, queue: str, item: Any) -> None:
        """Append to the queue named `queue`, looked up under the lock: the engine thread takes a
        queue's items by emptying it, and a list fetched before the lock could be one it already
        took (a critic request appended there was lost, and its search waited forever)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("engine is closed")
            getattr(self, queue).append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="codeq-engine", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    # -- the engine thread ----------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._lock:
                while not (self.waiting or self.critics or self.live or self._closed):
                    self._lock.wait()
                if self._closed and not (self.waiting or self.critics or self.live):
                    return
                critics = list(self.critics)
                self.critics.clear()  # in place: the list object stays the engine's queue
                admitted = self._take_admissible()
            try:
                with torch.inference_mode():
                    for request in critics:
                        self._run_critic(request)
                    for call in admitted:
                        self._prefill(call)
                    if self.live:
                        self._step()
            except BaseException as exc:  # fail the calls in flight, keep serving later ones
                for call in {id(row.call): row.call for row in self.live}.values():
                    if not call.future.done():
                        call.future.set_exception(exc)
                for call in admitted:
                    if not call.future.done():
                        call.future.set_exception(exc)
                for request in critics:
                    if not request.future.done():
                        request.future.set_exception(exc)
                self.live = []

    def _take_admissible(self) -> list[_Call]:
        """Waiting calls, first come first served, while their rows fit (one always does)."""
        admitted, rows = [], len(self.live)
        while self.waiting:
            need = len(self.waiting[0].prompts) * self.waiting[0].n
            if rows and rows + need > self.max_rows:
                break
            admitted.append(self.waiting.pop(0))
            rows += need
        return admitted

    def _prefill(self, call: _Call) -> None:
        """Each prompt alone (so its logits depend on nothing else), copied to its n slots."""
        first = len(self.live)
        total = len(call.prompts) * call.n
        for p, prompt in enumerate(call.prompts):
            width = max(len(prompt), self.min_rows)  # the prompt whole: M = its length
            slot = first + p * call.n
            self.cache.ensure(first + total, width + call.max_new_tokens + 1 + self.lookahead + self.min_rows)
            ids = torch.tensor([prompt + [self.pad_id] * (width - len(prompt))], device=self.forward.device)
            logits = self.forward(self.cache, slot, ids, torch.zeros(1, dtype=torch.long, device=ids.device),
                                  logits_at=torch.tensor([len(prompt) - 1], device=ids.device))
            index = PromptIndex(prompt)
            rows = []
            for j in range(call.n):
                self.cache.copy_slot(slot, slot + j, len(prompt))
                number = p * call.n + j
                rows.append(_Row(call, number, row_seed(call.seed, number), DraftIndex(index),
                                 self.row_stop() if self.row_stop else None, position=len(prompt)))
            uniforms = torch.tensor([uniform(row.seed, 0, DRAW) for row in rows], dtype=torch.float64)
            first_tokens = sample_rows(logits.expand(call.n, -1), call.temperature, call.top_p, uniforms)
            for row, token in zip(rows, first_tokens.tolist()):
                self._append(row, token)
            call.rows.extend(rows)
        call.open_rows = total
        self.live.extend(call.rows)
        self._retire()

    def _append(self, row: _Row, token: int) -> None:
        row.tokens.append(token)
        row.drafts.append(token)
        if token in self.eos_ids or (row.stop is not None and row.stop.push(token)):
            row.stopped = row.finished = True
        elif len(row.tokens) >= row.call.max_new_tokens:
            row.finished = True

    def pass_width(self, live: int) -> int:
        """Tokens fed per row in a pass with `live` rows: the last token plus drafts while the pass
        is small (a pass is then bound by weight reads and per-op overhead, so drafts are nearly
        free), fewer as rows join (then every fed token costs compute; `tokens_per_pass`), and at
        least enough that every matmul has `min_rows` rows (see slotted.py). What a row samples
        does not depend on it (`streams.verify_rows`).

        >>> engine = LoopEngine.__new__(LoopEngine)
        >>> engine.lookahead, engine.tokens_per_pass, engine.min_rows = 4, 24, 4
        >>> [engine.pass_width(live) for live in (1, 2, 4, 8, 12, 16, 64)]
        [5, 5, 5, 3, 2, 1, 1]
        """
        drafted = 1 + min(self.lookahead, max(0, self.tokens_per_pass // live - 1))
        return max(drafted, -(-self.min_rows // live))

    def _step(self) -> None:
        """One pass over every live row: its last token and drafts, verified per row."""
        rows = self.live
        width = self.pass_width(len(rows))
        drafts = [row.drafts.draft(min(width - 1, row.call.max_new_tokens - len(row.tokens) - 1))
                  for row in rows]
        device = self.forward.device
        ids = torch.tensor([[row.tokens[-1]] + d + [self.pad_id] * (width - 1 - len(d)) for row, d in zip(rows, drafts)],
                           device=device)
        starts = torch.tensor([row.position for row in rows], device=device)
        logits = self.forward(self.cache, 0, ids, starts)
        self.steps += 1
        candidates = torch.tensor([d + [-1] * (width - 1 - len(d)) for d in drafts], dtype=torch.long, device=device)
        accepted, after = self._verify(rows, logits, candidates, width)
        for row, tokens, count, token in zip(rows, drafts, accepted.tolist(), after.tolist()):
            row.position += 1 + count
            for new in tokens[:count] + [token]:
                self._append(row, new)
                if row.finished:
                    break
        self._retire()

    def _verify(self, rows: list[_Row], logits: torch.Tensor, candidates: torch.Tensor, width: int):
        """Per sampling setting (calls may differ), drafts checked against the rows' own samples."""
        accepted = torch.zeros(len(rows), dtype=torch.long)
        after = torch.zeros(len(rows), dtype=torch.long)
        groups: dict[tuple[float, float], list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault((row.call.temperature, row.call.top_p), []).append(i)
        for (temperature, top_p), members in groups.items():
            index = torch.tensor(members)
            if temperature > 0:
                draws = torch.tensor([[uniform(rows[i].seed, len(rows[i].tokens) + j, DRAW) for j in range(width)]
                                      for i in members], dtype=torch.float64)
            else:
                draws = torch.zeros(len(members), width, dtype=torch.float64)
            a, t = verify_rows(logits[index], candidates[index], temperature, top_p, draws)
            accepted[index], after[index] = a.cpu(), t.cpu()
        return accepted, after

    def _retire(self) -> None:
        """Finished rows leave; the last live row moves into each freed slot; done calls resolve."""
        slot = 0
        while slot < len(self.live):
            row = self.live[slot]
            if not row.finished:
                slot += 1
                continue
            last = self.live.pop()
            if last is not row:
                self.cache.copy_slot(len(self.live), slot, last.position)
                self.live[slot] = last
            row.call.open_rows -= 1
            if row.call.open_rows == 0 and not row.call.future.done():
                out = [DecodedRow(r.tokens, r.stopped) for r in sorted(row.call.rows, key=lambda r: r.index)]
                row.call.future.set_result([out[i:i + row.call.n] for i in range(0, len(out), row.call.n)])

    def _run_critic(self, request: _Critic) -> None:
        """Right-padded prompts in passes of at most `max_rows`, scratch slots after the live rows:
        a row's logits do not depend on the padding after it (causal) or its neighbours."""
        out = []
        first = len(self.live)
        for start in range(0, len(request.prompts), self.max_rows):
            prompts = request.prompts[start:start + self.max_rows]
            width = max(max(len(p) for p in prompts), self.min_rows)
            self.cache.ensure(first + len(prompts), width)
            ids = torch.tensor([p + [self.pad_id] * (width - len(p)) for p in prompts], device=self.forward.device)
            last = torch.tensor([len(p) - 1 for p in prompts], device=ids.device)
            out.append(self.forward(self.cache, first, ids, torch.zeros_like(last), logits_at=last))
        request.future.set_result(torch.cat(out).cpu())
