"""`codeq sandbox`: score existing candidate programs against a task file's tests.

    codeq sandbox --tasks tasks.jsonl --candidates cands.jsonl --out results.jsonl \\
        [--tests hidden|visible] [--backend subprocess|docker] [--workers 2] [--timeout-s 5]

Candidates are one `{"task_id": ..., "code": ...}` object per line (any other keys are kept
in the output as `meta`). Each writes one result line; a bad candidate (not JSON, unknown
task id, code not a string, code that does not parse) gets its own error result and never
stops the batch. The output is written atomically once all candidates are scored.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from codeq_lib.config import from_dict
from codeq_lib.hashing import code_hash
from codeq_lib.io import write_jsonl
from codeq_lib.sandbox.result import could_not_run
from codeq_lib.data.tasks import TaskFileError, load_tasks


@dataclass
class SandboxCliConfig:
    tasks: str = field(metadata={"help": "task file (schema v1 JSONL)"})
    candidates: str = field(metadata={"help": 'candidate file: one {"task_id", "code"} object per line'})
    out: str = field(metadata={"help": "where to write one result object per candidate (JSONL)"})
    tests: Literal["hidden", "visible"] = field(default="hidden", metadata={"help": "which tests to run"})
    backend: Literal["subprocess", "docker"] = field(default="subprocess", metadata={"help": "sandbox backend"})
    workers: int = field(default=2, metadata={"help": "warm workers running candidates in parallel"})
    timeout_s: float = field(default=5.0, metadata={"help": "wall-clock limit per candidate, seconds"})
    memory_mb: int = field(default=1024, metadata={"help": "address-space limit per candidate, MiB"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per config field; the field's help is the flag's help (cleanrl style)."""
    for f in dataclasses.fields(SandboxCliConfig):
        flag = "--" + f.name.replace("_", "-")
        required = f.default is dataclasses.MISSING
        kind = {"workers": int, "timeout_s": float, "memory_mb": int}.get(f.name, str)
        choices = {"tests": ["hidden", "visible"], "backend": ["subprocess", "docker"]}.get(f.name)
        parser.add_argument(flag, dest=f.name, type=kind, required=required, choices=choices,
                            default=None if required else f.default, help=f.metadata["help"])


def read_candidates(path: str) -> list[tuple[int, object]]:
    """(line number, parsed object or an error string) for each non-blank line."""
    out = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                out.append((lineno, json.loads(line)))
            except ValueError as exc:
                out.append((lineno, f"{path}:{lineno}: not valid JSON ({exc})"))
    return out


def candidate_job(lineno: int, obj, tasks_by_id: dict, which: str, path: str):
    """(code, task, tests) for a good line, else an error string naming the line and field."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return f"{path}:{lineno}: each line must be a JSON object, got {type(obj).__name__}"
    task = tasks_by_id.get(obj.get("task_id"))
    if task is None:
        return f"{path}:{lineno}: field 'task_id' {obj.get('task_id')!r} is not a task in the task file"
    if not isinstance(obj.get("code"), str):
        return f"{path}:{lineno}: field 'code' must be a string, got {type(obj.get('code')).__name__}"
    return obj["code"], task, task.hidden_tests if which == "hidden" else task.visible_tests


def _safe_hash(code) -> str | None:
    try:
        return code_hash(code) if isinstance(code, str) else None
    except UnicodeEncodeError:
        return None


def run_cli(args: argparse.Namespace) -> int:
    from codeq_lib.sandbox import make_sandbox

    config = from_dict(SandboxCliConfig, {f.name: getattr(args, f.name) for f in dataclasses.fields(SandboxCliConfig)},
                       where="codeq sandbox")
    try:
        tasks_by_id = {task.id: task for task in load_tasks(config.tasks)}
    except TaskFileError as exc:
        print(f"codeq sandbox: {exc}", file=sys.stderr)
        return 2
    lines = read_candidates(config.candidates)
    jobs = [candidate_job(lineno, obj, tasks_by_id, config.tests, config.candidates) for lineno, obj in lines]
    runnable = [job for job in jobs if not isinstance(job, str)]
    with make_sandbox(config.backend, workers=config.workers, timeout_s=config.timeout_s,
                      memory_mb=config.memory_mb) as sandbox:
        results = iter(sandbox.run_batch(runnable, progress=True))
        rows = []
        for (lineno, obj), job in zip(lines, jobs):
            if isinstance(job, str):
                result = could_not_run(0, job, config.backend)
            else:
                result = next(results)
            meta = {k: v for k, v in obj.items() if k not in ("task_id", "code")} if isinstance(obj, dict) else {}
            code = obj.get("code") if isinstance(obj, dict) else None
            rows.append({"line": lineno, "task_id": obj.get("task_id") if isinstance(obj, dict) else None,
                         "code_hash": _safe_hash(code),
                         "tests": config.tests, "meta": meta, **result.to_dict()})
    write_jsonl(config.out, rows)
    counts = Counter(row["status"] for row in rows)
    print(f"codeq sandbox: {len(rows)} candidates -> {config.out}: {dict(sorted(counts.items()))}", file=sys.stderr)
    return 0
