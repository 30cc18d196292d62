"""Stages `evaluate@policy` (single pass on the study's draw, the strategies on a nested
draw), `ablations` and the `results` section."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from codeq_lib.sandbox.config import SandboxConfig
from codeq_lib.search import SearchConfig
from codeq_lib.stages.fields import (call_cache_field, concurrency_field, device_field, load_options,
                                     processes_field, quantize_field, sample_field, server_field)
from codeq_lib.stages.runs import evaluate_runs


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
