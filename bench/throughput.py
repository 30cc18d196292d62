"""Study throughput: the same slice of the study under today's layout and under the batching
engine at several concurrencies, side by side in one run. Prints one line per side and, last,
one JSON line; writes bench/out/throughput.json. Asserts nothing about time.

    python bench/throughput.py                         # embedded SmolLM2-135M on this CPU
    python bench/throughput.py --concurrency 4 8 16 --tasks 16
    python bench/throughput.py --random-7b             # CUDA: a 7B-shaped random Qwen2 through the engine

The slice is MCTS at budget 5 on 16 curriculum test tasks with the evaluate stage's search
and sandbox settings (params.yaml), no call cache (`--mode single_pass --task-file F`: the
study's single-pass evaluation instead, one greedy sample per task). Sides:
- `layout_2proc_x1`: the former layout, 2 worker processes each searching one task at a
  time with the former per-call decode loop (HFPolicy decoder "call");
- `engine_1proc_xC`: one process, C searches at once, their calls batched by the engine
  (decoder "loop"); C = 1 is the reference for `same_answers`;
- `engine_2proc_xC` (with --two-process): two such processes.
Per side: generated tokens/s, LLM calls/s, wall seconds, solve rate (n, 95% CI). The JSON's
`speedup` is the best engine side's tokens/s over the layout's; `same_answers` is true when
every engine side committed the same answer with the same generated tokens and LLM calls
on every task as the engine at concurrency 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def slice_tasks(path: str | None, limit: int, out: Path) -> str:
    """The task file of the slice: `path` if present (prepare's curriculum test split), else a
    split of the curriculum alone by problem, seeded as params.yaml's prepare section."""
    from codeq_lib.data.tasks import load_tasks, save_tasks

    if path and Path(path).exists():
        tasks = load_tasks(path)
    else:
        import yaml

        from codeq_lib.data.curriculum import curriculum_tasks
        from codeq_lib.data.split import split_by_group

        prepare = yaml.safe_load((ROOT / "params.yaml").read_text())["prepare"]
        tasks = split_by_group(curriculum_tasks(), test_fraction=prepare["test_fraction"], seed=prepare["seed"],
                               stratify="difficulty")["test"]
    target = out / "tasks.jsonl"
    save_tasks(tasks[:limit], str(target))
    return str(target)


def run_side(name: str, tasks: str, limit: int, model: str, evaluate_cfg, processes: int, concurrency: int,
             decoder: str, out: Path, budget: int, mode: str = "mcts") -> dict:
    from codeq_lib.metrics import rate_summary
    from codeq_lib.stages import evaluate_runs

    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    run = f"{mode}@{budget}"
    evaluate_runs(tasks, limit, evaluate_cfg.sandbox, model, [(run, mode, budget, evaluate_cfg.search)],
                  str(folder), processes=processes, call_cache=None, concurrency=concurrency,
                  policy_options={"decoder": decoder})
    wall = time.perf_counter() - start
    rows = [json.loads(line) for line in (folder / run / "results.jsonl").read_text().splitlines()]
    tokens = sum(r["counters"]["generated_tokens"] for r in rows)
    calls = sum(r["counters"]["llm_calls"] for r in rows)
    solved = sum(bool(r["solved"]) for r in rows)
    side = {"side": name, "processes": processes, "concurrency": concurrency, "decoder": decoder, "wall_s": round(wall, 1),
            "generated_tokens": tokens, "llm_calls": calls, "tokens_per_s": round(tokens / wall, 2),
            "calls_per_s": round(calls / wall, 3), **rate_summary(solved, len(rows)),
            "answers": {r["task_id"]: [r["answer_code"], r["counters"]["generated_tokens"], r["counters"]["llm_calls"]]
                        for r in rows}}
    print(json.dumps({k: v for k, v in side.items() if k != "answers"}), flush=True)
    return side


def study_slice(args) -> dict:
    import yaml

    from codeq_lib.stages import EvaluateStage, load_config

    evaluate_cfg = load_config(EvaluateStage, yaml.safe_load((ROOT / "params.yaml").read_text())["evaluate"], "evaluate")
    out = Path(tempfile.mkdtemp(prefix="codeq-throughput-"))
    tasks = slice_tasks(args.task_file, args.tasks, out)
    budget = 1 if args.mode == "single_pass" else args.budget
    plan = [("layout_2proc_x1", 2, 1, "call")] if not args.no_layout else []
    plan += [("engine_1proc_x1", 1, 1, "loop")]
    plan += [(f"engine_1proc_x{c}", 1, c, "loop") for c in args.concurrency if c != 1]
    if args.two_process:
        plan += [(f"engine_2proc_x{c}", 2, c, "loop") for c in args.concurrency if c != 1]
    sides = [run_side(name, tasks, args.tasks, args.model, evaluate_cfg, p, c, d, out, budget, args.mode)
             for name, p, c, d in plan]
    shutil.rmtree(out, ignore_errors=True)
    layout = sides[0]  # without the layout side: the engine at concurrency 1
    reference = next(s for s in sides if s["side"] == "engine_1proc_x1")["answers"]
    engine = [s for s in sides if s["decoder"] == "loop"]
    best = max(engine, key=lambda s: s["tokens_per_s"])
    return {
        "bench": "throughput", "slice": f"{args.mode}@{budget} on {args.tasks} tasks of {args.task_file}",
        "baseline": layout["side"],
        "speedup": round(best["tokens_per_s"] / layout["tokens_per_s"], 2), "best_side": best["side"],
        "same_answers": all(s["answers"] == reference for s in engine),
        "sides": [{k: v for k, v in s.items() if k != "answers"} for s in sides],
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
    }


def random_7b(args) -> dict:
    """A 7B-shaped random Qwen2 in bf16 on CUDA: generated tok/s through the engine with 1 and
    with N calls in flight (K = 4 rows each), beside the memory-bandwidth bound."""
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    from codeq_lib.engine.loop import LoopEngine

    if args.shape == "7b" and not torch.cuda.is_available():
        raise SystemExit("--random-7b needs a CUDA device (use --shape tiny for a CPU smoke run)")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.shape == "7b":  # Qwen/Qwen2.5-Coder-7B-Instruct's config.json
        config = Qwen2Config(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                             num_key_value_heads=4, vocab_size=152064, max_position_embeddings=32768, rope_theta=1e6)
    else:
        config = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, vocab_size=1000)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).to(device).eval()
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    generator = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, config.vocab_size, (args.prompt_tokens,), generator=generator).tolist()
               for _ in range(max(args.concurrency))]
    results = {}
    for inflight in [1, *args.concurrency]:
        engine = LoopEngine(model, eos_ids={-1}, pad_id=0, lookahead=0, max_rows=4 * inflight, min_rows=1)
        engine.sample([prompts[0]], 4, 0.8, 0.95, 8, seed=0)  # warm-up
        start = time.perf_counter()
        with ThreadPoolExecutor(inflight) as pool:
            outs = list(pool.map(lambda i: engine.sample([prompts[i]], 4, 0.8, 0.95, args.max_new_tokens, seed=i),
                                 range(inflight)))
        if device == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
        tokens = sum(len(row.token_ids) for out in outs for group in out for row in group)
        results[f"inflight_{inflight}"] = {"calls": inflight, "rows": 4 * inflight, "tokens": tokens,
                                           "wall_s": round(wall, 2), "tokens_per_s": round(tokens / wall, 1)}
        engine.close()
        print(json.dumps({f"inflight_{inflight}": results[f"inflight_{inflight}"]}), flush=True)
    bandwidth = {"H100-SXM": 3.35e12, "H200": 4.8e12}
    single = results["inflight_1"]["tokens_per_s"]
    best = max(results.values(), key=lambda r: r["tokens_per_s"])
    return {"bench": "throughput-random-7b", "shape": args.shape, "device": device,
            "gpu": torch.cuda.get_device_name() if device == "cuda" else None, "weight_gb": round(weight_bytes / 1e9, 2),
            # one decode step reads every weight once: the bound for ONE sequence, per GPU
            "bound_one_sequence_tok_s": {k: round(v / weight_bytes, 1) for k, v in bandwidth.items()},
            "results": results, "best_tokens_per_s": best["tokens_per_s"],
            "speedup_over_one_call": round(best["tokens_per_s"] / single, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded", help="policy model (embedded SmolLM2-135M by default)")
    parser.add_argument("--task-file", default="data/tasks/curriculum_test.jsonl",
                        help="held-out task file (default: the curriculum test split, drawn as prepare does if absent)")
    parser.add_argument("--tasks", type=int, default=16, help="tasks in the slice")
    parser.add_argument("--budget", type=int, default=5, help="MCTS budget (LLM calls per task)")
    parser.add_argument("--mode", choices=["mcts", "single_pass"], default="mcts",
                        help="the slice's strategy (single_pass: one greedy sample per task, budget 1)")
    parser.add_argument("--no-layout", action="store_true",
                        help="skip the former layout's side; ratios are then over the engine at concurrency 1")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8, 16], help="engine sides: searches at once")
    parser.add_argument("--two-process", action="store_true", help="also run each concurrency in 2 processes")
    parser.add_argument("--random-7b", action="store_true", help="CUDA: a 7B-shaped random Qwen2 through the engine")
    parser.add_argument("--shape", choices=["7b", "tiny"], default="7b", help=argparse.SUPPRESS)
    parser.add_argument("--prompt-tokens", type=int, default=400, help="--random-7b: prompt length")
    parser.add_argument("--max-new-tokens", type=int, default=192, help="--random-7b: tokens per row")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "throughput.json"))
    args = parser.parse_args()
    report = random_7b(args) if args.random_7b else study_slice(args)
    out = Path(args.out if not args.random_7b else str(Path(args.out).with_name("throughput_random_7b.json")))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "sides"}))


if __name__ == "__main__":
    main()
