"""Run folders: the identity that decides a folder's results (resumed or reset on change),
the pool of concurrent searches a stage samples with, and evaluation runs (evaluate,
ablations and select share `evaluate_runs`)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codeq_lib.hashing import json_hash
from codeq_lib.io import write_json
from codeq_lib.sandbox.config import SandboxConfig, sandbox_from_config
from codeq_lib.study.policies import model_identity, open_policy, sampler_identity


def _task_hashes(tasks: Any) -> dict[str, str]:
    """{task id: content hash}; accepts Task objects or their dicts (older stamps)."""
    rows = [t.to_dict() if hasattr(t, "to_dict") else t for t in tasks]
    return {row["id"]: json_hash(row) for row in rows}


def _what_decides_a_task(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's identity that decides each finished task's result: everything but
    which tasks are in the run (`limit`, `shard`, the task list). Tasks are compared apart."""
    out = {k: v for k, v in identity.items() if k != "tasks"}
    if isinstance(out.get("config"), dict):
        out["config"] = {k: v for k, v in out["config"].items()
                         if k not in ("limit", "shard", "fanout", "tasks", "processes", "concurrency", "call_cache",
                                      "device")}
    return out


def _stamped(identity: dict[str, Any]) -> dict[str, Any]:
    return {**identity, "tasks": _task_hashes(identity.get("tasks", []))}


def _decides(stamped: dict[str, Any]) -> str:
    """Hash of what decides a stamped run's results, its task list included (not its shard)."""
    return json_hash({**_what_decides_a_task(stamped), "tasks": stamped.get("tasks")})


def wait_for_identity(out_dir: str | Path, identity: dict[str, Any], timeout_s: float = 1800.0) -> None:
    """Block until `out_dir` carries `identity` (rank 0 of a launcher resets and stamps the
    folder; the other ranks start writing their shards only after that)."""
    import time

    stamp, want = Path(out_dir) / "identity.json", _decides(_stamped(identity))
    deadline = time.monotonic() + timeout_s
    while not (stamp.exists() and _decides(json.loads(stamp.read_text()).get("identity", {})) == want):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{stamp}: rank 0 did not stamp this run's identity within {timeout_s:.0f} s")
        time.sleep(1.0)


def reset_if_changed(out_dir: str | Path, identity: dict[str, Any]) -> None:
    """Resumable run folders survive a kill (DVC `persist`), but never a change of inputs.

    A finished task's result depends on the policy weights, the search/sandbox config, the
    mode, budget and round, and the task itself, not on which other tasks share the run. So
    the folder is reset when any of those changed or a finished task's content changed;
    growing or shrinking the task list (`limit`) keeps the finished tasks.
    """
    out_dir = Path(out_dir)
    stamp = out_dir / "identity.json"
    identity = _stamped(identity)
    if stamp.exists():
        old = json.loads(stamp.read_text()).get("identity", {})
        old_tasks = _task_hashes(old.get("tasks", []) if isinstance(old.get("tasks"), list) else [])
        if isinstance(old.get("tasks"), dict):
            old_tasks = old["tasks"]
        same_tasks = all(old_tasks[i] == h for i, h in identity["tasks"].items() if i in old_tasks)
        if not same_tasks or json_hash(_what_decides_a_task(old)) != json_hash(_what_decides_a_task(identity)):
            shutil.rmtree(out_dir)
    write_json(stamp, {"hash": json_hash(identity), "identity": identity})


@contextmanager
def searchers(policy_model: str, sandbox_cfg: SandboxConfig, processes: int, call_cache: str | None = None,
              concurrency: int = 1, policy_options: dict[str, Any] | None = None):
    """A pool (`study.scheduler`) running `concurrency` searches at once in this process, or in
    each of `processes` worker processes (each with its own policy, engine and sandbox)."""
    from codeq_lib.study.scheduler import LocalPool, TaskPool

    if processes < 1:
        raise ValueError(f"params.yaml: processes must be >= 1, got {processes}")
    if concurrency < 1:
        raise ValueError(f"params.yaml: concurrency must be >= 1, got {concurrency}")
    if processes > 1:
        with TaskPool(policy_model, sandbox_cfg, processes, call_cache, concurrency, policy_options) as pool:
            yield pool
        return
    policy = open_policy(policy_model, call_cache=call_cache, **(policy_options or {}))
    try:
        with sandbox_from_config(sandbox_cfg) as sandbox:
            yield LocalPool(policy, sandbox, concurrency)
    finally:
        close = getattr(policy, "close", None)
        if close is not None:
            close()


# The version of an evaluation's result rows: a folder written with other rows is not resumed
# (v2: rows carry problem_key, source and the answer's edit record).
RESULT_ROWS = "v2"


def evaluate_runs(tasks_path: str | list[str], limit: int | None, sandbox_cfg: SandboxConfig, policy_model: str,
                  runs: list[tuple], out_dir: str, processes: int = 1,
                  call_cache: str | None = None, concurrency: int = 1,
                  policy_options: dict[str, Any] | None = None, sample: int | list[int] | None = None,
                  sample_seed: int = 0) -> list[dict[str, Any]]:
    """Evaluate one policy in each run folder `(folder, mode, budget, search[, n])` under
    `out_dir` (shared by the evaluate and ablations stages) on the stage's tasks (a stratified
    draw of `sample`, then the first `limit`); a run with its own `n` takes a stratified draw of
    n of those (nested: its tasks are among every larger run's). Each folder resumes or resets
    on its own."""
    from codeq_lib.data.sample import select_tasks, stratified_sample
    from codeq_lib.evaluate import EvalRun, evaluate_many

    all_tasks = select_tasks(tasks_path, sample, sample_seed, limit)
    options = policy_options or {}
    identity = {"policy": model_identity(policy_model), "rows": RESULT_ROWS,  # hashes the weights once
                "sampler": sampler_identity(options.get("device", "auto"), options.get("quantize_4bit", False),
                                            options.get("server"))}
    planned = []
    for folder, mode, budget, search, *own in runs:
        tasks = stratified_sample(all_tasks, own[0], sample_seed) if own else all_tasks
        run_dir = Path(out_dir) / folder
        reset_if_changed(run_dir, {**identity, "tasks": [t.to_dict() for t in tasks], "mode": mode,
                                   "budget": budget, "search": dataclasses.asdict(search)})
        planned.append(EvalRun(tasks, mode, budget, search, run_dir, sampler=identity["sampler"]))
    with searchers(policy_model, sandbox_cfg, processes, call_cache, concurrency, policy_options) as pool:
        all_metrics = evaluate_many(planned, pool)  # one queue: no worker waits for a run's slowest task
    rows = [{"run": folder, **metrics} for (folder, *_), metrics in zip(runs, all_metrics)]
    write_json(Path(out_dir) / "summary.json", rows)
    return rows


def read_metrics(root: str | Path) -> list[dict[str, Any]]:
    """Every metrics.json under `root`, with its folder, for tables."""
    rows = []
    for path in sorted(Path(root).rglob("metrics.json")):
        rows.append({"run": str(path.parent.relative_to(root)), **json.loads(path.read_text())})
    return rows
