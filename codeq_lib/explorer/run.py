"""A run as the explorer reads it: its trees, its result lines and (optionally) its tasks.

A run is a folder written by `codeq eval` / `codeq collect` (`trees*.jsonl`, `results*.jsonl`,
`run.json`) or a bare trees JSONL file. Trees are checked against the node schema of
`codeq_lib.search.tree.Node` line by line, so a file from another schema, an empty run or a
task id that is not in the run is refused with a one-line `ExploreError` naming the file, the
line and the field (STYLE.md rule 10), never a KeyError deep inside a view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.errors import UserError, located
from codeq_lib.search.tree import Node, Tree

NODE_FIELDS = tuple(f.name for f in fields(Node))
REQUIRED_NODE_FIELDS = ("task_id", "id", "parent", "code")


class ExploreError(UserError):
    """Input the explorer cannot show; the message names the file, line and field."""

    def __init__(self, path: str | Path, line: int | None, field_name: str | None, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field_name, message
        super().__init__(located(self.path, line, field_name, message))


@dataclass
class TaskInfo:
    """What the explorer shows about a task besides its tree (from results and task files)."""

    id: str
    category: str | None = None
    difficulty: str | None = None
    description: str = ""
    solved: bool | None = None  # hidden tests on the committed answer (evaluation), else visible
    answer_node: int | None = None
    hidden: str | None = None  # e.g. "pass 5/5"
    test_inputs: list[dict[str, Any]] | None = None  # the tests the search ran, in node order

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Run:
    name: str
    source: str
    trees: dict[str, Tree]
    tasks: dict[str, TaskInfo] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def task_ids(self, solved: bool | None = None, category: str | None = None,
                 difficulty: str | None = None) -> list[str]:
        """Task ids in file order, filtered (None = no filter on that attribute)."""
        out = []
        for task_id in self.trees:
            info = self.tasks[task_id]
            if solved is not None and info.solved is not solved:
                continue
            if category is not None and info.category != category:
                continue
            if difficulty is not None and info.difficulty != difficulty:
                continue
            out.append(task_id)
        return out

    def tree(self, task_id: str) -> Tree:
        if task_id not in self.trees:
            known = list(self.trees)
            shown = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
            raise ExploreError(self.source, None, "task_id",
                               f"{task_id!r} is not in this run; it holds {len(known)} task(s): {shown}")
        return self.trees[task_id]

    def values(self, attribute: str) -> list[str]:
        """The distinct non-empty values of a task attribute (category, difficulty), sorted."""
        return sorted({str(getattr(info, attribute)) for info in self.tasks.values()
                       if getattr(info, attribute) is not None})


def trees_files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(path.glob("trees*.jsonl"))
        if not found:
            raise ExploreError(path, None, None, "no trees*.jsonl in this folder (expected a run folder written by "
                                                 "codeq eval or codeq collect, or a trees JSONL file)")
        return found
    if not path.exists():
        raise ExploreError(path, None, None, "file not found")
    return [path]


def read_tree_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, node) for each line, each checked against the tree-node schema."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for lineno, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise ExploreError(path, lineno, None, f"not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ExploreError(path, lineno, None, f"each line must be a tree node object, got {type(row).__name__}")
            for name in REQUIRED_NODE_FIELDS:
                if name not in row:
                    raise ExploreError(path, lineno, name, "is required but missing: this is not a codeq trees file "
                                                           "(one search-tree node per line, docs/interfaces.md)")
            unknown = sorted(set(row) - set(NODE_FIELDS))
            if unknown:
                raise ExploreError(path, lineno, unknown[0], "is not a tree-node field; this file comes from another "
                                                             f"schema (node fields: {', '.join(NODE_FIELDS)})")
            rows.append((lineno, row))
    return rows


def group_trees(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> dict[str, Tree]:
    grouped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for lineno, row in rows:
        grouped.setdefault(str(row["task_id"]), []).append((lineno, row))
    trees = {}
    for task_id, numbered in grouped.items():
        for position, (lineno, row) in enumerate(numbered):
            if row["id"] != position:
                raise ExploreError(path, lineno, "id", f"task {task_id!r}: node {row['id']!r} out of order "
                                                       f"(expected {position}; ids are positions in the tree)")
            if position and not (isinstance(row["parent"], int) and 0 <= row["parent"] < position):
                raise ExploreError(path, lineno, "parent", f"task {task_id!r}: {row['parent']!r} is not an "
                                                           "earlier node of this tree")
        try:
            trees[task_id] = Tree.from_rows(row for _, row in numbered)
        except (TypeError, ValueError) as exc:
            raise ExploreError(path, numbered[0][0], None, f"task {task_id!r}: {exc}") from None
    return trees


def _read_results(folder: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("results*.jsonl")):
        for lineno, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise ExploreError(path, lineno, None, f"not valid JSON ({exc})") from None
            if isinstance(row, dict) and "task_id" in row:
                results[str(row["task_id"])] = row
    return results


def _run_label(folder: Path) -> dict[str, Any]:
    run_json = folder / "run.json"
    if not run_json.exists():
        return {}
    try:
        config = json.loads(run_json.read_text(encoding="utf-8")).get("config") or {}
    except ValueError:
        return {}
    return {key: config.get(key) for key in ("mode", "budget", "policy_id", "policy", "round", "reward_tests")
            if config.get(key) is not None}


def _test_inputs(task, n_results: int) -> list[dict[str, Any]] | None:
    """The tests a node's `test_results` line up with: the visible tests (evaluation), or
    visible + hidden (collection on the training split, protocol item 3)."""
    for tests in (task.visible_tests, task.visible_tests + task.hidden_tests):
        if len(tests) == n_results:
            return [{"args": t.args, "kwargs": t.kwargs, "expected": t.expected} for t in tests]
    return None


def load_run(path: str | Path, tasks: Iterable[Any] = (), name: str | None = None) -> Run:
    """Read a run folder or trees file. `tasks` (Task objects) add test inputs, descriptions,
    category and difficulty for the tasks they cover."""
    path = Path(path)
    per_file = [(file, read_tree_rows(file)) for file in trees_files(path)]
    if not any(rows for _, rows in per_file):
        raise ExploreError(path, None, None, "holds no tree nodes (an empty run: did the run finish any task?)")
    trees: dict[str, Tree] = {}
    for file, rows in per_file:
        for task_id, tree in group_trees(file, rows).items():
            if task_id in trees:
                raise ExploreError(file, None, "task_id", f"{task_id!r} has a tree in two files of this run")
            trees[task_id] = tree
    folder = path if path.is_dir() else path.parent
    results = _read_results(folder)
    meta = _run_label(folder)
    by_id = {task.id: task for task in tasks}
    infos = {}
    for task_id, tree in trees.items():
        result, task = results.get(task_id, {}), by_id.get(task_id)
        answer = result.get("answer_node")
        if "solved" in result:
            solved, hidden = bool(result["solved"]), f"{result.get('hidden_status')} {result.get('hidden_passed')}/{result.get('hidden_total')}"
        elif "answer_passes" in result:
            solved, hidden = bool(result["answer_passes"]), None
        else:
            solved, hidden = any(node.passes_all for node in tree.nodes), None
        infos[task_id] = TaskInfo(
            id=task_id,
            category=result.get("category") or (task.category if task else None),
            difficulty=result.get("difficulty") or (task.difficulty if task else None),
            description=task.description if task else "",
            solved=solved,
            answer_node=answer if isinstance(answer, int) else None,
            hidden=hidden,
            test_inputs=_test_inputs(task, len(tree.root.test_results)) if task else None,
        )
    if name is None:
        # results/eval/base/mcts@5 -> "base/mcts@5"; runs/round1/collect -> "round1/collect"
        name = f"{folder.parent.name}/{folder.name}" if folder.parent.name else folder.name
        if path.is_file() and path.name != "trees.jsonl":
            name = f"{name}/{path.stem}"
    return Run(name=name, source=str(path), trees=trees, tasks=infos, meta=meta)
