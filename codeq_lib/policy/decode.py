"""Our own sampling loop: the prompt is prefilled ONCE and its KV cache copied K times, then
K rows decode together one token per forward pass, each row stopping on its own.

Why not `model.generate`: on a CPU it spends most of a call outside the model. Measured on
this 2-core EPYC (SmolLM2-135M, bf16, one thread, K = 4, 320-token prompt): generate
prefilled the K identical prompts as 4 x 320 tokens (1.5 s, vs 0.4 s once), and its top-p
warper sorted the whole 49k vocabulary every step (8 ms of a ~55 ms step); this loop's exact
nucleus sampling looks at the top 256 logits first (0.6 ms) and widens only when they hold
less than `top_p` of the mass. `bench/generation.py` compares the two side by side.

Speculative sampling with prompt-lookup drafts (`lookahead` = d > 0). A rewrite mostly
copies the buggy program in its prompt, and a step of this loop on a CPU is bound by per-op
overhead, not by the tokens it feeds (K = 4, ~350-token cache: ~42 ms for one new token per
row, 59 ms for five, 75 ms for nine). So each row drafts up to d tokens by prompt lookup
(`prompt_lookup`: what followed the last earlier occurrence of its last 3, else 2, else 1
tokens in its prompt and output; Saxena 2023, "Prompt Lookup Decoding"), one forward pass
scores the row's last token and its drafts, and `verify_drafts` keeps a prefix of them by
speculative sampling (Leviathan et al. 2023, Chen et al. 2023) with a deterministic draft:
the samples have exactly the plain loop's distribution, only the random stream differs.
Greedy gives the plain loop's tokens exactly in float32; in bf16 a multi-token pass rounds
logits differently, so an argmax between two logits one bf16 step apart can flip (seen:
22.125 vs 22.0). Measured with bench/decode.py (6 repair prompts x 2 rounds, bf16, one
thread, K = 4, max 192 tokens, two runs): d = 4 gives 82.5-83.0 tok/s vs 59.7-61.0 for the
plain loop (1.36-1.38x), d = 3 76.4-84.4 (1.25-1.41x: the two are within run-to-run noise),
with 0.84 vs 1.38 forward passes per token of a row; a pass over 5 tokens a row costs ~1.4x
a one-token pass and ~35% of drafted tokens are accepted at temperature 0.8. Rows that
finish leave the batch (the plain loop keeps them as padding).

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


def prompt_lookup(context: list[int], limit: int, longest: int = 3) -> list[int]:
    """Draft tokens by prompt lookup: the up to `limit` tokens that followed the most recent
    earlier occurrence of the context's last `longest` tokens, else of its last `longest - 1`,
    ..., else of its last token; [] when even that never occurred before.

    >>> prompt_lookup([5, 6, 7, 8, 9, 1, 6, 7, 2, 6, 7], 2)  # "6 7" last followed by 2
    [2, 6]
    >>> prompt_lookup([5, 6, 7, 8, 9, 1, 6, 7, 2, 5, 6, 7], 2)  # "5 6 7" beats the later "6 7"
    [8, 9]
    >>> prompt_lookup([1, 2, 3], 4)
    []
    """
    for size in range(min(longest, len(context) - 1), 0, -1):
        tail = context[-size:]
        for start in range(len(context) - size - 1, -1, -1):
            if context[start:start + size] == tail:
                return context[start + size:start + size + limit]
    return []


@dataclass
class DecodedRow:
    token_ids: list[int]
    stopped: bool  # ended at EOS or at a stop condition, not at max_new_tokens


def decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int, max_new_tokens: int,
           temperature: float, top_p: float, seed: int, eos_ids: set[int],
           stop_text: Callable[[list[int]], bool] | None = None,
           stop_hint: Callable[[int], bool] | None = None, lookahead: int = 0,
           draft: Callable[[list[int], int], list[int]] = prompt_lookup,
           lookahead_max: int | None = None) -> list[DecodedRow]:
    """`n` continuations of each prompt row (left-padded `input_ids`), rows ordered prompt by
    prompt (as `num_return_sequences`). A row ends at an EOS id (kept as its last token), or
    when `stop_text(its tokens)` says so (checked only after a token for which `stop_hint` is
    true, e.g. one whose text holds a backtick), or after `max_new_tokens`.

    `lookahead` > 0: speculative sampling with up to `lookahead` tokens drafted per row and step
    by `draft(prompt and generated tokens, limit)` (see the module docstring); the same
    distribution, and at temperature 0 the same tokens, but other samples for a seed.
    `lookahead_max` > `lookahead`: as rows finish, the live ones draft longer (`draft_limit`)."""
    if lookahead < 0:
        raise ValueError(f"lookahead: {lookahead} is not >= 0 (0: no drafts)")
    lookahead_max = lookahead if lookahead_max is None else lookahead_max
    if lookahead_max < lookahead:
        raise ValueError(f"lookahead_max: {lookahead_max} is below lookahead {lookahead}")
    generator = torch.Generator(device=input_ids.device).manual_seed(seed)
    padded = bool((attention_mask == 0).any())
    cache, logits, mask, next_position = _prefill(model, input_ids, attention_mask, n, padded)
    if lookahead > 0:
        prompts = [ids[keep.bool()].tolist() for ids, keep in zip(input_ids, attention_mask) for _ in range(n)]
        return _decode_speculative(model, cache, logits, mask, next_position, prompts, max_new_tokens, temperature,
                                   top_p, generator, eos_ids, stop_text, stop_hint, lookahead, draft, lookahead_max)
    rows = [DecodedRow([], False) for _ in range(logits.shape[0])]
    pad_id = next(iter(eos_ids)) if eos_ids else 0
    for step in range(max_new_tokens):
        tokens = sample_next(logits, temperature, top_p, generator)
        for index, token in enumerate(tokens.tolist()):
            if not rows[index].stopped:
                _append(rows[index], token, eos_ids, stop_text, stop_hint)
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


def _prefill(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int, padded: bool):
    """The prompts' KV cache, copied `n` times, and per row: the next-token logits, the 2D
    attention mask and the next position id (positions count real tokens, as for left padding)."""
    from transformers import DynamicCache

    positions = (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)
    out = model(input_ids=input_ids, attention_mask=attention_mask if padded else None,
                position_ids=positions, past_key_values=DynamicCache(), use_cache=True, logits_to_keep=1)
    cache = out.past_key_values
    if n > 1:
        cache.batch_repeat_interleave(n)
    logits = out.logits[:, -1, :].repeat_interleave(n, dim=0)
    return cache, logits, attention_mask.repeat_interleave(n, dim=0), positions[:, -1:].repeat_interleave(n, dim=0) + 1


def _append(row: DecodedRow, token: int, eos_ids: set[int], stop_text, stop_hint) -> None:
    """Add a sampled token to a row and mark the row stopped if it ends there."""
    row.token_ids.append(token)
    if token in eos_ids or (stop_text is not None and (stop_hint is None or stop_hint(token))
                            and stop_text(row.token_ids)):
        row.stopped = True


def verify_drafts(logits: torch.Tensor, drafts: torch.Tensor, temperature: float, top_p: float,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Speculative sampling with deterministic drafts (Leviathan et al. 2023, "Fast Inference
    from Transformers via Speculative Decoding", Alg. 1 with q = one-hot): (number of draft
    tokens accepted, the token sampled after them) per row.

    `logits` (rows x width x vocab) are the model's at the row's last token and at each of its
    `drafts` (rows x width-1, padded with -1). Draft token x at position j is accepted with
    probability p_j(x), p_j the nucleus distribution there; the first rejected one is replaced
    by a draw from p_j without x (renormalised), and a row that keeps all its drafts gets a
    draw from the position after them. Each token is then distributed exactly as p: x comes out
    with p_j(x), any y != x with (1 - p_j(x)) p_j(y) / (1 - p_j(x)) = p_j(y). At temperature 0
    a draft is kept iff it is the argmax, so the tokens are the greedy ones."""
    rows, width, _ = logits.shape
    candidates = torch.cat([drafts, drafts.new_full((rows, 1), -1)], dim=1)  # no draft after the last
    if temperature <= 0:
        best = logits.argmax(dim=-1)
        accepted = (candidates == best).long().cumprod(dim=1).sum(dim=1)
        return accepted, best.gather(1, accepted[:, None]).squeeze(1)
    indices, probs = nucleus(logits.flatten(0, 1), temperature, top_p)
    indices, probs = indices.view(rows, width, -1), probs.view(rows, width, -1)
    probs = probs / probs.sum(dim=-1, keepdim=True)
    is_draft = indices == candidates[..., None]
    p_draft = (probs[:, :-1] * is_draft[:, :-1]).sum(dim=-1)
    keep = torch.rand(p_draft.shape, generator=generator, device=logits.device) < p_draft
    accepted = keep.long().cumprod(dim=1).sum(dim=1)
    at = accepted[:, None, None].expand(-1, 1, indices.shape[-1])
    # the rejected draft's token is removed (at the position after all drafts nothing is)
    residual = (probs.gather(1, at) * ~is_draft.gather(1, at)).squeeze(1)
    choice = torch.multinomial(residual, 1, generator=generator)
    return accepted, indices.gather(1, at).squeeze(1).gather(1, choice).squeeze(1)


