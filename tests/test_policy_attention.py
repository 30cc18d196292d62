"""The policy's CPU attention (policy/attention.py) computes what transformers' eager attention
does on a grouped-query model, to float rounding: prefill of a left-padded batch, then decode
steps of several tokens with holes in the mask (the speculative loop's shape), fp32 and bf16."""

import pytest
import torch

from codeq_lib.policy import attention


def grouped_llama(dtype, implementation):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=6, num_key_value_heads=2, initializer_range=0.3,
                         tie_word_embeddings=False, attn_implementation=implementation)
    return LlamaForCausalLM(config).to(dtype).eval()


def logits_of_steps(model):
    """Logits of a prefill and of two 3-token steps whose first step leaves a masked-out slot."""
    from transformers import DynamicCache

    input_ids = torch.tensor([[0, 0, 3, 5, 7, 2, 3], [1, 4, 6, 3, 2, 9, 5]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    outputs = []
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                    past_key_values=DynamicCache(), use_cache=True)
        outputs.append(out.logits)
        cache, next_position = out.past_key_values, positions[:, -1:] + 1
        for step_mask in ([1, 1, 0], [1, 1, 1]):
            step = torch.tensor([step_mask, step_mask])
            mask = torch.cat([mask, step], dim=1)
            out = model(input_ids=torch.tensor([[8, 9, 10], [11, 12, 13]]), attention_mask=mask,
                        position_ids=next_position + torch.arange(3), past_key_values=cache, use_cache=True)
            outputs.append(out.logits)
            next_position = next_position + int(sum(step_mask))
    return outputs


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_grouped_attention_matches_eager(dtype):
    """Equal up to the order of float sums (the matmuls have other shapes): ~5e-6 here in fp32."""
    name = attention.register()
    reference = logits_of_steps(grouped_llama(dtype, "eager"))
    grouped = logits_of_steps(grouped_llama(dtype, name))
    assert len(reference) == len(grouped) == 3
    tolerance = 1e-4 if dtype == torch.float32 else 2e-2
    for expected, got in zip(reference, grouped):
        assert got.dtype == dtype and got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=tolerance, atol=tolerance)


def test_grouped_attention_differs_from_a_wrong_grouping():
    """The check above can fail: pairing query heads with the wrong key/value heads (the
    interleaved order instead of repeat_kv's blocks) changes the logits."""
    name = attention.register()
    reference = logits_of_steps(grouped_llama(torch.float32, "eager"))
    original = attention.grouped_eager_attention

    def interleaved(module, query, key, value, *args, **kwargs):
        batch, heads, length, dim = query.shape
        group = heads // key.shape[1]
        swapped = query.view(batch, group, key.shape[1], length, dim).transpose(1, 2).reshape(batch, heads, length, dim)
        return original(module, swapped, key, value, *args, **kwargs)

    from transformers import AttentionInterface

    AttentionInterface.register(name, interleaved)
    try:
        wrong = logits_of_steps(grouped_llama(torch.float32, name))
    finally:
        attention.register()
    assert not torch.allclose(reference[0], wrong[0], rtol=1e-2, atol=1e-2)


def test_cpu_policy_uses_the_grouped_attention():
    from codeq_lib.policy.models import tiny_random_policy

    policy = tiny_random_policy()
    assert policy.model.config._attn_implementation == attention.GROUPED_EAGER
