"""The batching engine (codeq_lib.engine): per-row random streams, incremental drafts and stop
rule, the slotted forward pass, and results that do not depend on what else is decoding."""

from __future__ import annotations

import doctest
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from codeq_lib.engine import drafts, loop, slotted, streams
from codeq_lib.engine.drafts import DraftIndex, PromptIndex
from codeq_lib.engine.streams import inverse_cdf, nucleus_rows, row_seed, sample_rows, uniform, verify_rows
from codeq_lib.policy.decode import nucleus, prompt_lookup
from codeq_lib.policy.stopping import ProgramEndTracker, program_end


def test_doctests_of_the_engine():
    for module in (drafts, loop, slotted, streams):
        assert doctest.testmod(module).failed == 0


def test_row_streams_are_uniform_and_distinct():
    draws = [uniform(row_seed(11, row), index, streams.DRAW) for row in range(20) for index in range(500)]
    assert 0.0 <= min(draws) and max(draws) < 1.0
    assert abs(sum(draws) / len(draws) - 0.5) < 0.01  # 10,000 draws: sd of the mean ~0.003
    assert len(set(draws)) == len(draws)
    assert row_seed(11, 0) != row_seed(11, 1) != row_seed(12, 0)


@pytest.mark.parametrize("top_p", [0.5, 0.9, 1.0])
def test_nucleus_rows_keeps_what_the_batched_nucleus_keeps(top_p):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3000, generator=generator) * torch.tensor([0.1, 1, 3, 10, 0.5, 2])[:, None]
    ids, probs = nucleus_rows(logits, 0.8, top_p)
    for row in range(6):
        ref_ids, ref_probs = nucleus(logits[row:row + 1], 0.8, top_p)
        kept = {int(i): float(p) for i, p in zip(ids[row], probs[row]) if p > 0}
        ref = {int(i): float(p) for i, p in zip(ref_ids[0], ref_probs[0]) if p > 0}
        assert kept.keys() == ref.keys()
        assert all(abs(kept[i] - ref[i]) < 1e-5 for i in kept)  # softmax vs exp(x - logsumexp): float32 rounding


def test_a_row_samples_the_same_alone_and_among_others():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 5000, generator=generator) * 3
    logits[3] *= 0.01  # a flat row needs a much wider window than its neighbours
    u = torch.rand(8, generator=generator, dtype=torch.float64)
    together = sample_rows(logits, 0.8, 0.95, u)
    alone = torch.cat([sample_rows(logits[i:i + 1], 0.8, 0.95, u[i:i + 1]) for i in range(8)])
    assert torch.equal(together, alone)


def test_inverse_cdf_follows_the_distribution():
    probs = torch.tensor([[0.5, 0.3, 0.2, 0.0]])
    draws = torch.tensor([uniform(row_seed(3, 0), i, streams.DRAW) for i in range(20000)], dtype=torch.float64)
    picks = inverse_cdf(probs.expand(len(draws), -1), draws)
    counts = torch.bincount(picks, minlength=4).double() / len(draws)
    assert counts[3] == 0
    assert torch.allclose(counts[:3], torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), atol=0.015)


def test_verified_drafts_give_the_tokens_of_one_token_per_pass():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(5, 4, 50, generator=generator) * 2
    u = torch.rand(5, 4, generator=generator, dtype=torch.float64)
    targets = sample_rows(logits.flatten(0, 1), 0.8, 0.95, u.flatten()).view(5, 4)
    drafts_ = targets[:, :3].clone()
    drafts_[1, 1] = (drafts_[1, 1] + 1) % 50  # row 1: second draft wrong
    drafts_[2, 0] = -1  # row 2: no drafts
    accepted, after = verify_rows(logits, drafts_, 0.8, 0.95, u)
    assert accepted.tolist() == [3, 1, 0, 3, 3]
    assert after.tolist() == [targets[0, 3], targets[1, 1], targets[2, 0], targets[3, 3], targets[4, 3]]


def test_draft_index_is_prompt_lookup():
    rng = random.Random(0)
    for _ in range(1500):
        vocab = rng.randint(2, 6)
        prompt = [rng.randrange(vocab) for _ in range(rng.randint(1, 25))]
        row, context = DraftIndex(PromptIndex(prompt)), list(prompt)
        for _ in range(rng.randint(0, 25)):
            limit = rng.randint(1, 5)
            assert row.draft(limit) == prompt_lookup(context, limit)[:limit], (prompt, context, limit)
            token = rng.randrange(vocab)
            row.append(token)
            context.append(token)


COMPLETIONS = [
    "Here:\n```python\ndef f(x):\n    return x\n\nprint(f(2))\nmore\n",
    "```python\ndef f():\n    s = '''\nprint(1)\n'''\n    return s\nassert f()\n",
    "```python\nimport os\nMOD = 7\ndef g(a):\n    return a\n```\nexplain",
    "no code here\nprint(1)\n",
    "```py\nx = 1\nprint(x)\ndef h(): pass\nh()\n",
]


@pytest.mark.parametrize("text", COMPLETIONS)
def test_program_end_tracker_agrees_with_program_end_at_every_cut(text):
    rng = random.Random(len(text))
    for _ in range(30):
        tracker, start = ProgramEndTracker(), 0
        while start < len(text):
            end = min(len(text), start + rng.randint(1, 7))
            assert tracker.extend(text[start:end]) == (program_end(text[:end]) is not None), text[:end]
            start = end
            if program_end(text[:end]) is not None:
                break


def test_gemm_probe_finds_a_floor():
    floor = slotted.gemm_row_invariant_from(64, torch.float32)
    assert 1 <= floor <= 64


