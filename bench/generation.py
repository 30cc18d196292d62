"""Tokens/second: K sequential generate calls vs ONE batched call of K, side by side in one
run (DESIGN.md "Speed": batch the K rewrites of an expansion). Prints and writes JSON;
asserts nothing about time.

    python bench/generation.py                      # embedded SmolLM2-135M on CPU
    python bench/generation.py --random-7b          # CUDA: random Qwen2.5-Coder-7B shape, bf16

Every sequence is forced to exactly --max-new-tokens tokens (min_new_tokens), so both
sides generate the same number of tokens and the ratio is pure throughput. `--random-7b`
builds a randomly initialised model with Qwen2.5-Coder-7B-Instruct's config (no weights
are downloaded) and reports the memory-bandwidth bound: a decode step reads every weight
once, so one sequence cannot beat bandwidth / weight bytes tokens per second, and a batch
of K shares that read (K times the bound, until compute or the KV cache binds).
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
# H200 4.8 TB/s, A100 80GB SXM 2.04 TB/s.
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


def compare(model, input_ids, attention_mask, k: int, max_new_tokens: int, seed: int) -> dict:
    """K sequential calls of batch 1, then one call of batch K, same prompt and length."""
    timed_generate(model, input_ids, attention_mask, 4, seed)  # warm-up (allocations, kernels)
    sequential_s, sequential_tokens = 0.0, 0
    for i in range(k):
        seconds, tokens = timed_generate(model, input_ids, attention_mask, max_new_tokens, seed + i)
        sequential_s += seconds
        sequential_tokens += tokens
    batched_s, batched_tokens = timed_generate(
        model, input_ids.repeat(k, 1), attention_mask.repeat(k, 1), max_new_tokens, seed
    )
    sequential_tps, batched_tps = sequential_tokens / sequential_s, batched_tokens / batched_s
    return {
        "k": k,
        "max_new_tokens": max_new_tokens,
        "prompt_tokens": int(input_ids.shape[1]),
        "sequential": {"calls": k, "seconds": round(sequential_s, 3), "tokens": sequential_tokens, "tokens_per_s": round(sequential_tps, 2)},
        "batched": {"calls": 1, "seconds": round(batched_s, 3), "tokens": batched_tokens, "tokens_per_s": round(batched_tps, 2)},
        "batched_over_sequential": round(batched_tps / sequential_tps, 2),
    }


def embedded_inputs(model: str, device: str):
    from codeq_lib.policy import load_policy

    policy = load_policy(model, device=device)
    batch = policy.encode([PROMPT])
    return policy.model, batch["input_ids"], batch["attention_mask"], policy.policy_id


def random_qwen_7b(prompt_tokens: int, seed: int):
    """Qwen2.5-Coder-7B-shaped model with random bf16 weights, built directly on the GPU."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if not torch.cuda.is_available():
        raise SystemExit("--random-7b needs a CUDA device")
    torch.manual_seed(seed)
    config = Qwen2Config(**QWEN25_CODER_7B)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).eval()
    torch.set_default_dtype(torch.float32)
    input_ids = torch.randint(1000, config.vocab_size - 1000, (1, prompt_tokens), device="cuda")
    return model, input_ids, torch.ones_like(input_ids)


def bandwidth_bound(model, k: int) -> dict:
    """Decode is memory-bound: each step reads every weight once per batch, except the input
    embedding table, of which it reads one row per token (untied in Qwen2.5-7B)."""
    name = torch.cuda.get_device_name()
    bandwidth = next((bw for key, bw in GPU_BANDWIDTH.items() if key in name), None)
    embedding = model.get_input_embeddings().weight
    all_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    weight_bytes = all_bytes - embedding.numel() * embedding.element_size()
    out = {"gpu": name, "parameter_bytes": all_bytes, "weight_bytes_read_per_step": weight_bytes,
           "peak_bandwidth_bytes_per_s": bandwidth}
    if bandwidth:
        out["bound_tokens_per_s_batch1"] = round(bandwidth / weight_bytes, 1)
        out[f"bound_tokens_per_s_batch{k}"] = round(k * bandwidth / weight_bytes, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="policy model (embedded, HF dir, .gguf, hub id)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--k", type=int, default=8, help="rewrites per expansion")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-7b", action="store_true", help="random Qwen2.5-Coder-7B-shaped model in bf16 on CUDA")
    parser.add_argument("--prompt-tokens", type=int, default=256, help="prompt length for --random-7b")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    parser.add_argument("--out", default="bench/out/generation.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.random_7b:
        model, input_ids, mask = random_qwen_7b(args.prompt_tokens, args.seed)
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
        **compare(model, input_ids, mask, args.k, args.max_new_tokens, args.seed),
    }
    if args.random_7b:
        report["bandwidth"] = bandwidth_bound(model, args.k)
    print(json.dumps(report, indent=2))
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
