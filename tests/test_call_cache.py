"""Memoised policy calls (policy/call_cache.py) change how often the model decodes, never
what a search finds."""

import json

from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages import TINY_MODEL, evaluate_runs, open_policy

SEARCH = SearchConfig(K=2, max_new_tokens=12, early_stop=False, seed=5)
MESSAGES = [{"role": "user", "content": "Fix: def f(): return 1"}]


def rows_by_task(path):
    return {row["task_id"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_a_cached_call_returns_what_the_model_returned(tmp_path):
    first = open_policy(TINY_MODEL, call_cache=str(tmp_path / "cache"))
    made = first.sample(MESSAGES, n=2, max_new_tokens=8, seed=1)
    again = open_policy(TINY_MODEL, call_cache=str(tmp_path / "cache"))  # another process, same folder
    assert again.sample(MESSAGES, n=2, max_new_tokens=8, seed=1) == made
    assert (again.stats.calls, again.stats.cache_hits) == (0, 1)
    # any other knob is another call: the model decodes it
    for changed in ({"seed": 2}, {"n": 3}, {"max_new_tokens": 9}, {"temperature": 0.5}, {"top_p": 0.9}):
        again.sample(MESSAGES, **{"n": 2, "max_new_tokens": 8, "seed": 1, **changed})
    again.sample(MESSAGES + [{"role": "user", "content": "again"}], n=2, max_new_tokens=8, seed=1)
    assert (again.stats.calls, again.stats.cache_hits) == (6, 1)
    assert not list((tmp_path / "cache").rglob("*.partial"))


def test_a_call_cache_is_keyed_by_the_weights_and_the_sampler(tmp_path):
    from codeq_lib.policy.call_cache import CachedPolicy

    policy = open_policy(TINY_MODEL, call_cache=str(tmp_path / "cache"))
    policy.sample(MESSAGES, n=1, max_new_tokens=4, seed=0)
    other = CachedPolicy(policy.policy, tmp_path / "cache", {**policy.identity, "model": "other weights"})
    other.sample(MESSAGES, n=1, max_new_tokens=4, seed=0)
    assert (policy.stats.calls, policy.stats.cache_hits) == (2, 0)


def test_runs_that_share_a_cache_find_what_runs_without_it_find(tmp_path):
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks

    tasks = str(tmp_path / "tasks.jsonl")
    save_tasks(curriculum_tasks()[:3], tasks)
    runs = [("best_of_n@2", "best_of_n", 2, SEARCH), ("mcts@2", "mcts", 2, SEARCH), ("mcts@3", "mcts", 3, SEARCH)]
    sandbox = SandboxConfig(workers=1)
    plain = evaluate_runs(tasks, 3, sandbox, TINY_MODEL, runs, str(tmp_path / "plain"))
    cached = evaluate_runs(tasks, 3, sandbox, TINY_MODEL, runs, str(tmp_path / "cached"), call_cache=str(tmp_path / "c"))
    for folder, *_ in runs:
        first, second = (rows_by_task(tmp_path / name / folder / "results.jsonl") for name in ("plain", "cached"))
        for task_id, row in first.items():
            assert second[task_id]["answer_code"] == row["answer_code"]
            assert second[task_id]["counters"]["llm_calls"] == row["counters"]["llm_calls"]
            assert second[task_id]["counters"]["generated_tokens"] == row["counters"]["generated_tokens"]
    assert [r["solved"] for r in plain] == [r["solved"] for r in cached]
    # best-of-n's first call, MCTS's first call, and MCTS@3's first two: 3 + 3 + 2 x 3 entries
    # reused out of 3 x (2 + 2 + 3) calls
    entries = list((tmp_path / "c").rglob("*.json"))
    assert len(entries) == 3 * (2 + 2 + 3) - 3 * (1 + 2)