@pytest.fixture(scope="module")
def tiny():
    from codeq_lib.policy import tiny_random_policy

    torch.set_num_threads(1)
    policy = tiny_random_policy()
    yield policy
    policy.close()


def test_slotted_forward_computes_the_models_logits(tiny):
    model = slotted.SlottedModel(tiny.model)
    ids = torch.tensor([[5, 17, 300, 42, 9, 77, 1000, 3]])
    with torch.inference_mode():
        reference = tiny.model(input_ids=ids).logits[0].float()
        cache = model.new_cache(slots=2, length=64)
        prefill = model(cache, 0, ids[:, :5], torch.tensor([0]))
        # then three tokens in one pass, continuing from position 5 in the same slot
        rest = model(cache, 0, ids[:, 5:], torch.tensor([5]))
    torch.testing.assert_close(torch.cat([prefill[0], rest[0]]), reference, atol=1e-4, rtol=1e-4)


def test_a_rows_logits_do_not_depend_on_its_batch(tiny):
    model = slotted.SlottedModel(tiny.model)
    model.min_rows = slotted.gemm_row_invariant_from(tiny.model.config.hidden_size, torch.float32)
    generator = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, 1000, (n,), generator=generator) for n in (40, 7, 300, 90)]
    with torch.inference_mode():
        def decode_pass(rows):  # prefill each row alone, then one 2-token pass over all of them
            cache = model.new_cache(slots=len(rows), length=512)
            for slot, index in enumerate(rows):
                model(cache, slot, prompts[index][None], torch.tensor([0]))
            ids = torch.tensor([[7, 8]] * len(rows))
            starts = torch.tensor([len(prompts[i]) for i in rows])
            return model(cache, 0, ids, starts)
        together = decode_pass([0, 1, 2, 3])
        for position, index in enumerate([0, 1, 2, 3]):
            assert torch.equal(decode_pass([index, (index + 1) % 4])[0], together[position])


def _sample_all(policy, concurrency, prompts, temperature=0.8, top_p=1.0):
    def one(i):
        out = policy.sample(prompts[i], n=3, temperature=temperature, top_p=top_p, max_new_tokens=24, seed=50 + i)
        return [(g.text, g.completion_tokens, g.finish_reason) for g in out]
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(len(prompts))))


PROMPTS = [[{"role": "user", "content": f"Fix:\n```python\ndef f(x):\n    return x + {i}\n```\n" * (1 + i % 3)}]
           for i in range(8)]


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_engine_samples_do_not_depend_on_concurrency_or_drafting(tiny, temperature):
    alone = _sample_all(tiny, 1, PROMPTS, temperature)
    assert _sample_all(tiny, 8, PROMPTS, temperature) == alone
    tiny.close()
    tiny.lookahead = 0  # one token per pass
    try:
        assert _sample_all(tiny, 8, PROMPTS, temperature) == alone
    finally:
        tiny.close()
        tiny.lookahead = 4


def test_engine_greedy_equals_generate(tiny):
    ids = tiny.tokenizer([tiny.render(PROMPTS[0])], add_special_tokens=False)["input_ids"]
    (rows,) = tiny.engine.sample(ids, 1, 0.0, 1.0, 16, seed=0)
    with torch.inference_mode():
        out = tiny.model.generate(torch.tensor(ids), max_new_tokens=16, do_sample=False,
                                  pad_token_id=tiny.tokenizer.pad_token_id)
    assert rows[0].token_ids == out[0, len(ids[0]):].tolist()[:len(rows[0].token_ids)]


def test_engine_critic_batches_across_calls_without_changing_scores(tiny):
    alone = [tiny.critic([messages])[0] for messages in PROMPTS[:5]]
    with ThreadPoolExecutor(5) as pool:
        together = list(pool.map(lambda m: tiny.critic([m])[0], PROMPTS[:5]))
    assert together == alone == tiny.critic(PROMPTS[:5])


def test_engine_counts_and_errors(tiny):
    before = tiny.stats.calls
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: tiny.sample(PROMPTS[i], n=2, max_new_tokens=4, seed=i), range(4)))
    assert tiny.stats.calls == before + 4
    with pytest.raises(ValueError, match="n and max_new_tokens"):
        tiny.engine.submit([[1, 2]], 0, 0.8, 0.95, 4, 0)
    with pytest.raises(ValueError, match="at least one token"):
        tiny.engine.submit([[]], 1, 0.8, 0.95, 4, 0)


def test_a_request_queued_while_the_engine_takes_the_queue_is_served(tiny):
    """The engine takes pending critic requests by emptying their queue. A request whose caller
    had fetched the queue just before (it then waited for the lock) used to land in the list the
    engine had already taken: lost, and its search waited forever (seen as a hung ablation run).
    Here a caller is held at the lock while another request is served; its own must be too."""
    import threading

    from codeq_lib.policy.models import tiny_random_policy

    engine = tiny_random_policy().engine
    held = threading.Event()

    class LateLock(type(engine._lock)):
        def __enter__(self):
            if threading.current_thread().name == "late" and not held.is_set():
                held.set()
                threading.Event().wait(0.5)  # the other request is queued and taken meanwhile
            return super().__enter__()

    engine._lock = LateLock(threading.Lock())
    result = {}
    late = threading.Thread(target=lambda: result.setdefault("late", engine.critic_logits([[5, 6, 7]])),
                            name="late", daemon=True)
    late.start()
    held.wait(5)
    assert engine.critic_logits([[1, 2, 3, 4]]).shape[0] == 1
    late.join(30)
    try:
        assert not late.is_alive(), "the request queued during the take was never served"
        assert result["late"].shape[0] == 1
    finally:
        engine.close()
