"""Preference pairs from search trees (DESIGN.md "Self-improvement", docs/interfaces.md).

A pair is two **siblings**: nodes with the same `parent` and the same `prompt`, i.e. two
rewrites the policy produced for one and the same request (CodeQ; Agent Q). The chosen one
has the higher blended value Q = alpha * Q_mcts + (1 - alpha) * Q_critic. A pair is kept
only when the margin exceeds a threshold and the chosen node was visited enough, and never
when the two programs are the same up to formatting: CodeQ found 38% of naive pairs
degenerate. Each task contributes at most `max_pairs_per_task` pairs (widest margins first)
so a few easy tasks do not dominate a round.

Protocol rule 4: no pair may come from a test-split task, nor carry a program (or a parent
program shown in the prompt) whose normalised hash equals a test task's buggy or reference
code. `build_pairs` drops those and `check_no_leak` re-checks the output, raising.

Rows are TRL's conversational preference format (`prompt` = messages, `chosen` /
`rejected` = one assistant message each, holding the raw completion) plus metadata.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.config import from_dict, load_params, run_metadata
from codeq_lib.errors import UserError
from codeq_lib.hashing import normalized_code_hash, sha256_text
from codeq_lib.io import read_jsonl, write_json, write_jsonl

DROP_REASONS = (
    "test_split_task",  # the tree belongs to a test-split task (protocol rule 4)
    "leak",  # a program or the parent shown in the prompt matches a test task's code
    "unscored",  # a side could not be run (sandbox "could not run"): no evidence, not a zero
    "identical",  # the two completions extract to the same program text
    "near_identical",  # same normalised hash (formatting, comments, docstrings)
    "small_margin",  # |Q_chosen - Q_rejected| <= threshold
    "low_visits",  # the chosen node has fewer than `min_visits` visits
    "task_cap",  # over `max_pairs_per_task` (the narrowest margins go first)
)


class PairLeakError(AssertionError):
    """A pair touches the test split; the message names the pair and what matched."""


@dataclass
class PairsConfig:
    alpha: float = field(
        default=0.5,
        metadata={"help": "Weight of Q_mcts in the blend alpha*Q_mcts + (1-alpha)*Q_critic (CodeQ). "
                          "1.0 ignores the critic; a node without a critic score uses Q_mcts."},
    )
    threshold: float = field(
        default=0.1, metadata={"help": "Keep a pair only when |Q_chosen - Q_rejected| > threshold."}
    )
    min_visits: int = field(
        default=1, metadata={"help": "The chosen node needs at least this many visits (MCTS confidence)."}
    )
    max_pairs_per_task: int = field(
        default=8, metadata={"help": "Cap per task, widest margins kept; 0 means no cap."}
    )
    smoothing_max: float = field(
        default=0.3,
        metadata={"help": "Label smoothing of a pair seen with no visits (conservative DPO, MCTS-DPO); "
                          "it decays with visits. weight = 1 - smoothing."},
    )
    smoothing_visits_scale: float = field(
        default=4.0, metadata={"help": "Visits at which a pair's label smoothing has halved."}
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"pairs.alpha: {self.alpha} must be in [0, 1]")
        if self.threshold < 0.0:
            raise ValueError(f"pairs.threshold: {self.threshold} must be >= 0")
        if self.min_visits < 0 or self.max_pairs_per_task < 0:
            raise ValueError("pairs.min_visits and pairs.max_pairs_per_task must be >= 0")
        if not 0.0 <= self.smoothing_max < 0.5:
            raise ValueError(f"pairs.smoothing_max: {self.smoothing_max} must be in [0, 0.5)")
        if self.smoothing_visits_scale <= 0.0:
            raise ValueError(f"pairs.smoothing_visits_scale: {self.smoothing_visits_scale} must be > 0")


# ---------------------------------------------------------------- pure scoring pieces


def blended_q(q_mcts: float, q_critic: float | None, alpha: float) -> float:
    """CodeQ's blended value; a missing critic score falls back to Q_mcts alone.

    >>> blended_q(1.0, 0.0, 0.5)
    0.5
    >>> blended_q(0.8, None, 0.5)
    0.8
    """
    if q_critic is None:
        return float(q_mcts)
    return alpha * float(q_mcts) + (1.0 - alpha) * float(q_critic)


def pair_smoothing(visits_chosen: int, visits_rejected: int, smoothing_max: float, scale: float) -> float:
    """Label smoothing for one pair, from how often its less-visited side was visited.

    MCTS-DPO (Xie et al. 2024) trains with conservative DPO (label smoothing) because
    tree values estimated from few rollouts are noisy; we make the smoothing per pair:
    `smoothing_max * scale / (scale + min(visits))`, so a rarely visited pair is trusted
    less and a well-explored one approaches plain DPO.

    >>> pair_smoothing(0, 5, 0.3, 4.0)
    0.3
    >>> round(pair_smoothing(4, 12, 0.3, 4.0), 3)
    0.15
    """
    least = max(0, min(int(visits_chosen), int(visits_rejected)))
    return smoothing_max * scale / (scale + least)


def node_q(node: dict[str, Any], alpha: float) -> float | None:
    """A node's blended Q from its `q_mcts` (else its own `pass_fraction`) and `q_critic`.

    A completion from which no program could be extracted is scored 0 (it is wrong, and a
    useful "rejected": it teaches the format); a program the sandbox could not run has no
    score (None), and a critic opinion alone is not execution evidence.

    >>> node_q({"q_mcts": 0.5, "q_critic": 1.0}, 0.5), node_q({"pass_fraction": 1.0, "q_critic": None}, 0.5)
    (0.75, 1.0)
    >>> node_q({"code": "", "pass_fraction": None}, 0.5), node_q({"code": "x = 1", "pass_fraction": None}, 0.5)
    (0.0, None)
    """
    q_mcts = node.get("q_mcts")
    if q_mcts is None:
        q_mcts = node.get("pass_fraction")
    if q_mcts is None:
        return 0.0 if not (node.get("code") or "").strip() else None
    return blended_q(q_mcts, node.get("q_critic"), alpha)


def program_hash(node: dict[str, Any]) -> str:
    """Normalised hash of the node's extracted program; the raw completion when none was extracted."""
    code = node.get("code")
    if code and code.strip():
        return normalized_code_hash(code)
    return "raw:" + sha256_text((node.get("completion") or "").strip())


