"""Seconds per preference pair for one DPO round (issue 6): LoRA DPO with our trainer (TRL 1.x
DPOTrainer + fp32 log-probs) on synthetic pairs of realistic length. Prints and writes JSON
(bench/out/train.json); asserts nothing about time.

    python bench/train.py                   # embedded SmolLM2-135M on CPU, a few steps
    python bench/train.py --random-7b       # CUDA: random Qwen2.5-Coder-7B shape, bf16 + LoRA
    python bench/train.py --compare-autocast # CPU: fp32 vs bf16 autocast (train.dpo.autocast_bf16), same pairs

The first optimizer step (allocation, warm-up) is not timed: seconds/pair is the mean over the
later steps. `--random-7b` builds a randomly initialised model with Qwen2.5-Coder-7B-Instruct's
config (no weights are downloaded) and extrapolates to CodeQ's round of 1,352 pairs (reported:
about 19 minutes on one H100).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import TrainerCallback

from codeq_lib.io import write_json, write_jsonl

QWEN25_CODER_7B = dict(  # Qwen/Qwen2.5-Coder-7B-Instruct config.json
    vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
    num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
    rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
)
CODEQ_ROUND_PAIRS = 1352


class StepClock(TrainerCallback):
    """perf_counter at the end of every optimizer step (synchronised on CUDA)."""

    def __init__(self):
        self.times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


def synthetic_program(lines: int, seed: int) -> str:
    body = "\n".join(f"    total = total + values[{i % 7}] * {seed + i}  # step {i}" for i in range(lines))
    return f"def solve(values):\n    total = 0\n{body}\n    return total"


def synthetic_pairs(n: int, program_lines: int) -> list[dict]:
    """Repair-prompt-shaped pairs: the prompt shows a buggy program, both answers rewrite it."""
    rows = []
    for i in range(n):
        buggy = synthetic_program(program_lines, i)
        prompt = [{"role": "system", "content": "You are an expert Python programmer. You fix bugs by rewriting "
                                                "the whole program."},
                  {"role": "user", "content": f"This program has a bug:\n```python\n{buggy}\n```\n"
                                              "Write the complete corrected program in one ```python code block."}]
        chosen = "```python\n" + synthetic_program(program_lines, i + 1) + "\n```"
        rejected = "```python\n" + synthetic_program(program_lines, i + 2).replace("+", "-") + "\n```"
        rows.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                     "rejected": [{"role": "assistant", "content": rejected}], "task_id": f"bench-{i}",
                     "weight": 0.9})
    return rows


def random_7b(tokenizer_dir: Path):
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    if not torch.cuda.is_available():
        raise SystemExit("--random-7b needs a CUDA device")
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))  # ids < 152064, any tokenizer works
    config = Qwen2Config(**QWEN25_CODER_7B, pad_token_id=tokenizer.pad_token_id or 0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model, tokenizer, "random-qwen2.5-coder-7b-shape"


def run(args: argparse.Namespace) -> dict:
    from codeq_lib.policy.models import embedded_tokenizer_dir, load_model_and_tokenizer
    from codeq_lib.train.dpo_config import DPOConfig
    from codeq_lib.train.dpo_trainer import load_pairs_dataset, make_dpo_trainer

    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    n_pairs = args.steps * args.pairs_per_step
    write_jsonl(tmp / "pairs.jsonl", synthetic_pairs(n_pairs, args.program_lines))
    device = "cuda" if args.random_7b else "cpu"
    cfg = DPOConfig(pairs=str(tmp / "pairs.jsonl"), out_dir=str(tmp / "out"), batch_size=args.pairs_per_step,
                    per_device_batch_size=args.per_device_batch_size, max_steps=args.steps, device=device,
                    dtype="bfloat16" if args.random_7b else "float32", max_length=args.max_length,
                    gradient_checkpointing=args.random_7b, confidence_weighting=True,
                    autocast_bf16=args.autocast_bf16)
    load_before = os.getloadavg()[0]  # shared machines: record how busy this one was
    start = time.perf_counter()
    if args.random_7b:
        policy, tokenizer, name = random_7b(embedded_tokenizer_dir())
    else:
        policy, tokenizer, name = load_model_and_tokenizer(args.model, device="cpu", dtype="float32")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    load_s = time.perf_counter() - start
    dataset = load_pairs_dataset(cfg.pairs, cfg)
    clock = StepClock()
    trainer = make_dpo_trainer(cfg, policy, tokenizer, dataset, callbacks=[clock])
    lengths = [len(p) + len(c) for p, c in zip(trainer.train_dataset["prompt_ids"], trainer.train_dataset["chosen_ids"])]
    trainer.train()
    timed_steps = len(clock.times) - 1
    seconds_per_pair = (clock.times[-1] - clock.times[0]) / (timed_steps * args.pairs_per_step) if timed_steps else None
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    result = {
        "bench": "train_dpo",
        "model": name,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "torch_threads": torch.get_num_threads(),
        "weight_dtype": str(next(policy.parameters()).dtype),
        "autocast_bf16": cfg.autocast_bf16,
        "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "target_modules": cfg.target_modules},
        "pairs_per_step": args.pairs_per_step,
        "per_device_batch_size": args.per_device_batch_size,
        "steps": args.steps,
        "timed_steps": timed_steps,
        "mean_tokens_prompt_plus_chosen": sum(lengths) / len(lengths),
        "seconds_per_pair": seconds_per_pair,
        "seconds_per_step": (clock.times[-1] - clock.times[0]) / timed_steps if timed_steps else None,
        "load_s": load_s,
        "loadavg_1min_before_after": [load_before, os.getloadavg()[0]],
        "losses": losses,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if seconds_per_pair is not None:
        result["extrapolated_round_minutes"] = {"pairs": CODEQ_ROUND_PAIRS,
                                                "minutes": seconds_per_pair * CODEQ_ROUND_PAIRS / 60}
    if device == "cuda":
        result["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="CPU model (default: the embedded SmolLM2-135M)")
    parser.add_argument("--random-7b", action="store_true", help="CUDA: random Qwen2.5-Coder-7B-shaped model")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps (the first is not timed)")
    parser.add_argument("--pairs-per-step", type=int, default=4, help="effective batch (CodeQ: 16)")
    parser.add_argument("--per-device-batch-size", type=int, default=2, help="pairs per forward pass")
    parser.add_argument("--program-lines", type=int, default=12, help="size of the synthetic programs")
    parser.add_argument("--max-length", type=int, default=1024, help="truncation length in tokens")
    parser.add_argument("--autocast-bf16", action="store_true", help="bf16 autocast over fp32 weights")
    parser.add_argument("--compare-autocast", action="store_true",
                        help="run fp32 and bf16 autocast one after the other on the same pairs; report the ratio")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "train.json"))
    args = parser.parse_args(argv)
    if args.random_7b and args.pairs_per_step == 4:
        args.pairs_per_step, args.per_device_batch_size, args.steps = 16, 4, 4
    if args.compare_autocast:
        sides = {name: run(argparse.Namespace(**{**vars(args), "autocast_bf16": flag}))
                 for name, flag in (("fp32", False), ("autocast_bf16", True))}
        result = {"bench": "train_dpo_autocast", "sides": sides,
                  "fp32_seconds_per_pair_over_autocast": sides["fp32"]["seconds_per_pair"] / sides["autocast_bf16"]["seconds_per_pair"]}
    else:
        result = run(args)
    result["command"] = " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])])
    write_json(args.out, result)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
