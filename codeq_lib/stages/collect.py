"""Stages `collect@r` (search trees on the training split) and `pairs@r` (preference pairs
and winners from them, none from a held-out task)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.config import run_metadata
from codeq_lib.data.tasks import load_tasks
from codeq_lib.io import read_jsonl, write_json, write_jsonl
from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages.fields import (call_cache_field, concurrency_field, device_field, held_out_field, load_options,
                                     processes_field, quantize_field, sample_field, server_field)
from codeq_lib.stages.runs import reset_if_changed, searchers, wait_for_identity
from codeq_lib.study.policies import model_identity, sampler_identity


@dataclass
class CollectStage:
    tasks: str | list[str] = field(default="data/tasks/curriculum_train.jsonl",
                                   metadata={"help": "TRAINING split task files or globs"})
    mode: str = field(default="mcts", metadata={"help": "search strategy used to grow the trees"})
    budget: int = field(default=8, metadata={"help": "LLM calls (rollouts) per task"})
    sample: int | list[int] | None = sample_field("tasks searched per round")
    sample_seed: int = field(default=0, metadata={"help": "seed of the draw (each round adds its number)"})
    limit: int | None = field(default=None, metadata={"help": "only the first N tasks (tiny runs)"})
    held_out: list[str] = held_out_field()
    policy: str | None = field(default=None, metadata={
        "help": "sample from this model instead of the round's policy; pipeline smoke tests only "
                "('scripted-fixer': study/policies.py)"})
    shard: str = field(default="0/1", metadata={
        "help": "i/n: this process's share of the tasks; 'auto': the launcher's RANK/WORLD_SIZE (torchrun, "
                "accelerate launch), 0/1 without one"})
    fanout: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "fan the shards out inside the stage: {engine: ray, shards: N, address: auto, gpus_per_shard: 1} "
                "(study/ray_collect.py); {} runs `shard` in this process"})
    processes: int = processes_field()
    concurrency: int = concurrency_field()
    call_cache: str | None = call_cache_field()
    device: str = device_field()
    quantize_4bit: bool = quantize_field()
    server: str | None = server_field()
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "search knobs"})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig, metadata={"help": "sandbox knobs"})


def collect_identity(cfg: CollectStage, policy_model: str, round: int, tasks: list) -> dict[str, Any]:
    """What a collection folder's results depend on (reset_if_changed)."""
    return {"config": dataclasses.asdict(cfg), "round": round, "tasks": [t.to_dict() for t in tasks],
            "policy": model_identity(policy_model), "sampler": sampler_identity(cfg.device, cfg.quantize_4bit, cfg.server)}


def collect_tasks(cfg: CollectStage, round: int) -> list:
    """The round's training tasks: a seeded stratified draw (seed + round: each round draws its
    own), never a held-out task or problem."""
    from codeq_lib.data.sample import refuse_held_out, select_tasks

    tasks = select_tasks(cfg.tasks, cfg.sample, cfg.sample_seed + round, cfg.limit)
    refuse_held_out(tasks, cfg.held_out, "collect")
    return tasks


def run_collect(cfg: CollectStage, policy_model: str, out_dir: str, round: int) -> dict[str, Any]:
    """This process's shard (`cfg.shard`; 'auto': the launcher's RANK/WORLD_SIZE), or with
    `cfg.fanout` every shard on a Ray cluster; shards merge into `trees.jsonl` when all are done."""
    from codeq_lib.collect import collect, resolve_shard

    policy_model = cfg.policy or policy_model
    if cfg.fanout:
        from codeq_lib.study.ray_collect import collect_on_ray

        return collect_on_ray(cfg, policy_model, out_dir, round)
    shard = resolve_shard(cfg.shard)
    tasks = collect_tasks(cfg, round)
    identity = collect_identity(cfg, policy_model, round, tasks)
    if shard[0] == 0:  # under a launcher every rank starts at once: rank 0 resets the folder, the others wait
        reset_if_changed(out_dir, identity)
    else:
        wait_for_identity(out_dir, identity)
    with searchers(policy_model, cfg.sandbox, cfg.processes, cfg.call_cache, cfg.concurrency,
                   load_options(cfg)) as pool:
        return collect(tasks, None, None, mode=cfg.mode, budget=cfg.budget, config=cfg.search,
                       out_dir=out_dir, shard=shard, round=round, pool=pool)


@dataclass
class PairsStage:
    test_tasks: list[str] = field(default_factory=lambda: ["data/tasks/*_test.jsonl", "data/tasks/*_val.jsonl"],
                                  metadata={"help": "held-out task files or globs (test and validation splits): "
                                                    "nothing from them may be paired"})
    alpha: float = field(default=1.0, metadata={"help": "Q blend weight of Q_mcts (1.0 = no critic)"})
    threshold: float = field(default=0.1, metadata={"help": "minimum |Q_chosen - Q_rejected|"})
    min_visits: int = field(default=1, metadata={"help": "visits the chosen node needs"})
    max_pairs_per_task: int = field(default=8, metadata={"help": "cap per task (0 = none)"})


def held_out_task_files(patterns: list[str]) -> list[Path]:
    """The task files named by `patterns` (paths or globs such as data/tasks/*_test.jsonl)."""
    import glob

    files = sorted({Path(f) for pattern in patterns for f in (glob.glob(pattern) or [pattern]) if Path(f).exists()})
    return files


def run_pairs(cfg: PairsStage, trees_dir: str, out_dir: str) -> tuple[list[dict], dict[str, Any]]:
    """pairs.jsonl (DPO) and winners.jsonl (RFT) from a round's trees, none from a held-out task."""
    from codeq_lib.pairs import PairsConfig, build_pairs, build_winners, test_split_hashes

    trees = Path(trees_dir) / "trees.jsonl"  # every shard's trees, merged by the collection (collect.merge_shards)
    if not trees.exists():
        raise FileNotFoundError(f"{trees}: no merged trees; is a shard of the collection unfinished?")
    nodes = read_jsonl(trees)
    files = held_out_task_files(cfg.test_tasks)
    test_tasks = [t for path in files for t in load_tasks(path)]
    pairs_cfg = PairsConfig(alpha=cfg.alpha, threshold=cfg.threshold, min_visits=cfg.min_visits,
                            max_pairs_per_task=cfg.max_pairs_per_task)
    test_ids, test_hashes = {t.id for t in test_tasks}, test_split_hashes(test_tasks)
    pairs, report = build_pairs(nodes, test_task_ids=test_ids, test_norm_hashes=test_hashes, config=pairs_cfg)
    winners, winners_report = build_winners(nodes, test_task_ids=test_ids, test_norm_hashes=test_hashes,
                                            max_per_task=cfg.max_pairs_per_task)
    out = Path(out_dir)
    write_jsonl(out / "pairs.jsonl", pairs)
    write_jsonl(out / "winners.jsonl", winners)
    write_json(out / "report.json", {**report, "winners": winners_report,
                                     "held_out_files": [str(f) for f in files], "meta": run_metadata(cfg)})
    return pairs, report
