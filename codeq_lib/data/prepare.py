"""The `prepare` stage: build every task set, split them jointly by problem, write the report.

Sources: the curriculum's own bugs, DebugBench Python 3 (its own bugs, tests synthesised),
MBPP (reference problems, `mbpp`), and bugs planted by `mutate` in the references of MBPP,
the curriculum and DebugBench (`bugs`). Every task gets one canonical problem key across
sources (`problems.problem_keys`, recorded as `meta.problem_key`) and the split is made
once over all of them (DESIGN.md, protocol rule 1), with a validation split for tuning
(rule 6). `prepare` refuses a split in which any problem key or normalised program (buggy
or reference) is on two sides.

Outputs: in `out_dir`, `<source>_<split>.jsonl` task files in schema v1 (`curriculum`,
`debugbench`, `mbpp`, `curriculum_mutated`, `debugbench_mutated`; splits train, val,
test); in `report_dir`, `report.json` (per source: what was built, dropped and why; jointly:
counts by source x split x category x difficulty, the leak check, which problem key went
where) and `counts.csv` (one row per source, split, category, difficulty).
"""

from __future__ import annotations

import argparse
import collections
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.config import from_dict, load_section, run_metadata
from codeq_lib.io import atomic_write_text, write_json
from codeq_lib.data.tasks import Task, save_tasks

MUTATE_SOURCES = ("mbpp", "curriculum", "debugbench")


@dataclass
class PrepareConfig:
    out_dir: str = field(default="data/tasks", metadata={"help": "folder for the task files"})
    report_dir: str = field(default="results/data", metadata={"help": "folder for report.json and counts.csv"})
    debugbench_source: str = field(
        default="../shared/debugbench/python3",
        metadata={"help": "folder of DebugBench python3_*.json shards, 'hf:Rtian/DebugBench', or '' to skip"},
    )
    debugbench_limit: int | None = field(default=None, metadata={"help": "use N evenly spaced records (tiny runs)"})
    mbpp_source: str = field(default="../shared/mbpp/mbpp.jsonl",
                             metadata={"help": "MBPP's mbpp.jsonl, or '' to skip"})
    mbpp_limit: int | None = field(default=None, metadata={"help": "use N evenly spaced MBPP problems (tiny runs)"})
    n_random: int = field(default=5, metadata={"help": "random extra hidden inputs per DebugBench / MBPP problem "
                                                       "(edge cases come on top)"})
    include_curriculum: bool = field(default=True, metadata={"help": "build the project's own bug curriculum"})
    mutate_sources: list[str] = field(default_factory=lambda: list(MUTATE_SOURCES),
                                      metadata={"help": f"whose references get planted bugs; any of {list(MUTATE_SOURCES)}"})
    bugs_per_category: int = field(default=1, metadata={"help": "planted bugs per problem and category"})
    mutation_tries: int = field(default=3, metadata={"help": "candidates drawn at most per planted bug"})
    bug_timeout_s: float = field(default=2.0, metadata={"help": "sandbox deadline for a planted bug's run "
                                                                "(its reference takes milliseconds)"})
    test_fraction: float = field(default=0.3, metadata={"help": "share of problems (not rows) held out for test"})
    val_fraction: float = field(default=0.1, metadata={"help": "share of problems held out for validation (tuning)"})
    stratify: str | list[str] | None = field(
        default_factory=lambda: ["source", "difficulty"],
        metadata={"help": "task field(s) to split within (each value held out in proportion), or null for a plain shuffle"},
    )
    seed: int = field(default=0, metadata={"help": "seed for the split, random inputs and planted bugs"})
    backend: str = field(default="subprocess", metadata={"help": "sandbox backend that runs oracles"})
    workers: int = field(default=2, metadata={"help": "sandbox workers"})

    def __post_init__(self) -> None:
        unknown = sorted(set(self.mutate_sources) - set(MUTATE_SOURCES))
        if unknown:
            raise ValueError(f"prepare.mutate_sources: {unknown} unknown; allowed: {list(MUTATE_SOURCES)}")


def _counts(tasks: list[Task]) -> dict[str, Any]:
    return {
        "n": len(tasks),
        "problems": len({t.problem for t in tasks}),
        "problem_keys": len({t.meta.get("problem_key") for t in tasks}),
        "by_category": dict(sorted(collections.Counter(t.category or "none" for t in tasks).items())),
        "by_difficulty": dict(sorted(collections.Counter(t.difficulty or "none" for t in tasks).items())),
    }


