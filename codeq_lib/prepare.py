"""The `prepare` stage: build every task set, split it by problem, write the data report.

Outputs: in `out_dir`, `<source>_<split>.jsonl` task files in schema v1; in `report_dir`,
`report.json` (counts before/after dedup and filtering, per category and difficulty, dropped
and why, split sizes, which problem went where) and `counts.csv`.
"""

from __future__ import annotations

import argparse
import collections
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.config import from_dict, load_section, run_metadata
from codeq_lib.hashing import normalized_code_hash
from codeq_lib.io import atomic_write_text, write_json
from codeq_lib.tasks import Task, save_tasks


@dataclass
class PrepareConfig:
    out_dir: str = field(default="data/tasks", metadata={"help": "folder for the task files"})
    report_dir: str = field(default="results/data", metadata={"help": "folder for report.json and counts.csv"})
    debugbench_source: str = field(
        default="../shared/debugbench/python3",
        metadata={"help": "folder of DebugBench python3_*.json shards, 'hf:Rtian/DebugBench', or '' to skip"},
    )
    debugbench_limit: int | None = field(default=None, metadata={"help": "use N evenly spaced records (tiny runs)"})
    n_random: int = field(default=5, metadata={"help": "randomised extra hidden inputs per DebugBench task"})
    include_curriculum: bool = field(default=True, metadata={"help": "build the project's own bug curriculum"})
    test_fraction: float = field(default=0.3, metadata={"help": "share of problems (not rows) held out for test"})
    stratify: str | None = field(
        default="difficulty",
        metadata={"help": "task field to split within (each value held out in proportion), or null for a plain shuffle"},
    )
    seed: int = field(default=0, metadata={"help": "seed for the split and random inputs"})
    backend: str = field(default="subprocess", metadata={"help": "sandbox backend that runs oracles"})
    workers: int = field(default=2, metadata={"help": "sandbox workers"})


def _counts(tasks: list[Task]) -> dict[str, Any]:
    return {
        "n": len(tasks),
        "problems": len({t.group for t in tasks}),
        "by_category": dict(sorted(collections.Counter(t.category or "none" for t in tasks).items())),
        "by_difficulty": dict(sorted(collections.Counter(t.difficulty or "none" for t in tasks).items())),
    }


def check_no_leak(train: list[Task], test: list[Task]) -> None:
    """Protocol items 1 and 4: no problem and no (normalised) program on both sides."""
    from codeq_lib.split import assert_disjoint

    assert_disjoint({"train": train, "test": test})
    test_hashes = {normalized_code_hash(c) for t in test for c in (t.buggy_code, t.reference_code) if c}
    leaked = [t.id for t in train if normalized_code_hash(t.buggy_code) in test_hashes]
    if leaked:
        raise ValueError(f"train tasks duplicate test-split programs: {leaked[:5]}")


def _write_split(name: str, tasks: list[Task], cfg: PrepareConfig, out: Path, report: dict) -> None:
    from codeq_lib.split import split_by_group

    splits = split_by_group(tasks, test_fraction=cfg.test_fraction, seed=cfg.seed, stratify=cfg.stratify)
    check_no_leak(splits["train"], splits["test"])
    for split_name, split_tasks in splits.items():
        if split_name in ("train", "test") or split_tasks:
            save_tasks(split_tasks, out / f"{name}_{split_name}.jsonl")
    report[name]["splits"] = {k: _counts(v) for k, v in splits.items()}
    report[name]["split_problems"] = {k: sorted({t.group for t in v}) for k, v in splits.items()}


def prepare(cfg: PrepareConfig) -> dict[str, Any]:
    """Build the task sets and write them with the report; returns the report."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"meta": run_metadata(cfg)}
    started = time.time()
    if cfg.include_curriculum:
        from codeq_lib.curriculum import curriculum_tasks

        tasks = curriculum_tasks()
        report["curriculum"] = {"all": _counts(tasks)}
        _write_split("curriculum", tasks, cfg, out, report)
    source = cfg.debugbench_source
    if source and (source.startswith("hf:") or Path(source).is_dir()):
        from codeq_lib.debugbench import build_debugbench_tasks
        from codeq_lib.sandbox import make_sandbox

        with make_sandbox(backend=cfg.backend, workers=cfg.workers) as sandbox:
            tasks, db_report = build_debugbench_tasks(
                source, sandbox, n_random=cfg.n_random, seed=cfg.seed, limit=cfg.debugbench_limit
            )
        report["debugbench"] = {"build": db_report, "all": _counts(tasks)}
        _write_split("debugbench", tasks, cfg, out, report)
    else:
        report["debugbench"] = {"skipped": f"no DebugBench shards at {source!r}"}
    report["wall_s"] = round(time.time() - started, 2)
    write_json(Path(cfg.report_dir) / "report.json", report)
    atomic_write_text(Path(cfg.report_dir) / "counts.csv", counts_csv(report))
    return report


def counts_csv(report: dict[str, Any]) -> str:
    """One row per (source, split, axis, value): the table the README and notebook show."""
    rows = ["source,split,axis,value,n"]
    for source in ("curriculum", "debugbench"):
        for split, counts in (report.get(source, {}).get("splits") or {}).items():
            rows.append(f"{source},{split},all,all,{counts['n']}")
            rows.append(f"{source},{split},problems,all,{counts['problems']}")
            for axis in ("by_category", "by_difficulty"):
                for value, n in counts[axis].items():
                    rows.append(f"{source},{split},{axis[3:]},{value},{n}")
    return "\n".join(rows) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", help="params file with a `prepare` section")
    parser.add_argument("--out", default=None, help="override prepare.out_dir")
    parser.add_argument("--debugbench", default=None, help="override prepare.debugbench_source")
    parser.add_argument("--limit", type=int, default=None, help="override prepare.debugbench_limit")


def run_cli(args: argparse.Namespace) -> int:
    cfg = load_section(PrepareConfig, "prepare", args.params) if Path(args.params).exists() else PrepareConfig()
    overrides = {k: v for k, v in (("out_dir", args.out), ("debugbench_source", args.debugbench),
                                   ("debugbench_limit", args.limit)) if v is not None}
    cfg = from_dict(PrepareConfig, {**vars(cfg), **overrides}, where="codeq prepare")
    report = prepare(cfg)
    for source in ("curriculum", "debugbench"):
        splits = report.get(source, {}).get("splits")
        if splits:
            print(source, {k: v["n"] for k, v in splits.items()})
    return 0
