"""Collection fanned out over a Ray cluster: one Ray task per shard, merged deterministically.

`collect.fanout: {engine: ray, shards: N}` in params.yaml makes the collect stage (still one
DVC stage, one notebook) send N shard jobs to Ray instead of searching itself. Each job runs
`stages.run_collect` for shard i of N on whichever node Ray places it (with `gpus_per_shard`
GPUs: Ray sets CUDA_VISIBLE_DEVICES, so the job's "cuda" is its own GPU), writing
`trees.shard-i-of-N.jsonl` into the run folder, which must be on storage every node sees
(a shared filesystem; on one machine, the checkout). When all jobs are done the driver merges
the shards in task order (`collect.merge_shards`): the same `trees.jsonl` as one unsharded run.
Ray is the `ray` extra (`pip install -e .[ray]`); `address: local` starts a local instance
(tests), `auto` joins the cluster this node belongs to (`ray start --head` / `ray start --address`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeq_lib.config import from_dict

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Fanout:
    engine: str = field(default="ray", metadata={"help": "the only engine: ray"})
    shards: int = field(default=2, metadata={"help": "shard jobs (N); each collects the tasks whose id hashes to i mod N"})
    address: str = field(default="auto", metadata={
        "help": "auto: the cluster this node joined; local: start a local Ray instance; or ray://host:port"})
    gpus_per_shard: float = field(default=0.0, metadata={"help": "GPUs Ray reserves per shard job (1 on a GPU cluster)"})
    cpus_per_shard: float = field(default=1.0, metadata={"help": "CPUs Ray reserves per shard job"})
    local_cpus: int | None = field(default=None, metadata={"help": "address local: CPUs of the local instance"})


def _run_shard(config: dict[str, Any], policy_model: str, out_dir: str, round: int, shard: str, root: str) -> dict:
    """One shard job, inside a Ray worker: the stage's own code, with `shard` fixed and no fanout."""
    from codeq_lib import stages

    os.chdir(root)  # the stage's relative paths (task file, models, run folder)
    cfg = stages.load_config(stages.CollectStage, {**config, "shard": shard, "fanout": {}}, "collect")
    return stages.run_collect(cfg, policy_model, out_dir, round)


def collect_on_ray(cfg: Any, policy_model: str, out_dir: str, round: int) -> dict[str, Any]:
    """Every shard of `cfg` (a `stages.CollectStage` with `fanout`) as a Ray task; returns the
    merged summary with each shard's summary under "shards"."""
    import ray

    from codeq_lib import stages
    from codeq_lib.collect import merge_shards

    fanout = from_dict(Fanout, cfg.fanout, where="params.yaml:collect.fanout")
    if fanout.engine != "ray":
        raise ValueError(f"params.yaml:collect.fanout.engine: {fanout.engine!r} is not one of ['ray']")
    if fanout.shards < 1:
        raise ValueError(f"params.yaml:collect.fanout.shards: must be >= 1, got {fanout.shards}")
    tasks = stages.collect_tasks(cfg, round)
    stages.reset_if_changed(out_dir, stages.collect_identity(dataclasses.replace(cfg, shard="0/1"), policy_model,
                                                             round, tasks))
    started_here = not ray.is_initialized()
    if started_here:
        # the workers import this checkout's codeq_lib (an editable install finds it anyway)
        runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                             os.environ.get("PYTHONPATH")]))}}
        if fanout.address == "local":
            ray.init(num_cpus=fanout.local_cpus, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
        else:
            ray.init(address=fanout.address, log_to_driver=False, runtime_env=runtime_env)
    try:
        job = ray.remote(num_cpus=fanout.cpus_per_shard, num_gpus=fanout.gpus_per_shard)(_run_shard)
        config = {**dataclasses.asdict(cfg), "fanout": {}}
        root = str(Path.cwd())
        futures = [job.remote(config, policy_model, out_dir, round, f"{i}/{fanout.shards}", root)
                   for i in range(fanout.shards)]
        shard_summaries = ray.get(futures)
    finally:
        if started_here:
            ray.shutdown()
    merged = merge_shards(out_dir, tasks, fanout.shards)
    if merged is None:
        raise RuntimeError(f"{out_dir}: every Ray shard job returned, but a shard's results are incomplete")
    return {**merged, "shards": shard_summaries, "fanout": dataclasses.asdict(fanout)}