def file_stem(source: str) -> str:
    """'curriculum-mutated' -> 'curriculum_mutated' (the task files' prefix)."""
    return source.replace("-", "_")


def joint_split(tasks: list[Task], cfg: PrepareConfig) -> dict[str, list[Task]]:
    """Key every task (`meta.problem_key`), split once over all sources, refuse any leak."""
    from codeq_lib.data.problems import problem_keys
    from codeq_lib.data.split import split_by_group

    keys = problem_keys(tasks)
    for task in tasks:
        task.meta["problem_key"] = keys[task.id]
    splits = split_by_group(tasks, test_fraction=cfg.test_fraction, seed=cfg.seed, val_fraction=cfg.val_fraction,
                            stratify=cfg.stratify, key=lambda task: task.meta["problem_key"])
    check_no_leak(splits)
    return splits


def check_no_leak(splits: dict[str, list[Task]]) -> None:
    """Protocol items 1 and 4: no problem key and no normalised program (buggy or reference)
    on two sides of the split, and no task id twice. Raises ValueError naming them."""
    from codeq_lib.data.problems import shared_across_splits
    from codeq_lib.data.split import assert_disjoint

    key_of = lambda task: task.meta.get("problem_key") or task.group  # noqa: E731
    assert_disjoint(splits, key=key_of)
    shared = shared_across_splits(splits, key_of)
    if shared["problem_keys"] or shared["programs"]:
        raise ValueError(f"prepare: refusing a split that shares {len(shared['problem_keys'])} problem key(s) and "
                         f"{len(shared['programs'])} program(s) across sides, e.g. "
                         f"{(shared['problem_keys'] + shared['programs'])[:5]}")


def joint_report(splits: dict[str, list[Task]]) -> dict[str, Any]:
    """Counts by source x split x category x difficulty, the leak check, keys per split."""
    from codeq_lib.data.problems import shared_across_splits

    counts: dict[str, Any] = {}
    for split, tasks in splits.items():
        for task in tasks:
            cell = counts.setdefault(task.source or "none", {}).setdefault(split, {}).setdefault(
                task.category or "none", {})
            cell[task.difficulty or "none"] = cell.get(task.difficulty or "none", 0) + 1
    shared = shared_across_splits(splits, lambda task: task.meta["problem_key"])
    return {
        "splits": {split: _counts(tasks) for split, tasks in splits.items()},
        "by_source": {source: {split: _counts([t for t in tasks if t.source == source])
                               for split, tasks in splits.items()}
                      for source in sorted({t.source for tasks in splits.values() for t in tasks})},
        "counts": {source: {split: {c: dict(sorted(d.items())) for c, d in sorted(cats.items())}
                            for split, cats in by_split.items()} for source, by_split in sorted(counts.items())},
        "shared_problem_keys": len(shared["problem_keys"]),
        "shared_programs": len(shared["programs"]),
        "split_problem_keys": {split: sorted({t.meta["problem_key"] for t in tasks}) for split, tasks in splits.items()},
    }


def _source_summary(tasks: list[Task]) -> dict[str, Any]:
    return {"tasks": len(tasks), "problems": len({t.problem for t in tasks}), **{
        k: v for k, v in _counts(tasks).items() if k.startswith("by_")}}


