"""GRPO configuration (paired with `grpo_trainer.py`, as in TRL).

GRPO is the second trainer (DESIGN.md "Self-improvement"): instead of preference pairs it
samples a group of rewrites per training task, runs each in the sandbox and pushes the policy
towards the completions that score above their group's mean (DebugArena; the GRPO refinement
studies). Training tasks may use all of their tests as reward (protocol rule 3); test-split
tasks are never given to this trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from codeq_lib.train.dpo_config import CODEQ_TARGET_MODULES


@dataclass
class GRPOConfig:
    tasks: str = field(default="", metadata={"help": "Training-split task JSONL (never the test split)."})
    base: str = field(default="embedded", metadata={"help": "Base model: 'embedded', an HF dir or a .gguf file."})
    out_dir: str = field(default="runs/train_grpo", metadata={"help": "Checkpoint folder (adapter + config + log)."})
    start: str | None = field(
        default=None, metadata={"help": "Standalone checkpoint this round starts from (previous merged policy)."}
    )
    previous_adapter: str | None = field(
        default=None, metadata={"help": "Previous round's LoRA adapter, merged into the base before training."}
    )
    reward_tests: Literal["all", "visible"] = field(
        default="all", metadata={"help": "Tests the reward runs: all of a training task's tests, or visible only."}
    )
    num_generations: int = field(default=4, metadata={"help": "Group size G: rewrites sampled per task per step."})
    max_completion_length: int = field(default=256, metadata={"help": "Most new tokens per rewrite."})
    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature of the rollouts."})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient to the reference (TRL default 0: no ref model)."})
    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate (AdamW)."})
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps (-1: num_train_epochs decides)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the training tasks."})
    tasks_per_step: int = field(default=1, metadata={"help": "Tasks per optimizer step (gradient accumulation)."})
    lora_r: int = field(default=32, metadata={"help": "LoRA rank (as DPO)."})
    lora_alpha: int = field(default=64, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    target_modules: list[str] = field(default_factory=lambda: list(CODEQ_TARGET_MODULES),
                                      metadata={"help": "Modules that get a LoRA adapter."})
    solve_bonus: float = field(default=1.0, metadata={"help": "Reward bonus when every test passes."})
    format_weight: float = field(default=0.1, metadata={"help": "Format term: +w well-formed rewrite, -w otherwise."})
    hack_penalty: float = field(default=0.05, metadata={"help": "Penalty per sandbox static finding."})
    hack_penalty_cap: float = field(default=0.2, metadata={"help": "Cap on the anti-hacking penalty."})
    sandbox_workers: int = field(default=2, metadata={"help": "Warm sandbox workers."})
    sandbox_timeout_s: float = field(default=5.0, metadata={"help": "Per-program time limit in the sandbox."})
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(default="auto", metadata={"help": "Weight dtype."})
    fp32_logprobs: bool = field(
        default=True, metadata={"help": "LM head projection and log-softmax in fp32 whatever the weight dtype."}
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda[:i]."})
    max_tasks: int | None = field(default=None, metadata={"help": "Use only the first N tasks (tiny runs)."})
    held_out: list[str] = field(
        default_factory=lambda: ["data/tasks/*_test.jsonl", "data/tasks/*_val.jsonl"],
        metadata={"help": "Held-out task files or globs: a task (or problem key) found there is refused."},
    )
    logging_steps: int = field(default=1, metadata={"help": "Log every N steps."})
    seed: int = field(default=0, metadata={"help": "Seed for LoRA init, sampling and shuffling."})

    def __post_init__(self) -> None:
        if self.num_generations < 2:
            raise ValueError(f"grpo.num_generations: {self.num_generations} must be >= 2 (advantages need a group)")
        if self.tasks_per_step < 1:
            raise ValueError(f"grpo.tasks_per_step: {self.tasks_per_step} must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"grpo.temperature: {self.temperature} must be > 0")