def draft_limit(lookahead: int, lookahead_max: int, rows: int, live: int) -> int:
    """Drafts per live row when `live` of a call's `rows` still decode: `lookahead` while all
    do, then about as many tokens per pass in all as the full batch fed, up to `lookahead_max`.
    A pass costs mostly its weight reads (SmolLM2-135M, bf16, one thread: ~32 ms plus ~0.9 ms
    per token fed), so a lone row's extra drafts are nearly free.

    >>> [draft_limit(4, 12, 4, live) for live in (4, 3, 2, 1)]
    [4, 5, 9, 12]
    >>> draft_limit(4, 4, 4, 1)
    4
    """
    return max(lookahead, min(lookahead_max, (lookahead + 1) * rows // live - 1))


def _decode_speculative(model, cache, logits: torch.Tensor, mask: torch.Tensor, next_position: torch.Tensor,
                        prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float,
                        generator: torch.Generator, eos_ids: set[int], stop_text, stop_hint, lookahead: int,
                        draft: Callable[[list[int], int], list[int]], lookahead_max: int) -> list[DecodedRow]:
    """`decode` with drafted tokens verified in one forward pass per step.

    Each step every row's cache grows by the same number of slots (its last token, its drafts,
    padding up to the longest draft); the slots of rejected drafts and padding are masked out
    for good in the 2D attention mask (holes are fine: the model combines it with the causal
    mask), and each row counts its own positions over its valid tokens only. Finished rows
    leave the batch: each of them would cost as much as a live row's drafts."""
    rows = [DecodedRow([], False) for _ in range(logits.shape[0])]
    for row, token in zip(rows, sample_next(logits, temperature, top_p, generator).tolist()):
        _append(row, token, eos_ids, stop_text, stop_hint)
    positions = next_position.squeeze(1).tolist()
    pad_id = next(iter(eos_ids)) if eos_ids else 0
    batch = list(range(len(rows)))  # the rows in the cache, in its order
    while True:
        live = [i for i in batch if not rows[i].stopped and len(rows[i].token_ids) < max_new_tokens]
        if not live:
            return rows
        if len(live) < len(batch):
            kept_rows = torch.tensor([batch.index(i) for i in live], device=mask.device)
            cache.batch_select_indices(kept_rows)
            mask, batch = mask[kept_rows], live
        drafts = []
        width_limit = draft_limit(lookahead, lookahead_max, len(rows), len(batch))
        for i in batch:  # drafts only as long as the row may still grow: its drafts and one more token
            limit = min(width_limit, max_new_tokens - len(rows[i].token_ids) - 1)
            drafts.append(draft(prompts[i] + rows[i].token_ids, limit)[:limit])
        width = 1 + max(len(tokens) for tokens in drafts)
        slots = torch.arange(width, device=mask.device)
        fed = torch.tensor([1 + len(tokens) for tokens in drafts], device=mask.device)[:, None]
        out = model(input_ids=torch.tensor([[rows[i].token_ids[-1]] + tokens + [pad_id] * (width - 1 - len(tokens))
                                            for i, tokens in zip(batch, drafts)], device=mask.device),
                    attention_mask=torch.cat([mask, (slots < fed).to(mask.dtype)], dim=1),
                    position_ids=torch.tensor([positions[i] for i in batch], device=mask.device)[:, None] + slots,
                    past_key_values=cache, use_cache=True)
        candidates = torch.tensor([tokens + [-1] * (width - 1 - len(tokens)) for tokens in drafts],
                                  dtype=torch.long, device=mask.device)
        accepted, after = verify_drafts(out.logits, candidates, temperature, top_p, generator)
        for i, tokens, count, token in zip(batch, drafts, accepted.tolist(), after.tolist()):
            positions[i] += 1 + count
            for new in tokens[:count] + [token]:
                _append(rows[i], new, eos_ids, stop_text, stop_hint)
                if rows[i].stopped:
                    break
        # the fed last token and the accepted drafts stay visible in the cache
        mask = torch.cat([mask, (slots <= accepted[:, None]).to(mask.dtype)], dim=1)


def rows_by_prompt(rows: Sequence[DecodedRow], n: int) -> list[list[DecodedRow]]:
    """[[the n rows of prompt 0], [the n rows of prompt 1], ...]."""
    return [list(rows[i:i + n]) for i in range(0, len(rows), n)]
