"""Sharded collection merges into exactly what one unsharded run writes: shards taken from a
launcher's RANK / WORLD_SIZE (`shard: auto`), and shards fanned out on a local Ray instance
with 2 workers (study/ray_collect.py). Only timings and the sandbox's cache counters (which
search met a program first) may differ; trees, answers, tokens and calls are equal."""

from __future__ import annotations

import dataclasses
import json

import pytest

from codeq_lib.collect import launcher_shard, merge_shards, resolve_shard
from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages import TINY_MODEL, CollectStage, run_collect

SEARCH = SearchConfig(K=2, max_new_tokens=8, top_p=1.0, seed=3)
VARIES = {"wall_s", "sandbox_executions", "sandbox_cache_hits"}


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks

    path = tmp_path_factory.mktemp("tasks") / "train.jsonl"
    save_tasks(curriculum_tasks()[::7][:5], str(path))
    return str(path)


def stage(task_file: str, **changes) -> CollectStage:
    # curriculum tasks taken across splits: the held-out guard (tested in test_sample.py) is off here
    return dataclasses.replace(CollectStage(tasks=task_file, budget=2, search=SEARCH, held_out=[],
                                            sandbox=SandboxConfig(workers=1, timeout_s=5.0), concurrency=4), **changes)


def comparable(folder) -> tuple[str, list[dict]]:
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    for row in rows:
        row["counters"] = {k: v for k, v in row["counters"].items() if k not in VARIES}
    return (folder / "trees.jsonl").read_text(), rows


@pytest.fixture(scope="module")
def unsharded(task_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("unsharded") / "collect"
    summary = run_collect(stage(task_file), TINY_MODEL, str(out), round=1)
    assert summary["n_tasks"] == 5
    return out


def test_launcher_shard_and_auto():
    assert launcher_shard({"RANK": "1", "WORLD_SIZE": "2"}) == (1, 2)
    assert resolve_shard("2/3") == (2, 3)


@pytest.mark.slow
def test_launcher_ranks_merge_into_the_unsharded_run(task_file, unsharded, tmp_path, monkeypatch):
    from codeq_lib.data.tasks import load_tasks

    out = tmp_path / "collect"
    summaries = []
    for rank in (0, 1):  # in turn here; under a launcher at once (rank 1 waits for rank 0's stamp)
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        summaries.append(run_collect(stage(task_file, shard="auto"), TINY_MODEL, str(out), round=1))
    assert [s["shard"] for s in summaries] == [[0, 2], [1, 2]]
    assert "merged" not in summaries[0] and summaries[1]["merged"]["n_tasks"] == 5  # the last shard merged
    assert (out / "trees.shard-0-of-2.jsonl").exists() and (out / "trees.shard-1-of-2.jsonl").exists()
    assert comparable(out) == comparable(unsharded)
    tasks = load_tasks(task_file)
    assert merge_shards(out, tasks + [dataclasses.replace(tasks[0], id="never-collected")], 2) is None  # unfinished


@pytest.mark.slow
def test_ray_fanout_with_two_workers_merges_into_the_unsharded_run(task_file, unsharded, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "collect"
    cfg = stage(task_file, fanout={"engine": "ray", "shards": 2, "address": "local", "local_cpus": 2})
    summary = run_collect(cfg, TINY_MODEL, str(out), round=1)
    assert summary["n_tasks"] == 5 and sorted(s["shard"] for s in summary["shards"]) == [[0, 2], [1, 2]]
    assert comparable(out) == comparable(unsharded)


def test_doctests_of_collect():
    import doctest

    from codeq_lib import collect

    failed, attempted = doctest.testmod(collect)
    assert failed == 0 and attempted >= 2
