"""Seconds per LLM call: transformers' generate (the former default: fp32, SDPA) vs codeq's
per-call decode loop (policy/decode.py, HFPolicy decoder "call": bf16 on CPUs with native
bf16, eager attention, prompt prefilled once), side by side in one run on real repair
prompts, one call at a time. Prints and writes JSON; asserts nothing about time. (The
batching engine, many calls at once, is measured by bench/throughput.py.)

    python bench/decode.py                      # embedded SmolLM2-135M, 1 thread, K = 4

Both sides sample K rewrites of the same curriculum prompts with the same max_new_tokens and
the same stop rule (end of the first code block); their samples differ (different random
streams), so the figure of merit is generated tokens per second, and seconds per call is
reported beside it. A third side, generate with the loop's dtype and attention, separates
what the dtype/attention choice buys from what the loop itself buys; the `loop_lookahead_D`
sides are the loop with prompt-lookup drafts of up to D tokens verified per forward pass
(decode.py's `lookahead`; 0: one token per pass) beside the policy's default D, the
`loop_lookahead_D_max_M` sides widen the drafts to at most M as rows finish (M = D: fixed;
decode.draft_limit), `loop_policy_default_model_forward` is the policy's loop through the
model's own forward instead of lean.py's, `..._eager_attention` also on transformers' eager
attention instead of attention.py's (the former default; all three draw the same samples),
and every side reports its forward passes per generated token. Rounds alternate the order of the
sides, so drifting load on a shared machine favours none.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from codeq_lib.io import write_json
from codeq_lib.policy import PolicyStats

LOOKAHEADS = (0,)  # loop sides with other fixed draft lengths (0: one token per pass)
# the policy's lookahead with other widening limits (lookahead_max = lookahead: fixed drafts)
LOOKAHEAD_MAXES = (4, 8, 12)


def load_side(model: str, dtype: str, attn: str, decoder: str):
    from codeq_lib.policy import load_policy
    from codeq_lib.policy.hf_policy import HFPolicy
    from codeq_lib.policy.models import load_model_and_tokenizer

    if decoder == "call" and dtype == "auto":
        policy = load_policy(model, device="cpu")  # a CPU benchmark, also on a machine with a GPU
        policy.decoder = decoder  # the per-call loop, as the policy sampled before the engine
        return policy
    loaded, tokenizer, name = load_model_and_tokenizer(model, "cpu", dtype, attn_implementation=attn)
    return HFPolicy(model=loaded, tokenizer=tokenizer, policy_id=name, decoder=decoder)


@contextlib.contextmanager
def counting_forward_passes(model, counter: dict):
    """Counts the model's forward passes (prefill and decode steps) into counter["forward_passes"]:
    calls of its input embedding, once per pass on every path (policy/lean.py's included)."""
    def count(*_):
        counter["forward_passes"] += 1

    handle = model.get_input_embeddings().register_forward_hook(count)
    try:
        yield
    finally:
        handle.remove()


def prompts(n_tasks: int):
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.policy.prompts import build_repair_messages

    tasks = curriculum_tasks()
    step = max(1, len(tasks) // n_tasks)
    return [build_repair_messages(task, task.buggy_code) for task in tasks[::step][:n_tasks]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--k", type=int, default=4, help="rewrites per call")
    parser.add_argument("--tasks", type=int, default=6, help="curriculum prompts per round")
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=2, help="rounds, alternating the order of the sides")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="bench/out/decode.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sides = {
        "generate_fp32_sdpa": load_side(args.model, "float32", "sdpa", "generate"),
        "generate_policy_dtype_eager": None,
        "loop_policy_default": load_side(args.model, "auto", "eager", "call"),
    }
    dtype = str(sides["loop_policy_default"].model.dtype).removeprefix("torch.")
    sides["generate_policy_dtype_eager"] = load_side(args.model, dtype, "eager", "generate")
    default = sides["loop_policy_default"]
    sides |= {f"loop_lookahead_{d}": dataclasses.replace(default, lookahead=d, lookahead_max=d, stats=PolicyStats())
              for d in LOOKAHEADS if d != default.lookahead}
    sides |= {f"loop_lookahead_{default.lookahead}_max_{m}": dataclasses.replace(default, lookahead_max=m, stats=PolicyStats())
              for m in LOOKAHEAD_MAXES if m != default.lookahead_max}
    # the policy's loop through the model's own forward (not lean.py's), then also on transformers'
    # eager attention (repeat_kv copies) instead of attention.py's: the former default
    sides["loop_policy_default_model_forward"] = dataclasses.replace(default, lean=False, stats=PolicyStats())
    eager = load_side(args.model, dtype, "eager", "call")
    sides["loop_policy_default_model_forward_eager_attention"] = dataclasses.replace(
        eager, lookahead=default.lookahead, lookahead_max=default.lookahead_max, lean=False)
    messages = prompts(args.tasks)
    totals = {name: {"seconds": 0.0, "calls": 0, "generated_tokens": 0, "forward_passes": 0}
              | ({"lookahead": side.lookahead, "lookahead_max": side.lookahead_max, "lean_forward": side.lean,
                  "attention": side.model.config._attn_implementation} if side.decoder == "call" else {})
              for name, side in sides.items()}
    order = list(sides)
    for round_index in range(args.repeats):
        for name in order if round_index % 2 == 0 else order[::-1]:
            policy = sides[name]
            for i, message in enumerate(messages):
                with counting_forward_passes(policy.model, totals[name]):
                    start = time.perf_counter()
                    gens = policy.sample(message, n=args.k, max_new_tokens=args.max_new_tokens, seed=round_index * 100 + i)
                    totals[name]["seconds"] += time.perf_counter() - start
                totals[name]["calls"] += 1
                totals[name]["generated_tokens"] += sum(g.completion_tokens for g in gens)
    for row in totals.values():
        row["seconds"] = round(row["seconds"], 2)
        row["seconds_per_call"] = round(row["seconds"] / row["calls"], 3)
        row["tokens_per_s"] = round(row["generated_tokens"] / row["seconds"], 2)
        # passes per token of a row: a pass decodes a token (with drafts: tokens) for each of the K
        # rows, so 1.0 is one pass per token; early-finished rows sharing passes push it above 1
        row["forward_passes_per_row_token"] = round(row["forward_passes"] * args.k / row["generated_tokens"], 3)
    base = totals["generate_fp32_sdpa"]["tokens_per_s"]
    report = {
        "bench": "decode", "model": sides["loop_policy_default"].policy_id, "policy_dtype": dtype,
        "k": args.k, "max_new_tokens": args.max_new_tokens, "prompts": len(messages), "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "sides": totals,
        "tokens_per_s_over_generate_fp32_sdpa": {name: round(row["tokens_per_s"] / base, 2) for name, row in totals.items()},
    }
    print(json.dumps(report, indent=2))
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
