"""`collect`: training-split reward (all tests, protocol item 3), resume after a real SIGKILL
of the collecting process, and disjoint, complete shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codeq_lib.collect import collect, in_shard, parse_shard
from codeq_lib.io import read_jsonl
from codeq_lib.sandbox import make_sandbox
from codeq_lib.search import SearchConfig
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import GOOD, OVERFIT, fence, make_task

TESTS_DIR = Path(__file__).parent
ROOT = TESTS_DIR.parent

COLLECTOR = textwrap.dedent("""
    import os, random, signal, sys
    from codeq_lib.collect import collect
    from codeq_lib.sandbox import make_sandbox
    from codeq_lib.search import SearchConfig
    from codeq_lib.search.scripted import ScriptedPolicy
    from search_support import GOOD, ONE_THIRD, OVERFIT, TWO_THIRDS, ZERO, fence, make_task

    out, kill_after = sys.argv[1], int(sys.argv[2])
    def script(messages, n, call_index, seed):
        rng = random.Random(seed)
        return [fence(rng.choice([GOOD, TWO_THIRDS, ONE_THIRD, ZERO, OVERFIT])) for _ in range(n)]
    done = []
    def maybe_die(row):
        done.append(row["task_id"])
        if len(done) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: a real crash
    policy = ScriptedPolicy(script)
    with make_sandbox(workers=1) as sandbox:
        collect([make_task(f"t{i}") for i in range(6)], policy, sandbox, "mcts", 2,
                SearchConfig(K=2, early_stop=False), out, progress=False, on_task_done=maybe_die)
    print("calls", policy.stats.calls)
""")


def run_collector(out: Path, kill_after: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    return subprocess.run([sys.executable, "-c", COLLECTOR, str(out), str(kill_after)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_resume_after_sigkill(tmp_path):
    killed = run_collector(tmp_path, kill_after=3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(read_jsonl(tmp_path / "results.jsonl")) == 3
    resumed = run_collector(tmp_path, kill_after=0)
    assert resumed.returncode == 0, resumed.stderr
    assert "calls 6" in resumed.stdout  # 3 remaining tasks x budget 2: nothing finished was redone
    rows = read_jsonl(tmp_path / "results.jsonl")
    assert sorted(r["task_id"] for r in rows) == [f"t{i}" for i in range(6)]
    roots = [n for n in read_jsonl(tmp_path / "trees.jsonl") if n["parent"] is None]
    assert sorted(n["task_id"] for n in roots) == [f"t{i}" for i in range(6)]


def test_training_reward_uses_all_tests(tmp_path):
    with make_sandbox(workers=1) as sandbox:
        collect([make_task("t")], ScriptedPolicy([fence(OVERFIT)]), sandbox, "best_of_n", 1,
                SearchConfig(K=1), tmp_path, progress=False)
    nodes = read_jsonl(tmp_path / "trees.jsonl")
    assert all(n["total"] == 5 for n in nodes)  # 3 visible + 2 hidden
    assert (nodes[1]["passed"], nodes[1]["pass_fraction"]) == (4, 0.8)


def test_shards_are_disjoint_and_complete(tmp_path):
    ids = [f"task-{i}" for i in range(40)]
    owners = [[s for s in range(3) if in_shard(task_id, (s, 3))] for task_id in ids]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {0, 1, 2}
    tasks = [make_task(f"s{i}") for i in range(8)]
    with make_sandbox(workers=1) as sandbox:
        for shard in range(2):
            collect(tasks, ScriptedPolicy([fence(GOOD)]), sandbox, "single_pass", 1, SearchConfig(),
                    tmp_path, shard=(shard, 2), progress=False)
    got = [r["task_id"] for s in range(2) for r in read_jsonl(tmp_path / f"results.shard-{s}-of-2.jsonl")]
    assert sorted(got) == [t.id for t in tasks]
    assert (tmp_path / "collect.shard-1-of-2.json").exists()


def test_parse_shard_errors_name_the_flag():
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "a/b", "1", "-1/2"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)
