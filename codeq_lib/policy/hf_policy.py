"""A policy on a local transformers causal LM: batched seeded sampling, exact token
counting and the yes/no critic.

One expansion = ONE call: the prompt is tokenised once and its K rewrites decode together.
With the default decoder "loop" the call goes to the policy's engine (`codeq_lib.engine.loop`),
which batches it with the calls of every other search running in this process (continuous
batching) and gives each row what it would get alone; "call" is the former per-call decode
loop (`decode.py`) and "generate" transformers' generate, kept as benchmark references.
Tokens are counted from token ids, not re-tokenised text: prompt tokens without padding, a
completion's tokens up to and including its first EOS. Thread-safe: many searches share one
policy (`study.scheduler`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from codeq_lib.policy.types import Generation, PolicyStats

# Variants of the answer word that SmolLM2 / Qwen tokenisers keep as one token; the critic
# reads them all (a model may answer "Yes" at the start of its turn or " yes" mid-line).
YES_WORDS = ("yes", " yes", "Yes", " Yes", "YES")
NO_WORDS = ("no", " no", "No", " No", "NO")
LOOKAHEAD = 4  # draft length with the best measured wall time per call (bench/decode.py)
# drafts per row once rows of a call have finished (decode.draft_limit); = LOOKAHEAD: no widening.
# Measured (14 repair prompts x 3 rounds, K = 4, one thread): widening to 8 or 12 gave 81.0 and
# 78.4 tok/s against 83.3 fixed: a lone row's longer drafts are mostly rejected
LOOKAHEAD_MAX = LOOKAHEAD


DECODERS = ("loop", "call", "generate")


class CodeEndStop:
    """The engine's per-row stop rule (stopping.py): the row's text is decoded piece by piece,
    at tokens holding a newline or backtick (the only ones after which a program can end), and
    `ProgramEndTracker` resumes where it stopped: no step re-reads the whole row."""

    def __init__(self, policy: "HFPolicy"):
        from codeq_lib.policy.stopping import ProgramEndTracker

        self.policy = policy
        self.pending: list[int] = []
        self.tracker = ProgramEndTracker()

    def push(self, token: int) -> bool:
        self.pending.append(token)
        if not self.policy._may_end_program(token):
            return False
        piece = self.policy.tokenizer.decode(self.pending, skip_special_tokens=True)
        if "\ufffd" in piece:  # a character split across tokens: wait for the rest of it
            return False
        self.pending = []
        return self.tracker.extend(piece)


def single_token_ids(tokenizer, words: Sequence[str]) -> list[int]:
    """Ids of the words that encode to exactly one token (others cannot be read off one
    next-token distribution)."""
    ids = []
    for word in words:
        encoded = tokenizer.encode(word, add_special_tokens=False)
        if len(encoded) == 1 and encoded[0] not in ids:
            ids.append(encoded[0])
    return ids


def completion_length(token_ids: Sequence[int], eos_ids: set[int]) -> tuple[int, bool]:
    """(number of real generated tokens, stopped at EOS). Everything after the first EOS
    is padding added by generate for sequences that finished early.

    >>> completion_length([5, 6, 2, 2, 2], {2})
    (3, True)
    >>> completion_length([5, 6, 7], {2})
    (3, False)
    """
    for index, token in enumerate(token_ids):
        if token in eos_ids:
            return index + 1, True
    return len(token_ids), False


def sampling_kwargs(temperature: float, top_p: float) -> dict[str, Any]:
    """Nucleus sampling at `temperature`, greedy at 0. top_k=0 so that top-p alone decides
    (generate would otherwise add its default top_k=50 cut).

    >>> sampling_kwargs(0.0, 0.95)
    {'do_sample': False}
    """
    if temperature <= 0:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}


# Every logits processor `generate` would otherwise take from the model's generation_config
# (Qwen2.5-Coder ships repetition_penalty 1.1, top_k 20, top_p 0.8, temperature 0.7): set to
# its neutral value, so the generate decoder samples the distribution the engine samples.
NEUTRAL_GENERATION = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "typical_p": 1.0,
                      "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "repetition_penalty": 1.0,
                      "encoder_repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "length_penalty": 1.0,
                      "bad_words_ids": None, "suppress_tokens": None, "begin_suppress_tokens": None,
                      "min_new_tokens": 0, "min_length": 0, "forced_bos_token_id": None,
                      "forced_eos_token_id": None, "exponential_decay_length_penalty": None}


def generate_kwargs(temperature: float, top_p: float) -> dict[str, Any]:
    """`sampling_kwargs` over the neutral processors: nothing of the model's own
    generation_config but its token ids reaches `generate`.

    >>> kwargs = generate_kwargs(0.8, 0.95)
    >>> kwargs["repetition_penalty"], kwargs["top_k"], kwargs["top_p"], kwargs["temperature"]
    (1.0, 0, 0.95, 0.8)
    """
    return {**NEUTRAL_GENERATION, **sampling_kwargs(temperature, top_p)}


def p_yes(logits_row, yes_ids: Sequence[int], no_ids: Sequence[int], temperature: float = 1.0) -> float:
    """P(yes) = softmax over the yes/no answer-token logits only, summed over the yes
    variants (the "verbalised judgement" read from token probabilities, as in CodeQ's
    self-critique and P(True) of Kadavath et al. 2022)."""
    import torch

    chosen = torch.tensor(list(yes_ids) + list(no_ids), device=logits_row.device)
    probs = torch.softmax(logits_row.float()[chosen] / temperature, dim=-1)
    return float(probs[: len(yes_ids)].sum().clamp(0.0, 1.0))


@dataclass
class HFPolicy:
    """A transformers model + tokenizer behind the policy interface (docs/interfaces.md)."""

    model: Any
    tokenizer: Any
    policy_id: str
    stats: PolicyStats = field(default_factory=PolicyStats)
    critic_temperature: float = 1.0
    stop_at_code_end: bool = True
    # "loop": the batching engine (engine/loop.py), shared by every search in this process;
    # "call": the former per-call decode loop (decode.py); "generate": transformers' generate
    decoder: str = "loop"
    # rows the engine decodes at once (calls beyond wait for a free slot)
    max_rows: int = 64
    # the loop's prompt-lookup drafts per step (decode.py): a rewrite copies most of the
    # program it fixes; the same distribution, other samples for a seed. 0: one token per step
    lookahead: int = LOOKAHEAD
    # drafts per row as rows finish and the pass has room (decode.draft_limit); = lookahead: fixed
    lookahead_max: int = LOOKAHEAD_MAX
    # the loop calls lean.py's forward (same ops, no per-module machinery) where it applies
    lean: bool = True


    def __post_init__(self) -> None:
        self.tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder: {self.decoder!r} is not one of {list(DECODERS)}")
        self._ends_line_cache: dict[int, bool] = {}
        self._stats_lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self._engine = None

    @property
    def engine(self):
        """The batching engine on this policy's model (started on first use, once: searches in
        many threads make their first call at the same moment, and each must reach the same engine)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._start_engine()
        return self._engine

    def _start_engine(self):
        from codeq_lib.engine.loop import LoopEngine

        return LoopEngine(self.model, self.eos_ids, self.tokenizer.pad_token_id, lookahead=self.lookahead,
                          max_rows=self.max_rows, row_stop=(lambda: CodeEndStop(self)) if self.stop_at_code_end else None)

    def close(self) -> None:
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def eos_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        ids = ids if isinstance(ids, list) else [ids]
        return {i for i in ids + [self.tokenizer.eos_token_id] if i is not None}

    def render(self, messages: list[dict]) -> str:
        """The chat-templated prompt text, ending with the assistant turn header."""
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def encode(self, message_lists: Sequence[list[dict]]):
        texts = [self.render(messages) for messages in message_lists]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return {k: v.to(self.device) for k, v in batch.items()}

    def sample(
        self,
        messages: list[dict],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_new_tokens: int = 256,
        seed: int = 0,
    ) -> list[Generation]:
        """K = `n` completions of one prompt from ONE generate call."""
        return self.sample_batch([messages], n, temperature, top_p, max_new_tokens, seed)[0]

    def sample_batch(
        self,
        message_lists: Sequence[list[dict]],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_new_tokens: int = 256,
        seed: int = 0,
    ) -> list[list[Generation]]:
        """`n` completions for each prompt, all in one left-padded batch (one LLM call).
        `temperature == 0` means greedy decoding. Seeded without touching the caller's
        global RNG state (its own torch.Generator; generate: torch.random.fork_rng)."""
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1, got n={n}, max_new_tokens={max_new_tokens}")
        if self.decoder == "loop":
            token_lists = self.tokenizer([self.render(m) for m in message_lists], add_special_tokens=False)["input_ids"]
            prompt_lengths = [len(ids) for ids in token_lists]
            rows = self.engine.sample(token_lists, n, temperature, top_p, max_new_tokens, seed)
            results = [[self._generation(row.token_ids, length, row.stopped) for row in group]
                       for group, length in zip(rows, prompt_lengths)]
        else:
            prompts = self.encode(message_lists)
            prompt_lengths = [int(length) for length in prompts["attention_mask"].sum(dim=1).tolist()]  # no padding
            sampler = self._sample_loop if self.decoder == "call" else self._sample_generate
            results = sampler(prompts, prompt_lengths, n, temperature, top_p, max_new_tokens, seed)
        generated = [g for row in results for g in row]
        with self._stats_lock:
            self.stats.calls += 1
            self.stats.sequences += len(generated)
            self.stats.prompt_tokens += int(sum(prompt_lengths))
            self.stats.generated_tokens += sum(g.completion_tokens for g in generated)
        return results

    def _sample_loop(self, prompts, prompt_lengths, n, temperature, top_p, max_new_tokens, seed) -> list[list[Generation]]:
        """The former per-call decode loop (decode.py): the shared prompt is prefilled once."""
        import torch

        from codeq_lib.policy.decode import decode, rows_by_prompt
        from codeq_lib.policy.lean import lean_model
        from codeq_lib.policy.stopping import program_end

        def ended(token_ids: list[int]) -> bool:
            return program_end(self.tokenizer.decode(token_ids, skip_special_tokens=True)) is not None

        with torch.inference_mode():
            rows = decode(lean_model(self.model) if self.lean else self.model, prompts["input_ids"], prompts["attention_mask"], n, max_new_tokens,
                          temperature, top_p, seed, self.eos_ids,
                          stop_text=ended if self.stop_at_code_end else None, stop_hint=self._may_end_program,
                          lookahead=self.lookahead, lookahead_max=max(self.lookahead, self.lookahead_max))
        return [[self._generation(row.token_ids, prompt_tokens, row.stopped) for row in group]
                for group, prompt_tokens in zip(rows_by_prompt(rows, n), prompt_lengths)]

    def _may_end_program(self, token_id: int) -> bool:
        """Whether a token's text holds a backtick or a newline: only then can a code fence
        have closed or a line of test code have been completed (stopping.program_end)."""
        if token_id not in self._ends_line_cache:
            text = self.tokenizer.decode([token_id])
            self._ends_line_cache[token_id] = "`" in text or "\n" in text
        return self._ends_line_cache[token_id]

    def _sample_generate(self, prompts, prompt_lengths, n, temperature, top_p, max_new_tokens, seed) -> list[list[Generation]]:
        """transformers' generate: every prompt copy is prefilled (kept for comparison, bench/generation.py)."""
        import torch

        # The K copies of each prompt, as generate's own `num_return_sequences` expansion
        # does (repeat_interleave), done here so greedy decoding (n copies) works too.
        batch = {k: v.repeat_interleave(n, dim=0) for k, v in prompts.items()}
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(seed)
            output = self.model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                stopping_criteria=self.stopping(batch["input_ids"].shape[1]),
                **generate_kwargs(temperature, top_p),
            )
        generated = output[:, batch["input_ids"].shape[1]:].tolist()
        return [
            [self._generation(token_ids, prompt_tokens) for token_ids in generated[i * n:(i + 1) * n]]
            for i, prompt_tokens in enumerate(prompt_lengths)
        ]

    def stopping(self, prompt_length: int):
        """Per-row stop at the end of the first code block (see stopping.py); off with
        `stop_at_code_end = False` for experiments that want the model's full answer."""
        from transformers import StoppingCriteriaList

        from codeq_lib.policy.stopping import CodeBlockClosed

        return StoppingCriteriaList([CodeBlockClosed(self.tokenizer, prompt_length)] if self.stop_at_code_end else [])

    def _generation(self, token_ids: list[int], prompt_tokens: int, stopped: bool | None = None) -> Generation:
        """One completion: up to its first EOS (`stopped` None: generate's padded row), and
        without the top-level test code after the program (stopping.py), which is cut off
        together with its tokens."""
        if stopped is None:
            length, stopped = completion_length(token_ids, self.eos_ids)
            token_ids = token_ids[:length]
        text = self.tokenizer.decode(token_ids, skip_special_tokens=True)
        if self.stop_at_code_end:
            token_ids, text = self._cut_test_code(token_ids, text)
        return Generation(text, prompt_tokens, len(token_ids), "stop" if stopped else "length")

    def _cut_test_code(self, token_ids: list[int], text: str) -> tuple[list[int], str]:
        """The longest token prefix whose text stops before the program's top-level test code."""
        from codeq_lib.policy.stopping import program_end

        end = program_end(text)
        if end is None or end >= len(text):
            return token_ids, text
        keep = len(token_ids)
        while keep > 0 and len(text) > end:
            keep -= 1
            text = self.tokenizer.decode(token_ids[:keep], skip_special_tokens=True)
        return token_ids[:keep], text

    def critic(self, message_lists: Sequence[list[dict]]) -> list[float]:
        """P("yes") for each judgement prompt, from ONE forward pass over the padded batch.
        Explicit position ids make a left-padded row compute exactly what it would alone."""
        import torch

        if not message_lists:
            return []
        yes_ids = single_token_ids(self.tokenizer, YES_WORDS)
        no_ids = single_token_ids(self.tokenizer, NO_WORDS)
        if not yes_ids or not no_ids:
            raise ValueError(f"{self.policy_id}: tokenizer has no single-token yes/no answer words")
        if self.decoder == "loop":  # batched with other searches' critic calls (same numbers as alone)
            token_lists = self.tokenizer([self.render(m) for m in message_lists], add_special_tokens=False)["input_ids"]
            logits = self.engine.critic_logits(token_lists)
            prompt_tokens = sum(len(ids) for ids in token_lists)
        else:
            batch = self.encode(message_lists)
            position_ids = (batch["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
            with torch.inference_mode():
                logits = self.model(**batch, position_ids=position_ids, use_cache=False, logits_to_keep=1).logits[:, -1, :]
            prompt_tokens = int(batch["attention_mask"].sum())
        with self._stats_lock:
            self.stats.critic_calls += 1
            self.stats.prompt_tokens += prompt_tokens
        return [p_yes(row, yes_ids, no_ids, self.critic_temperature) for row in logits]

    def describe(self) -> dict[str, Any]:
        return {"policy_id": self.policy_id, "stats": asdict(self.stats), "device": str(self.device)}
