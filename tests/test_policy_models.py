"""Model loading: the tiny random model, the embedded GGUF's location, and clear errors
(wrong path, corrupt GGUF, adapter for another base) that name the path."""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from codeq_lib.policy import ModelLoadError, load_policy, make_tiny_random_model
from codeq_lib.policy.cli import add_arguments, run_cli
from codeq_lib.policy.models import (
    EMBEDDED_GGUF_NAME,
    TinyShape,
    check_gguf,
    embedded_gguf_path,
    resolve_dtype,
    resolve_model_source,
    tiny_llama_config,
    tiny_random_model_dir,
)


def test_embedded_gguf_is_found_in_the_installed_package():
    path = embedded_gguf_path()
    assert path.name == EMBEDDED_GGUF_NAME
    assert check_gguf(path) == path
    assert path.stat().st_size > 50_000_000


def test_tiny_random_model_dir_has_real_tokenizer_and_chat_template(tmp_path):
    out = make_tiny_random_model(tmp_path / "tiny", seed=3)
    config = json.loads((out / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == ("llama", 2, 64)
    assert config["vocab_size"] == 49152
    policy = load_policy(str(out), device="cpu")
    prompt = policy.render([{"role": "user", "content": "hi"}])
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user\nhi<|im_end|>" in prompt
    assert policy.tokenizer.eos_token == "<|im_end|>"


def test_tiny_random_model_is_reproducible_per_seed(tmp_path):
    first = make_tiny_random_model(tmp_path / "a", seed=1)
    again = make_tiny_random_model(tmp_path / "b", seed=1)
    other = make_tiny_random_model(tmp_path / "c", seed=2)
    weights = [load_policy(str(d), device="cpu").model.model.embed_tokens.weight for d in (first, again, other)]
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


def test_wrong_model_path_names_the_path(tmp_path):
    missing = tmp_path / "no" / "such-model"
    with pytest.raises(ModelLoadError, match=str(missing)):
        load_policy(str(missing))
    not_a_model = tmp_path / "empty-dir"
    not_a_model.mkdir()
    with pytest.raises(ModelLoadError, match=f"{not_a_model}.*config.json"):
        load_policy(str(not_a_model))


def test_corrupt_gguf_names_the_path(tmp_path):
    garbage = tmp_path / "broken.gguf"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(ModelLoadError, match=f"{garbage}: not a GGUF file"):
        load_policy(str(garbage))
    # Right magic, truncated body: the reader fails, we still name the file.
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(embedded_gguf_path().read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=f"{truncated}: corrupt GGUF"):
        load_policy(str(truncated))
    with pytest.raises(ModelLoadError, match=str(tmp_path / "absent.gguf")):
        load_policy(str(tmp_path / "absent.gguf"))


def test_convert_model_cli_reports_a_corrupt_gguf(tmp_path, capsys):
    import argparse

    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"\x00" * 64)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    code = run_cli(parser.parse_args(["--gguf", str(garbage), "--out", str(tmp_path / "out")]))
    assert code == 2
    assert str(garbage) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _save_lora(model, out_dir):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", init_lora_weights=False)
    peft_model = get_peft_model(model, lora)
    peft_model.save_pretrained(out_dir)
    return out_dir


def test_adapter_on_the_same_base_loads_and_changes_outputs(tmp_path):
    base_dir = tiny_random_model_dir(seed=0)
    base = load_policy(str(base_dir), device="cpu")
    adapter = _save_lora(load_policy(str(base_dir), device="cpu").model, tmp_path / "lora")
    adapted = load_policy(str(base_dir), adapter=str(adapter), device="cpu")
    assert adapted.policy_id.startswith(f"{base_dir.name}+lora-")
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.inference_mode():
        assert not torch.allclose(base.model(ids).logits, adapted.model(ids).logits)
    # the decode loop drives a PEFT-wrapped model too, and greedily agrees with generate on it
    messages = [{"role": "user", "content": "def f(x):\n    return x"}]
    adapted.stop_at_code_end = False
    loop = [g.text for g in adapted.sample(messages, n=2, temperature=0.0, max_new_tokens=8)]
    adapted.decoder = "generate"
    assert loop == [g.text for g in adapted.sample(messages, n=2, temperature=0.0, max_new_tokens=8)]


def test_adapter_for_another_base_names_the_adapter(tmp_path):
    from transformers import LlamaForCausalLM

    other_base = LlamaForCausalLM(tiny_llama_config(49152, TinyShape(hidden_size=32, num_attention_heads=2, num_key_value_heads=1, intermediate_size=64)))
    adapter = _save_lora(other_base, tmp_path / "other-lora")
    base_dir = str(tiny_random_model_dir(seed=0))
    with pytest.raises(ModelLoadError, match=f"{adapter}: adapter does not fit this base model"):
        load_policy(base_dir, adapter=str(adapter), device="cpu")
    with pytest.raises(ModelLoadError, match=f"{tmp_path}: not a PEFT adapter"):
        load_policy(base_dir, adapter=str(tmp_path), device="cpu")


def test_4bit_is_refused_off_cuda():
    with pytest.raises(ModelLoadError, match="4-bit NF4 loading needs a CUDA device"):
        load_policy(str(tiny_random_model_dir()), device="cpu", quantize_4bit=True)


def test_dtype_defaults_and_errors():
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda") == torch.bfloat16  # CodeQ's rollouts run in bf16
    assert resolve_dtype("float16", "cpu") == torch.float16
    with pytest.raises(ModelLoadError, match="dtype 'fp8' is not one of"):
        resolve_dtype("fp8", "cpu")


def test_hub_ids_and_paths_are_told_apart(tmp_path):
    assert resolve_model_source("Qwen/Qwen2.5-Coder-7B-Instruct") == ("hub", "Qwen/Qwen2.5-Coder-7B-Instruct")
    with pytest.raises(ModelLoadError, match="could not load model"):  # offline: the hub id cannot be fetched
        load_policy("codeq-test/definitely-not-a-model", device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_loads_bf16_and_samples():
    policy = load_policy(str(tiny_random_model_dir()), device="auto")
    assert policy.device.type == "cuda" and policy.model.dtype == torch.bfloat16
    gens = policy.sample([{"role": "user", "content": "hi"}], n=2, max_new_tokens=4, seed=0)
    assert len(gens) == 2 and all(g.completion_tokens >= 1 for g in gens)
