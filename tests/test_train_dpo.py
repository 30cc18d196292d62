"""DPO training on a tiny random SmolLM2-shaped model (real tokenizer): a loss is logged, it is
finite, the LoRA parameters change, the checkpoint holds adapter + config + metadata; the fp32
log-prob fix turns a NaN loss finite; cDPO with eps = 0 equals TRL's own sigmoid loss."""

from __future__ import annotations

import doctest
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from trl import DPOTrainer

from codeq_lib.io import read_json, read_jsonl, write_jsonl
from codeq_lib.policy.models import tiny_random_model_dir
from codeq_lib.train import dpo_trainer
from codeq_lib.train.dpo_config import CODEQ_TARGET_MODULES, DPOConfig
from codeq_lib.train.dpo_trainer import (
    FUSED_OUTPUTS,
    build_dpo_trainer,
    cdpo_loss,
    install_fp32_logprob_head,
    load_pairs_dataset,
    train_dpo,
)

pytestmark = pytest.mark.slow


def make_pairs(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({
            "prompt": [{"role": "user", "content": f"Fix this program (task {i}):\ndef add(a, b):\n    return a - b"}],
            "chosen": [{"role": "assistant", "content": "```python\ndef add(a, b):\n    return a + b\n```"}],
            "rejected": [{"role": "assistant", "content": f"```python\ndef add(a, b):\n    return a * b + {i}\n```"}],
            "task_id": f"t{i}", "q_chosen": 1.0, "q_rejected": 0.0, "visits_chosen": 3, "visits_rejected": 1,
            "margin": 1.0, "round": 1, "weight": 0.8 if i % 2 == 0 else 0.6,
        })
    return rows


@pytest.fixture(scope="module")
def tiny_dir():
    return str(tiny_random_model_dir(0))


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    write_jsonl(path, make_pairs(4))
    return str(path)


def tiny_config(pairs_file, base, out_dir, **overrides) -> DPOConfig:
    values = dict(pairs=pairs_file, base=base, out_dir=str(out_dir), batch_size=2, per_device_batch_size=2,
                  max_steps=2, learning_rate=1e-2, warmup_ratio=0.0, lora_r=4, lora_alpha=8, device="cpu",
                  max_length=256)
    values.update(overrides)
    return DPOConfig(**values)


@pytest.fixture(scope="module")
def round1(tmp_path_factory, pairs_file, tiny_dir):
    out = tmp_path_factory.mktemp("round1")
    summary = train_dpo(tiny_config(pairs_file, tiny_dir, out))
    return out, summary


def test_defaults_are_codeq():
    cfg = DPOConfig()
    assert (cfg.lora_r, cfg.lora_alpha, cfg.beta, cfg.batch_size) == (32, 64, 0.1, 16)
    assert cfg.target_modules == CODEQ_TARGET_MODULES and len(CODEQ_TARGET_MODULES) == 7
    assert cfg.per_device_batch_size * cfg.gradient_accumulation_steps == 16
    with pytest.raises(ValueError, match="per_device_batch_size"):
        DPOConfig(batch_size=16, per_device_batch_size=3)


def test_autocast_auto_follows_the_machine():
    from codeq_lib.config import from_dict
    from codeq_lib.policy.models import cpu_has_fast_bf16
    from codeq_lib.train.dpo_config import autocast_on

    assert autocast_on(True, "cpu") is True and autocast_on(False, "cpu") is False
    assert autocast_on("auto", "cpu") is cpu_has_fast_bf16()  # this CPU: native bf16 or not
    assert from_dict(DPOConfig, {"autocast_bf16": "auto"}, where="t").autocast_bf16 == "auto"
    with pytest.raises(Exception, match="autocast_bf16"):
        from_dict(DPOConfig, {"autocast_bf16": "sometimes"}, where="t")


def test_doctests_pass():
    assert doctest.testmod(dpo_trainer).failed == 0


def test_training_logs_finite_loss_and_writes_checkpoint(round1):
    out, summary = round1
    log = read_jsonl(out / "log.jsonl")
    losses = [row["loss"] for row in log if "loss" in row]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert {"rewards/accuracies", "rewards/margins", "rewards/chosen"} <= set(log[0])
    assert summary["steps"] == 2 and summary["finite"] is True and summary["autocast_bf16"] is False
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert read_json(out / "train_config.json")["lora_r"] == 4
    run = read_json(out / "run.json")
    assert run["config"]["beta"] == 0.1 and "versions" in run and "git_sha" in run
    assert run["summary"]["reference"]["kind"] == "previous"


def test_lora_parameters_changed(round1):
    from safetensors.torch import load_file

    out, _ = round1
    weights = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    lora_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
    assert lora_b, "adapter has no LoRA B matrices"
    # PEFT initialises every LoRA B to zero: any non-zero entry was learned
    assert any(tensor.abs().max().item() > 0 for tensor in lora_b)
    modules = {name.split(".lora_")[0].rsplit(".", 1)[-1] for name in weights}
    assert modules == set(CODEQ_TARGET_MODULES)


def test_cdpo_with_zero_smoothing_equals_trl_sigmoid_loss(pairs_file, tiny_dir, tmp_path):
    trainer, _ = build_dpo_trainer(tiny_config(pairs_file, tiny_dir, tmp_path))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in trainer.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)  # make policy != reference so the loss is not log 2
    batch = next(iter(trainer.get_train_dataloader()))
    batch["label_smoothing"] = torch.zeros_like(batch["label_smoothing"])
    with torch.no_grad():
        ours = trainer.compute_loss(trainer.model, batch).item()
        plain = {k: v for k, v in batch.items() if k != "label_smoothing"}
        theirs = DPOTrainer._compute_loss(trainer, trainer.model, plain, False).item()
    assert ours != pytest.approx(math.log(2), abs=1e-3)
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_confidence_weighting_uses_per_pair_smoothing(pairs_file, tiny_dir, tmp_path):
    cfg = tiny_config(pairs_file, tiny_dir, tmp_path, confidence_weighting=True)
    assert load_pairs_dataset(pairs_file, cfg)["label_smoothing"] == pytest.approx([0.2, 0.4, 0.2, 0.4])
    trainer, _ = build_dpo_trainer(cfg)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in trainer.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["label_smoothing"].tolist() == pytest.approx([0.2, 0.4])
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch).item()
        inputs = {k: v for k, v in batch.items() if k != "label_smoothing"}
        chosen, rejected = trainer._sequence_logps(trainer.model, inputs)[0].chunk(2)
        ref_chosen, ref_rejected = trainer.compute_ref_log_probs(trainer.model, inputs)
        delta = (chosen - ref_chosen) - (rejected - ref_rejected)
        expected = cdpo_loss(delta, 0.1, torch.tensor([0.2, 0.4])).mean().item()
    assert loss == pytest.approx(expected, rel=1e-5)