def build_all(cfg: PrepareConfig, report: dict[str, Any]) -> list[Task]:
    """Every task of every source, in a fixed order (curriculum, DebugBench, planted bugs)."""
    from codeq_lib.sandbox import make_sandbox

    tasks: list[Task] = []
    references: list[Task] = []
    curriculum: list[Task] = []
    if cfg.include_curriculum:
        from codeq_lib.data.curriculum import curriculum_tasks

        curriculum = curriculum_tasks()
        report["curriculum"] = {"all": _source_summary(curriculum)}
        tasks += curriculum
    timings = report.setdefault("timings_s", {})
    debugbench: list[Task] = []
    with make_sandbox(backend=cfg.backend, workers=cfg.workers) as sandbox:
        started = time.time()
        source = cfg.debugbench_source
        if source and (source.startswith("hf:") or Path(source).is_dir()):
            from codeq_lib.data.debugbench import build_debugbench_tasks

            debugbench, db_report = build_debugbench_tasks(
                source, sandbox, n_random=cfg.n_random, seed=cfg.seed, limit=cfg.debugbench_limit)
            report["debugbench"] = {"build": db_report, "all": _source_summary(debugbench)}
            tasks += debugbench
        else:
            report["debugbench"] = {"skipped": f"no DebugBench shards at {source!r}"}
        timings["debugbench"] = round(time.time() - started, 1)
        started = time.time()
        if cfg.mbpp_source and Path(cfg.mbpp_source).is_file():
            from codeq_lib.data.mbpp import build_mbpp_references

            mbpp_refs, mbpp_report = build_mbpp_references(cfg.mbpp_source, sandbox, n_random=cfg.n_random,
                                                           seed=cfg.seed, limit=cfg.mbpp_limit)
            report["mbpp"] = {"build": mbpp_report}
            if "mbpp" in cfg.mutate_sources:
                references += mbpp_refs
        else:
            report["mbpp"] = {"skipped": f"no MBPP file at {cfg.mbpp_source!r}"}
        timings["mbpp"] = round(time.time() - started, 1)
    from codeq_lib.data.bugs import generate_bug_tasks, reference_problems
    from codeq_lib.data.debugbench import buggy_code_key

    for name, own in (("curriculum", curriculum), ("debugbench", debugbench)):
        if name in cfg.mutate_sources:
            references += reference_problems(own)
    started = time.time()
    # A planted bug that runs for seconds where its reference takes milliseconds is a hang;
    # its own, shorter deadline keeps those from dominating the stage's time.
    with make_sandbox(backend=cfg.backend, workers=cfg.workers, timeout_s=cfg.bug_timeout_s) as sandbox:
        generated, gen_report = generate_bug_tasks(
            references, sandbox, seed=cfg.seed, per_category=cfg.bugs_per_category, tries=cfg.mutation_tries,
            known_programs={buggy_code_key(t.buggy_code) for t in tasks})
    timings["mutate"] = round(time.time() - started, 1)
    report["mutate"] = gen_report
    for source in sorted({t.source for t in generated}):
        mine = [t for t in generated if t.source == source]
        report.setdefault(source, {})["all"] = _source_summary(mine)
    return tasks + generated


def prepare(cfg: PrepareConfig) -> dict[str, Any]:
    """Build the task sets, split them jointly and write them with the report; returns the report."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"meta": run_metadata(cfg)}
    started = time.time()
    tasks = build_all(cfg, report)
    splits = joint_split(tasks, cfg)
    for source in sorted({t.source for t in tasks}):
        for split, split_tasks in splits.items():
            mine = [t for t in split_tasks if t.source == source]
            if mine or split in ("train", "test"):
                save_tasks(mine, out / f"{file_stem(source)}_{split}.jsonl")
        # per source, as the results notebook reads it (report[source]["splits"])
        report.setdefault(source, {})["splits"] = {
            split: _counts([t for t in split_tasks if t.source == source]) for split, split_tasks in splits.items()}
    report["joint"] = joint_report(splits)
    report["wall_s"] = round(time.time() - started, 2)
    write_json(Path(cfg.report_dir) / "report.json", report)
    atomic_write_text(Path(cfg.report_dir) / "counts.csv", counts_csv(report))
    return report


def counts_csv(report: dict[str, Any]) -> str:
    """One row per (source, split, category, difficulty): the table the README and notebook show."""
    rows = ["source,split,category,difficulty,n"]
    for source, by_split in report["joint"]["counts"].items():
        for split, by_category in by_split.items():
            for category, by_difficulty in by_category.items():
                for difficulty, n in by_difficulty.items():
                    rows.append(f"{source},{split},{category},{difficulty},{n}")
    return "\n".join(rows) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", help="params file with a `prepare` section")
    parser.add_argument("--out", default=None, help="override prepare.out_dir")
    parser.add_argument("--debugbench", default=None, help="override prepare.debugbench_source")
    parser.add_argument("--limit", type=int, default=None, help="override prepare.debugbench_limit")
    parser.add_argument("--mbpp-limit", type=int, default=None, help="override prepare.mbpp_limit")


def run_cli(args: argparse.Namespace) -> int:
    cfg = load_section(PrepareConfig, "prepare", args.params) if Path(args.params).exists() else PrepareConfig()
    overrides = {k: v for k, v in (("out_dir", args.out), ("debugbench_source", args.debugbench),
                                   ("debugbench_limit", args.limit), ("mbpp_limit", args.mbpp_limit))
                 if v is not None}
    cfg = from_dict(PrepareConfig, {**vars(cfg), **overrides}, where="codeq prepare")
    report = prepare(cfg)
    for source, by_split in report["joint"]["by_source"].items():
        print(source, {split: counts["n"] for split, counts in by_split.items()})
    return 0
