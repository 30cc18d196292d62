"""The full profile's GPU path on one CUDA machine, with no network and no real weights: a
randomly initialised model of Qwen2.5-Coder-7B-Instruct's shape. Run by scripts/gpu_check.sh.

    python bench/gpu_check.py nf4 --out bench/out/gpu_check_nf4.json

`nf4`: the 7B-shaped model is written once in bf16 with a bf16 LoRA adapter beside it, then
loaded as the stages load it with `quantize_4bit: true` (NF4 base + the adapter, unmerged),
and decoded through the engine at several concurrencies. It checks that the adapter still
acts on the 4-bit base: the change the adapter makes to the next-token logits, measured on
the 4-bit base, correlates with the change it makes on the bf16 base (`adapter_delta_cosine`,
near 1 when the bf16 adapter is sampled correctly; near 0 if it were lost). Prints and writes
JSON; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QWEN25_CODER_7B = dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                       rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False)
TINY_QWEN2 = dict(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, tie_word_embeddings=False)


def write_random_model(folder: Path, shape: dict, device: str) -> tuple[Path, Path]:
    """A random bf16 Qwen2 of `shape` with the embedded tokenizer, and a random bf16 LoRA adapter on it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, Qwen2Config

    from codeq_lib.policy.models import embedded_tokenizer_dir
    from codeq_lib.train.dpo_config import CODEQ_TARGET_MODULES

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_tokenizer_dir()))
    config = Qwen2Config(**shape, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    base, adapter = folder / "base", folder / "adapter"
    model.save_pretrained(base, safe_serialization=True)
    tokenizer.save_pretrained(base)
    lora = LoraConfig(r=32, lora_alpha=64, target_modules=list(CODEQ_TARGET_MODULES), task_type="CAUSAL_LM",
                      init_lora_weights=False)  # CodeQ's LoRA, with random (not zero) B: the adapter acts
    get_peft_model(model, lora).save_pretrained(adapter)
    del model
    torch.cuda.empty_cache() if device == "cuda" else None
    return base, adapter


def next_token_logits(policy, messages) -> "torch.Tensor":
    import torch

    batch = policy.encode([messages])
    with torch.inference_mode():
        return policy.model(**batch).logits[0, -1].float()


def adapter_delta_cosine(base: Path, adapter: Path, device: str, quantize_4bit: bool, messages) -> float:
    """cos(logits with adapter - logits without, on the bf16 base; the same on the `quantize_4bit` base)."""
    import torch

    from codeq_lib.policy.models import load_policy

    deltas = []
    for nf4 in (False, quantize_4bit):
        plain = load_policy(str(base), device=device, quantize_4bit=nf4)
        without = next_token_logits(plain, messages)
        del plain
        adapted = load_policy(str(base), adapter=str(adapter), device=device, quantize_4bit=nf4)
        deltas.append(next_token_logits(adapted, messages) - without)
        del adapted
        torch.cuda.empty_cache() if device == "cuda" else None
    return round(float(torch.nn.functional.cosine_similarity(deltas[0], deltas[1], dim=0)), 4)


def decode_rates(policy, messages, concurrencies: list[int], max_new_tokens: int) -> dict:
    """Generated tokens/s through the policy's engine with C calls (K = 4 rows each) in flight."""
    out = {}
    policy.sample(messages, n=4, max_new_tokens=4, seed=0)  # warm-up
    for concurrency in concurrencies:
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            calls = list(pool.map(lambda i: policy.sample(messages, n=4, max_new_tokens=max_new_tokens, seed=i),
                                  range(concurrency)))
        wall = time.perf_counter() - start
        tokens = sum(g.completion_tokens for call in calls for g in call)
        out[f"concurrency_{concurrency}"] = {"calls": concurrency, "tokens": tokens, "wall_s": round(wall, 2),
                                             "tokens_per_s": round(tokens / wall, 1)}
        print(json.dumps({f"nf4_concurrency_{concurrency}": out[f"concurrency_{concurrency}"]}), flush=True)
    return out


def nf4(args) -> dict:
    import torch

    from codeq_lib.policy.models import load_policy, resolve_device

    device = resolve_device("cuda" if args.shape == "7b" else "auto")
    shape = QWEN25_CODER_7B if args.shape == "7b" else TINY_QWEN2
    messages = [{"role": "user", "content": "Fix the bug:\ndef add(a, b):\n    return a - b"}]
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        start = time.perf_counter()
        base, adapter = write_random_model(Path(tmp), shape, device)
        written_s = time.perf_counter() - start
        quantize = device.startswith("cuda")  # NF4 needs CUDA: the CPU smoke run checks the plumbing only
        cosine = adapter_delta_cosine(base, adapter, device, quantize, messages)
        start = time.perf_counter()
        policy = load_policy(str(base), adapter=str(adapter), device=device, quantize_4bit=quantize)
        load_s = time.perf_counter() - start
        memory = torch.cuda.max_memory_allocated() / 1e9 if device.startswith("cuda") else None
        rates = decode_rates(policy, messages, args.concurrency, args.max_new_tokens)
        policy.close()
    return {"check": "nf4", "shape": args.shape, "device": device, "quantized": quantize,
            "policy_id": policy.policy_id, "write_s": round(written_s, 1), "load_nf4_with_adapter_s": round(load_s, 1),
            "max_gpu_memory_gb": round(memory, 2) if memory else None,
            "adapter_delta_cosine": cosine, "adapter_survives": cosine > 0.9, "decode": rates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=["nf4"])
    parser.add_argument("--shape", choices=["7b", "tiny"], default="7b", help="tiny: a CPU smoke run of the script")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--work-dir", default=None, help="where the random model is written (needs ~16 GB for 7b)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "gpu_check_nf4.json"))
    args = parser.parse_args(argv)
    report = nf4(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