def test_rpo_adds_the_token_mean_nll_of_the_chosen_answers(pairs_file, tiny_dir, tmp_path):
    """rpo_alpha * NLL(chosen) on top of the DPO loss: the NLL is the mean over chosen tokens,
    as TRL's "sft" loss term computes it."""
    losses = {}
    for alpha in (0.0, 0.5):
        cfg = tiny_config(pairs_file, tiny_dir, tmp_path / str(alpha), rpo_alpha=alpha)
        trainer, _ = build_dpo_trainer(cfg)
        batch = next(iter(trainer.get_train_dataloader()))
        with torch.no_grad():
            losses[alpha] = trainer.compute_loss(trainer.model, batch).item()
            inputs = {k: v for k, v in batch.items() if k != "label_smoothing"}
            logps, counts = trainer._sequence_logps(trainer.model, inputs)
            nll = (-logps.chunk(2)[0].sum() / counts.chunk(2)[0].sum()).item()
    assert nll > 0
    assert losses[0.5] == pytest.approx(losses[0.0] + 0.5 * nll, rel=1e-5)


def test_warmup_is_whole_steps_and_max_pairs_is_a_seeded_draw(pairs_file, tiny_dir, tmp_path):
    from codeq_lib.train.dpo_trainer import trl_args, warmup_steps

    cfg = tiny_config(pairs_file, tiny_dir, tmp_path, warmup_ratio=0.1, max_steps=3)
    assert warmup_steps(cfg, 4) == 0 and trl_args(cfg, tmp_path, n_examples=4).warmup_steps == 0
    assert warmup_steps(tiny_config(pairs_file, tiny_dir, tmp_path, warmup_ratio=0.1, max_steps=30), 4) == 3
    whole = load_pairs_dataset(pairs_file, tiny_config(pairs_file, tiny_dir, tmp_path, max_pairs=None))
    first_two = [whole[i]["rejected"][0]["content"] for i in range(2)]
    drawn = [load_pairs_dataset(pairs_file, tiny_config(pairs_file, tiny_dir, tmp_path, max_pairs=2, seed=seed))
             for seed in range(6)]
    assert all(len(d) == 2 for d in drawn)
    subsets = {tuple(m[0]["content"] for m in d["rejected"]) for d in drawn}
    assert len(subsets) > 1 and any(list(s) != first_two for s in subsets)  # a draw, not the file's head
    again = load_pairs_dataset(pairs_file, tiny_config(pairs_file, tiny_dir, tmp_path, max_pairs=2, seed=0))
    assert again["rejected"] == drawn[0]["rejected"]  # seeded


