"""Rejection-sampling fine-tuning (RFT; STaR): supervised fine-tuning on the search's winners.

The baseline a researcher compares DPO with: keep the rewrites that passed every test
(`codeq_lib.pairs.build_winners`) and fine-tune on them, prompt masked out (TRL's `SFTTrainer`,
conversational prompt-completion rows, completion-only loss), with the same LoRA as DPO.
It uses only the positives, so at equal data it says what DPO's negatives add.

A checkpoint is written like DPO's (`dpo_trainer.save_checkpoint`): `adapter/`,
`train_config.json`, `run.json` and `log.jsonl`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codeq_lib.io import iter_jsonl
from codeq_lib.train.dpo_config import CODEQ_TARGET_MODULES, autocast_on


@dataclass
class RFTConfig:
    winners: str = field(default="", metadata={"help": "Winners JSONL (the pairs stage's winners.jsonl)."})
    base: str = field(default="embedded", metadata={"help": "Base model: 'embedded', an HF dir or a .gguf file."})
    start: str | None = field(default=None, metadata={"help": "Policy this round starts from (None = base)."})
    previous_adapter: str | None = field(default=None, metadata={"help": "Previous round's adapter, merged first."})
    out_dir: str = field(default="runs/train", metadata={"help": "Checkpoint folder."})
    lora_r: int = field(default=32, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=64, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    target_modules: list[str] = field(default_factory=lambda: list(CODEQ_TARGET_MODULES),
                                      metadata={"help": "Modules that get a LoRA adapter."})
    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate (AdamW)."})
    lr_scheduler_type: str = field(default="linear", metadata={"help": "transformers scheduler name."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Fraction of optimizer steps warming up (whole steps)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the winners."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps (-1: epochs decide)."})
    batch_size: int = field(default=8, metadata={"help": "Effective batch in examples."})
    per_device_batch_size: int = field(default=4, metadata={"help": "Examples per forward pass."})
    max_length: int | None = field(default=None, metadata={"help": "Truncate to this many tokens (None: never)."})
    max_examples: int | None = field(default=None, metadata={"help": "At most N winners, a seeded draw."})
    dtype: str = field(default="auto", metadata={"help": "Weight dtype: auto = bf16 on CUDA, fp32 on CPU."})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda[:i]."})
    autocast_bf16: bool | Literal["auto"] = field(
        default=False, metadata={"help": "bf16 autocast over fp32 weights; auto: where bf16 is fast (`autocast_on`)."})
    logging_steps: int = field(default=1, metadata={"help": "Log every N steps."})
    seed: int = field(default=0, metadata={"help": "Seed for LoRA init, the draw and shuffling."})

    def __post_init__(self) -> None:
        if self.batch_size <= 0 or self.per_device_batch_size <= 0 or self.batch_size % self.per_device_batch_size:
            raise ValueError(f"train.rft.batch_size: {self.batch_size} must be a positive multiple of "
                             f"per_device_batch_size {self.per_device_batch_size}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"train.rft.warmup_ratio: {self.warmup_ratio} must be in [0, 1)")

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.batch_size // self.per_device_batch_size


def load_winners_dataset(path: str | Path, cfg: RFTConfig):
    """Winners JSONL -> `datasets.Dataset` of prompt/completion (a seeded draw under max_examples)."""
    from datasets import Dataset

    from codeq_lib.train.dpo_trainer import seeded_draw

    rows = seeded_draw(list(iter_jsonl(path)), cfg.max_examples, cfg.seed)
    if not rows:
        raise ValueError(f"{path}: no winners to train on")
    records = []
    for lineno, row in rows:
        missing = [key for key in ("prompt", "completion") if key not in row]
        if missing:
            raise ValueError(f"{path}:{lineno}: winner is missing field(s) {missing}")
        records.append({"prompt": row["prompt"], "completion": row["completion"]})
    return Dataset.from_list(records)


def train_rft(cfg: RFTConfig, dataset=None) -> dict[str, Any]:
    """Fine-tune a LoRA on the winners; write the checkpoint; return a summary."""
    from trl import SFTConfig, SFTTrainer

    from codeq_lib.policy.models import resolve_device
    from codeq_lib.train.dpo_trainer import lora_config, load_start_policy, optimizer_steps, save_checkpoint

    dataset = dataset if dataset is not None else load_winners_dataset(cfg.winners, cfg)
    policy, tokenizer, name, continues = load_start_policy(cfg.start or cfg.base, cfg.previous_adapter,
                                                           cfg.device, cfg.dtype)
    out = Path(cfg.out_dir)
    steps = optimizer_steps(cfg, len(dataset))
    args = SFTConfig(
        output_dir=str(out / "trainer"), per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type, warmup_steps=int(round(cfg.warmup_ratio * steps)),
        num_train_epochs=cfg.num_train_epochs, max_steps=cfg.max_steps, max_length=cfg.max_length,
        completion_only_loss=True, packing=False, bf16=autocast_on(cfg.autocast_bf16, cfg.device),
        use_cpu=resolve_device(cfg.device) == "cpu", logging_steps=cfg.logging_steps, save_strategy="no",
        report_to="none", seed=cfg.seed, data_seed=cfg.seed, disable_tqdm=True, dataloader_num_workers=0,
    )
    trainer = SFTTrainer(model=policy, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=None if continues else lora_config(cfg))
    result = trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    summary = {"trainer": "rft", "policy_start": name, "n_examples": len(dataset),
               "steps": trainer.state.global_step, "warmup_steps": args.warmup_steps, "autocast_bf16": args.bf16,
               "train_loss": result.training_loss, "final_loss": losses[-1] if losses else None,
               "finite": all(math.isfinite(x) for x in losses)}
    adapter = save_checkpoint(trainer, cfg, out, {"summary": summary})
    summary["adapter"] = str(adapter)
    print(json.dumps(summary, sort_keys=True, default=str))
    return summary
