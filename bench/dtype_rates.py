"""How far a solve rate moves between fp32 and bf16 sampling: the same policy, the same tasks,
the same seeds, single pass (greedy) in each dtype, side by side in one run, paired.

    python bench/dtype_rates.py --model models/base                      # 100 validation tasks
    python bench/dtype_rates.py --model models/base --model models/round2 --n 60

The study samples in the machine's dtype class ("auto": bf16 on CUDA and on CPUs with native
bf16, fp32 elsewhere), so its results reproduce bit for bit only within a class. This script
measures what that costs: per policy, fp32 vs bf16 on the same tasks, with the number of tasks
whose committed answer differs, the paired statistics (`codeq_lib.paired`: discordant counts,
exact McNemar p, problem-clustered 95% CI of the difference) and each side's wall time. On a
CPU without native bf16 the bf16 side is emulated and several times slower; its answers are
the ones a bf16-native CPU would give up to kernel rounding (greedy decoding: the argmax of
the same bf16 weights).

The tasks default to a stratified draw from the validation files (the select stage's), not
the test files: this is a measurement of the sampler, and the held-out tests are the study's.
Both sides run in this process (one engine, `--concurrency` searches at once, the torch
threads of CODEQ_TORCH_THREADS, default 2 here), so the dtype can be forced for the bf16 side.
Prints one line per side and, last, one JSON line; writes bench/out/dtype_rates.json.
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
os.environ.setdefault("CODEQ_TORCH_THREADS", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VALIDATION = ["data/tasks/mbpp_val.jsonl", "data/tasks/curriculum_val.jsonl", "data/tasks/curriculum_mutated_val.jsonl"]


def run_side(model: str, dtype: str, tasks: str, n: int, out: Path, concurrency: int) -> tuple[dict, list[dict]]:
    """Single pass of `model` sampled in `dtype` ("float32" or "bfloat16") on the draw of n."""
    import yaml

    import codeq_lib.policy.models as models
    from codeq_lib.metrics import rate_summary
    from codeq_lib.stages import EvaluateStage, evaluate_runs, load_config

    evaluate_cfg = load_config(EvaluateStage, yaml.safe_load((ROOT / "params.yaml").read_text())["evaluate"], "evaluate")
    native = models.cpu_has_fast_bf16
    models.cpu_has_fast_bf16 = lambda: dtype == "bfloat16"  # policy_dtype("auto", "cpu") follows it
    try:
        folder = out / f"{Path(model).name}_{dtype}"
        start = time.perf_counter()
        evaluate_runs(tasks, None, evaluate_cfg.sandbox, model, [("single_pass@1", "single_pass", 1, evaluate_cfg.search)],
                      str(folder), processes=1, call_cache=None, concurrency=concurrency,
                      policy_options={"device": "cpu"}, sample=n, sample_seed=0)
        wall = time.perf_counter() - start
    finally:
        models.cpu_has_fast_bf16 = native
    rows = [json.loads(line) for line in (folder / "single_pass@1" / "results.jsonl").read_text().splitlines()]
    sampler = json.loads((folder / "single_pass@1" / "metrics.json").read_text())["sampler"]
    if sampler["dtype"] != dtype:  # the run records the dtype it sampled in
        raise RuntimeError(f"dtype_rates.py: the {dtype} side of {model} sampled in {sampler['dtype']}")
    solved = sum(bool(r["solved"]) for r in rows)
    side = {"model": model, "dtype": dtype, "sampler": sampler, "wall_s": round(wall, 1),
            "generated_tokens": sum(r["counters"]["generated_tokens"] for r in rows), **rate_summary(solved, len(rows))}
    print(json.dumps(side), flush=True)
    return side, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="policy: a checkpoint dir (repeatable; default models/base)")
    parser.add_argument("--tasks", nargs="+", default=VALIDATION, help="task files (globs); default: the validation files")
    parser.add_argument("--n", type=int, default=100, help="stratified draw of n tasks (seed 0, as the select stage)")
    parser.add_argument("--concurrency", type=int, default=8, help="searches in flight in the one engine")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "dtype_rates.json"))
    args = parser.parse_args(argv)
    from codeq_lib.paired import paired_comparison
    from codeq_lib.policy.models import cpu_has_fast_bf16

    models = args.model or ["models/base"]
    for model in models:
        if not Path(model).is_dir():
            raise SystemExit(f"dtype_rates.py: --model {model}: not a checkpoint folder (run `dvc repro` first)")
    work = Path(tempfile.mkdtemp(prefix="codeq-dtype-"))
    policies = []
    try:
        for model in models:
            sides = {dtype: run_side(model, dtype, args.tasks, args.n, work, args.concurrency) for dtype in ("float32", "bfloat16")}
            (fp32, rows32), (bf16, rows16) = sides["float32"], sides["bfloat16"]
            by_id16 = {r["task_id"]: r for r in rows16}
            differ = sum(by_id16[r["task_id"]]["answer_code"] != r["answer_code"] for r in rows32)
            tokens_differ = sum(by_id16[r["task_id"]]["counters"]["generated_tokens"] != r["counters"]["generated_tokens"]
                                for r in rows32)
            comparison = paired_comparison("float32", "bfloat16", "single_pass", rows32, rows16)
            policies.append({"model": model, "sides": [fp32, bf16], "answers_differ": differ, "token_counts_differ": tokens_differ,
                             "paired": comparison, "bf16_wall_over_fp32": round(bf16["wall_s"] / fp32["wall_s"], 2)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"bench": "dtype_rates", "tasks": args.tasks, "n": args.n, "policies": policies,
              "machine": {"cpus": os.cpu_count(), "native_bf16": cpu_has_fast_bf16(), "load_avg": os.getloadavg(),
                          "python": platform.python_version(), "torch_threads": os.environ["CODEQ_TORCH_THREADS"]}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
