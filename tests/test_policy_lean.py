"""policy/lean.py: the decode loop's lean forward computes exactly what the model's own
forward does (same ops in the same order: equal tensors, not just close), with and without a
LoRA adapter, and steps aside for what it does not cover."""

import pytest
import torch

from codeq_lib.policy import attention
from codeq_lib.policy.lean import LeanLlama, lean_model


def llama(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=64, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=6, num_key_value_heads=2, initializer_range=0.3,
                         tie_word_embeddings=True, attn_implementation=attention.register())
    return LlamaForCausalLM(config).eval()


def passes(model):
    """Logits of a left-padded prefill (last position) and two 3-token steps, one with a hole."""
    from transformers import DynamicCache

    input_ids = torch.tensor([[0, 0, 3, 5, 7, 2, 3], [1, 4, 6, 3, 2, 9, 5]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                    past_key_values=DynamicCache(), use_cache=True, logits_to_keep=1)
        logits, cache, next_position = [out.logits], out.past_key_values, positions[:, -1:] + 1
        for step_mask in ([1, 0, 1], [1, 1, 1]):
            mask = torch.cat([mask, torch.tensor([step_mask, step_mask])], dim=1)
            out = model(input_ids=torch.tensor([[8, 9, 10], [11, 12, 13]]), attention_mask=mask,
                        position_ids=next_position + torch.arange(3), past_key_values=cache, use_cache=True)
            logits.append(out.logits)
            next_position = next_position + sum(step_mask)
    return logits


def assert_same(reference, lean):
    assert len(reference) == len(lean) == 3
    for expected, got in zip(reference, lean):
        assert got.shape == expected.shape and torch.equal(got, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_lean_forward_equals_the_model(dtype):
    model = llama().to(dtype)
    lean = lean_model(model)
    assert isinstance(lean, LeanLlama)
    assert_same(passes(model), passes(lean))


def test_lean_forward_keeps_a_lora_adapter():
    from peft import LoraConfig, get_peft_model

    model = llama()
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                                  init_lora_weights=False)).eval()
    lean = lean_model(peft_model)
    assert isinstance(lean, LeanLlama)
    with_adapter = passes(peft_model)
    assert_same(with_adapter, passes(lean))
    with peft_model.disable_adapter():  # the check can fail: the adapter changes the logits
        assert not torch.equal(passes(peft_model)[1], with_adapter[1])


def test_a_broken_lean_forward_is_caught():
    """Dropping the rotary embedding of the keys changes the logits (so the checks above can fail)."""
    import codeq_lib.policy.lean as lean_module

    model = llama()
    reference = passes(model)
    original = lean_module._rotate_half
    try:
        lean_module._rotate_half = lambda x: torch.zeros_like(x)
        broken = passes(lean_model(model))
    finally:
        lean_module._rotate_half = original
    assert not torch.equal(broken[0], reference[0])


def test_lean_model_steps_aside():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model = llama()
    assert lean_model(model.train()) is model  # training: the model's own forward
    qwen = Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=48, intermediate_size=96, num_hidden_layers=1,
                                        num_attention_heads=6, num_key_value_heads=2)).eval()
    assert lean_model(qwen) is qwen
    with pytest.raises(ValueError, match="position_ids"):
        lean_model(model.eval())(input_ids=torch.tensor([[1, 2]]))
