"""Many searches at once against one engine find exactly what one search at a time finds:
the same answers, trees, token counts and LLM calls, for every mode, with and without the
call cache (issue: throughput; DESIGN.md "Speed": results independent of concurrency)."""

from __future__ import annotations

import json

import pytest

from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages import TINY_MODEL, evaluate_runs
from codeq_lib.study.scheduler import run_concurrently

# top_p 1.0: the tiny random model's distributions are nearly flat, and a nucleus over them
# sorts the whole vocabulary (slow, and beside the point here)
SEARCH = SearchConfig(K=2, max_new_tokens=12, early_stop=False, top_p=1.0, seed=5)
RUNS = [("single_pass@1", "single_pass", 1, SEARCH), ("best_of_n@2", "best_of_n", 2, SEARCH),
        ("refine@2", "refine", 2, SEARCH), ("mcts@2", "mcts", 2, SEARCH), ("rex@2", "rex", 2, SEARCH),
        ("mcts@2_critic", "mcts", 2, SearchConfig(**{**SEARCH.__dict__, "use_critic": True, "alpha": 0.5}))]
TIMING = {"wall_s"}  # and the sandbox's cache counters: which search met a program first varies
CACHE_COUNTERS = {"sandbox_executions", "sandbox_cache_hits"}


def _strip(row: dict) -> dict:
    row = dict(row)
    row["counters"] = {k: v for k, v in row["counters"].items() if k not in TIMING | CACHE_COUNTERS}
    return row


def _read(folder):
    out = {}
    for run, *_ in RUNS:
        results = {r["task_id"]: _strip(r) for r in map(json.loads, (folder / run / "results.jsonl").read_text().splitlines())}
        trees = sorted((json.loads(line) for line in (folder / run / "trees.jsonl").read_text().splitlines()),
                       key=lambda n: (n["task_id"], n["id"]))
        out[run] = (results, trees)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("call_cache", [False, True])
def test_sixteen_searches_at_once_find_what_one_at_a_time_finds(tmp_path, call_cache):
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks

    tasks = str(tmp_path / "tasks.jsonl")
    save_tasks(curriculum_tasks()[::9][:6], tasks)
    found = {}
    for concurrency in (1, 16):
        cache = str(tmp_path / f"calls{concurrency}") if call_cache else None
        out = tmp_path / f"c{concurrency}"
        rows = evaluate_runs(tasks, None, SandboxConfig(workers=2), TINY_MODEL, RUNS, str(out), processes=1,
                             call_cache=cache, concurrency=concurrency)
        assert all(row["hidden_test_runs"] == row["n_tasks"] == 6 for row in rows)
        assert json.loads((out / "mcts@2" / "run.json").read_text())["config"]["concurrency"] == concurrency
        found[concurrency] = _read(out)
    assert found[1] == found[16]
    one = found[1]["mcts@2_critic"][1]
    assert any(node.get("critic_score") is not None for node in one)  # the critic ran (batched across searches)


def test_run_concurrently_keeps_every_result_and_raises_errors():
    assert sorted(run_concurrently(lambda x: x * x, range(20), 4)) == [x * x for x in range(20)]
    assert list(run_concurrently(lambda x: x, range(5), 1)) == list(range(5))

    def fails_on_three(x):
        if x == 3:
            raise KeyError("three")
        return x

    with pytest.raises(KeyError, match="three"):
        list(run_concurrently(fails_on_three, range(10), 3))
    with pytest.raises(ValueError, match="concurrency"):
        list(run_concurrently(abs, [1], 0))


def test_searches_starting_at_once_share_one_engine():
    """The engine starts on first use; searches in many threads make their first call at the
    same moment, and every one must reach the same engine (one batch, one KV cache). Before the
    lock, each thread could start its own: eight engines, eight caches, 24 GB and the OOM killer."""
    import threading

    from codeq_lib.policy.models import tiny_random_policy

    policy = tiny_random_policy()
    barrier = threading.Barrier(8)
    seen = []

    def first_call():
        barrier.wait()
        seen.append(policy.engine)

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(seen) == 8 and len({id(engine) for engine in seen}) == 1
    finally:
        policy.close()
