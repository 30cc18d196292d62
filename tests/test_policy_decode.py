"""codeq's decode loop (policy/decode.py) against transformers: the same nucleus as
TopPLogitsWarper, and the same greedy continuations as `generate`, padded batches included."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from codeq_lib.policy import tiny_random_policy
from codeq_lib.policy.decode import FIRST_TOP_K, nucleus, sample_next

MESSAGES = [{"role": "system", "content": "Fix the bug."}, {"role": "user", "content": "def add(a, b):\n    return a - b"}]
OTHER = [{"role": "user", "content": "Is 2 + 2 = 4? A somewhat longer question, to force padding."}]


def reference_nucleus(logits, temperature, top_p):
    """transformers' warpers, then softmax: the distribution generate samples from."""
    scores = TopPLogitsWarper(top_p)(None, TemperatureLogitsWarper(temperature)(None, logits.clone()))
    return torch.softmax(scores, dim=-1)


def dense(indices, probs, vocab):
    out = torch.zeros(indices.shape[0], vocab)
    out.scatter_(1, indices, probs)
    return out / out.sum(dim=-1, keepdim=True)


@pytest.mark.parametrize("spread", [0.5, 3.0, 12.0])  # 0.5: flat, the top-256 window must widen
@pytest.mark.parametrize("top_p", [0.1, 0.9, 0.95, 1.0])
def test_nucleus_is_transformers_top_p(spread, top_p):
    generator = torch.Generator().manual_seed(int(spread * 10 + top_p * 100))
    logits = torch.randn(5, 3000, generator=generator) * spread
    indices, probs = nucleus(logits, 0.8, top_p)
    expected = reference_nucleus(logits, 0.8, top_p)
    assert torch.allclose(dense(indices, probs, 3000), expected, atol=1e-5)
    assert torch.equal(dense(indices, probs, 3000) > 1e-20, expected > 1e-20)  # same support (not counting underflow)


def test_flat_distribution_widens_past_the_first_window():
    logits = torch.zeros(2, 5000)
    indices, probs = nucleus(logits, 1.0, 0.95)
    assert indices.shape[1] > FIRST_TOP_K
    assert int((probs[0] > 0).sum()) == 4750  # 0.95 of 5000 equal tokens


def test_samples_follow_the_nucleus_distribution():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0]])
    generator = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_next(logits, 1.0, 0.9, generator) for _ in range(4000)]).flatten()
    counts = torch.bincount(draws, minlength=5).float() / 4000
    assert torch.allclose(counts, reference_nucleus(logits, 1.0, 0.9)[0], atol=0.03)
    assert sample_next(logits, 0.0, 0.9, generator).item() == 0  # temperature 0: greedy


@pytest.fixture(scope="module")
def policies():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    loop, generate = tiny_random_policy(seed=0), tiny_random_policy(seed=0)
    generate.decoder = "generate"
    for policy in (loop, generate):
        policy.stop_at_code_end = False
    yield loop, generate
    torch.set_num_threads(threads)


def test_greedy_loop_matches_generate_on_a_padded_batch(policies):
    loop, generate = policies
    mine = loop.sample_batch([OTHER, MESSAGES], n=2, temperature=0.0, max_new_tokens=16)
    theirs = generate.sample_batch([OTHER, MESSAGES], n=2, temperature=0.0, max_new_tokens=16)
    assert [[g.text for g in row] for row in mine] == [[g.text for g in row] for row in theirs]
    assert [[g.prompt_tokens for g in row] for row in mine] == [[g.prompt_tokens for g in row] for row in theirs]
    assert loop.stats.generated_tokens == sum(g.completion_tokens for row in mine for g in row)


def test_rows_stop_on_their_own_at_a_closed_code_block(policies):
    loop, _ = policies
    from codeq_lib.policy.decode import decode

    batch = loop.encode([MESSAGES])
    eos = loop.eos_ids
    stops_at_five = lambda ids: len(ids) >= 5  # noqa: E731 - a stop condition that fires on row length
    rows = decode(loop.model, batch["input_ids"], batch["attention_mask"], 3, 12, 1.0, 1.0, 0, eos,
                  stop_text=stops_at_five)
    assert all(len(r.token_ids) <= 5 for r in rows)
    assert all(r.stopped for r in rows if len(r.token_ids) == 5 or r.token_ids[-1:] and r.token_ids[-1] in eos)
