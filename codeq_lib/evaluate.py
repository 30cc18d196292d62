"""`codeq eval`: evaluate a policy with one search mode under the strict protocol.

For each task the search runs on `search_view(task)` (visible tests only); the committed
answer is handed to the `HiddenTestGuard`, which runs the hidden tests on it exactly once
(DESIGN.md protocol item 2). Per task one result line and its tree are appended and fsynced
(`RunLog`), so a killed run restarts without redoing finished tasks; `metrics.json` (n, solve
rate with a Wilson 95% CI, counters, `hidden_test_runs`) is rewritten at the end.
`oracle_best_of_n` chooses with hidden tests: it is labelled as an oracle, never a pass@1.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from codeq_lib.config import from_dict, run_metadata
from codeq_lib.errors import UserError
from codeq_lib.hashing import sha256_text
from codeq_lib.io import write_json
from codeq_lib.metrics import rate_summary
from codeq_lib.precision import edit_record, edit_summary
from codeq_lib.search import MODES, HiddenTestGuard, ProtocolError, SearchConfig, run_search
from codeq_lib.search.runlog import RunLog
from codeq_lib.data.tasks import Task, load_tasks

EVAL_MODES = MODES + ("oracle_best_of_n",)
COUNTER_KEYS = ("llm_calls", "samples", "prompt_tokens", "generated_tokens", "critic_calls",
                "sandbox_runs", "sandbox_executions", "sandbox_cache_hits", "duplicates", "wall_s")
ORACLE_LABEL = "ORACLE: best-of-n selected with hidden tests; an upper bound, not pass@1"


def task_seed(base_seed: int, task_id: str) -> int:
    """Per-task seed that does not depend on task order (so a resumed run samples the same)."""
    return (base_seed * 1_000_003 + int(sha256_text(task_id)[:8], 16)) % (2**31 - 1)


def check_evaluable(tasks: Sequence[Task]) -> None:
    for task in tasks:
        if not task.hidden_tests:
            raise UserError(f"task {task.id!r}: hidden_tests: is empty; evaluation scores the answer on hidden tests")


def evaluate_task(task: Task, policy: Any, sandbox: Any, guard: HiddenTestGuard, mode: str, budget: int,
                  config: SearchConfig, seed: int, round: int = 0, **hooks: Any) -> tuple[dict, list[dict]]:
    """Search one task, commit, run the hidden tests once; returns (result row, tree rows)."""
    oracle = (lambda codes: guard.oracle_scores(task, codes)) if mode == "oracle_best_of_n" else None
    result = run_search(task, policy, sandbox, mode, budget, config, seed=task_seed(seed, task.id),
                        round=round, oracle=oracle, **hooks)
    guard.commit(task, result.answer_code)
    hidden = guard.run_hidden(task, result.answer_code)
    row = {
        "task_id": task.id,
        "mode": mode,
        "budget": budget,
        "round": round,
        "policy_id": getattr(policy, "policy_id", None),
        "category": task.category,
        "difficulty": task.difficulty,
        "source": task.source,
        # the cluster of paired statistics (codeq_lib.paired): tasks of one problem are not independent
        "problem_key": task.meta.get("problem_key") or task.group,
        "solved": hidden.status == "pass",
        "hidden_status": hidden.status,
        "hidden_passed": hidden.passed,
        "hidden_total": hidden.total,
        "hidden_test_runs": guard.runs[task.id],
        "oracle_hidden_runs": guard.oracle_runs[task.id],
        "answer_node": result.answer_node,
        "answer_passes_visible": result.answer_passes_search_tests,
        "answer_code": result.answer_code,
        # repair precision of the committed answer against the buggy program (codeq_lib.precision)
        "edit": edit_record(task.buggy_code, result.answer_code, task.reference_code),
        "counters": result.counters,
    }
    return row, result.tree


def evaluate_one(task: Task, policy: Any, sandbox: Any, mode: str, budget: int, config: SearchConfig,
                 seed: int, round: int = 0, **hooks: Any) -> tuple[dict, list[dict]]:
    """`evaluate_task` as one job of a pool (`study.scheduler`): its own guard holds this
    task's hidden tests only, and runs them once, on the committed answer."""
    return evaluate_task(task, policy, sandbox, HiddenTestGuard([task], sandbox), mode, budget, config, seed, round,
                         **hooks)