def test_max_length_cuts_are_counted(pairs_file, tiny_dir, tmp_path):
    from codeq_lib.train.dpo_trainer import length_report, pair_lengths

    cfg = tiny_config(pairs_file, tiny_dir, tmp_path, max_length=None)
    trainer, _ = build_dpo_trainer(cfg)
    lengths = pair_lengths(load_pairs_dataset(pairs_file, cfg), trainer.processing_class)
    assert trainer.codeq_lengths == length_report(lengths, None) and trainer.codeq_lengths["truncated"] == 0
    shortest_whole = min(p + c for p, c in lengths)
    cut = length_report(lengths, shortest_whole - 1)
    assert cut["truncated"] + cut["dropped"] == len(lengths) >= 1


def test_precomputed_reference_gives_the_same_loss(pairs_file, tiny_dir, tmp_path):
    losses = {}
    for precompute in (False, True):
        cfg = tiny_config(pairs_file, tiny_dir, tmp_path / str(precompute), precompute_ref_log_probs=precompute,
                          confidence_weighting=True)
        trainer, _ = build_dpo_trainer(cfg)
        torch.manual_seed(2)
        with torch.no_grad():
            for name, param in trainer.model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, 0.5)
        batch = next(iter(trainer.get_train_dataloader()))
        assert ("ref_chosen_logps" in batch) is precompute
        with torch.no_grad():
            losses[precompute] = trainer.compute_loss(trainer.model, batch).item()
    assert math.isfinite(losses[True]) and losses[True] == pytest.approx(losses[False], rel=1e-5)


def test_round2_reference_is_explicit(round1, pairs_file, tiny_dir, tmp_path):
    out1, _ = round1
    adapter = str(out1 / "adapter")
    base_ref, record = build_dpo_trainer(
        tiny_config(pairs_file, tiny_dir, tmp_path / "b", previous_adapter=adapter, reference="base"))
    assert base_ref.ref_model is not None and record["kind"] == "base"
    prev_ref, record = build_dpo_trainer(
        tiny_config(pairs_file, tiny_dir, tmp_path / "p", previous_adapter=adapter, reference="previous"))
    assert prev_ref.ref_model is None and record["previous_adapter"] == adapter and "merged" in record["model"]
    # The two references score the same batch differently: base vs base+round-1 adapter.
    batch = next(iter(prev_ref.get_train_dataloader()))
    inputs = {k: v for k, v in batch.items() if k != "label_smoothing"}
    with torch.no_grad():
        ref_prev = torch.cat(prev_ref.compute_ref_log_probs(prev_ref.model, inputs))
        ref_base = torch.cat(base_ref.compute_ref_log_probs(base_ref.ref_model, inputs))
    assert not torch.allclose(ref_prev, ref_base)

    # Chaining through a merged checkpoint (`codeq train merge`) gives the same round-2 start.
    from codeq_lib.train.merge import merge_adapter

    merged = merge_adapter(tiny_dir, adapter, tmp_path / "models" / "r1")
    from_start, record = build_dpo_trainer(
        tiny_config(pairs_file, tiny_dir, tmp_path / "s", start=str(merged), reference="previous"))
    assert from_start.ref_model is None and record["start"] == str(merged)
    with torch.no_grad():
        ref_start = torch.cat(from_start.compute_ref_log_probs(from_start.model, inputs))
    assert torch.allclose(ref_start, ref_prev, rtol=1e-4, atol=1e-3)
    with_base_ref, record = build_dpo_trainer(
        tiny_config(pairs_file, tiny_dir, tmp_path / "sb", start=str(merged), reference="base"))
    assert with_base_ref.ref_model is not None and "original base" in record["model"]


@pytest.fixture(scope="module")
def hot_model_dir(tmp_path_factory, tiny_dir):
    """The tiny model with large activations before the LM head: its logits exceed fp16's
    range (65504) and lose all precision in bf16, as a real model's can in long sequences."""
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("hot")
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    with torch.no_grad():
        model.model.norm.weight.mul_(5000.0)
        model.model.embed_tokens.weight.mul_(100.0)  # tied with lm_head
    model.save_pretrained(str(out))
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (Path(tiny_dir) / name).exists():
            shutil.copy(Path(tiny_dir) / name, out / name)
    return str(out)


