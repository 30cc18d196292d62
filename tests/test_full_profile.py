"""The full profile's loading rules, checked on CPU stand-ins (issue 16): `device: cuda` stops
at once and says why; under a launcher each process takes its LOCAL_RANK GPU; 4-bit sampling is
recorded in run identities; a merged round is sampled as its base plus its adapter chain,
unmerged (what a 4-bit base needs), and that equals the merged model; the generate decoder is
not steered by the model's own generation_config; the smoke check catches the 06_results bug."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from codeq_lib.policy.models import (ModelLoadError, adapter_chain, attach_adapters, cuda_unavailable_reason,
                                     load_model_and_tokenizer, load_policy, local_rank_device, resolve_device,
                                     tiny_random_model_dir)

MESSAGES = [{"role": "user", "content": "def add(a, b):\n    return a - b"}]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_device_stops_at_once_and_says_why():
    with pytest.raises(ModelLoadError, match="CUDA is not available to torch") as error:
        resolve_device("cuda")
    assert "NVIDIA driver" in str(error.value) and "download.pytorch.org/whl/cu12" in str(error.value)
    assert resolve_device("auto") == "cpu"  # auto still falls back: only the full profile asks for cuda


def test_an_old_driver_is_told_the_cuda12_wheel_index(monkeypatch):
    from codeq_lib.policy import models

    monkeypatch.setattr(models, "nvidia_driver_version", lambda: "535.104.05")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    reason = cuda_unavailable_reason()
    assert "built for CUDA 13.0" in reason and "535.104.05 is older than 580" in reason
    assert f"--index-url {models.CUDA12_WHEEL_INDEX}" in reason


def test_each_launcher_process_gets_its_local_rank_gpu(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert local_rank_device() == "cuda:3"
    monkeypatch.delenv("LOCAL_RANK")
    assert local_rank_device() == "cuda"


def test_quantisation_is_part_of_the_run_identity():
    from codeq_lib.stages import _what_decides_a_task
    from codeq_lib.study.policies import sampler_identity

    plain, nf4 = sampler_identity("cpu", False), sampler_identity("cpu", True)
    assert "quantization" not in plain and nf4["quantization"] == "nf4-double-quant"
    assert _what_decides_a_task({"sampler": plain}) != _what_decides_a_task({"sampler": nf4})


def _lora(model, out_dir, seed):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
                      init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(out_dir)
    return str(out_dir)


@pytest.mark.slow
def test_a_merged_round_is_sampled_as_base_plus_its_adapters(tmp_path):
    from codeq_lib.train.merge import merge_adapter

    base = str(tiny_random_model_dir(seed=0, architecture="qwen2"))
    first = _lora(load_model_and_tokenizer(base, "cpu", "float32")[0], tmp_path / "a1", seed=1)
    round1 = str(merge_adapter(base, first, tmp_path / "round1", dtype="float32"))
    second = _lora(load_model_and_tokenizer(round1, "cpu", "float32")[0], tmp_path / "a2", seed=2)
    round2 = str(merge_adapter(round1, second, tmp_path / "round2", dtype="float32"))
    assert adapter_chain(round2) == (base, [first, second])
    assert adapter_chain(base) == (base, [])
    stacked = attach_adapters(load_model_and_tokenizer(base, "cpu", "float32")[0], [first, second])
    merged = load_model_and_tokenizer(round2, "cpu", "float32")[0]
    ids = torch.tensor([[5, 17, 300, 42, 9]])
    with torch.inference_mode():
        plain = load_model_and_tokenizer(base, "cpu", "float32")[0](ids).logits
        assert torch.allclose(stacked(ids).logits, merged(ids).logits, atol=1e-4)
        assert not torch.allclose(plain, merged(ids).logits, atol=1e-2)  # the adapters do change the model
    # the engine samples the stacked adapters as it samples the merged weights (greedy, same tokens)
    policy = load_policy(base, device="cpu", dtype="float32")
    policy.model = stacked
    policy.stop_at_code_end = False
    merged_policy = load_policy(round2, device="cpu", dtype="float32")
    merged_policy.stop_at_code_end = False
    assert ([g.text for g in policy.sample(MESSAGES, n=2, temperature=0.0, max_new_tokens=6)]
            == [g.text for g in merged_policy.sample(MESSAGES, n=2, temperature=0.0, max_new_tokens=6)])


@pytest.mark.slow
def test_generate_ignores_the_models_own_sampling_settings():
    """Qwen2.5-Coder ships repetition_penalty 1.1 and top_k 20 in its generation_config; the
    generate decoder must still sample what the engine samples (here: greedily, the same text)."""
    policy = load_policy(str(tiny_random_model_dir(seed=0, architecture="qwen2")), device="cpu", dtype="float32")
    policy.stop_at_code_end = False
    loop = [g.text for g in policy.sample(MESSAGES, n=2, temperature=0.0, max_new_tokens=10)]
    # a penalty below 1 rewards tokens already seen: a leak would make greedy decoding copy the prompt
    policy.model.generation_config.repetition_penalty = 0.01
    policy.model.generation_config.top_k = 1
    policy.decoder = "generate"
    assert [g.text for g in policy.sample(MESSAGES, n=2, temperature=0.0, max_new_tokens=10)] == loop


def test_smoke_check_catches_dropped_strategies_and_ablation_rows(tmp_path):
    """The former 06_results (default search = alpha 1.0) under the full profile: strategies.csv
    kept only single_pass and mcts, by_K only K = 5; the check says so."""
    import yaml

    from codeq_lib.study.smoke import check_tables, tiny_full_profile

    params = tiny_full_profile(yaml.safe_load(open("profiles/full.yaml")))
    params["evaluate"]["tasks"] = str(tmp_path / "missing.jsonl")
    rows = lambda **cols: pd.DataFrame(cols)  # noqa: E731
    rows(mode=["single_pass", "mcts", "mcts"], budget=[1, 1, 2], n=[2, 2, 2]).to_csv(tmp_path / "strategies.csv")
    rows(mode=["mcts"], K=[5], n=[2]).to_csv(tmp_path / "by_K.csv")
    rows(mode=["mcts"] * 5, alpha=[0.0, 0.25, 0.5, 0.75, 1.0], n=[2] * 5).to_csv(tmp_path / "by_alpha.csv")
    policies = [p for p in ("base", "round1", "round2") for _ in range(4)]
    rows(policy=policies, mode=["single_pass", "best_of_n", "refine", "mcts"] * 3).to_csv(tmp_path / "main.csv")
    report = check_tables(tmp_path, params)
    assert not report["ok"] and {"strategies", "K", "five_strategies"} <= set(report["problems"])
    rows(mode=["single_pass", "best_of_n", "refine", "rex", "mcts", "mcts"], budget=[1, 2, 2, 2, 1, 2],
         n=[2] * 6).to_csv(tmp_path / "strategies.csv")
    rows(mode=["mcts"] * 3, K=[2, 5, 8], n=[2] * 3).to_csv(tmp_path / "by_K.csv")
    assert check_tables(tmp_path, params)["ok"]


def test_full_profile_samples_on_cuda_and_records_it():
    import yaml

    from codeq_lib import stages
    from codeq_lib.config import from_dict

    params = yaml.safe_load(open("profiles/full.yaml"))
    for section, cls in (("collect", stages.CollectStage), ("evaluate", stages.EvaluateStage),
                         ("ablations", stages.AblationStage)):
        cfg = from_dict(cls, params[section], where=section)
        assert stages.load_options(cfg) == {"device": "cuda", "quantize_4bit": False}
    assert params["train"]["dpo"]["device"] == "cuda"
    assert dataclasses.asdict(from_dict(stages.CollectStage, params["collect"], where="collect"))["fanout"] == {}


def test_doctests_of_hf_policy_and_metrics():
    import doctest

    from codeq_lib import metrics
    from codeq_lib.policy import hf_policy

    for module in (hf_policy, metrics):
        failed, attempted = doctest.testmod(module)
        assert failed == 0 and attempted >= 1, module.__name__