# ---------------------------------------------------------------- the leak guard


def test_split_hashes(tasks: Iterable[Any]) -> set[str]:
    """Normalised hashes of every test task's buggy and reference program."""
    hashes = set()
    for task in tasks:
        for code in (task.buggy_code, task.reference_code):
            if code:
                hashes.add(normalized_code_hash(code))
    return hashes


_FENCED = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL)


def prompt_programs(prompt: list[dict[str, Any]] | None) -> list[str]:
    """The fenced programs shown in a prompt (the parent program, earlier attempts).

    >>> prompt_programs([{"role": "user", "content": "Fix:\\n```python\\ndef f():\\n    return 1\\n```"}])
    ['def f():\\n    return 1\\n']
    """
    return [match for message in prompt or [] for match in _FENCED.findall(str(message.get("content") or ""))]


def check_no_leak(pairs: Iterable[dict[str, Any]], test_task_ids: set[str], test_norm_hashes: set[str]) -> None:
    """Raise PairLeakError if any pair is from a test task or carries a test program."""
    for index, pair in enumerate(pairs):
        if pair["task_id"] in test_task_ids:
            raise PairLeakError(f"pair {index}: task {pair['task_id']!r} is in the test split")
        for side in ("chosen", "rejected"):
            code = pair.get(f"{side}_code")
            if code and normalized_code_hash(code) in test_norm_hashes:
                raise PairLeakError(f"pair {index} ({pair['task_id']}): {side} program matches a test task's code")
        if any(normalized_code_hash(code) in test_norm_hashes for code in prompt_programs(pair.get("prompt"))):
            raise PairLeakError(f"pair {index} ({pair['task_id']}): its prompt shows a test task's program")


# ---------------------------------------------------------------- building