def test_fp32_logprobs_turn_a_nan_loss_finite(pairs_file, hot_model_dir, tmp_path):
    losses = {}
    for fix in (False, True):
        cfg = tiny_config(pairs_file, hot_model_dir, tmp_path, dtype="float16", fp32_logprobs=fix)
        trainer, _ = build_dpo_trainer(cfg)
        batch = next(iter(trainer.get_train_dataloader()))
        with torch.no_grad():
            losses[fix] = trainer.compute_loss(trainer.model, batch).item()
    assert not math.isfinite(losses[False])  # TRL's head: fp16 logits overflow to inf -> NaN
    assert math.isfinite(losses[True])


def test_fp32_logprobs_are_exact_for_bf16_weights(hot_model_dir):
    """bf16 has fp32's exponent range, so its failure is precision, not overflow: a bf16 logit
    keeps 8 mantissa bits (here the logits are ~1e5 and TRL's head is off by ~1e3 nats). The
    fix matches an fp32 log-softmax of the same hidden states."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.utils import add_fused_lm_head

    tokenizer = AutoTokenizer.from_pretrained(hot_model_dir)
    model = AutoModelForCausalLM.from_pretrained(hot_model_dir, dtype=torch.bfloat16).eval()
    ids = tokenizer("def add(a, b):\n    return a + b\n", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = model.model(input_ids=ids).last_hidden_state[:, :-1]
        logits = hidden.float() @ model.lm_head.weight.float().T
        exact = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        add_fused_lm_head(model, outputs=FUSED_OUTPUTS)  # what TRL's DPOTrainer installs
        trl_head = model(input_ids=ids, labels=ids, fused_lm_head=True).log_probs
        install_fp32_logprob_head(model)
        fixed = model(input_ids=ids, labels=ids, fused_lm_head=True).log_probs
    assert torch.isfinite(fixed).all()
    fixed_error = (fixed - exact).abs().max().item()
    trl_error = (trl_head - exact).abs().max().item()
    assert fixed_error <= 1e-3 * exact.abs().max().item()
    assert trl_error > 100 * max(fixed_error, 1e-6)


def test_bad_pairs_file_names_the_line(tmp_path, tiny_dir):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": [], "chosen": []}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: .*rejected"):
        load_pairs_dataset(path, DPOConfig(pairs=str(path), base=tiny_dir))


def test_a_max_length_that_drops_every_pair_is_refused_by_name(pairs_file, tiny_dir, tmp_path):
    with pytest.raises(ValueError, match="max_length: 4 drops every pair"):
        build_dpo_trainer(tiny_config(pairs_file, tiny_dir, tmp_path, max_length=4))


def test_rounds_chain_through_an_unmerged_adapter(round1, pairs_file, tiny_dir, tmp_path):
    """Round 1's policy is an adapter policy folder (base + adapter, unmerged). Round 2 starts
    from it and continues that adapter: at step 0 the policy IS the reference ("previous"), so
    every pair's log-ratio is 0 and the DPO loss is exactly log 2; after training, round 2's
    adapter differs from round 1's and its folder loads as base + the new adapter."""
    from safetensors.torch import load_file

    from codeq_lib.policy.models import load_policy, policy_record, write_adapter_policy

    out1, _ = round1
    policy1 = write_adapter_policy(out1 / "adapter", tiny_dir, tmp_path / "models" / "round1")
    assert policy_record(policy1)["base"] == tiny_dir
    trainer, record = build_dpo_trainer(tiny_config(pairs_file, tiny_dir, tmp_path / "r2", start=str(policy1),
                                                    reference="previous"))
    assert record["chained"] == "adapter continued" and trainer.ref_model is not None
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch).item()
    assert loss == pytest.approx(math.log(2), abs=1e-5)
    summary = train_dpo(tiny_config(pairs_file, tiny_dir, tmp_path / "r2b", start=str(policy1), reference="previous"))
    before = load_file(str(out1 / "adapter" / "adapter_model.safetensors"))
    after = load_file(str(Path(summary["adapter"]) / "adapter_model.safetensors"))
    assert before.keys() == after.keys() and any(not torch.equal(before[k], after[k]) for k in before)
    policy2 = write_adapter_policy(summary["adapter"], tiny_dir, tmp_path / "models" / "round2")
    loaded = load_policy(str(policy2), device="cpu")
    assert "+round2-" in loaded.policy_id and hasattr(loaded.model, "peft_config")
    with pytest.raises(Exception, match="takes no second adapter"):
        load_policy(str(policy2), adapter=str(out1 / "adapter"), device="cpu")
