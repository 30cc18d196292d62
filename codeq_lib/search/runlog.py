"""Crash-safe, resumable run folders for evaluation and collection.

A run appends, per finished task, first all its tree nodes (one JSONL line each, written and
fsynced in one go) and then one result line (fsynced). A task counts as finished only when
its result line is on disk; on restart `RunLog.open` drops tree lines of any task without a
result (a kill between the two writes) and reports the finished ids, so nothing finished is
redone and nothing is lost (human-eval style resumable samples).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.io import atomic_write_text, iter_jsonl


def _read_rows_tolerant(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a torn last line (killed mid-write) is dropped, any other bad line raises."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if lineno == len(lines):
                break
            raise ValueError(f"{path}:{lineno}: not valid JSON") from None
    return rows


@dataclass
class RunLog:
    results_path: Path
    trees_path: Path

    @classmethod
    def open(cls, out_dir: str | Path, suffix: str = "") -> "RunLog":
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        log = cls(out_dir / f"results{suffix}.jsonl", out_dir / f"trees{suffix}.jsonl")
        log._repair()
        log.results_path.touch()  # an empty shard still leaves its (empty) files behind
        log.trees_path.touch()
        return log

    def _repair(self) -> None:
        results = _read_rows_tolerant(self.results_path)
        done = {row["task_id"] for row in results}
        trees = _read_rows_tolerant(self.trees_path)
        kept = [row for row in trees if row["task_id"] in done]
        if len(kept) != len(trees) or (self.trees_path.exists() and not _ends_clean(self.trees_path)):
            atomic_write_text(self.trees_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
        if self.results_path.exists() and not _ends_clean(self.results_path):
            atomic_write_text(self.results_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in results))

    def results(self) -> list[dict[str, Any]]:
        return [row for _, row in iter_jsonl(self.results_path)] if self.results_path.exists() else []

    def check_same_run(self, **expected: Any) -> None:
        """Refuse to resume a folder written by a different run (mode, budget, ...)."""
        for row in self.results()[:1]:
            for key, value in expected.items():
                if row.get(key) != value:
                    raise ValueError(f"{self.results_path}: holds a run with {key}={row.get(key)!r}, "
                                     f"not {value!r}; use another --out folder")

    def done_ids(self) -> set[str]:
        return {row["task_id"] for row in self.results()}

    def append(self, tree_rows: Iterable[dict[str, Any]], result: dict[str, Any]) -> None:
        _append_lines(self.trees_path, tree_rows)
        _append_lines(self.results_path, [result])


def _ends_clean(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _append_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
