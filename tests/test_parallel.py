"""Worker processes (study.scheduler.TaskPool) change how fast a run goes, never what it finds."""

import json

import pytest

from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages import TINY_MODEL, evaluate_runs

SEARCH = SearchConfig(K=2, max_new_tokens=12, early_stop=True, seed=3)


def rows_by_task(path):
    return {row["task_id"]: row for row in map(json.loads, path.read_text().splitlines())}


@pytest.mark.slow
def test_two_processes_find_what_one_process_finds(tmp_path):
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks

    # two runs: with workers they share one queue (evaluate_many), in one process they run in turn
    runs = [("mcts@2", "mcts", 2, SEARCH), ("best_of_n@2", "best_of_n", 2, SEARCH, 3)]
    tasks = str(tmp_path / "tasks.jsonl")
    save_tasks(curriculum_tasks()[:4], tasks)
    one = evaluate_runs(tasks, 4, SandboxConfig(workers=1), TINY_MODEL, runs, str(tmp_path / "one"), processes=1)
    two = evaluate_runs(tasks, 4, SandboxConfig(workers=1), TINY_MODEL, runs, str(tmp_path / "two"), processes=2)
    for folder, n_tasks in (("mcts@2", 4), ("best_of_n@2", 3)):
        first, second = (rows_by_task(tmp_path / name / folder / "results.jsonl") for name in ("one", "two"))
        assert set(first) == set(second) and len(first) == n_tasks
        for task_id, row in first.items():
            other = second[task_id]
            assert other["mode"] == row["mode"] == folder.split("@")[0]
            assert other["answer_code"] == row["answer_code"]
            assert other["counters"]["generated_tokens"] == row["counters"]["generated_tokens"]
            assert other["hidden_test_runs"] == 1
        assert json.loads((tmp_path / "two" / folder / "run.json").read_text())["config"]["processes"] == 2
        metrics = [json.loads((tmp_path / name / folder / "metrics.json").read_text()) for name in ("one", "two")]
        # sandbox cache hits depend on which worker met which program before; what was found does not
        same = ("mode", "budget", "n_tasks", "solved", "llm_calls", "samples", "generated_tokens", "prompt_tokens",
                "hidden_test_runs", "by_category", "by_difficulty")
        assert {key: metrics[0][key] for key in same} == {key: metrics[1][key] for key in same}
    assert [row["run"] for row in two] == ["mcts@2", "best_of_n@2"]
    for a, b in zip(one, two):
        assert a["solved"] == b["solved"] and b["hidden_test_runs"] == b["n_tasks"]


def test_a_worker_that_cannot_start_is_reported_not_respawned(tmp_path):
    from codeq_lib.study.scheduler import TaskPool

    with pytest.raises(RuntimeError, match="worker could not start.*no/such/model"):
        TaskPool(str(tmp_path / "no/such/model"), SandboxConfig(workers=1), processes=2)


KILLED_EVALUATION = """
import os, signal, sys
from codeq_lib.data.curriculum import curriculum_tasks
from codeq_lib.evaluate import evaluate
from codeq_lib.study.scheduler import TaskPool
from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages import TINY_MODEL

if __name__ == "__main__":
    out, kill_after = sys.argv[1], int(sys.argv[2])
    done = []
    def maybe_die(row):
        done.append(row["task_id"])
        if len(done) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # the parent dies mid-run; its workers are orphaned
    with TaskPool(TINY_MODEL, SandboxConfig(workers=1), 2) as pool:
        evaluate(curriculum_tasks()[:6], None, None, "mcts", 2,
                 SearchConfig(K=2, max_new_tokens=12, early_stop=True, seed=3), out, progress=False,
                 on_task_done=maybe_die, pool=pool)
"""


@pytest.mark.slow
def test_a_killed_two_process_run_resumes_to_the_uninterrupted_result(tmp_path):
    import signal
    import subprocess
    import sys

    def run(out, kill_after):
        script = tmp_path / "killed_evaluation.py"
        script.write_text(KILLED_EVALUATION)  # a file: spawned workers re-import __main__ from it
        return subprocess.run([sys.executable, str(script), str(out), str(kill_after)],
                              capture_output=True, text=True, timeout=600)

    killed = run(tmp_path / "resumed", 2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len((tmp_path / "resumed" / "results.jsonl").read_text().splitlines()) == 2
    resumed = run(tmp_path / "resumed", 0)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = run(tmp_path / "whole", 0)
    assert whole.returncode == 0, whole.stderr[-2000:]
    after, reference = (rows_by_task(tmp_path / name / "results.jsonl") for name in ("resumed", "whole"))
    assert len((tmp_path / "resumed" / "results.jsonl").read_text().splitlines()) == 6  # nothing redone
    assert {k: r["answer_code"] for k, r in after.items()} == {k: r["answer_code"] for k, r in reference.items()}
    metrics = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert metrics["n_tasks"] == metrics["hidden_test_runs"] == 6
