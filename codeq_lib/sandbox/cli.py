"""`codeq sandbox`: score existing candidate programs against a task file's tests.

    codeq sandbox --tasks tasks.jsonl --candidates cands.jsonl --out results.jsonl \\
        [--tests hidden|visible] [--backend subprocess|docker] [--workers 2] [--timeout-s 5]

Candidates are one `{"task_id": ..., "code": ...}` object per line (any other keys are kept
in the output as `meta`). Each writes one result line; a bad candidate (not JSON, unknown
task id, code not a string, code that does not parse) gets its own error result and never
stops the batch, and no candidate can make the command fail (issue 15).

Results are appended to `<out>.partial` as they finish (flushed, one line each), so a crash
or a kill loses at most the candidates still running; a rerun with the same task file and
settings (its first line records them) reuses the finished lines (same line number, task id
and code hash) and runs the rest.
Once all are scored, `<out>` is written atomically in input order and the partial file is
removed. Every line is strict JSON (no NaN or Infinity tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from codeq_lib.config import from_dict
from codeq_lib.hashing import code_hash
from codeq_lib.io import atomic_write_text
from codeq_lib.sandbox.result import could_not_run
from codeq_lib.data.tasks import TaskFileError, load_tasks
from codeq_lib.sandbox.scoring import loads_bounded

MAX_LINE_DEPTH = 64  # nesting allowed in a candidate line (its meta); deeper is refused, not a crash


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
    allow_unisolated: list[str] = field(default_factory=list, metadata={
        "help": "run even though this isolation could not be set up (repeatable): network, filesystem, pid, ipc"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per config field; the field's help is the flag's help (cleanrl style)."""
    for f in dataclasses.fields(SandboxCliConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "allow_unisolated":
            parser.add_argument(flag, dest=f.name, action="append", default=[], help=f.metadata["help"],
                                choices=["network", "filesystem", "pid", "ipc"])
            continue
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
                out.append((lineno, loads_bounded(line, MAX_LINE_DEPTH)))
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


def strict_line(row: dict) -> str:
    """One output line: strict JSON (no NaN/Infinity tokens), or, should a value not be, the
    row with those values as strings; never an exception (a candidate must not end the run)."""
    try:
        return json.dumps(row, sort_keys=True, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(json.loads(json.dumps(row, default=str), parse_constant=str), sort_keys=True, allow_nan=False)


def partial_path(out: str) -> Path:
    return Path(f"{out}.partial")


def run_header(config: SandboxCliConfig) -> dict:
    """First line of the partial file: what the kept results depend on besides the candidate."""
    with open(config.tasks, "rb") as handle:
        tasks_sha256 = hashlib.sha256(handle.read()).hexdigest()
    return {"codeq_sandbox_partial": 1, "tasks_sha256": tasks_sha256, "tests": config.tests,
            "backend": config.backend, "timeout_s": config.timeout_s, "memory_mb": config.memory_mb}


def finished_rows(path: Path, header: dict) -> dict[tuple, dict]:
    """Rows of an interrupted earlier run with the same header, by (line, task id, code
    hash); a line cut short by the interruption is skipped."""
    rows: dict[tuple, dict] = {}
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle):
            try:
                row = json.loads(text)
            except ValueError:
                continue
            if number == 0 and row != header:
                return rows  # another task file or settings: nothing to reuse
            if number > 0 and isinstance(row, dict):
                rows[(row.get("line"), row.get("task_id"), row.get("code_hash"))] = row
    return rows


def result_row(lineno: int, obj, result, tests: str) -> dict:
    meta = {k: v for k, v in obj.items() if k not in ("task_id", "code")} if isinstance(obj, dict) else {}
    code = obj.get("code") if isinstance(obj, dict) else None
    return {"line": lineno, "task_id": obj.get("task_id") if isinstance(obj, dict) else None,
            "code_hash": _safe_hash(code), "tests": tests, "meta": meta, **result.to_dict()}


def run_cli(args: argparse.Namespace) -> int:
    from codeq_lib.sandbox import SandboxIsolationError, make_sandbox

    config = from_dict(SandboxCliConfig, {f.name: getattr(args, f.name) for f in dataclasses.fields(SandboxCliConfig)},
                       where="codeq sandbox")
    try:
        tasks_by_id = {task.id: task for task in load_tasks(config.tasks)}
    except TaskFileError as exc:
        print(f"codeq sandbox: {exc}", file=sys.stderr)
        return 2
    lines = read_candidates(config.candidates)
    jobs = [candidate_job(lineno, obj, tasks_by_id, config.tests, config.candidates) for lineno, obj in lines]
    partial = partial_path(config.out)
    header = run_header(config)
    earlier = finished_rows(partial, header)
    rows: dict[int, dict] = {}
    pending: list[tuple[int, object, tuple]] = []
    for (lineno, obj), job in zip(lines, jobs):
        row = result_row(lineno, obj, could_not_run(0, job, config.backend), config.tests) if isinstance(job, str) else None
        if row is None:
            code = obj.get("code") if isinstance(obj, dict) else None
            row = earlier.get((lineno, obj.get("task_id"), _safe_hash(code)))
            if row is None:
                pending.append((lineno, obj, job))
                continue
        rows[lineno] = row
    sandbox = contextlib.nullcontext()
    if pending:  # started before anything is written: a refusal leaves no file behind
        try:
            sandbox = make_sandbox(config.backend, workers=config.workers, timeout_s=config.timeout_s,
                                   memory_mb=config.memory_mb, allow_unisolated=config.allow_unisolated)
        except SandboxIsolationError as exc:
            print(f"codeq sandbox: {exc}; on this command line: --allow-unisolated NAME", file=sys.stderr)
            return 2
    partial.parent.mkdir(parents=True, exist_ok=True)
    with sandbox, open(partial, "w", encoding="utf-8") as handle:
        def keep(row: dict) -> None:
            handle.write(strict_line(row) + "\n")
            handle.flush()  # in the kernel's hands: a crash of this process loses nothing

        keep(header)
        for row in rows.values():
            keep(row)
        if pending:
            for index, result in sandbox.run_iter([job for _, _, job in pending], progress=True):
                lineno, obj, _ = pending[index]
                rows[lineno] = result_row(lineno, obj, result, config.tests)
                keep(rows[lineno])
        os.fsync(handle.fileno())
    ordered = [rows[lineno] for lineno, _ in lines]
    atomic_write_text(config.out, "".join(strict_line(row) + "\n" for row in ordered))
    partial.unlink()
    counts = Counter(row["status"] for row in ordered)
    print(f"codeq sandbox: {len(ordered)} candidates -> {config.out}: {dict(sorted(counts.items()))}", file=sys.stderr)
    return 0
