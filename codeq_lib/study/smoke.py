"""The full profile's whole stage graph at a tiny size, on a CPU (`scripts/smoke_full_profile.sh`).

`tiny_full_profile` takes profiles/full.yaml and shrinks only what sets the cost (a
randomly initialised Qwen2-architecture model instead of Qwen2.5-Coder-7B, a few tasks,
budgets of one or two calls, short completions, the CPU instead of `device: cuda`); every
structural choice of the profile stays: its task sources and files, strategies, K and
critic weight alpha of the ablations, the critic in the default search, pair building and
DPO settings. `check_tables` then says whether every table has the rows the profile asks
for: all five strategies, every K and alpha, every policy and mode.

A random model's rewrites extract to no program (they all merge into one child), so the
pipeline's pairs stage finds no sibling pairs and its rounds stay untrained (the train stage
says so). The script therefore also runs `codeq train` with the profile's train.dpo settings
on the fixture pairs (tests/data/pairs_tiny.jsonl) and reports it as `dpo_check`.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from codeq_lib.study.policies import TINY_QWEN2_MODEL

STRATEGIES = ["single_pass", "best_of_n", "refine", "mcts", "rex"]
TINY_SEARCH = {"max_new_tokens": 8, "top_p": 1.0}
# 1 s: a DebugBench bug that loops forever costs its timeout at every run of the buggy root
TINY_SANDBOX = {"workers": 1, "timeout_s": 1.0}
TINY_SAMPLING = {"device": "cpu", "quantize_4bit": False, "processes": 1, "concurrency": 8,
                 "search": TINY_SEARCH, "sandbox": TINY_SANDBOX}
TINY = {
    "prepare": {"debugbench_limit": 30, "mbpp_limit": 10, "n_random": 1, "workers": 2,
                "mutate_sources": ["debugbench"]},
    "convert": {"source": TINY_QWEN2_MODEL, "dtype": "auto"},
    "collect": {**TINY_SAMPLING, "budget": 2, "limit": 2},
    # one real update: no warm-up step at learning rate 0
    "train": {"dpo": {"device": "cpu", "dtype": "auto", "max_steps": 1, "batch_size": 2, "per_device_batch_size": 1,
                      "max_length": None, "lora_r": 2, "lora_alpha": 4, "warmup_ratio": 0.0},
              "rft": {"device": "cpu", "dtype": "auto", "max_steps": 1, "batch_size": 2, "per_device_batch_size": 1,
                      "lora_r": 2, "lora_alpha": 4, "warmup_ratio": 0.0}},
    "select": {**TINY_SAMPLING, "trainers": ["dpo", "rft"], "limit": 2},
    "evaluate": {**TINY_SAMPLING, "budget": 2, "limit": 2},
    "ablations": {**TINY_SAMPLING, "budget": 2, "limit": 2},
    "results": {"budgets": [1, 2]},
}


def deep_update(base: dict, over: dict) -> dict:
    """`base` with `over`'s keys replaced, nested dicts merged key by key."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = deep_update(dict(out.get(key) or {}), value) if isinstance(value, dict) and value else value
    return out


def tiny_full_profile(full: dict[str, Any]) -> dict[str, Any]:
    """The full profile's params at the smoke size (see the module docstring)."""
    return deep_update(full, TINY)


def expected_rows(params: dict[str, Any]) -> dict[str, Any]:
    """What the results tables must hold under `params` (a profile)."""
    evaluate, ablations = params["evaluate"], params["ablations"]
    default_alpha = evaluate["search"]["alpha"] if evaluate["search"].get("use_critic") else 1.0
    return {"strategies": sorted(set(evaluate["modes"]) | set(ablations["modes"])),
            "K": sorted({int(evaluate["search"]["K"]), *map(int, ablations["ks"])}),
            "alpha": sorted({float(default_alpha), *map(float, ablations["alphas"])}),
            "policies": ["base", "round1", "round2"], "modes": sorted(evaluate["modes"])}