def summarize(rows: Sequence[dict], mode: str, budget: int) -> dict[str, Any]:
    """metrics.json: DESIGN.md fields, counters summed over tasks, per-category rates with CIs."""
    solved = sum(bool(row["solved"]) for row in rows)
    metrics: dict[str, Any] = {"mode": mode, "budget": budget, **rate_summary(solved, len(rows))}
    for key in COUNTER_KEYS:
        metrics[key] = sum(row["counters"].get(key, 0) for row in rows)
    metrics["hidden_test_runs"] = sum(row["hidden_test_runs"] for row in rows)
    metrics["oracle_hidden_runs"] = sum(row.get("oracle_hidden_runs", 0) for row in rows)
    metrics["visible_solved"] = sum(bool(row["answer_passes_visible"]) for row in rows)
    metrics["policy_ids"] = sorted({str(row.get("policy_id")) for row in rows})
    metrics["edit"] = edit_summary(rows)
    if mode == "oracle_best_of_n":
        metrics["label"] = ORACLE_LABEL
    for field_name in ("category", "difficulty"):
        groups: dict[str, list[bool]] = defaultdict(list)
        for row in rows:
            groups[str(row.get(field_name))].append(bool(row["solved"]))
        metrics[f"by_{field_name}"] = {k: rate_summary(sum(v), len(v)) for k, v in sorted(groups.items())}
    return metrics


@dataclasses.dataclass
class EvalRun:
    """One run folder of `evaluate_many`: `tasks` searched with `mode` at `budget` into `out_dir`."""

    tasks: Sequence[Task]
    mode: str
    budget: int
    config: SearchConfig | None
    out_dir: str | Path
    seed: int | None = None
    round: int = 0
    # how the policy sampled (study.policies.sampler_identity: decoder, dtype, device) and the
    # library versions: written into run.json and metrics.json, since fp32 and bf16 sampling
    # (or another transformers) draw other samples from the same weights and seeds
    sampler: dict[str, Any] | None = None


def _open_run(run: EvalRun, policy_id: str | None, processes: int,
              concurrency: int = 1) -> tuple[RunLog, list[Task], int, SearchConfig, int]:
    """Check the run, stamp run.json; (log, tasks still to do, tasks done, config, seed)."""
    config = run.config or SearchConfig()
    seed = config.seed if run.seed is None else run.seed  # per-task seeds derive from it (task_seed)
    if run.mode not in EVAL_MODES:
        raise ValueError(f"mode: {run.mode!r} is not one of {list(EVAL_MODES)}")
    check_evaluable(run.tasks)
    out_dir = Path(run.out_dir)
    log = RunLog.open(out_dir)
    log.check_same_run(mode=run.mode, budget=run.budget, round=run.round)
    done = log.done_ids()
    todo = [task for task in run.tasks if task.id not in done]
    write_json(out_dir / "run.json", run_metadata({"search": dataclasses.asdict(config), "mode": run.mode,
                                                  "budget": run.budget, "seed": seed, "round": run.round,
                                                  "policy_id": policy_id, "processes": processes,
                                                  "concurrency": concurrency, "sampler": run.sampler}))
    return log, todo, len(run.tasks) - len(todo), config, seed


def _finish_run(run: EvalRun, log: RunLog) -> dict[str, Any]:
    """metrics.json of a run whose tasks are all in its log (the protocol's count checked)."""
    wanted = {task.id for task in run.tasks}
    rows = [row for row in log.results() if row["task_id"] in wanted]
    metrics = summarize(rows, run.mode, run.budget)
    if run.sampler is not None:
        metrics["sampler"] = run.sampler
        metrics["versions"] = run_metadata()["versions"]
    if metrics["hidden_test_runs"] != metrics["n_tasks"]:
        raise ProtocolError(f"{run.out_dir}: {metrics['hidden_test_runs']} hidden-test runs for "
                            f"{metrics['n_tasks']} tasks; the protocol allows exactly one per task")
    write_json(Path(run.out_dir) / "metrics.json", metrics)
    return metrics


def evaluate(tasks: Sequence[Task], policy: Any, sandbox: Any, mode: str, budget: int,
             config: SearchConfig | None, out_dir: str | Path, seed: int | None = None, round: int = 0,
             progress: bool = True, on_task_done: Callable[[dict], None] | None = None,
             pool: Any = None, concurrency: int = 1, **hooks: Any) -> dict[str, Any]:
    """Evaluate every task not already finished in `out_dir`; returns the metrics dict.
    `concurrency` tasks are searched at once on `policy` and `sandbox` (`study.scheduler.LocalPool`);
    with a `pool` (a `TaskPool` of worker processes) its workers search instead. Either way
    this process writes the run folder, and the results do not depend on how many ran at once."""
    from codeq_lib.study.scheduler import LocalPool

    run = EvalRun(tasks, mode, budget, config, out_dir, seed, round)
    return evaluate_many([run], pool or LocalPool(policy, sandbox, concurrency), progress, on_task_done, **hooks)[0]


def _evaluate_job(job: tuple, policy: Any, sandbox: Any, **hooks: Any) -> tuple[int, dict, list[dict]]:
    """One (run index, task) of `evaluate_many` in a pool: (run index, result row, tree rows)."""
    index, task, mode, budget, config, seed, round = job
    row, tree = evaluate_one(task, policy, sandbox, mode, budget, config, seed, round, **hooks)
    return index, row, tree


