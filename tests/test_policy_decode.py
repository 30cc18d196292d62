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


# --- speculative sampling with drafted tokens (decode's `lookahead`) ---------------------------

VOCAB = 16


@pytest.fixture(scope="module")
def small_lm():
    """A random Llama with a 16-token vocabulary and weights wide enough for peaked, varied
    next-token distributions (the tiny SmolLM2 is near uniform and greedily repeats one token),
    and a left-padded batch of two prompts."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, initializer_range=0.5,
                         tie_word_embeddings=False, attn_implementation="eager")
    model = LlamaForCausalLM(config).eval()
    input_ids = torch.tensor([[0, 0, 3, 5, 7, 2, 3], [1, 4, 6, 3, 2, 9, 5]])
    attention_mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    return model, input_ids, attention_mask


def run_decode(small_lm, n, max_new_tokens, temperature, seed=0, eos_ids=frozenset(), **kwargs):
    from codeq_lib.policy.decode import decode

    model, input_ids, attention_mask = small_lm
    with torch.inference_mode():
        return decode(model, input_ids, attention_mask, n, max_new_tokens, temperature, 0.95, seed, set(eos_ids), **kwargs)


def replaying(small_lm, rows, n, corrupt=lambda draft: draft):
    """A drafter that proposes each row's given continuation (`corrupt`ed), found by its context."""
    _, input_ids, attention_mask = small_lm
    prompts = [ids[keep.bool()].tolist() for ids, keep in zip(input_ids, attention_mask)]
    sequences = [prompts[i // n] + row.token_ids for i, row in enumerate(rows)]

    def draft(context, limit):
        sequence = next(s for s in sequences if s[:len(context)] == context)
        return corrupt(sequence[len(context):len(context) + limit])
    return draft


def forward_passes(model):
    calls = []
    handle = model.register_forward_hook(lambda module, args, kwargs_out: calls.append(1))
    return calls, handle


def last_wrong(draft):
    return draft[:-1] + [(draft[-1] + 1) % VOCAB] if draft else draft


def all_wrong(draft):
    return [(token + 1) % VOCAB for token in draft]


@pytest.mark.parametrize("corrupt, passes", [
    (None, 1 + 4),  # all drafts accepted: 19 tokens after the first in steps of 4 drafts + 1
    (last_wrong, 1 + 6),  # 3 drafts accepted, the 4th replaced: 4 tokens a pass (16), then 2 + 1 at the end
    (all_wrong, 1 + 19),  # every draft rejected: one token per pass, as without drafts
    ("prompt lookup", None),
])
def test_greedy_with_drafts_equals_greedy_without(small_lm, corrupt, passes):
    plain = run_decode(small_lm, n=2, max_new_tokens=20, temperature=0.0)
    assert len({tuple(row.token_ids) for row in plain}) > 1 and len(set(plain[0].token_ids)) > 3  # not degenerate
    kwargs = {} if corrupt == "prompt lookup" else {"draft": replaying(small_lm, plain, 2, corrupt or (lambda d: d))}
    calls, handle = forward_passes(small_lm[0])
    try:
        drafted = run_decode(small_lm, n=2, max_new_tokens=20, temperature=0.0, lookahead=4, **kwargs)
    finally:
        handle.remove()
    assert [row.token_ids for row in drafted] == [row.token_ids for row in plain]
    assert passes is None or len(calls) == passes


def test_stops_inside_an_accepted_run_of_drafts(small_lm):
    """EOS and stop_text fire mid-run: the row ends there as without drafts, the accepted
    drafts after the stop are dropped; max_new_tokens is exact at a length no step lands on."""
    plain = run_decode(small_lm, n=2, max_new_tokens=7, temperature=0.0)
    eos = plain[0].token_ids[3]  # ends prompt 0's rows at their 4th token (or earlier)
    stop_token = plain[2].token_ids[5]  # prompt 1's rows: stop_text is asked after it, at 6 tokens or earlier
    at_eos = dict(eos_ids={eos})
    at_eos_or_text = dict(eos_ids={eos}, stop_text=lambda ids: len(ids) >= 5, stop_hint=lambda token: token == stop_token)
    replay = replaying(small_lm, run_decode(small_lm, n=2, max_new_tokens=30, temperature=0.0), 2)
    for stop_rules in (at_eos, at_eos_or_text):
        expected = run_decode(small_lm, n=2, max_new_tokens=7, temperature=0.0, **stop_rules)
        for lookahead in (2, 4, 6):
            drafted = run_decode(small_lm, n=2, max_new_tokens=7, temperature=0.0, lookahead=lookahead, draft=replay,
                                 **stop_rules)
            assert [(row.token_ids, row.stopped) for row in drafted] == [(row.token_ids, row.stopped) for row in expected]
        assert expected[0].stopped and expected[0].token_ids[-1] == eos and len(expected[0].token_ids) <= 4
        if stop_rules is at_eos:
            assert not expected[2].stopped and len(expected[2].token_ids) == 7
        else:
            assert expected[2].stopped and expected[2].token_ids[-1] == stop_token and len(expected[2].token_ids) < 7


def test_drafts_widen_as_rows_finish(small_lm):
    """lookahead_max: once prompt 0's rows end at EOS, prompt 1's rows are asked for longer
    drafts (decode.draft_limit), never beyond lookahead_max, and greedy keeps its tokens."""
    plain = run_decode(small_lm, n=2, max_new_tokens=20, temperature=0.0)
    eos = plain[0].token_ids[1]
    expected = run_decode(small_lm, n=2, max_new_tokens=20, temperature=0.0, eos_ids={eos})
    assert len(expected[0].token_ids) <= 2 and len(expected[2].token_ids) == 20  # prompt 0 ends first
    replay = replaying(small_lm, run_decode(small_lm, n=2, max_new_tokens=30, temperature=0.0), 2)
    limits = []

    def spy(context, limit):
        limits.append(limit)
        return replay(context, limit)

    drafted = run_decode(small_lm, n=2, max_new_tokens=20, temperature=0.0, eos_ids={eos}, lookahead=1,
                         lookahead_max=5, draft=spy)
    assert [row.token_ids for row in drafted] == [row.token_ids for row in expected]
    assert limits[0] == 1 and max(limits) == 3  # 4 rows x 2 tokens a pass -> 2 rows x 4 (3 drafts + 1)
    with pytest.raises(ValueError, match="lookahead_max"):
        run_decode(small_lm, n=2, max_new_tokens=4, temperature=0.0, lookahead=3, lookahead_max=2)


def test_same_seed_same_samples_with_drafts(small_lm):
    first, again, other = (run_decode(small_lm, n=3, max_new_tokens=24, temperature=1.0, seed=seed, lookahead=3)
                           for seed in (5, 5, 6))
    assert [row.token_ids for row in first] == [row.token_ids for row in again]
    assert [row.token_ids for row in first] != [row.token_ids for row in other]


def test_verify_drafts_keeps_the_distribution_at_every_position():
    """Rows with the same logits and the same drafts [x, y]: the first token (x if accepted,
    else the replacement) follows p_0, and after an accepted x the second follows p_1."""
    from codeq_lib.policy.decode import verify_drafts

    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0], [0.0, 1.5, 1.0, 0.2, -2.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    rows = 40000
    accepted, after = verify_drafts(logits.expand(rows, -1, -1), torch.tensor([[1, 1]]).expand(rows, -1), 1.0, 0.9,
                                    torch.Generator().manual_seed(0))
    first = torch.where(accepted >= 1, 1, after)
    second = torch.where(accepted >= 2, 1, after)[accepted >= 1]
    expected = reference_nucleus(logits[:2], 1.0, 0.9)
    assert torch.allclose(torch.bincount(first, minlength=5) / rows, expected[0], atol=0.01)
    assert torch.allclose(torch.bincount(second, minlength=5) / len(second), expected[1], atol=0.015)
    assert 0.1 < float((accepted >= 1).float().mean()) < 0.9  # both acceptance and rejection happened


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, int]:
    """(Pearson's statistic, degrees of freedom) of `counts` against `probs`, the cells with
    fewer than 5 expected counts pooled into one."""
    expected = probs * counts.sum()
    small = expected < 5
    counts = torch.cat([counts[~small], counts[small].sum().view(1)])
    expected = torch.cat([expected[~small], expected[small].sum().view(1)])
    return float(((counts - expected) ** 2 / expected.clamp(min=1e-9)).sum()), int((~small).sum())


def test_drafted_samples_follow_the_model_distribution(small_lm):
    """Temperature 1.5, top-p 0.95, a drafter that always proposes the same token: the first 3
    tokens of 3,000 rows of the left-padded prompt have the exact distribution computed from
    the model's logits (pairs (t1, t2) and (t2, t3) by chi-square at ~5 sigma). Fails when the
    rejected draft token is not removed before resampling (checked by hand: statistic 507
    against a bound of 103)."""
    from codeq_lib.policy.decode import nucleus

    model, input_ids, attention_mask = small_lm
    drafted_token = 2
    rows = run_decode(small_lm, n=3000, max_new_tokens=3, temperature=1.5, lookahead=2,
                      draft=lambda context, limit: [drafted_token] * limit)
    samples = torch.tensor([row.token_ids for row in rows[:3000]])  # prompt 0, the left-padded one
    assert 0.1 < float((samples[:, 1] == drafted_token).float().mean()) < 0.9  # both accepted and rejected

    prompt = input_ids[0][attention_mask[0].bool()]
    pairs = torch.cartesian_prod(torch.arange(VOCAB), torch.arange(VOCAB))  # every (t1, t2)
    sequences = torch.cat([prompt.expand(len(pairs), -1), pairs], dim=1)
    with torch.inference_mode():
        logits = model(input_ids=sequences).logits[:, -3:, :]
    indices, probs = nucleus(logits.reshape(-1, VOCAB), 1.5, 0.95)
    probs = torch.zeros(len(indices), VOCAB).scatter_(1, indices, probs)
    probs = (probs / probs.sum(dim=1, keepdim=True)).view(len(pairs), 3, VOCAB)
    p1, p2, p3 = probs[0, 0], probs[::VOCAB, 1], probs[:, 2]  # p(t1), p(t2 | t1), p(t3 | t1, t2)
    joint = (p1[:, None, None] * p2[:, :, None] * p3.view(VOCAB, VOCAB, VOCAB))  # t1 x t2 x t3
    for observed, exact in (((samples[:, 0], samples[:, 1]), joint.sum(dim=2)), ((samples[:, 1], samples[:, 2]), joint.sum(dim=0))):
        counts = torch.bincount(observed[0] * VOCAB + observed[1], minlength=VOCAB * VOCAB).float()
        statistic, freedom = chi_square(counts, exact.flatten())
        assert statistic < freedom + 5 * (2 * freedom) ** 0.5, (statistic, freedom)


def test_doctests_of_decode():
    import doctest

    import codeq_lib.policy.decode

    failed, attempted = doctest.testmod(codeq_lib.policy.decode)
    assert attempted > 0 and failed == 0
