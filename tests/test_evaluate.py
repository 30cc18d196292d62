"""`evaluate`: result/metrics files, resume after a kill (nothing finished redone, nothing
lost), torn-write repair, and the CLI flags built from SearchConfig."""

from __future__ import annotations

import argparse
import json

import pytest

from codeq_lib.evaluate import add_arguments, evaluate, search_config_from_args, summarize
from codeq_lib.io import read_json, read_jsonl
from codeq_lib.search import SearchConfig
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import make_task, random_script

CONFIG = SearchConfig(K=2, early_stop=False)


script = random_script


class Killed(RuntimeError):
    pass


def tasks(n=5):
    return [make_task(f"add{i}", category="logic", difficulty="easy" if i % 2 else "hard") for i in range(n)]


def test_metrics_and_files(tmp_path, sandbox):
    metrics = evaluate(tasks(3), ScriptedPolicy(script), sandbox, "mcts", 2, CONFIG, tmp_path, progress=False)
    for key in ("n_tasks", "solved", "solve_rate", "ci95", "mode", "budget", "llm_calls", "generated_tokens",
                "sandbox_runs", "wall_s", "hidden_test_runs"):
        assert key in metrics, key
    assert metrics["n_tasks"] == 3 and metrics["llm_calls"] == 6 and metrics["hidden_test_runs"] == 3
    assert read_json(tmp_path / "metrics.json") == json.loads(json.dumps(metrics))
    rows = read_jsonl(tmp_path / "results.jsonl")
    nodes = read_jsonl(tmp_path / "trees.jsonl")
    assert [r["task_id"] for r in rows] == ["add0", "add1", "add2"]
    assert {n["task_id"] for n in nodes} == {"add0", "add1", "add2"}
    assert metrics["solved"] == sum(r["solved"] for r in rows)
    assert set(metrics["by_difficulty"]) == {"easy", "hard"}
    assert (tmp_path / "run.json").exists()


def test_resume_after_kill_redoes_nothing_and_loses_nothing(tmp_path, sandbox):
    all_tasks = tasks(5)
    finished = []

    def die_after_two(row):
        finished.append(row["task_id"])
        if len(finished) == 2:
            raise Killed("simulated kill")

    first = ScriptedPolicy(script)
    with pytest.raises(Killed):
        evaluate(all_tasks, first, sandbox, "mcts", 2, CONFIG, tmp_path, progress=False, on_task_done=die_after_two)
    assert first.stats.calls == 4
    # a kill between the tree write and the result write leaves orphan tree lines: add some
    with open(tmp_path / "trees.jsonl", "a") as handle:
        handle.write(json.dumps({"task_id": "add2", "id": 0}) + "\n" + '{"task_id": "add3", "id"')
    second = ScriptedPolicy(script)
    metrics = evaluate(all_tasks, second, sandbox, "mcts", 2, CONFIG, tmp_path, progress=False)
    assert second.stats.calls == 3 * 2  # only the three unfinished tasks were searched
    rows = read_jsonl(tmp_path / "results.jsonl")
    assert sorted(r["task_id"] for r in rows) == [t.id for t in all_tasks]  # none lost, none twice
    assert metrics["n_tasks"] == 5 and metrics["hidden_test_runs"] == 5 and metrics["llm_calls"] == 10
    nodes = read_jsonl(tmp_path / "trees.jsonl")
    roots = [n for n in nodes if n["parent"] is None]
    assert sorted(n["task_id"] for n in roots) == [t.id for t in all_tasks]
    # same per-task seeds: a resumed run gives the trees an uninterrupted run gives
    fresh = tmp_path / "fresh"
    evaluate(all_tasks, ScriptedPolicy(script), sandbox, "mcts", 2, CONFIG, fresh, progress=False)
    by_task = lambda path: {r["task_id"]: r["answer_code"] for r in read_jsonl(path)}  # noqa: E731
    assert by_task(fresh / "results.jsonl") == by_task(tmp_path / "results.jsonl")


def test_tasks_without_hidden_tests_are_refused(tmp_path, sandbox):
    with pytest.raises(ValueError, match="hidden_tests"):
        evaluate([make_task(hidden=[])], ScriptedPolicy(script), sandbox, "mcts", 1, CONFIG, tmp_path)
    assert not (tmp_path / "results.jsonl").exists()


def test_summarize_counts():
    rows = [{"solved": s, "answer_passes_visible": True, "hidden_test_runs": 1, "category": "logic",
             "difficulty": None, "counters": {"llm_calls": 2, "sandbox_runs": 5}} for s in (True, False, True, True)]
    metrics = summarize(rows, "mcts", 2)
    assert (metrics["solved"], metrics["n_tasks"], metrics["llm_calls"], metrics["sandbox_runs"]) == (3, 4, 8, 20)
    assert metrics["by_category"]["logic"]["solved"] == 3


def test_cli_flags_come_from_search_config():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--tasks", "t.jsonl", "--mode", "rex", "--out", "o", "--K", "3",
                              "--use-critic", "--rex-C", "2.5", "--budget", "7"])
    config = search_config_from_args(args)
    assert (config.K, config.use_critic, config.rex_C, args.budget) == (3, True, 2.5, 7)
    assert search_config_from_args(parser.parse_args(["--tasks", "t", "--mode", "mcts", "--out", "o"])) == SearchConfig()
    with pytest.raises(SystemExit):
        parser.parse_args(["--tasks", "t", "--mode", "beam", "--out", "o"])


@pytest.mark.slow
def test_codeq_eval_cli_end_to_end_on_a_tiny_random_model(tmp_path):
    """`codeq eval` as a user runs it: real policy backend (tiny random weights), real sandbox."""
    import subprocess
    import sys

    from codeq_lib.policy.models import tiny_random_model_dir
    from codeq_lib.data.tasks import save_tasks

    save_tasks([make_task("cli0")], tmp_path / "tasks.jsonl")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "codeq_lib.cli", "eval", "--tasks", str(tmp_path / "tasks.jsonl"),
           "--mode", "mcts", "--budget", "1", "--K", "2", "--max-new-tokens", "16",
           "--model", str(tiny_random_model_dir(0)), "--out", str(out), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = read_json(out / "metrics.json")
    assert (metrics["n_tasks"], metrics["llm_calls"], metrics["hidden_test_runs"]) == (1, 1, 1)
    assert metrics["policy_ids"] == ["tiny-random-smollm2-seed0"] or len(metrics["policy_ids"]) == 1
    assert len(read_jsonl(out / "results.jsonl")) == 1


def test_resuming_a_different_run_is_refused(tmp_path, sandbox):
    evaluate(tasks(1), ScriptedPolicy(script), sandbox, "mcts", 1, CONFIG, tmp_path, progress=False)
    with pytest.raises(ValueError, match="budget=1"):
        evaluate(tasks(2), ScriptedPolicy(script), sandbox, "mcts", 2, CONFIG, tmp_path, progress=False)
