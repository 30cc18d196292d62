"""`codeq collect`: search trees on the TRAINING split, the raw material of DPO pairs.

Protocol item 3 (DESIGN.md): on the training split, collection may use all tests of that
split as reward, so the search gets `training_reward_tests(task)` (visible + hidden) by
name here, and only here. Never point this at the test split: pairs built from it would leak.

Resumable: each finished task's tree and one result line are appended and fsynced
(`RunLog`); a killed run restarts where it stopped, redoing nothing finished and losing
nothing. Shardable: `--shard i/n` keeps the tasks whose id hashes to i mod n (stable under
reordering), writing `trees.shard-i-of-n.jsonl` / `results.shard-i-of-n.jsonl`, so any
runner can fan shards out: `--shard auto` takes the launcher's RANK / WORLD_SIZE (torchrun,
`accelerate launch`; each rank then samples on its LOCAL_RANK GPU), and the Ray entry point
(`study/ray_collect.py`) runs one shard per Ray task. Whichever shard finishes last merges
them (`merge_shards`) into `trees.jsonl` / `results.jsonl` in the task file's order, which
is exactly what one unsharded run writes (it is put in the same order when it finishes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from codeq_lib.config import run_metadata
from codeq_lib.errors import UserError
from codeq_lib.evaluate import (COUNTER_KEYS, add_search_arguments, open_policy, open_sandbox,
                                search_config_from_args, task_seed)
from codeq_lib.hashing import sha256_text
from codeq_lib.io import atomic_write_text, read_jsonl, write_json
from codeq_lib.search import MODES, SearchConfig, run_search, training_reward_tests
from codeq_lib.search.runlog import RunLog
from codeq_lib.data.tasks import Task, load_tasks


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n.

    >>> parse_shard("1/4")
    (1, 4)
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserError(f"--shard: {text!r} is not of the form i/n (e.g. 0/4)") from None
    if count < 1 or not 0 <= index < count:
        raise UserError(f"--shard: need 0 <= i < n, got {text!r}")
    return index, count


def launcher_shard(environ: dict[str, str] | None = None) -> tuple[int, int]:
    """(RANK, WORLD_SIZE) as torchrun / `accelerate launch` set them; (0, 1) without a launcher.

    >>> launcher_shard({"RANK": "3", "WORLD_SIZE": "8"}), launcher_shard({})
    ((3, 8), (0, 1))
    """
    environ = os.environ if environ is None else environ
    return parse_shard(f"{environ.get('RANK', 0)}/{environ.get('WORLD_SIZE', 1)}")


def resolve_shard(text: str) -> tuple[int, int]:
    """'i/n', or 'auto': the launcher's rank and world size (`launcher_shard`)."""
    return launcher_shard() if text == "auto" else parse_shard(text)


def in_shard(task_id: str, shard: tuple[int, int]) -> bool:
    index, count = shard
    return int(sha256_text(task_id)[:12], 16) % count == index


def shard_suffix(shard: tuple[int, int]) -> str:
    return "" if shard[1] == 1 else f".shard-{shard[0]}-of-{shard[1]}"


def merge_shards(out_dir: str | Path, tasks: Sequence[Task], count: int) -> dict[str, Any] | None:
    """Once all `count` shards of `tasks` are finished in `out_dir`, write `trees.jsonl`,
    `results.jsonl` and `collect.json` for the whole run: every task's rows in the order of
    `tasks`, each tree's nodes in the order they were written. Returns the summary, or None
    while a shard is unfinished. Deterministic, so the last two shards to finish may both
    merge (atomic writes of the same bytes). With count 1 it puts the one run in that order."""
    out_dir = Path(out_dir)
    order = {task.id: index for index, task in enumerate(tasks)}
    results, trees = {}, {}
    for index in range(count):
        suffix = shard_suffix((index, count))
        mine = {task.id for task in tasks if in_shard(task.id, (index, count))}
        rows = read_jsonl(out_dir / f"results{suffix}.jsonl") if (out_dir / f"results{suffix}.jsonl").exists() else []
        if {row["task_id"] for row in rows} & mine != mine:
            return None
        if count > 1:  # an unsharded run is also its run log: tasks beyond the list stay (resume keeps them)
            rows = [row for row in rows if row["task_id"] in mine]
        results.update((row["task_id"], row) for row in rows)
        tree_file = out_dir / f"trees{suffix}.jsonl"
        for node in read_jsonl(tree_file) if tree_file.exists() else []:
            if node["task_id"] in results:
                trees.setdefault(node["task_id"], []).append(node)
    ids = sorted(results, key=lambda task_id: (order.get(task_id, len(order)), task_id))
    atomic_write_text(out_dir / "trees.jsonl", "".join(json.dumps(node, sort_keys=True, default=str) + "\n"
                                                       for task_id in ids for node in trees.get(task_id, [])))
    atomic_write_text(out_dir / "results.jsonl", "".join(json.dumps(results[task_id], sort_keys=True, default=str) + "\n"
                                                         for task_id in ids))
    summary = summarise([results[task_id] for task_id in ids if task_id in order], shards=count)
    write_json(out_dir / "collect.json", summary)
    return summary


