"""Batched sampling, token counting and the critic on the tiny random model (real tokenizer)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from codeq_lib.policy import Generation, tiny_random_policy
from codeq_lib.policy.hf_policy import completion_length, p_yes, single_token_ids, YES_WORDS, NO_WORDS

MESSAGES = [{"role": "system", "content": "Fix the bug."}, {"role": "user", "content": "def add(a, b):\n    return a - b"}]
OTHER = [{"role": "user", "content": "Is 2 + 2 = 4? A somewhat longer question, to force padding."}]


@pytest.fixture(scope="module")
def policy():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared 2-core dev machine: 2 OpenMP threads thrash
    yield tiny_random_policy(seed=0)
    torch.set_num_threads(threads)


def test_sample_returns_k_generations_from_one_generate_call(policy):
    before = policy.stats.to_dict()
    gens = policy.sample(MESSAGES, n=4, temperature=0.8, top_p=0.95, max_new_tokens=12, seed=0)
    assert len(gens) == 4 and all(isinstance(g, Generation) for g in gens)
    prompt_len = len(policy.tokenizer(policy.render(MESSAGES), add_special_tokens=False)["input_ids"])
    assert all(g.prompt_tokens == prompt_len for g in gens)
    assert all(1 <= g.completion_tokens <= 12 for g in gens)
    assert all(g.finish_reason in ("stop", "length") for g in gens)
    after = policy.stats
    assert after.calls - before["calls"] == 1
    assert after.sequences - before["sequences"] == 4
    assert after.prompt_tokens - before["prompt_tokens"] == prompt_len  # the shared prompt counts once
    assert after.generated_tokens - before["generated_tokens"] == sum(g.completion_tokens for g in gens)
    assert after["calls"] == after.calls  # mapping access too


def test_sampling_is_seeded_and_leaves_global_rng_alone(policy):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = policy.sample(MESSAGES, n=3, max_new_tokens=10, seed=5)
    assert torch.equal(torch.rand(1), expected_next)
    again = policy.sample(MESSAGES, n=3, max_new_tokens=10, seed=5)
    other = policy.sample(MESSAGES, n=3, max_new_tokens=10, seed=6)
    assert [g.text for g in first] == [g.text for g in again]
    assert [g.text for g in first] != [g.text for g in other]
    assert len({g.text for g in first}) > 1  # K samples differ from one another


def test_greedy_matches_across_batch_and_single(policy):
    single = policy.sample(MESSAGES, n=1, temperature=0.0, max_new_tokens=8)
    batch = policy.sample_batch([OTHER, MESSAGES], n=2, temperature=0.0, max_new_tokens=8)
    assert len(batch) == 2 and [len(row) for row in batch] == [2, 2]
    assert batch[1][0].text == batch[1][1].text == single[0].text
    assert batch[1][0].prompt_tokens == single[0].prompt_tokens  # left padding not counted
    assert batch[0][0].prompt_tokens > batch[1][0].prompt_tokens


def test_completion_length_counts_up_to_the_first_eos():
    assert completion_length([7, 8, 2, 2, 2], {2}) == (3, True)
    assert completion_length([2, 2], {2}) == (1, True)
    assert completion_length([7, 8, 9], {2}) == (3, False)
    assert completion_length([7, 5, 9], {5, 9}) == (2, True)


def test_p_yes_is_the_softmax_over_answer_tokens():
    logits = torch.full((10,), -50.0)
    logits[[1, 2, 3]] = torch.tensor([0.0, 0.0, torch.log(torch.tensor(2.0))])
    assert p_yes(logits, [1, 2], [3]) == pytest.approx(0.5)
    logits[3] = 100.0
    assert p_yes(logits, [1, 2], [3]) == pytest.approx(0.0, abs=1e-12)


def test_answer_words_are_single_tokens_for_smollm2(policy):
    assert len(single_token_ids(policy.tokenizer, YES_WORDS)) >= 3
    assert len(single_token_ids(policy.tokenizer, NO_WORDS)) >= 3


def test_critic_batch_equals_per_item_and_is_a_probability(policy):
    prompts = [MESSAGES, OTHER, [{"role": "user", "content": "x"}]]
    calls = policy.stats.critic_calls
    batched = policy.critic(prompts)
    assert policy.stats.critic_calls == calls + 1
    singles = [policy.critic([p])[0] for p in prompts]
    assert len(batched) == 3
    assert all(0.0 <= s <= 1.0 for s in batched)
    assert batched == pytest.approx(singles, abs=1e-5)
    assert policy.critic([]) == []
