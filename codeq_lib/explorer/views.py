"""What the explorer shows about one node or one pair, as plain dicts (pure functions).

The widget (`widget.py`) and the HTML page (`page.py`) both render these through
`render.py`, so the notebook and the shareable page show the same thing.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from codeq_lib.explorer.run import ExploreError, Run

STAT_FIELDS = ("visits", "value", "q_mcts", "q_critic", "critic_score", "pass_fraction", "depth", "duplicates",
               "completion_tokens", "round", "policy_id")


def unified_diff(before: str, after: str, before_name: str, after_name: str, context: int = 3) -> str:
    """Unified diff of two programs ("" when they are the same text)."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=before_name, tofile=after_name, n=context))


def call_text(args: list[Any], kwargs: dict[str, Any]) -> str:
    """A test's input as call arguments: `call_text([1, [2]], {"k": 3}) == '1, [2], k=3'`.

    >>> call_text([1, "a"], {"k": None})
    '1, "a", k=null'
    """
    parts = [json.dumps(arg) for arg in args] + [f"{key}={json.dumps(value)}" for key, value in kwargs.items()]
    return ", ".join(parts)


def tests_view(test_results: list[dict[str, Any]], inputs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One row per test the node ran: input (when the task file is known), expected, got, status, error."""
    rows = []
    for index, result in enumerate(test_results or []):
        test = inputs[index] if inputs and index < len(inputs) else None
        rows.append({
            "index": index,
            "input": call_text(test["args"], test["kwargs"]) if test else None,
            "expected": json.dumps(result.get("expected", test["expected"] if test else None)),
            "got": json.dumps(result.get("got")),
            "status": result.get("status"),
            "error": result.get("error"),
        })
    return rows


def node_view(run: Run, task_id: str, node_id: int) -> dict[str, Any]:
    """Everything the node panel shows about one node of one task's tree."""
    tree = run.tree(task_id)
    if not isinstance(node_id, int) or not 0 <= node_id < len(tree.nodes):
        raise ExploreError(run.source, None, "node", f"{node_id!r} is not a node of task {task_id!r} "
                                                     f"(ids 0..{len(tree.nodes) - 1})")
    node, info = tree.nodes[node_id], run.tasks[task_id]
    parent = tree.nodes[node.parent] if node.parent is not None else None
    return {
        "run": run.name,
        "task_id": task_id,
        "id": node.id,
        "parent": node.parent,
        "children": list(node.children),
        "status": node.status,
        "passed": node.passed,
        "total": node.total,
        "passes_all": node.passes_all,
        "is_answer": info.answer_node == node.id,
        "error": node.error,
        "stats": {name: getattr(node, name) for name in STAT_FIELDS},
        "code": node.code,
        "diff_parent": unified_diff(parent.code, node.code, f"node {parent.id} (parent)", f"node {node.id}")
        if parent else None,
        "diff_root": unified_diff(tree.root.code, node.code, "node 0 (buggy)", f"node {node.id}")
        if parent else None,
        "tests": tests_view(node.test_results, info.test_inputs),
        "prompt": node.prompt,
        "completion": node.completion,
        "extraction": node.extraction,
        "finish_reason": node.finish_reason,
    }


def default_node(run: Run, task_id: str) -> int:
    """The node to show first: the committed answer, else the best-valued node."""
    tree, info = run.tree(task_id), run.tasks[task_id]
    if info.answer_node is not None and 0 <= info.answer_node < len(tree.nodes):
        return info.answer_node
    scored = [n for n in tree.nodes if n.value is not None and n.parent is not None]
    return max(scored, key=lambda n: (n.value, -n.id)).id if scored else 0


def _completion_code(message: list[dict[str, Any]] | None) -> str:
    """The program in a pair's completion (pairs files before `chosen_code` was recorded)."""
    from codeq_lib.policy.extract import fenced_blocks

    content = (message or [{}])[0].get("content") or ""
    blocks = fenced_blocks(content)
    return blocks[0].code if blocks else content


def pair_view(pair: dict[str, Any]) -> dict[str, Any]:
    """A preference pair (kept, or a dropped candidate with its reason) for the pair panel."""
    chosen = pair.get("chosen_code") if pair.get("chosen_code") is not None else _completion_code(pair.get("chosen"))
    rejected = (pair.get("rejected_code") if pair.get("rejected_code") is not None
                else _completion_code(pair.get("rejected")))
    return {
        "task_id": pair.get("task_id"),
        "kept": pair.get("drop_reason") is None,
        "drop_reason": pair.get("drop_reason"),
        "chosen_id": pair.get("chosen_id"),
        "rejected_id": pair.get("rejected_id"),
        "parent_id": pair.get("parent_id"),
        "stats": {key: pair.get(key) for key in ("q_chosen", "q_rejected", "margin", "visits_chosen",
                                                 "visits_rejected", "weight", "round")},
        "prompt": pair.get("prompt"),
        "diff": unified_diff(rejected or "", chosen or "", "rejected", "chosen"),
        "chosen_completion": ((pair.get("chosen") or [{}])[0]).get("content"),
        "rejected_completion": ((pair.get("rejected") or [{}])[0]).get("content"),
    }