def check_tables(tables_dir: str | Path, params: dict[str, Any]) -> dict[str, Any]:
    """Every table's rows against `expected_rows`; `ok` only when all of them match."""
    import pandas as pd

    tables = Path(tables_dir)
    want = expected_rows(params)
    strategies = pd.read_csv(tables / "strategies.csv")
    main = pd.read_csv(tables / "main.csv")
    got = {"strategies": sorted(set(strategies["mode"])),
           "K": sorted(int(k) for k in set(pd.read_csv(tables / "by_K.csv")["K"])),
           "alpha": sorted(float(a) for a in set(pd.read_csv(tables / "by_alpha.csv")["alpha"])),
           "policies": sorted(set(main["policy"])), "modes": sorted(set(main["mode"]))}
    problems = {key: {"want": want[key], "got": got[key]} for key in want if want[key] != got[key]}
    if set(STRATEGIES) - set(got["strategies"]):
        problems["five_strategies"] = {"want": STRATEGIES, "got": got["strategies"]}
    # the main MCTS row is the evaluation's default search, at its budget, on every task
    mcts = strategies[(strategies["mode"] == "mcts") & (strategies["budget"] == params["evaluate"]["budget"])]
    task_file = Path(params["evaluate"]["tasks"])
    n_eval = None
    if task_file.exists():
        n_eval = sum(1 for line in task_file.read_text().splitlines() if line.strip())
        n_eval = min(n_eval, params["evaluate"]["limit"] or n_eval)
    if len(mcts) != 1 or (n_eval is not None and int(mcts["n"].iloc[0]) != n_eval):
        problems["main_mcts_row"] = {"want": f"one row, n={n_eval}", "got": mcts[["budget", "n"]].to_dict("records")}
    return {"strategies": sorted(set(strategies["mode"]), key=STRATEGIES.index), "tables": got, "problems": problems,
            "ok": not problems}


def check_dpo_run(out_dir: str | Path) -> dict[str, Any]:
    """A DPO run with the profile's train.dpo settings (`codeq train`): it trained, its loss is
    finite, and the LoRA weights moved (peft starts every lora_B at zero)."""
    from safetensors.torch import load_file

    summary = json.loads((Path(out_dir) / "run.json").read_text())["summary"]
    weights = load_file(str(Path(out_dir) / "adapter" / "adapter_model.safetensors"))
    moved = any(float(tensor.abs().sum()) > 0 for name, tensor in weights.items() if "lora_B" in name)
    return {"steps": summary["steps"], "final_loss": summary["final_loss"], "finite": summary["finite"],
            "lora_moved": moved, "ok": summary["steps"] >= 1 and bool(summary["finite"]) and moved}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("params", help="write the tiny full-profile params.yaml")
    make.add_argument("--profile", default="profiles/full.yaml")
    make.add_argument("--out", default="params.yaml")
    check = sub.add_parser("check", help="check the results tables; the last stdout line is JSON")
    check.add_argument("--params", default="params.yaml")
    check.add_argument("--tables", default="results/tables")
    check.add_argument("--dpo-run", default=None, help="a `codeq train` output folder to check too")
    args = parser.parse_args(argv)
    if args.command == "params":
        params = tiny_full_profile(yaml.safe_load(Path(args.profile).read_text()))
        Path(args.out).write_text(yaml.safe_dump(params, sort_keys=False))
        return 0
    report = check_tables(args.tables, yaml.safe_load(Path(args.params).read_text()))
    train = json.loads(Path("runs/round1/train/summary.json").read_text()) if Path("runs/round1/train/summary.json").exists() else {}
    report["round1_trained"] = bool(train.get("trained"))
    if args.dpo_run:
        report["dpo_check"] = check_dpo_run(args.dpo_run)
        report["ok"] = report["ok"] and report["dpo_check"]["ok"]
    print(json.dumps(report, sort_keys=True))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
