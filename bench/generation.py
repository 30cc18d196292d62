"""Tokens/second: K sequential generate calls vs ONE batched call of K, side by side in one
run (DESIGN.md "Speed": batch the K rewrites of an expansion). Prints and writes JSON;
asserts nothing about time.

    python bench/generation.py --threads 1          # embedded SmolLM2-135M on CPU
    python bench/generation.py --random-7b          # CUDA: random Qwen2.5-Coder-7B shape, bf16

Every sequence is forced to exactly --max-new-tokens tokens (min_new_tokens), so both
sides generate the same number of tokens and the ratio is pure throughput. Rounds
alternate which side runs first, so drifting load on a shared machine favours neither.
`--random-7b` builds a randomly initialised model with Qwen2.5-Coder-7B-Instruct's config
(no weights are downloaded) and reports the memory-bandwidth bound: a decode step reads
every weight once, so one sequence cannot beat bandwidth / weight bytes tokens per second,
and a batch of K shares that read (K times the bound, until compute or the KV cache binds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from codeq_lib.io import write_json

PROMPT = [
    {"role": "system", "content": "You are an expert Python programmer. Reply with the complete corrected program."},
    {"role": "user", "content": "This program has a bug:\n```python\ndef add(a, b):\n    return a - b\n```\nFix it."},
]
# Qwen/Qwen2.5-Coder-7B-Instruct config.json (hidden 3584, 28 layers, GQA 28/4 heads).
QWEN25_CODER_7B = dict(
    vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
    num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
    rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
)
# Peak HBM bandwidth, bytes/s (NVIDIA datasheets): H100 SXM5 3.35 TB/s, H100 PCIe 2.0 TB/s,
# H200 4.8 TB/s, A100 80GB SXM 2.04 TB/s. More specific names first.
GPU_BANDWIDTH = {"H200": 4.8e12, "H100 PCIe": 2.0e12, "H100": 3.35e12, "A100": 2.04e12}


def timed_generate(model, input_ids, attention_mask, max_new_tokens: int, seed: int) -> tuple[float, int]:
    """(seconds, generated tokens) of one sampling generate call of a fixed length."""
    torch.manual_seed(seed)
    if input_ids.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            input_ids=input_ids, attention_mask=attention_mask, do_sample=True, temperature=0.8, top_p=0.95,
            max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, pad_token_id=0,
        )
    if input_ids.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, int(out[:, input_ids.shape[1]:].numel())


def compare(model, input_ids, attention_mask, k: int, max_new_tokens: int, seed: int, repeats: int = 2) -> dict:
    """K sequential calls of batch 1 vs one call of batch K, same prompt and length, over
    `repeats` rounds in alternating order (AB, BA, ...); totals are summed over rounds."""
    timed_generate(model, input_ids, attention_mask, 4, seed)  # warm-up (allocations, kernels)
    totals = {"sequential": [0.0, 0, 0], "batched": [0.0, 0, 0]}  # seconds, tokens, calls

    def add(side: str, seconds: float, tokens: int) -> None:
        totals[side][0] += seconds
        totals[side][1] += tokens
        totals[side][2] += 1

    def sequential() -> None:
        for i in range(k):
            add("sequential", *timed_generate(model, input_ids, attention_mask, max_new_tokens, seed + i))

    def batched() -> None:
        add("batched", *timed_generate(model, input_ids.repeat(k, 1), attention_mask.repeat(k, 1), max_new_tokens, seed))

    for round_index in range(repeats):
        for side in (sequential, batched) if round_index % 2 == 0 else (batched, sequential):
            side()
    report = {"k": k, "max_new_tokens": max_new_tokens, "prompt_tokens": int(input_ids.shape[1]), "repeats": repeats}
    for name, (seconds, tokens, calls) in totals.items():
        report[name] = {"calls": calls, "seconds": round(seconds, 3), "tokens": tokens,
                        "tokens_per_s": round(tokens / seconds, 2)}
    report["batched_over_sequential"] = round(report["batched"]["tokens_per_s"] / report["sequential"]["tokens_per_s"], 2)
    return report


def embedded_inputs(model: str, device: str):
    from codeq_lib.policy import load_policy

    policy = load_policy(model, device=device)
    batch = policy.encode([PROMPT])
    return policy.model, batch["input_ids"], batch["attention_mask"], policy.policy_id


def random_qwen(shape: dict, device: str, prompt_tokens: int, seed: int):
    """A Qwen2 model of `shape` with random bf16 weights built directly on `device` (no
    download, no fp32 copy), and a random prompt of `prompt_tokens` ids."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(**shape)
    with torch.device(device):
        model = Qwen2ForCausalLM._from_config(config, dtype=torch.bfloat16).eval()
    input_ids = torch.randint(0, config.vocab_size, (1, prompt_tokens), device=device)
    return model, input_ids, torch.ones_like(input_ids)


def decode_weight_bytes(model) -> int:
    """Bytes a decode step reads: every weight once per batch, except the input embedding
    table, of which it reads one row per token (Qwen2.5-7B does not tie it to the LM head)."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    embedding = model.get_input_embeddings().weight
    tied = embedding is model.get_output_embeddings().weight
    return total if tied else total - embedding.numel() * embedding.element_size()


def bandwidth_bound(weight_bytes: int, bandwidth: float, k: int) -> dict:
    """Memory-bound decode ceiling: bandwidth / bytes per step tokens/s for one sequence,
    K times that for a batch of K (until compute or the KV cache binds).

    >>> bandwidth_bound(2_000_000_000, 4e12, 8)
    {'bound_tokens_per_s_batch1': 2000.0, 'bound_tokens_per_s_batchK': 16000.0}
    """
    return {"bound_tokens_per_s_batch1": round(bandwidth / weight_bytes, 1),
            "bound_tokens_per_s_batchK": round(k * bandwidth / weight_bytes, 1)}


def gpu_bandwidth_report(model, k: int) -> dict:
    name = torch.cuda.get_device_name()
    bandwidth = next((bw for key, bw in GPU_BANDWIDTH.items() if key in name), None)
    weight_bytes = decode_weight_bytes(model)
    out = {"gpu": name, "weight_bytes_read_per_step": weight_bytes, "peak_bandwidth_bytes_per_s": bandwidth}
    return {**out, **bandwidth_bound(weight_bytes, bandwidth, k)} if bandwidth else out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="policy model (embedded, HF dir, .gguf, hub id)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--k", type=int, default=8, help="rewrites per expansion")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="rounds, alternating which side runs first")
    parser.add_argument("--random-7b", action="store_true", help="random Qwen2.5-Coder-7B-shaped model in bf16 on CUDA")
    parser.add_argument("--prompt-tokens", type=int, default=256, help="prompt length for --random-7b")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    parser.add_argument("--out", default="bench/out/generation.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.random_7b:
        if not torch.cuda.is_available():
            raise SystemExit("--random-7b needs a CUDA device")
        model, input_ids, mask = random_qwen(QWEN25_CODER_7B, "cuda", args.prompt_tokens, args.seed)
        name = "random-qwen2.5-coder-7b-bf16"
    else:
        model, input_ids, mask, name = embedded_inputs(args.model, args.device)
    report = {
        "bench": "generation",
        "model": name,
        "device": str(input_ids.device),
        "dtype": str(next(model.parameters()).dtype),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        **compare(model, input_ids, mask, args.k, args.max_new_tokens, args.seed, args.repeats),
    }
    if args.random_7b:
        report["bandwidth"] = gpu_bandwidth_report(model, args.k)
    print(json.dumps(report, indent=2))
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
