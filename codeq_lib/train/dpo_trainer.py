"""DPO on sibling preference pairs: TRL's `DPOTrainer` (1.x) + a PEFT LoRA, made safe for bf16.

Three things differ from a stock `trl.DPOTrainer`, each in one small place:

1. **fp32 log-probabilities.** TRL 1.x scores tokens with a fused, chunked LM head
   (`trl.trainer.utils.add_fused_lm_head`): the log-sum-exp is accumulated in fp32, but the
   projection `hidden @ W.T` is computed and stored in the weights' dtype, so with bf16
   weights every logit is rounded to 8 mantissa bits and with fp16 weights logits beyond
   65504 become inf and the loss NaN. CodeQ lost bf16 runs to NaN. We re-install the same
   fused head with `cast_lm_head_to_fp32=True` on the policy and the reference, so the
   projection and the log-softmax run in fp32 whatever the weights' dtype.
2. **Per-pair conservative DPO.** The loss is cDPO (Mitchell 2023), i.e. DPO with label
   smoothing eps: -(1-eps) log s(beta*D) - eps log s(-beta*D); with `confidence_weighting`
   eps is per pair, from the pair's visit counts (MCTS-DPO, Xie et al. 2024: values from few
   rollouts are noisy). With eps = 0 this is exactly TRL's "sigmoid" loss (tested).
3. **An explicit reference per round.** A round starts from `start` (the previous round's
   merged policy) or `base`, plus an optional `previous_adapter` merged in, and trains a fresh
   LoRA. "previous": that start is the reference (TRL disables the new adapter to score it);
   "base": the original base model is loaded as a separate frozen reference. The choice is
   written to the checkpoint's `run.json`.

A checkpoint is `adapter/` (safetensors), `train_config.json`, `run.json` (run metadata +
reference record + summary) and `log.jsonl` (one line per logged step).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from trl import DPOConfig as TRLDPOConfig
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference
from trl.trainer.utils import add_fused_lm_head

from codeq_lib.config import resolved, run_metadata
from codeq_lib.errors import UserError
from codeq_lib.io import iter_jsonl, write_json, write_jsonl
from codeq_lib.train.distributed import accumulation_per_process, world_size
from codeq_lib.train.dpo_config import DPOConfig, autocast_on

# The per-token fields TRL's DPOTrainer reads from the fused head (its __init__ asks for these).
FUSED_OUTPUTS = ("log_probs", "entropy", "mean_logits", "is_top1")
PAIR_COLUMNS = ("prompt", "chosen", "rejected")


# ---------------------------------------------------------------- pure pieces


def cdpo_loss(delta: torch.Tensor, beta: float, smoothing: torch.Tensor | float) -> torch.Tensor:
    """Per-pair conservative DPO loss; `delta` = chosen log-ratio minus rejected log-ratio.

    >>> round(cdpo_loss(torch.tensor([0.0]), 0.1, 0.0).item(), 4)  # log 2
    0.6931
    >>> cdpo_loss(torch.tensor([50.0]), 1.0, 0.0).item() < 1e-6
    True
    """
    logits = beta * delta.float()
    return -(1.0 - smoothing) * F.logsigmoid(logits) - smoothing * F.logsigmoid(-logits)


def pair_smoothing(weight: float | None, confidence_weighting: bool, global_smoothing: float) -> float:
    """Label smoothing of one pair: 1 - weight under confidence weighting, else the global value.

    >>> pair_smoothing(0.8, True, 0.0), pair_smoothing(0.8, False, 0.1), pair_smoothing(None, True, 0.05)
    (0.2, 0.1, 0.05)
    """
    if confidence_weighting and weight is not None:
        return round(min(0.499, max(0.0, 1.0 - float(weight))), 10)
    return global_smoothing


def install_fp32_logprob_head(model) -> None:
    """Re-install TRL's fused LM head on `model` with the projection in fp32.

    The new wrapper sits on top of the one TRL installed: with `fused_lm_head=True` it does
    the work itself (fp32), otherwise it falls through to the original forward (generation).
    """
    from peft import PeftModel

    target = model.get_base_model() if isinstance(model, PeftModel) else model
    add_fused_lm_head(target, cast_lm_head_to_fp32=True, outputs=FUSED_OUTPUTS)


@dataclass
class PreferenceCollator(DataCollatorForPreference):
    """TRL's preference collator, plus each pair's label smoothing as a tensor."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().torch_call(examples)
        if "label_smoothing" in examples[0]:
            batch["label_smoothing"] = torch.tensor([float(e["label_smoothing"]) for e in examples])
        return batch


