"""A round's preference pairs for the pair viewer: the kept pairs, plus (given the round's
trees) every dropped candidate with its reason, rebuilt with the round's own settings."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from codeq_lib.explorer.run import ExploreError, read_tree_rows, trees_files

PAIR_KEYS = ("prompt", "chosen", "rejected", "task_id")


def read_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Kept pairs of a pairs JSONL file, each checked for the preference-pair fields."""
    path = Path(path)
    if not path.is_file():
        raise ExploreError(path, None, None, "file not found (expected a pairs.jsonl written by codeq pairs)")
    rows = []
    for lineno, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError as exc:
            raise ExploreError(path, lineno, None, f"not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ExploreError(path, lineno, None, "each line must be a preference-pair object")
        for key in PAIR_KEYS:
            if key not in row:
                raise ExploreError(path, lineno, key, "is required but missing: this is not a codeq pairs file "
                                                      "(TRL conversational preference rows, docs/interfaces.md)")
        rows.append({**row, "drop_reason": None})
    return rows


def _report(pairs_path: Path) -> dict[str, Any]:
    """The round's pairs report: report.json beside it (stage) or <out>.report.json (CLI)."""
    for candidate in (pairs_path.parent / "report.json", pairs_path.with_suffix(".report.json")):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return {}


def _side(node: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": node.get("completion") or ""}]


def dropped_pairs(pairs_path: str | Path, trees: str | Path) -> list[dict[str, Any]]:
    """Every candidate sibling pair `build_pairs` dropped, with its reason, using the
    settings and test split recorded in the round's report."""
    from codeq_lib.data.tasks import load_tasks
    from codeq_lib.pairs import PairsConfig, build_pairs, node_q, test_split_hashes

    report = _report(Path(pairs_path))
    recorded = (report.get("meta") or report.get("run") or {}).get("config") or {}
    names = {f.name for f in fields(PairsConfig)}
    config = PairsConfig(**{key: value for key, value in recorded.items() if key in names})
    test_tasks = [task for path in recorded.get("test_tasks") or [] if Path(path).is_file()
                  for task in load_tasks(path)]
    nodes = [row for file in trees_files(Path(trees)) for _, row in read_tree_rows(file)]
    by_id = {(n["task_id"], n["id"]): n for n in nodes}
    verdicts: list[dict[str, Any]] = []
    build_pairs(nodes, test_task_ids={t.id for t in test_tasks}, test_norm_hashes=test_split_hashes(test_tasks),
                config=config, verdicts=verdicts)
    out = []
    for verdict in verdicts:
        if verdict["drop_reason"] is None:
            continue
        a, b = by_id[(verdict["task_id"], verdict["a_id"])], by_id[(verdict["task_id"], verdict["b_id"])]
        q_a, q_b = node_q(a, config.alpha), node_q(b, config.alpha)
        chosen, rejected, q_c, q_r = (a, b, q_a, q_b) if (q_a or 0) >= (q_b or 0) else (b, a, q_b, q_a)
        out.append({
            "task_id": verdict["task_id"], "prompt": chosen.get("prompt"), "chosen": _side(chosen),
            "rejected": _side(rejected), "chosen_code": chosen.get("code"), "rejected_code": rejected.get("code"),
            "q_chosen": q_c, "q_rejected": q_r, "margin": None if q_c is None or q_r is None else q_c - q_r,
            "visits_chosen": chosen.get("visits"), "visits_rejected": rejected.get("visits"),
            "chosen_id": chosen["id"], "rejected_id": rejected["id"], "parent_id": verdict["parent_id"],
            "round": chosen.get("round"), "drop_reason": verdict["drop_reason"],
        })
    return out


def round_pairs(pairs_path: str | Path, trees: str | Path | None = None) -> list[dict[str, Any]]:
    """Kept pairs first (widest margin first), then the dropped ones when `trees` is given."""
    kept = sorted(read_pairs(pairs_path), key=lambda p: (-(p.get("margin") or 0), str(p.get("task_id"))))
    return kept + (dropped_pairs(pairs_path, trees) if trees is not None else [])


def pair_label(pair: dict[str, Any]) -> str:
    margin = pair.get("margin")
    state = "kept" if pair.get("drop_reason") is None else f"dropped: {pair['drop_reason']}"
    return (f"{pair.get('task_id')} #{pair.get('chosen_id', '?')} vs #{pair.get('rejected_id', '?')} "
            f"margin {'-' if margin is None else f'{margin:.2f}'} ({state})")
