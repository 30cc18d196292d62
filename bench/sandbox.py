"""Sandbox throughput, side by side in one run (issue 3 "Done means"; never asserts a time).

Executions per second for the same N distinct programs (cache off) on:
  naive       a new `python -c` interpreter per candidate (preamble + program + tests),
  subprocess  the warm-worker subprocess backend,
  docker      the Docker backend (long-lived containers),
with the same number of parallel workers each. Prints JSON and writes bench/out/sandbox.json.

    .venv/bin/python bench/sandbox.py [--n 300] [--workers 2] [--no-docker]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codeq_lib.io import write_json
from codeq_lib.sandbox import make_sandbox
from codeq_lib.sandbox.harness import PREAMBLE
from codeq_lib.data.tasks import task_from_dict

TASK = task_from_dict({
    "id": "bench", "entry_point": "Solution.twoSum", "buggy_code": "pass", "hidden_tests": [],
    "visible_tests": [{"args": [[2, 7, 11, 15], 9], "expected": [0, 1]},
                      {"args": [[3, 2, 4], 6], "expected": [1, 2]},
                      {"args": [[3, 3], 6], "expected": [0, 1]}],
})


def program(i: int) -> str:
    """Distinct (so the cache could not help even if on), correct two-sum solutions."""
    return (f"class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
            f"        seen = {{}}  # variant {i}\n        for j, x in enumerate(nums):\n"
            f"            if target - x in seen:\n                return [seen[target - x], j]\n"
            f"            seen[x] = j\n        return []\n")


def naive_script(code: str) -> str:
    calls = "\n".join(f"print(Solution().twoSum(*{t.args!r}) == {t.expected!r})" for t in TASK.visible_tests)
    return PREAMBLE + "\n" + code + "\n" + calls + "\n"


def run_naive(codes: list[str], workers: int) -> dict:
    def one(code: str) -> bool:
        done = subprocess.run([sys.executable, "-c", naive_script(code)], capture_output=True, text=True, timeout=60)
        return done.stdout.split() == ["True"] * len(TASK.visible_tests)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, codes))
    wall = time.perf_counter() - start
    return {"executions": len(codes), "passed": passed, "wall_s": round(wall, 3), "exec_per_s": round(len(codes) / wall, 2)}


def run_backend(backend: str, codes: list[str], workers: int) -> dict:
    start = time.perf_counter()
    with make_sandbox(backend, workers=workers, timeout_s=10.0, cache=False, static_checks=False) as sb:
        started = time.perf_counter() - start
        sb.run_batch([(codes[0], TASK, TASK.visible_tests)])  # warm-up, not timed
        start = time.perf_counter()
        results = sb.run_batch([(code, TASK, TASK.visible_tests) for code in codes])
        wall = time.perf_counter() - start
    return {"executions": len(codes), "passed": sum(r.status == "pass" for r in results), "start_s": round(started, 3),
            "wall_s": round(wall, 3), "exec_per_s": round(len(codes) / wall, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="distinct programs per backend")
    parser.add_argument("--n-naive", type=int, default=100, help="programs for the (slow) naive baseline")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers for every contender")
    parser.add_argument("--no-docker", action="store_true", help="skip the Docker backend")
    parser.add_argument("--out", default=str(Path(__file__).with_name("out") / "sandbox.json"))
    args = parser.parse_args(argv)
    codes = [program(i) for i in range(args.n)]
    report = {
        "bench": "sandbox", "workers": args.workers, "tests_per_program": len(TASK.visible_tests),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "naive": run_naive(codes[: args.n_naive], args.workers),
        "subprocess": run_backend("subprocess", codes, args.workers),
    }
    if not args.no_docker:
        report["docker"] = run_backend("docker", codes, args.workers)
    ratios = {"subprocess_over_naive": round(report["subprocess"]["exec_per_s"] / report["naive"]["exec_per_s"], 2)}
    if "docker" in report:
        ratios["docker_over_naive"] = round(report["docker"]["exec_per_s"] / report["naive"]["exec_per_s"], 2)
        ratios["subprocess_over_docker"] = round(report["subprocess"]["exec_per_s"] / report["docker"]["exec_per_s"], 2)
    report["ratios"] = ratios
    report["targets"] = {"subprocess_over_naive": ">= 8", "subprocess_over_docker": "<= 2"}
    write_json(args.out, report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