# ---------------------------------------------------------------- the trainer


class CodeqDPOTrainer(DPOTrainer):
    """`trl.DPOTrainer` with fp32 log-probs and per-pair cDPO (module docstring)."""

    def __init__(self, *args, fp32_logprobs: bool = True, rpo_alpha: float = 0.0, **kwargs):
        self.fp32_logprobs = fp32_logprobs  # read by _precompute_ref_logps inside super().__init__
        self.rpo_alpha = rpo_alpha
        super().__init__(*args, **kwargs)
        self._install_fp32_heads()

    def _install_fp32_heads(self) -> None:
        """Once per model, after TRL installed its own head (end of its __init__, or just before
        it precomputes reference log-probs, which happens inside its __init__)."""
        if not self.fp32_logprobs:
            return
        models = [self.model] + ([self.accelerator.unwrap_model(self.ref_model)] if self.ref_model is not None else [])
        for model in models:
            if not getattr(model, "_codeq_fp32_head", False):
                install_fp32_logprob_head(model)
                model._codeq_fp32_head = True

    def _precompute_ref_logps(self, dataset, name, batch_size):
        self._install_fp32_heads()
        return super()._precompute_ref_logps(dataset, name, batch_size)

    def compute_ref_log_probs(self, model, inputs):
        inputs = {k: v for k, v in inputs.items() if k != "label_smoothing"}  # not a model input
        return super().compute_ref_log_probs(model, inputs)

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if "label_smoothing" not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, "label_smoothing"]

    def _sequence_logps(self, model, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed completion log-prob, completion token count) per sequence."""
        labels = inputs["input_ids"].masked_fill(inputs["completion_mask"] == 0, -100)
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                        labels=labels, use_cache=False, fused_lm_head=True)
        seq_len = inputs["completion_mask"].size(1) - 1
        counts = inputs["completion_mask"][:, -seq_len:].float().sum(dim=1)
        return outputs.log_probs[:, -seq_len:].float().sum(dim=1), counts

    def _compute_loss(self, model, inputs, return_outputs):
        mode = "train" if self.model.training else "eval"
        inputs = dict(inputs)
        smoothing = inputs.pop("label_smoothing", None)
        n_pairs = inputs["input_ids"].size(0) // 2
        if smoothing is None:
            smoothing = torch.full((n_pairs,), float(self.label_smoothing))
        smoothing = smoothing.to(inputs["input_ids"].device, torch.float32)

        logps, counts = self._sequence_logps(model, inputs)
        chosen_logps, rejected_logps = logps.chunk(2, dim=0)
        if self.precompute_ref_logps:
            ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:
            ref_source = self.ref_model if self.ref_model is not None else model
            ref_chosen, ref_rejected = self.compute_ref_log_probs(ref_source, inputs)
        chosen_logratios = chosen_logps - ref_chosen.float()
        rejected_logratios = rejected_logps - ref_rejected.float()
        losses = cdpo_loss(chosen_logratios - rejected_logratios, self.beta, smoothing)
        loss = losses.mean()
        if self.rpo_alpha:
            # RPO: NLL of the chosen answers, the token mean over the batch (TRL's "sft" term)
            nll = -chosen_logps.sum() / counts.chunk(2, dim=0)[0].sum().clamp(min=1.0)
            loss = loss + self.rpo_alpha * nll
            self._metrics[mode]["nll/chosen"].append(self.accelerator.gather_for_metrics(nll.detach()).mean().item())
        self._log_pair_metrics(mode, chosen_logratios, rejected_logratios, chosen_logps, rejected_logps, smoothing)
        return (loss, None) if return_outputs else loss

    def _log_pair_metrics(self, mode, chosen_logratios, rejected_logratios, chosen_logps, rejected_logps, smoothing):
        """The metric names TRL logs, so `report.py` reads any DPO log the same way."""
        gather = self.accelerator.gather_for_metrics
        chosen_rewards = gather(self.beta * chosen_logratios.detach())
        rejected_rewards = gather(self.beta * rejected_logratios.detach())
        metrics = self._metrics[mode]
        metrics["rewards/chosen"].append(chosen_rewards.mean().item())
        metrics["rewards/rejected"].append(rejected_rewards.mean().item())
        metrics["rewards/accuracies"].append((chosen_rewards > rejected_rewards).float().mean().item())
        metrics["rewards/margins"].append((chosen_rewards - rejected_rewards).mean().item())
        metrics["logps/chosen"].append(gather(chosen_logps.detach()).mean().item())
        metrics["logps/rejected"].append(gather(rejected_logps.detach()).mean().item())
        metrics["label_smoothing"].append(gather(smoothing).mean().item())


# ---------------------------------------------------------------- data and models


def seeded_draw(rows: list, n: int | None, seed: int) -> list:
    """At most `n` of `rows`, drawn with `seed`, in their file order (all of them when n is None).

    >>> seeded_draw(list(range(10)), 3, 0) == seeded_draw(list(range(10)), 3, 0), len(seeded_draw([1, 2], None, 0))
    (True, 2)
    """
    if n is None or len(rows) <= n:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def load_pairs_dataset(path: str | os.PathLike, cfg: DPOConfig):
    """Pairs JSONL -> `datasets.Dataset` with prompt/chosen/rejected + label_smoothing."""
    from datasets import Dataset

    # a seeded draw, never the file's first N (which are the first few tasks' pairs)
    rows = seeded_draw(list(iter_jsonl(path)), cfg.max_pairs, cfg.seed)
    if not rows:
        raise UserError(f"{path}: no preference pairs to train on")
    records = []
    for lineno, row in rows:
        missing = [key for key in PAIR_COLUMNS if key not in row]
        if missing:
            raise UserError(f"{path}:{lineno}: {missing[0]}: is missing; a pair needs {list(PAIR_COLUMNS)}")
        record = {key: row[key] for key in PAIR_COLUMNS}
        record["label_smoothing"] = pair_smoothing(row.get("weight"), cfg.confidence_weighting, cfg.label_smoothing)
        records.append(record)
    return Dataset.from_list(records)


def load_start_policy(start: str, previous_adapter: str | None, device: str, dtype: str):
    """(model, tokenizer, name, continues): the policy this round starts from.

    Rounds chain through adapters (issue 13): round r-1's policy is an adapter policy folder
    (`policy.models.POLICY_RECORD`: its base + its LoRA), and round r continues training that
    adapter on the same base, unmerged (`continues` is True; the trainer adds no new LoRA), so
    the policy is always base + one adapter and nothing is rounded into bf16 weights. A plain
    checkpoint starts a fresh LoRA; a `previous_adapter` given with it is merged in first (the
    former chaining, kept for checkpoints made that way)."""
    from codeq_lib.policy.models import adapter_id, attach_adapter, load_model_and_tokenizer, resolve_policy

    base, adapter = resolve_policy(start)
    if adapter is not None and previous_adapter:
        raise ValueError(f"start {start!r} is an adapter policy; previous_adapter {previous_adapter!r} would be a "
                         "second adapter (leave it out: the start's adapter is continued)")
    model, tokenizer, name = load_model_and_tokenizer(base, device=device, dtype=dtype)
    if adapter is not None:
        model = attach_adapter(model, adapter, trainable=True)
        name = f"{name}+{adapter_id(adapter)}"
    elif previous_adapter:
        model = attach_adapter(model, previous_adapter).merge_and_unload()
        name = f"{name}+{Path(previous_adapter).name} (merged)"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, name, adapter is not None


def load_round_models(cfg: DPOConfig):
    """(policy start, reference model or None, tokenizer, reference record, continues) for this round."""
    from codeq_lib.policy.models import attach_adapter, load_model_and_tokenizer, resolve_policy

    start = cfg.start or cfg.base
    policy, tokenizer, start_name, continues = load_start_policy(start, cfg.previous_adapter, cfg.device, cfg.dtype)
    record = {"kind": cfg.reference, "base": cfg.base, "start": start, "previous_adapter": cfg.previous_adapter,
              "chained": "adapter continued" if continues else "fresh LoRA"}
    ref_model = None
    if continues and cfg.reference == "previous":
        # the start policy, frozen: its base with the start adapter, a separate copy (the policy's
        # own adapter moves as it trains; disabling it would give the base, not the start)
        base, adapter = resolve_policy(start)
        ref_model, _, _ = load_model_and_tokenizer(base, device=cfg.device, dtype=cfg.dtype)
        # the model class with the LoRA layers injected and active (unmerged, exact), not the
        # PeftModel wrapper, which TRL's fused log-prob head does not know
        ref_model = attach_adapter(ref_model, adapter).get_base_model()
        ref_model.eval().requires_grad_(False)
        record["model"] = f"{start_name} (the start policy, separate frozen copy)"
    elif continues:  # "base": the policy with its adapter disabled is the base
        record["model"] = f"{start_name.split('+')[0]} (original base)"
        record["scored_by"] = "policy with its adapter disabled"
    elif cfg.reference == "base" and (cfg.start or cfg.previous_adapter):
        ref_model, _, base_name = load_model_and_tokenizer(cfg.base, device=cfg.device, dtype=cfg.dtype)
        ref_model.eval().requires_grad_(False)
        record["model"] = f"{base_name} (original base, separate frozen copy)"
    else:
        # Round 1 (no start, no previous adapter): "base" and "previous" are the same model.
        record["model"] = start_name
        record["scored_by"] = "policy with the new LoRA adapter disabled"
    record["policy_start"] = start_name
    return policy, ref_model, tokenizer, record, continues


def optimizer_steps(cfg, n_examples: int, world_size: int = 1) -> int:
    """Optimizer steps a run takes: `max_steps`, else epochs over `n_examples` in batches of
    `batch_size` (the last one partial), as transformers' Trainer counts them.

    >>> from codeq_lib.train.dpo_config import DPOConfig
    >>> optimizer_steps(DPOConfig(batch_size=8, per_device_batch_size=4), 24)
    3
    >>> optimizer_steps(DPOConfig(batch_size=8, per_device_batch_size=4, num_train_epochs=2.0), 20)
    6
    """
    if cfg.max_steps > 0:
        return cfg.max_steps
    micro = math.ceil(n_examples / (cfg.per_device_batch_size * world_size))
    per_epoch = max(1, -(-micro // cfg.gradient_accumulation_steps))
    return max(1, math.ceil(per_epoch * cfg.num_train_epochs))


def warmup_steps(cfg, n_examples: int) -> int:
    """Whole warm-up steps: the ratio of the run's optimizer steps, rounded (transformers reads a
    float below 1 as a ratio and rounds it UP, so 0.1 of 3 steps spent a whole step at lr 0).

    >>> from codeq_lib.train.dpo_config import DPOConfig
    >>> [warmup_steps(DPOConfig(batch_size=8, per_device_batch_size=4, max_steps=n), 1) for n in (3, 10, 60)]
    [0, 1, 6]
    """
    return int(round(cfg.warmup_ratio * optimizer_steps(cfg, n_examples)))


def pair_lengths(dataset, tokenizer) -> list[tuple[int, int]]:
    """(prompt tokens, longest completion tokens) of each pair, through the chat template as TRL
    tokenizes them."""
    out = []
    for row in dataset:
        prompt = len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                   return_dict=False))
        longest = 0
        for side in ("chosen", "rejected"):
            whole = len(tokenizer.apply_chat_template(row["prompt"] + row[side], tokenize=True, return_dict=False))
            longest = max(longest, whole - prompt)
        out.append((prompt, longest))
    return out


def length_report(lengths: list[tuple[int, int]], max_length: int | None) -> dict[str, Any]:
    """What `max_length` does to the pairs: TRL drops a pair whose prompt alone fills it and cuts
    the end off one whose prompt plus completion exceeds it. Logged, never silent.

    >>> length_report([(100, 50), (300, 200), (500, 10)], 400)["truncated"], length_report([(1, 2)], None)["dropped"]
    (1, 0)
    """
    longest = max((p + c for p, c in lengths), default=0)
    if max_length is None:
        return {"max_length": None, "longest_pair": longest, "dropped": 0, "truncated": 0, "n": len(lengths)}
    dropped = sum(p >= max_length for p, _ in lengths)
    truncated = sum(p < max_length < p + c for p, c in lengths)
    return {"max_length": max_length, "longest_pair": longest, "dropped": dropped, "truncated": truncated,
            "n": len(lengths)}


def trl_args(cfg: DPOConfig, out_dir: Path, n_examples: int = 0) -> TRLDPOConfig:
    """TRL/transformers arguments from our config (nothing is saved by the Trainer itself)."""
    from codeq_lib.policy.models import resolve_device

    return TRLDPOConfig(
        output_dir=str(out_dir / "trainer"),
        per_device_train_batch_size=cfg.per_device_batch_size,
        # one step's pairs are spread over the launcher's processes: the effective batch stays batch_size
        gradient_accumulation_steps=accumulation_per_process(cfg.batch_size, cfg.per_device_batch_size, world_size()),
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=warmup_steps(cfg, n_examples),
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        beta=cfg.beta,
        label_smoothing=cfg.label_smoothing,  # the fallback for pairs without a per-pair value
        max_length=cfg.max_length,
        precompute_ref_log_probs=cfg.precompute_ref_log_probs,
        gradient_checkpointing=cfg.gradient_checkpointing,
        # weights are already in their dtype; autocast_bf16 adds bf16 matmuls on top of fp32
        # weights (mixed precision); log-probs are fp32 either way (the fused head runs outside autocast)
        bf16=autocast_on(cfg.autocast_bf16, cfg.device),
        use_cpu=resolve_device(cfg.device) == "cpu",
        logging_steps=cfg.logging_steps,
        save_strategy="no",
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def lora_config(cfg):
    """PEFT LoRA from any config with lora_r / lora_alpha / lora_dropout / target_modules."""
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules), task_type="CAUSAL_LM")


def make_dpo_trainer(cfg: DPOConfig, policy, tokenizer, dataset, ref_model=None, callbacks=None,
                     continues: bool = False) -> CodeqDPOTrainer:
    """A trainer on an already loaded policy (bench/train.py passes a random 7B-shaped one)."""
    return CodeqDPOTrainer(
        model=policy,
        ref_model=ref_model,
        args=trl_args(cfg, Path(cfg.out_dir), n_examples=len(dataset)),
        train_dataset=dataset,
        processing_class=tokenizer,
        data_collator=PreferenceCollator(pad_token_id=tokenizer.pad_token_id, max_length=cfg.max_length),
        peft_config=None if continues else lora_config(cfg),  # a continued adapter is already there
        callbacks=callbacks,
        fp32_logprobs=cfg.fp32_logprobs,
        rpo_alpha=cfg.rpo_alpha,
    )


def build_dpo_trainer(cfg: DPOConfig, dataset=None) -> tuple[CodeqDPOTrainer, dict[str, Any]]:
    """The trainer for `cfg` (not yet trained) and the reference record."""
    policy, ref_model, tokenizer, record, continues = load_round_models(cfg)
    dataset = dataset if dataset is not None else load_pairs_dataset(cfg.pairs, cfg)
    lengths = length_report(pair_lengths(dataset, tokenizer), cfg.max_length)
    if lengths["dropped"] == lengths["n"]:
        shortest = min(p for p, _ in pair_lengths(dataset, tokenizer))
        raise ValueError(f"train.dpo.max_length: {cfg.max_length} drops every pair (the shortest prompt is {shortest} "
                         f"tokens, the longest pair {lengths['longest_pair']}); set it to null (the longest pair) "
                         "or above the prompts")
    trainer = make_dpo_trainer(cfg, policy, tokenizer, dataset, ref_model=ref_model, continues=continues)
    trainer.codeq_lengths = lengths
    return trainer, record


# ---------------------------------------------------------------- checkpoint


def save_checkpoint(trainer, cfg, out_dir: Path, extra: dict[str, Any]) -> Path:
    """adapter/ (safetensors) + train_config.json + run.json + log.jsonl; the adapter folder is
    written beside its final name and renamed, so a crash never leaves half an adapter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.save_pretrained(str(tmp), safe_serialization=True)
    trainer.processing_class.save_pretrained(str(tmp))
    final = out_dir / "adapter"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_json(out_dir / "train_config.json", resolved(cfg))
    write_jsonl(out_dir / "log.jsonl", trainer.state.log_history)
    write_json(out_dir / "run.json", {**run_metadata(cfg), **extra})
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)
    return final