def _group_siblings(nodes: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        if node.get("parent") is None or node.get("prompt") is None:
            continue  # the root (buggy program) was not produced by a prompt
        prompt_key = json.dumps(node["prompt"], sort_keys=True)
        groups[(node["task_id"], node["parent"], prompt_key)].append(node)
    return groups


def _pair_row(chosen: dict, rejected: dict, q_chosen: float, q_rejected: float, cfg: PairsConfig) -> dict:
    visits_c, visits_r = int(chosen.get("visits") or 0), int(rejected.get("visits") or 0)
    smoothing = pair_smoothing(visits_c, visits_r, cfg.smoothing_max, cfg.smoothing_visits_scale)
    return {
        "prompt": chosen["prompt"],
        "chosen": [{"role": "assistant", "content": chosen.get("completion") or ""}],
        "rejected": [{"role": "assistant", "content": rejected.get("completion") or ""}],
        "task_id": chosen["task_id"],
        "q_chosen": q_chosen,
        "q_rejected": q_rejected,
        "visits_chosen": visits_c,
        "visits_rejected": visits_r,
        "margin": q_chosen - q_rejected,
        "round": chosen.get("round", 0),
        "weight": 1.0 - smoothing,
        "chosen_id": chosen["id"],
        "rejected_id": rejected["id"],
        "parent_id": chosen["parent"],
        "policy_id": chosen.get("policy_id"),
        "chosen_code": chosen.get("code"),
        "rejected_code": rejected.get("code"),
    }


def _judge(a: dict, b: dict, ctx: dict) -> tuple[str | None, dict | None]:
    """(drop reason, None) or (None, pair row) for one unordered sibling pair."""
    cfg: PairsConfig = ctx["config"]
    hash_a, hash_b = program_hash(a), program_hash(b)
    if ((a.get("code") or "").strip() or a.get("completion")) == ((b.get("code") or "").strip() or b.get("completion")):
        return "identical", None
    if hash_a == hash_b:
        return "near_identical", None
    if hash_a in ctx["test_hashes"] or hash_b in ctx["test_hashes"]:
        return "leak", None
    q_a, q_b = node_q(a, cfg.alpha), node_q(b, cfg.alpha)
    if q_a is None or q_b is None:
        return "unscored", None
    if abs(q_a - q_b) <= cfg.threshold:
        return "small_margin", None
    chosen, rejected, q_c, q_r = (a, b, q_a, q_b) if q_a > q_b else (b, a, q_b, q_a)
    if int(chosen.get("visits") or 0) < cfg.min_visits:
        return "low_visits", None
    return None, _pair_row(chosen, rejected, q_c, q_r, cfg)


def _cap_per_task(rows: list[dict], cap: int, dropped: Counter) -> list[dict]:
    if cap <= 0:
        return rows
    by_task: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_task[row["task_id"]].append(row)
    kept = []
    for task_id in sorted(by_task):
        ranked = sorted(by_task[task_id], key=lambda r: (-r["margin"], r["chosen_id"], r["rejected_id"]))
        kept.extend(ranked[:cap])
        dropped["task_cap"] += max(0, len(ranked) - cap)
    return kept


def build_pairs(
    trees_nodes: list[dict[str, Any]],
    *,
    test_task_ids: Iterable[str] = (),
    test_norm_hashes: Iterable[str] = (),
    config: PairsConfig | None = None,
    verdicts: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Sibling preference pairs from tree nodes (any number of trees, concatenated).

    Returns (pairs, report); the report counts candidate sibling pairs, kept pairs and the
    pairs dropped per reason (`DROP_REASONS`), so a round can say why its data shrank.
    Given a list as `verdicts`, one row per candidate pair is appended to it (task, the two
    node ids, `drop_reason`: None when kept), for the explorer's pair viewer.
    """
    cfg = config or PairsConfig()
    test_ids, test_hashes = set(test_task_ids), set(test_norm_hashes)
    by_id = {(n["task_id"], n["id"]): n for n in trees_nodes}
    dropped: Counter = Counter({reason: 0 for reason in DROP_REASONS})
    rows, candidates = [], 0
    ctx = {"config": cfg, "test_hashes": test_hashes}
    for (task_id, parent_id, _), siblings in sorted(_group_siblings(trees_nodes).items()):
        siblings = sorted(siblings, key=lambda n: str(n["id"]))
        n_pairs = len(siblings) * (len(siblings) - 1) // 2
        candidates += n_pairs
        parent = by_id.get((task_id, parent_id))
        shown = prompt_programs(siblings[0]["prompt"]) + ([parent["code"]] if parent and parent.get("code") else [])
        group_reason = ("test_split_task" if task_id in test_ids
                        else "leak" if any(normalized_code_hash(code) in test_hashes for code in shown)  # the prompt
                        else None)
        if group_reason:
            dropped[group_reason] += n_pairs
            if verdicts is None:
                continue
        for i, a in enumerate(siblings):
            for b in siblings[i + 1:]:
                if group_reason:
                    reason, row = group_reason, None
                else:
                    reason, row = _judge(a, b, ctx)
                    if reason:
                        dropped[reason] += 1
                    else:
                        rows.append(row)
                if verdicts is not None:
                    verdicts.append({"task_id": task_id, "parent_id": parent_id, "a_id": a["id"], "b_id": b["id"],
                                     "drop_reason": reason, "pair": row})
    rows = _cap_per_task(rows, cfg.max_pairs_per_task, dropped)
    if verdicts is not None:
        kept = {id(row) for row in rows}
        for verdict in verdicts:
            if verdict["pair"] is not None and id(verdict["pair"]) not in kept:
                verdict["drop_reason"] = "task_cap"
    check_no_leak(rows, test_ids, test_hashes)
    report = {
        "n_nodes": len(trees_nodes),
        "n_tasks": len({n["task_id"] for n in trees_nodes}),
        "n_tasks_with_pairs": len({r["task_id"] for r in rows}),
        "candidate_pairs": candidates,
        "kept": len(rows),
        "dropped": dict(dropped),
        "mean_margin": (sum(r["margin"] for r in rows) / len(rows)) if rows else None,
    }
    return rows, report


# ---------------------------------------------------------------- winners (RFT / STaR)


def build_winners(trees_nodes: list[dict[str, Any]], *, test_task_ids: Iterable[str] = (),
                  test_norm_hashes: Iterable[str] = (), max_per_task: int = 4
                  ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The search's passing rewrites as supervised examples: rejection-sampling fine-tuning
    (RFT; STaR), the baseline DPO is compared with at equal data.

    A winner is a node produced by a prompt whose program passed every test it was run on
    (`passed == total > 0`; on the training split collection rewards with all tests), one per
    distinct normalised program per task, at most `max_per_task` per task (fewest changed
    characters first: the most precise repair), under the same protocol rule 4 as pairs.
    Rows are TRL's conversational prompt-completion format.
    """
    test_ids, test_hashes = set(test_task_ids), set(test_norm_hashes)
    by_task: dict[str, dict[str, dict]] = defaultdict(dict)
    dropped: Counter = Counter({"test_split_task": 0, "leak": 0, "duplicate": 0, "task_cap": 0})
    for node in sorted(trees_nodes, key=lambda n: (n["task_id"], str(n["id"]))):
        if node.get("parent") is None or node.get("prompt") is None or not (node.get("code") or "").strip():
            continue
        total, passed = node.get("total") or 0, node.get("passed") or 0
        if not total or passed != total:
            continue
        if node["task_id"] in test_ids:
            dropped["test_split_task"] += 1
            continue
        digest = program_hash(node)
        shown = prompt_programs(node["prompt"])
        if digest in test_hashes or any(normalized_code_hash(code) in test_hashes for code in shown):
            dropped["leak"] += 1
            continue
        if digest in by_task[node["task_id"]]:
            dropped["duplicate"] += 1
            continue
        by_task[node["task_id"]][digest] = node
    rows = []
    for task_id in sorted(by_task):
        ranked = sorted(by_task[task_id].values(), key=lambda n: (len(n.get("completion") or ""), str(n["id"])))
        if max_per_task > 0:
            dropped["task_cap"] += max(0, len(ranked) - max_per_task)
            ranked = ranked[:max_per_task]
        for node in ranked:
            rows.append({"prompt": node["prompt"],
                         "completion": [{"role": "assistant", "content": node.get("completion") or ""}],
                         "task_id": task_id, "node_id": node["id"], "round": node.get("round", 0),
                         "policy_id": node.get("policy_id"), "chosen_code": node.get("code")})
    check_no_leak(rows, test_ids, test_hashes)
    report = {"kept": len(rows), "n_tasks_with_winners": len(by_task), "dropped": dict(dropped)}
    return rows, report


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trees", nargs="+", required=True, help="tree JSONL file(s), one node per line")
    parser.add_argument("--tasks-test", required=True, help="test-split task JSONL (nothing from it may be paired)")
    parser.add_argument("--out", required=True, help="pairs JSONL to write; the report goes beside it")
    parser.add_argument("--params", default=None, help="params.yaml to read the section from")
    parser.add_argument("--section", default="pairs", help="params.yaml section (default: pairs)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override PairsConfig fields, values parsed as JSON (e.g. threshold=0.2)")


def _config_from_args(args: argparse.Namespace) -> PairsConfig:
    base = {}
    if args.params:
        base = dict(load_params(args.params).get(args.section) or {})
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set {item!r}: expected KEY=VALUE")
        try:
            base[key] = json.loads(value)
        except json.JSONDecodeError:
            base[key] = value
    return from_dict(PairsConfig, base, where=f"{args.params or 'flags'}:{args.section}")


def run_cli(args: argparse.Namespace) -> int:
    from codeq_lib.data.tasks import load_tasks

    cfg = _config_from_args(args)
    nodes = [node for path in args.trees for node in read_jsonl(path)]
    test_tasks = load_tasks(args.tasks_test)
    pairs, report = build_pairs(
        nodes,
        test_task_ids={t.id for t in test_tasks},
        test_norm_hashes=test_split_hashes(test_tasks),
        config=cfg,
    )
    out = Path(args.out)
    write_jsonl(out, pairs)
    report["inputs"] = {"trees": list(args.trees), "tasks_test": args.tasks_test}
    write_json(out.with_suffix(".report.json"), {**report, "run": run_metadata(cfg)})
    print(json.dumps({k: report[k] for k in ("candidate_pairs", "kept", "dropped")}, sort_keys=True))
    return 0


__all__ = [
    "DROP_REASONS", "PairLeakError", "PairsConfig", "blended_q", "pair_smoothing", "node_q",
    "program_hash", "test_split_hashes", "check_no_leak", "build_pairs",
]
