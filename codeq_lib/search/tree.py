"""The search tree: nodes are full programs (CodeQ), the root is the buggy program.

One node per JSONL line with the fields pinned in docs/interfaces.md, so any tree can be
reloaded, replayed, turned into sibling preference pairs and drawn by `codeq_lib.explore`.
Duplicate programs are merged on `normalized_code_hash`: a rewrite whose normalised AST is
already in the tree is not added again (see `Tree.find`). Execution is deterministic and
cached, so a duplicate brings no new evidence about its program; it is counted on the
existing node (`duplicates`) and adds no visit and no value anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from codeq_lib.hashing import code_hash, normalized_code_hash
from codeq_lib.io import read_jsonl, write_jsonl

RUN_STATUSES = ("pass", "fail", "error", "timeout", "could_not_run")


@dataclass
class Node:
    task_id: str
    id: int
    parent: int | None
    code: str
    code_hash: str
    norm_hash: str
    completion: str | None = None
    prompt: list[dict[str, str]] | None = None
    visits: int = 0
    value: float | None = None
    value_sum: float = 0.0
    q_mcts: float | None = None
    q_critic: float | None = None
    pass_fraction: float | None = None
    passed: int = 0
    total: int = 0
    test_results: list[dict[str, Any]] = field(default_factory=list)
    critic_score: float | None = None
    depth: int = 0
    round: int = 0
    policy_id: str | None = None
    status: str | None = None
    error: str | None = None
    duplicates: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    extraction: str | None = None
    children: list[int] = field(default_factory=list)
    expanded: bool = False

    @property
    def reward(self) -> float | None:
        """The node's own execution reward: pass fraction, None when it could not be scored."""
        return self.pass_fraction

    @property
    def passes_all(self) -> bool:
        return self.total > 0 and self.passed == self.total and self.status == "pass"

    @property
    def scorable(self) -> bool:
        return self.pass_fraction is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NODE_FIELDS = {f.name for f in fields(Node)}


def node_from_dict(obj: dict[str, Any]) -> Node:
    unknown = sorted(set(obj) - _NODE_FIELDS)
    if unknown:
        raise ValueError(f"tree node {obj.get('id')!r}: unknown field(s) {unknown}")
    return Node(**obj)


@dataclass
class Tree:
    """Nodes in creation order (ids are list positions) plus the dedup index."""

    task_id: str
    nodes: list[Node] = field(default_factory=list)
    by_norm_hash: dict[str, int] = field(default_factory=dict)

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def find(self, code: str) -> Node | None:
        """The node already holding this program (same normalised AST), if any."""
        index = self.by_norm_hash.get(normalized_code_hash(code))
        return None if index is None else self.nodes[index]

    def add(self, code: str, parent: Node | None, **attrs: Any) -> Node:
        norm = normalized_code_hash(code)
        if norm in self.by_norm_hash:
            raise ValueError(f"task {self.task_id}: program already in the tree as node {self.by_norm_hash[norm]}")
        node = Node(
            task_id=self.task_id,
            id=len(self.nodes),
            parent=None if parent is None else parent.id,
            code=code,
            code_hash=code_hash(code),
            norm_hash=norm,
            depth=0 if parent is None else parent.depth + 1,
            **attrs,
        )
        self.nodes.append(node)
        self.by_norm_hash[norm] = node.id
        if parent is not None:
            parent.children.append(node.id)
        return node

    def path_to_root(self, node: Node) -> list[Node]:
        """[node, parent, ..., root]: the nodes a reward is backed up through."""
        path = [node]
        while path[-1].parent is not None:
            path.append(self.nodes[path[-1].parent])
        return path

    def to_rows(self) -> list[dict[str, Any]]:
        return [node.to_dict() for node in self.nodes]

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> "Tree":
        nodes = [node_from_dict(dict(row)) for row in rows]
        if not nodes:
            raise ValueError("a tree needs at least its root node")
        tree = cls(task_id=nodes[0].task_id)
        for expected_id, node in enumerate(nodes):
            if node.id != expected_id or node.task_id != tree.task_id:
                raise ValueError(f"tree {tree.task_id}: node {node.id} out of order or from task {node.task_id}")
            tree.nodes.append(node)
            tree.by_norm_hash.setdefault(node.norm_hash, node.id)
        return tree


def save_trees(trees: Iterable[Tree], path: str | Path) -> Path:
    return write_jsonl(path, [row for tree in trees for row in tree.to_rows()])


def load_trees(path: str | Path) -> dict[str, Tree]:
    """Read a trees JSONL file (nodes of many tasks, each task's nodes in id order)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in read_jsonl(path):
        grouped.setdefault(row["task_id"], []).append(row)
    return {task_id: Tree.from_rows(rows) for task_id, rows in grouped.items()}
