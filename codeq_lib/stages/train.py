"""Stages `train@r` (a round's adapter: DPO, RPO, RFT or GRPO) and `select` (the trainer
chosen on the validation split; train@1 takes its run of the chosen trainer)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codeq_lib.config import from_dict, run_metadata
from codeq_lib.io import read_jsonl, write_json
from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages.fields import (call_cache_field, concurrency_field, device_field, load_options,
                                     processes_field, quantize_field, sample_field, server_field)
from codeq_lib.stages.runs import evaluate_runs


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


def train_identity(cfg: TrainStage, pairs_path: str, start_model: str, base_model: str) -> dict[str, Any]:
    """What decides a trained adapter: the trainer and its settings, the data (by content) and
    the start and base policies. Two runs with equal identities train the same adapter, so
    train@1 takes the select stage's run of its chosen trainer instead of training it again."""
    from codeq_lib.policy.models import file_sha256

    data = {}
    for name in ("pairs.jsonl", "winners.jsonl"):
        path = Path(pairs_path).with_name(name)
        data[name] = file_sha256(path) if path.is_file() else None
    identity = {"trainer": cfg.trainer, "settings": {"dpo": cfg.dpo, "rft": cfg.rft, "grpo": cfg.grpo, "tasks": cfg.tasks}
                if cfg.trainer == "grpo" else {cfg.trainer: getattr(cfg, cfg.trainer)},
                "data": data, "start": str(start_model), "base": str(base_model)}
    if cfg.trainer in ("dpo", "rft"):  # "auto" resolves per machine: another CPU kind trains another adapter
        from codeq_lib.train.dpo_config import autocast_on

        section = getattr(cfg, cfg.trainer)
        identity["autocast_bf16"] = autocast_on(section.get("autocast_bf16", False), section.get("device", "auto"))
    return json.loads(json.dumps(identity, default=str))  # as read back from identity.json


def selected_run(cfg: TrainStage, choice_path: str | None, pairs_path: str, start_model: str,
                 base_model: str) -> Path | None:
    """The select stage's run of this very training (same identity), if it has one: its folder
    holds `train/` and `policy/`. None when there is no choice or anything differs."""
    if not choice_path or not Path(choice_path).is_file():
        return None
    choice = json.loads(Path(choice_path).read_text())
    name = choice.get("trainer")
    folder = Path(choice_path).parent / str(name)
    trained = choice.get("candidates", {}).get(name, {}).get("trained")
    identity = train_identity(cfg, pairs_path, start_model, base_model)
    return folder if trained and _finished_candidate(folder, identity) is not None else None


def run_train(cfg: TrainStage, pairs_path: str, start_model: str, base_model: str, out_dir: str,
              merged_dir: str, choice_path: str | None = None) -> dict[str, Any]:
    """Train the round's LoRA from `start_model` (DPO on `pairs_path`, RFT on its winners, or
    GRPO) and write the round's policy to `merged_dir` as an adapter policy: `base_model` plus
    the adapter, unmerged (`policy.models.write_adapter_policy`; the next round continues it).

    DPO with no pairs has nothing to learn from: the round's policy is the start policy,
    copied, and the summary says so (a round is never silently faked as trained).

    When the select stage (`choice_path`) already trained exactly this run (`selected_run`:
    same trainer, settings, data, start and base), its adapter is taken as is, not trained
    twice; the summary's `reused_from` says so.
    """
    from codeq_lib.io import atomic_dir
    from codeq_lib.policy.models import write_adapter_policy
    from codeq_lib.train.report import write_report

    out = Path(out_dir)
    reuse = selected_run(cfg, choice_path, pairs_path, start_model, base_model)
    if reuse is not None:
        with atomic_dir(out) as tmp:
            shutil.copytree(reuse / "train", tmp, dirs_exist_ok=True)
        summary = json.loads((out / "summary.json").read_text())
        write_adapter_policy(out / "adapter", base_model, merged_dir, {"trainer": cfg.trainer, "start": start_model})
        summary["reused_from"] = str(reuse)
        write_json(out / "summary.json", summary)
        return summary
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
        identity = train_identity(stage, pairs_path, base_model, base_model)
        summary = _finished_candidate(out / name, identity)  # a killed select resumes: done trainings are kept
        if summary is None:
            summary = run_train(stage, pairs_path, base_model, base_model, str(out / name / "train"),
                                str(out / name / "policy"))
            write_json(out / name / "identity.json", identity)
        candidates[name] = {"val": score(str(out / name / "policy"), out / name / "eval"),
                            "trained": bool(summary.get("trained")), "identity": identity,
                            "summary": {k: v for k, v in summary.items() if not isinstance(v, dict)}}
    trained = [name for name in cfg.trainers if candidates[name]["trained"]] or list(cfg.trainers)
    best = max(trained, key=lambda name: (candidates[name]["val"]["solved"], -cfg.trainers.index(name)))
    choice = {"trainer": best, "rpo_alpha": cfg.rpo_alpha if best == "rpo" else 0.0, "validation_files": val_files,
              "candidates": candidates, "meta": run_metadata(cfg)}
    write_json(out / "choice.json", choice)
    return choice


def _finished_candidate(folder: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The training summary of a select candidate already trained with `identity` (its
    `identity.json` is written only after its policy folder is in place), else None."""
    stamp, summary = folder / "identity.json", folder / "train" / "summary.json"
    if stamp.is_file() and summary.is_file() and (folder / "policy").is_dir():
        if json.loads(stamp.read_text()) == identity:
            return json.loads(summary.read_text())
    return None


def chosen_train_stage(train: TrainStage, choice_path: str | None) -> TrainStage:
    """`train.trainer: auto` takes the trainer `select` chose on validation (choice.json)."""
    if train.trainer != "auto":
        return train
    if not choice_path or not Path(choice_path).is_file():
        raise ValueError(f"train.trainer: auto needs the select stage's choice.json (got {choice_path!r})")
    choice = json.loads(Path(choice_path).read_text())
    return candidate_train_stage(train, choice["trainer"], choice.get("rpo_alpha", 0.0))
