"""Our own sampling loop: the prompt is prefilled ONCE and its KV cache copied K times, then
K rows decode together one token per forward pass, each row stopping on its own.

Why not `model.generate`: on a CPU it spends most of a call outside the model. Measured on
this 2-core EPYC (SmolLM2-135M, bf16, one thread, K = 4, 320-token prompt): generate
prefilled the K identical prompts as 4 x 320 tokens (1.5 s, vs 0.4 s once), and its top-p
warper sorted the whole 49k vocabulary every step (8 ms of a ~55 ms step); this loop's exact
nucleus sampling looks at the top 256 logits first (0.6 ms) and widens only when they hold
less than `top_p` of the mass. `bench/generation.py` compares the two side by side.

The loop is generic over transformers causal LMs with a `DynamicCache` (Llama, Qwen2, ...):
positions come from the attention mask, as generate computes them for left-padded batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

FIRST_TOP_K = 256  # logits looked at before widening: 0.95 of the mass sits in far fewer for a code model


def nucleus_keep(sorted_probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Which of the descending `sorted_probs` the nucleus keeps: transformers' TopPLogitsWarper
    rule (drop the tail whose mass, counted from the bottom, is <= 1 - top_p), written from the
    top: a token stays while the mass strictly above it is < top_p. The first token always stays.

    >>> nucleus_keep(torch.tensor([[0.5, 0.3, 0.15, 0.05]]), 0.8).tolist()
    [[True, True, False, False]]
    >>> nucleus_keep(torch.tensor([[0.5, 0.3, 0.15, 0.05]]), 0.81).tolist()
    [[True, True, True, False]]
    >>> nucleus_keep(torch.tensor([[0.9, 0.1]]), 0.1).tolist()
    [[True, False]]
    """
    mass_above = sorted_probs.cumsum(dim=-1) - sorted_probs
    return mass_above < top_p


def nucleus(logits: torch.Tensor, temperature: float, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(token ids, unnormalised probabilities: 0 outside the nucleus) per row of `logits`
    (rows x vocab), at `temperature`, without a top-k cut. Exact: the top-k window grows until,
    in every row, the tokens outside it are certainly outside the nucleus."""
    scaled = logits.float() / temperature
    log_norm = torch.logsumexp(scaled, dim=-1, keepdim=True)
    vocab = scaled.shape[-1]
    k = min(FIRST_TOP_K, vocab) if top_p < 1.0 else vocab
    while True:
        values, indices = scaled.topk(k, dim=-1)  # sorted, largest first
        probs = torch.exp(values - log_norm)
        # the first token left out has exactly the window's mass above it: it (and all below) is
        # dropped iff that mass already reaches top_p
        if k == vocab or bool((probs.sum(dim=-1) >= top_p).all()):
            break
        k = min(vocab, k * 8)
    return indices, (probs * nucleus_keep(probs, top_p) if top_p < 1.0 else probs)


def sample_next(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """One token id per row of `logits`: greedy at temperature 0, else a draw from `nucleus`."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    indices, probs = nucleus(logits, temperature, top_p)
    choice = torch.multinomial(probs, 1, generator=generator)
    return indices.gather(-1, choice).squeeze(-1)


@dataclass
class DecodedRow:
    token_ids: list[int]
    stopped: bool  # ended at EOS or at a stop condition, not at max_new_tokens


def decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int, max_new_tokens: int,
           temperature: float, top_p: float, seed: int, eos_ids: set[int],
           stop_text: Callable[[list[int]], bool] | None = None,
           stop_hint: Callable[[int], bool] | None = None) -> list[DecodedRow]:
    """`n` continuations of each prompt row (left-padded `input_ids`), rows ordered prompt by
    prompt (as `num_return_sequences`). A row ends at an EOS id (kept as its last token), or
    when `stop_text(its tokens)` says so (checked only after a token for which `stop_hint` is
    true, e.g. one whose text holds a backtick), or after `max_new_tokens`."""
    from transformers import DynamicCache

    generator = torch.Generator(device=input_ids.device).manual_seed(seed)
    padded = bool((attention_mask == 0).any())
    positions = (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)
    cache = DynamicCache()
    out = model(input_ids=input_ids, attention_mask=attention_mask if padded else None,
                position_ids=positions, past_key_values=cache, use_cache=True, logits_to_keep=1)
    cache = out.past_key_values
    if n > 1:
        cache.batch_repeat_interleave(n)
    logits = out.logits[:, -1, :].repeat_interleave(n, dim=0)
    mask = attention_mask.repeat_interleave(n, dim=0)
    next_position = positions[:, -1:].repeat_interleave(n, dim=0) + 1
    rows = [DecodedRow([], False) for _ in range(logits.shape[0])]
    pad_id = next(iter(eos_ids)) if eos_ids else 0
    for step in range(max_new_tokens):
        tokens = sample_next(logits, temperature, top_p, generator)
        for index, token in enumerate(tokens.tolist()):
            row = rows[index]
            if row.stopped:
                continue
            row.token_ids.append(token)
            if token in eos_ids or (stop_text is not None and (stop_hint is None or stop_hint(token))
                                    and stop_text(row.token_ids)):
                row.stopped = True
        if all(row.stopped for row in rows) or step == max_new_tokens - 1:
            break
        # finished rows keep decoding a pad token (their output is already cut), as generate does
        feed = torch.tensor([[pad_id if rows[i].stopped else rows[i].token_ids[-1]] for i in range(len(rows))],
                            device=input_ids.device)
        if padded:
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
        out = model(input_ids=feed, attention_mask=mask if padded else None, position_ids=next_position,
                    past_key_values=cache, use_cache=True)
        next_position = next_position + 1
        logits = out.logits[:, -1, :]
    return rows


def rows_by_prompt(rows: Sequence[DecodedRow], n: int) -> list[list[DecodedRow]]:
    """[[the n rows of prompt 0], [the n rows of prompt 1], ...]."""
    return [list(rows[i:i + n]) for i in range(0, len(rows), n)]