def evaluate_many(runs: Sequence[EvalRun], pool: Any, progress: bool = True,
                  on_task_done: Callable[[dict], None] | None = None, **hooks: Any) -> list[dict[str, Any]]:
    """`evaluate` for several runs through one pool queue (`study.scheduler`): run by run, task
    by task, but a run's last tasks share the workers with the next run's first ones instead of
    leaving a worker idle until the slowest finishes. Each run folder is written exactly as by
    `evaluate` (its metrics.json as soon as its last task is in); returns their metrics."""
    if hooks and getattr(pool, "processes", 1) > 1:
        raise ValueError(f"search hooks {sorted(hooks)} cannot cross into worker processes; use processes=1")
    opened = [_open_run(run, pool.policy_id, pool.processes, getattr(pool, "concurrency", 1)) for run in runs]
    jobs = [(index, task, run.mode, run.budget, config, seed, run.round)
            for index, (run, (_, todo, _, config, seed)) in enumerate(zip(runs, opened)) for task in todo]
    remaining = [len(todo) for _, todo, *_ in opened]
    metrics: list[dict[str, Any] | None] = [None] * len(runs)
    for index, run in enumerate(runs):
        if remaining[index] == 0:
            metrics[index] = _finish_run(run, opened[index][0])
    names = ", ".join(f"{run.mode}@{run.budget}" for run in runs)
    bar = tqdm(pool.map(_evaluate_job, jobs, **hooks), desc=f"eval {names}"[:60], disable=not progress,
               initial=sum(done for _, _, done, *_ in opened), total=sum(len(run.tasks) for run in runs))
    for index, row, tree in bar:
        opened[index][0].append(tree, row)
        if on_task_done is not None:
            on_task_done(row)
        remaining[index] -= 1
        if remaining[index] == 0:
            metrics[index] = _finish_run(runs[index], opened[index][0])
    return metrics  # type: ignore[return-value]


# ---- command line (shared with `codeq collect`) ----

def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """Model, sandbox and every SearchConfig field as a flag (the dataclass docs are the help)."""
    parser.add_argument("--budget", type=int, default=20, help="LLM calls (rollouts) per task")
    parser.add_argument("--model", default="embedded", help="'embedded', a hub id, a local HF dir or a .gguf file")
    parser.add_argument("--adapter", default=None, help="optional LoRA adapter directory")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA if any; under a launcher the LOCAL_RANK GPU), cuda (stop without CUDA), cpu")
    parser.add_argument("--quantize-4bit", action="store_true",
                        help="NF4 weights (CUDA + bitsandbytes: pip install -e .[gpu]); a merged round is sampled as "
                             "the 4-bit base plus its adapters")
    parser.add_argument("--backend", default="subprocess", choices=["subprocess", "docker"], help="sandbox backend")
    parser.add_argument("--workers", type=int, default=2, help="sandbox worker processes")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per candidate run")
    parser.add_argument("--round", type=int, default=0, help="self-improvement round recorded in trees")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks of the file")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="tasks searched at once, their policy calls batched by one engine (results do not depend on it)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = parser.add_argument_group("search (SearchConfig)")
    for f in dataclasses.fields(SearchConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=f"cfg_{f.name}", action=argparse.BooleanOptionalAction,
                               default=None, help=f.metadata.get("help"))
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            group.add_argument(flag, dest=f"cfg_{f.name}", type=kind, default=None, metavar=f.name.upper(),
                              help=f.metadata.get("help"))


def search_config_from_args(args: argparse.Namespace) -> SearchConfig:
    given = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
    return from_dict(SearchConfig, given, where="command line")


def open_policy(args: argparse.Namespace):
    from codeq_lib.policy import load_policy

    return load_policy(args.model, adapter=args.adapter, device=args.device, quantize_4bit=args.quantize_4bit)


def open_sandbox(args: argparse.Namespace):
    from codeq_lib.sandbox import make_sandbox

    return make_sandbox(backend=args.backend, workers=args.workers, timeout_s=args.timeout)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", required=True, help="task file (schema v1 JSONL)")
    parser.add_argument("--mode", required=True, choices=list(EVAL_MODES),
                        help="search strategy (oracle_best_of_n is an oracle, never a pass@1)")
    parser.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    add_search_arguments(parser)


def run_cli(args: argparse.Namespace) -> int:
    tasks = load_tasks(args.tasks)[: args.limit]
    check_evaluable(tasks)
    config = search_config_from_args(args)
    start = time.perf_counter()
    policy = open_policy(args)
    with open_sandbox(args) as sandbox:
        metrics = evaluate(tasks, policy, sandbox, args.mode, args.budget, config, args.out,
                           round=args.round, progress=not args.no_progress, concurrency=args.concurrency)
    lo, hi = metrics["ci95"]
    print(f"{args.mode}@{args.budget}: solved {metrics['solved']}/{metrics['n_tasks']} = "
          f"{metrics['solve_rate']:.3f} (95% CI {lo:.3f}-{hi:.3f}); llm_calls={metrics['llm_calls']} "
          f"hidden_test_runs={metrics['hidden_test_runs']}; {time.perf_counter() - start:.1f}s -> {args.out}")
    return 0
