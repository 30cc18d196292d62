"""DPO configuration (paired with `dpo_trainer.py`, as in TRL).

Defaults are CodeQ's: LoRA r=32, alpha=64 on the seven projection modules, beta=0.1,
effective batch 16. Rounds chain through adapters: round r starts from `start` (round r-1's
policy, an adapter policy folder = base + LoRA, unmerged; the original `base` in round 1) and
continues training that adapter (a plain checkpoint as `start` gets a fresh LoRA). The reference model is chosen on purpose (`reference`):
"previous" is the policy the round starts from, "base" is the original base in every round.
Field docs are the CLI help (cleanrl style); params.yaml's `train` section fills them
through `codeq_lib.config.from_dict`, which refuses unknown keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CODEQ_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class DPOConfig:
    pairs: str = field(default="", metadata={"help": "Preference pairs JSONL (codeq pairs output)."})
    base: str = field(
        default="embedded",
        metadata={"help": "Base model: 'embedded', an HF dir, a .gguf file or a hub id (never fetched offline)."},
    )
    out_dir: str = field(default="runs/train", metadata={"help": "Checkpoint folder (adapter + config + log)."})
    reference: Literal["base", "previous"] = field(
        default="previous",
        metadata={"help": "DPO reference model: 'previous' = the policy this round starts from "
                          "(start/base + previous adapter), 'base' = the original `base` model."},
    )
    start: str | None = field(
        default=None,
        metadata={"help": "Standalone checkpoint this round starts from (the previous round's merged policy, "
                          "`codeq train merge`); None = start from `base`."},
    )
    previous_adapter: str | None = field(
        default=None,
        metadata={"help": "LoRA adapter of the previous round, merged into the start model before training "
                          "(the alternative to a merged `start`)."},
    )
    lora_r: int = field(default=32, metadata={"help": "LoRA rank (CodeQ: 32)."})
    lora_alpha: int = field(default=64, metadata={"help": "LoRA alpha (CodeQ: 64)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    target_modules: list[str] = field(
        default_factory=lambda: list(CODEQ_TARGET_MODULES),
        metadata={"help": "Modules that get a LoRA adapter (CodeQ: the seven attention/MLP projections)."},
    )
    beta: float = field(default=0.1, metadata={"help": "DPO inverse temperature beta (CodeQ: 0.1)."})
    label_smoothing: float = field(
        default=0.0, metadata={"help": "Global conservative-DPO label smoothing (cDPO); 0 is plain DPO."}
    )
    confidence_weighting: bool = field(
        default=False,
        metadata={"help": "Per-pair label smoothing 1 - weight from the pair's visits (MCTS-DPO style); "
                          "overrides label_smoothing pair by pair."},
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate (AdamW)."})
    lr_scheduler_type: str = field(default="linear", metadata={"help": "transformers scheduler name."})
    warmup_ratio: float = field(
        default=0.1,
        metadata={"help": "Fraction of the optimizer steps spent warming up, rounded to whole steps "
                          "(3 steps x 0.1 = 0 warm-up steps, never a step at lr 0)."},
    )
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the pairs."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps (-1: epochs decide)."})
    batch_size: int = field(default=16, metadata={"help": "Effective batch in pairs (CodeQ: 16)."})
    per_device_batch_size: int = field(
        default=2, metadata={"help": "Pairs per forward pass; gradient accumulation = batch_size / this."}
    )
    max_length: int | None = field(
        default=None,
        metadata={"help": "Truncate prompt+completion to this many tokens; None = the longest pair's length "
                          "(nothing cut). The run logs how many pairs a set value cuts (run.json: data)."},
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        default="auto", metadata={"help": "Weight dtype: auto = bf16 on CUDA, fp32 on CPU."}
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda[:i]."})
    autocast_bf16: bool | Literal["auto"] = field(
        default=False,
        metadata={"help": "Mixed precision: forward/backward matmuls in bf16 under autocast, fp32 master "
                          "weights and fp32 LM head (fp32_logprobs). auto: on a GPU or a CPU with native "
                          "bf16 (~2.4x faster DPO steps there), off on a CPU without it (5.5x slower "
                          "there); see `autocast_on`."},
    )
    fp32_logprobs: bool = field(
        default=True,
        metadata={"help": "Project the LM head and take log-softmax in fp32 whatever the weight dtype "
                          "(CodeQ lost bf16 runs to NaN). Only turn off to reproduce the failure."},
    )
    precompute_ref_log_probs: bool = field(
        default=False, metadata={"help": "Score the reference once before training (frees its memory)."}
    )
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Trade compute for memory (7B on GPU)."})
    logging_steps: int = field(default=1, metadata={"help": "Log loss / reward accuracy / margins every N steps."})
    seed: int = field(default=0, metadata={"help": "Seed for LoRA init, shuffling and dropout."})
    max_pairs: int | None = field(
        default=None, metadata={"help": "Use at most N pairs, drawn after a seeded shuffle (never the file's first N)."}
    )
    rpo_alpha: float = field(
        default=0.0,
        metadata={"help": "Weight of an NLL term on the chosen answer (token mean) added to the DPO loss: RPO "
                          "(Pang et al. 2024, iterative reasoning preference optimisation; TRL's loss_type "
                          "['sigmoid', 'sft']). 0 is plain DPO."},
    )

    def __post_init__(self) -> None:
        if self.batch_size <= 0 or self.per_device_batch_size <= 0:
            raise ValueError("train.batch_size and train.per_device_batch_size must be positive")
        if self.batch_size % self.per_device_batch_size:
            raise ValueError(
                f"train.batch_size: {self.batch_size} is not a multiple of per_device_batch_size "
                f"{self.per_device_batch_size}"
            )
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"train.label_smoothing: {self.label_smoothing} must be in [0, 0.5)")
        if self.beta <= 0:
            raise ValueError(f"train.beta: {self.beta} must be > 0")
        if self.lora_r <= 0:
            raise ValueError(f"train.lora_r: {self.lora_r} must be > 0")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"train.warmup_ratio: {self.warmup_ratio} must be in [0, 1)")
        if self.rpo_alpha < 0:
            raise ValueError(f"train.rpo_alpha: {self.rpo_alpha} must be >= 0")
        if self.max_length is not None and self.max_length <= 0:
            raise ValueError(f"train.max_length: {self.max_length} must be > 0 or null (the longest pair)")

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.batch_size // self.per_device_batch_size


def autocast_on(setting: bool | str, device: str = "auto") -> bool:
    """`autocast_bf16` as it applies on this machine. "auto" is on where bf16 matmuls are fast: a
    GPU, or a CPU with native bf16 dot products (AVX512-BF16 or AMX), where DPO steps ran 2.36x
    faster under autocast (`bench/train.py --compare-autocast`). On a CPU without them bf16 is
    emulated: an 8x576 @ 576x1536 linear took 2.37 ms in bf16 against 0.43 ms in fp32 on an
    AVX2-only 2-core machine, so autocast there makes training several times slower."""
    if setting != "auto":
        return bool(setting)
    from codeq_lib.policy.models import policy_dtype, resolve_device

    return policy_dtype("auto", resolve_device(device)) == "bfloat16"  # the rule the sampler's dtype follows
