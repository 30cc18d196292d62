"""Per-row random streams and the samplers that read them: what makes a call's samples
independent of which other calls share its batch.

The former loop drew every row's randomness from one `torch.Generator` per call, so a row's
samples depended on the other rows of its batch (`torch.rand` over the live rows). With many
calls in one continuously batched engine that would tie a task's answer to the timing of the
other searches. Here every draw is a pure function of (row seed, token index, purpose):
a counter-based generator (SplitMix64, Steele et al. 2014, "Fast splittable pseudorandom
number generators"), so the token at index t of a row is decided by the same uniform numbers
whatever else is decoding, however the rows were batched, and after any retry.

Sampling by inverse CDF over the nucleus is exact (the token whose cumulative mass first
exceeds u * mass). Drafted tokens are checked against those samples (`verify_rows`): a draft
is kept iff it is the token the row's uniform picks there, which keeps the model's
distribution and makes the output independent of drafting altogether.
"""

from __future__ import annotations

import torch

from codeq_lib.policy.decode import FIRST_TOP_K, nucleus_keep

MASK64 = (1 << 64) - 1
DRAW = 1  # the purpose of a token index's uniform (one draw decides each token)


def splitmix64(value: int) -> int:
    """One SplitMix64 output for `value` (a bijective 64-bit mixer).

    >>> splitmix64(0)
    16294208416658607535
    >>> splitmix64(1) != splitmix64(2)
    True
    """
    z = (value + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def row_seed(call_seed: int, row: int) -> int:
    """The stream of row `row` of a call seeded `call_seed` (rows ordered prompt by prompt)."""
    return splitmix64(splitmix64(call_seed & MASK64) ^ row)


def uniform(seed: int, index: int, purpose: int) -> float:
    """The uniform in [0, 1) of a row stream at token index `index` for `purpose`.

    >>> 0.0 <= uniform(row_seed(7, 0), 3, DRAW) < 1.0
    True
    >>> uniform(row_seed(7, 0), 3, DRAW) == uniform(row_seed(7, 0), 3, DRAW)
    True
    """
    return (splitmix64(seed ^ splitmix64(2 * index + purpose)) >> 11) * (1.0 / (1 << 53))


def nucleus_rows(logits: torch.Tensor, temperature: float, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`policy.decode.nucleus`, with each row's top-k window decided by that row alone.

    The batched version widened the window for all rows when one row needed it, so a row's
    tie order could depend on its neighbours. Here a row gets the first window of the series
    256, 2048, 16384, ... that holds `top_p` of its mass; rows of one window size are computed
    together (top-k works row by row). Rows are padded with zero mass to the widest window."""
    scaled = logits.float() / temperature
    rows, vocab = scaled.shape
    if top_p >= 1.0:  # the whole vocabulary, in its own order: inverse CDF needs no sorting
        return torch.arange(vocab, device=scaled.device).expand(rows, -1), torch.softmax(scaled, dim=-1)
    log_norm = torch.logsumexp(scaled, dim=-1, keepdim=True)
    k = min(FIRST_TOP_K, vocab)
    todo = torch.arange(rows, device=scaled.device)
    found: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    while True:
        values, indices = scaled[todo].topk(k, dim=-1)
        probs = torch.exp(values - log_norm[todo])
        done = probs.sum(dim=-1) >= top_p if k < vocab else torch.ones(len(todo), dtype=torch.bool, device=todo.device)
        found.append((todo[done], indices[done], probs[done]))
        todo = todo[~done]
        if len(todo) == 0:
            break
        k = min(vocab, k * 8)
    if len(found) == 1:
        _, indices, probs = found[0]
    else:
        indices = scaled.new_zeros((rows, k), dtype=torch.long)
        probs = scaled.new_zeros((rows, k))
        for members, ids, p in found:
            indices[members, :ids.shape[1]], probs[members, :p.shape[1]] = ids, p
    return indices, probs * nucleus_keep(probs, top_p)


def inverse_cdf(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Per row, the index of the first entry whose cumulative mass exceeds u * (row mass).

    >>> inverse_cdf(torch.tensor([[0.5, 0.25, 0.25, 0.0]]), torch.tensor([0.6])).tolist()
    [1]
    >>> inverse_cdf(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([0.999999])).tolist()
    [1]
    """
    cdf = probs.cumsum(dim=-1)
    target = uniforms.to(cdf.dtype)[:, None] * cdf[:, -1:]
    choice = (cdf <= target).sum(dim=-1)
    last = (probs > 0).sum(dim=-1) - 1  # float rounding at u -> 1 never picks a zero-mass tail entry
    return torch.minimum(choice, last.clamp(min=0))


def sample_rows(logits: torch.Tensor, temperature: float, top_p: float, uniforms: torch.Tensor) -> torch.Tensor:
    """One token id per row of `logits`: greedy at temperature 0, else the nucleus draw at `uniforms`."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    indices, probs = nucleus_rows(logits, temperature, top_p)
    return indices.gather(-1, inverse_cdf(probs, uniforms)[:, None]).squeeze(-1)


def verify_rows(logits: torch.Tensor, drafts: torch.Tensor, temperature: float, top_p: float,
                uniforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Speculative decoding by matching the row's own samples: (drafts accepted, the token after
    them) per row. `logits` (rows x width x vocab) are at the row's last token and its drafts,
    `drafts` (rows x width-1, -1 where none), `uniforms` (rows x width) the row stream's draws
    for the token indices being decided. The token at every position is the one its uniform
    picks from the model's distribution there (`sample_rows`), and a draft is accepted while it
    equals that token, so each accepted draft is kept with probability p(draft), as in
    Leviathan et al. (2023) with a deterministic draft, and the tokens are exactly those of
    decoding one token per pass from the same stream: how many drafts a row had, or how wide
    its pass was, never changes what it samples."""
    rows, width, _ = logits.shape
    targets = sample_rows(logits.flatten(0, 1), temperature, top_p, uniforms[:, :width].flatten()).view(rows, width)
    matched = drafts == targets[:, :-1]
    accepted = matched.long().cumprod(dim=1).sum(dim=1)
    return accepted, targets.gather(1, accepted[:, None]).squeeze(1)