def summarise(rows: list[dict], **extra: Any) -> dict[str, Any]:
    """A collection's summary from its result rows."""
    rows = list(rows)
    summary = {**extra, "n_tasks": len(rows), "solved": sum(r["answer_passes"] for r in rows),
               "nodes": sum(r["nodes"] for r in rows)}
    if rows:
        summary |= {"mode": rows[0]["mode"], "budget": rows[0]["budget"]}
    for key in COUNTER_KEYS:
        summary[key] = sum(r["counters"].get(key, 0) for r in rows)
    return summary


def collect_one(task: Task, policy: Any, sandbox: Any, mode: str, budget: int, config: SearchConfig,
                seed: int, round: int = 0, **hooks: Any) -> tuple[dict, list[dict]]:
    """Search one training task with its training reward tests; returns (result row, tree rows)."""
    result = run_search(task, policy, sandbox, mode, budget, config, seed=task_seed(seed, task.id),
                        tests=training_reward_tests(task), round=round, **hooks)
    row = {"task_id": task.id, "mode": mode, "budget": budget, "round": round,
           "policy_id": getattr(policy, "policy_id", None), "answer_node": result.answer_node,
           "answer_passes": result.answer_passes_search_tests, "nodes": len(result.tree),
           "counters": result.counters}
    return row, result.tree


def collect(tasks: Sequence[Task], policy: Any, sandbox: Any, mode: str = "mcts", budget: int = 20,
            config: SearchConfig | None = None, out_dir: str | Path = "collect",
            shard: tuple[int, int] = (0, 1), seed: int | None = None, round: int = 0, progress: bool = True,
            on_task_done: Callable[[dict], None] | None = None, pool: Any = None, concurrency: int = 1,
            **hooks: Any) -> dict[str, Any]:
    """Collect trees for this shard's unfinished tasks; returns the shard's summary. `concurrency`
    tasks are searched at once on `policy` and `sandbox`; with a `pool` (`study.scheduler`) its
    workers search instead (`policy`, `sandbox` unused). This process writes the folder."""
    from codeq_lib.study.scheduler import LocalPool

    config = config or SearchConfig()
    seed = config.seed if seed is None else seed
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {list(MODES)}")
    out_dir = Path(out_dir)
    suffix = shard_suffix(shard)
    log = RunLog.open(out_dir, suffix)
    log.check_same_run(mode=mode, budget=budget, round=round)
    mine = [task for task in tasks if in_shard(task.id, shard)]
    done = log.done_ids()
    todo = [task for task in mine if task.id not in done]
    pool = pool or LocalPool(policy, sandbox, concurrency)
    if hooks and pool.processes > 1:
        raise ValueError(f"search hooks {sorted(hooks)} cannot cross into worker processes; use processes=1")
    write_json(out_dir / f"run{suffix}.json", run_metadata({
        "search": dataclasses.asdict(config), "mode": mode, "budget": budget, "seed": seed,
        "round": round, "shard": list(shard), "reward_tests": "visible+hidden (training split)",
        "policy_id": pool.policy_id, "processes": pool.processes, "concurrency": getattr(pool, "concurrency", 1)}))
    finished = pool.map(collect_one, todo, mode=mode, budget=budget, config=config, seed=seed, round=round, **hooks)
    for row, tree in tqdm(finished, desc=f"collect {mode}@{budget} shard {shard[0]}/{shard[1]}",
                          disable=not progress, initial=len(mine) - len(todo), total=len(mine)):
        log.append(tree, row)
        if on_task_done is not None:
            on_task_done(row)
    rows = [row for row in log.results() if in_shard(row["task_id"], shard)]
    summary = {**summarise(rows, shard=list(shard)), "mode": mode, "budget": budget}
    write_json(out_dir / f"collect{suffix}.json", summary)
    merged = merge_shards(out_dir, tasks, shard[1])
    if merged is not None and shard[1] > 1:
        summary["merged"] = merged
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", required=True, help="TRAINING split task file (all its tests are used as reward)")
    parser.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    parser.add_argument("--mode", default="mcts", choices=list(MODES), help="search strategy")
    parser.add_argument("--shard", default="auto",
                        help="i/n: this process collects shard i of n; auto: the launcher's RANK/WORLD_SIZE "
                             "(torchrun, accelerate launch), 0/1 without one")
    add_search_arguments(parser)


def run_cli(args: argparse.Namespace) -> int:
    shard = resolve_shard(args.shard)
    tasks = load_tasks(args.tasks)[: args.limit]
    config = search_config_from_args(args)
    start = time.perf_counter()
    policy = open_policy(args)
    with open_sandbox(args) as sandbox:
        summary = collect(tasks, policy, sandbox, args.mode, args.budget, config, args.out, shard,
                          round=args.round, progress=not args.no_progress, concurrency=args.concurrency)
    print(f"collected shard {shard[0]}/{shard[1]}: {summary['n_tasks']} tasks, {summary['nodes']} nodes, "
          f"{summary['llm_calls']} LLM calls; {time.perf_counter() - start:.1f}s -> {args.out}")
    return 0
