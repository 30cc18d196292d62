"""Merging a LoRA adapter: the standalone checkpoint's logits equal base + adapter's."""

from __future__ import annotations

import pytest
import torch

from codeq_lib.cli import main as codeq_main
from codeq_lib.io import read_json
from codeq_lib.policy.models import tiny_random_model_dir
from codeq_lib.train.merge import MERGE_RECORD, merge_adapter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory):
    """A LoRA adapter with non-zero B matrices (a fresh one would be a no-op)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = tiny_random_model_dir(0)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                                  task_type="CAUSAL_LM"))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    out = tmp_path_factory.mktemp("adapter") / "adapter"
    peft_model.save_pretrained(str(out))
    return base, out


def logits_of(model, tokenizer) -> torch.Tensor:
    ids = tokenizer("def add(a, b):\n    return a + b", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_merged_logits_equal_base_plus_adapter(random_adapter, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codeq_lib.policy.models import attach_adapter

    base, adapter = random_adapter
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    base_model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    plain = logits_of(base_model, tokenizer)
    with_adapter = logits_of(attach_adapter(base_model, adapter).eval(), tokenizer)
    out = merge_adapter(base, adapter, tmp_path / "merged")
    merged = logits_of(AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval(), tokenizer)
    assert not torch.allclose(plain, with_adapter, atol=1e-3)  # the adapter does something
    assert torch.allclose(merged, with_adapter, atol=1e-4)
    record = read_json(out / MERGE_RECORD)
    assert record["adapter"] == str(adapter) and record["base"] == str(base)
    assert not any(p.name.startswith(".merged.") for p in tmp_path.iterdir())


def test_cli_merge(random_adapter, tmp_path):
    base, adapter = random_adapter
    out = tmp_path / "merged-cli"
    assert codeq_main(["train", "merge", "--base", str(base), "--adapter", str(adapter), "--out", str(out)]) == 0
    assert (out / "model.safetensors").is_file() and (out / MERGE_RECORD).is_file()