def train_dpo(cfg: DPOConfig, dataset=None) -> dict[str, Any]:
    """Train one DPO round and write its checkpoint; returns a summary (also in run.json)."""
    trainer, reference = build_dpo_trainer(cfg, dataset)
    result = trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    summary = {
        "trainer": "dpo",
        "reference": reference,
        "n_pairs": len(trainer.train_dataset),
        # what max_length did: pairs dropped (prompt alone too long) and cut (TRL does it silently)
        "lengths": getattr(trainer, "codeq_lengths", None),
        "steps": trainer.state.global_step,
        "warmup_steps": trainer.args.warmup_steps,
        "rpo_alpha": cfg.rpo_alpha,
        "train_loss": result.training_loss,
        "final_loss": losses[-1] if losses else None,
        "finite": all(math.isfinite(x) for x in losses),
        "weight_dtype": str(next(trainer.model.parameters()).dtype),
        "autocast_bf16": trainer.args.bf16,
        "fp32_logprobs": cfg.fp32_logprobs,
        "processes": trainer.accelerator.num_processes,
    }
    adapter = Path(cfg.out_dir) / "adapter"
    if trainer.accelerator.is_main_process:  # under accelerate launch: one writer, no race on the folder
        adapter = save_checkpoint(trainer, cfg, Path(cfg.out_dir), {"summary": summary})
        print(json.dumps({**summary, "adapter": str(adapter)}, sort_keys=True, default=str))
    trainer.accelerator.wait_for_everyone()  # no rank returns before the checkpoint is on disk
    summary["adapter"] = str(adapter)
    return summary
