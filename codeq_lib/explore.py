"""Tree explorer helpers for the notebook: draw a search tree, diff a node against the buggy
program, tabulate nodes and a node's visible test results.

Nodes are the tree JSONL rows (dicts), `Node` objects or a `Tree`. Node colour is its value,
its label "visits / pass fraction" (issue 5 item 8); grey means "could not be scored".
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

import networkx as nx
import pandas as pd

TABLE_COLUMNS = ["id", "parent", "depth", "visits", "value", "q_mcts", "q_critic", "pass_fraction",
                 "passed", "total", "status", "duplicates", "round", "policy_id"]


def as_rows(nodes: Any) -> list[dict[str, Any]]:
    if hasattr(nodes, "to_rows"):
        return nodes.to_rows()
    return [n.to_dict() if hasattr(n, "to_dict") else dict(n) for n in nodes]


def node_table(nodes: Any) -> pd.DataFrame:
    """One row per node, in id order, with the search statistics and the code size."""
    rows = as_rows(nodes)
    frame = pd.DataFrame([{key: row.get(key) for key in TABLE_COLUMNS} for row in rows], columns=TABLE_COLUMNS)
    frame["lines"] = [len(row.get("code", "").splitlines()) for row in rows]
    return frame.set_index("id")


def node_diff(buggy_code: str, node_code: str, context: int = 3) -> str:
    """Unified diff of a node's program against the buggy program ("" when identical)."""
    return "".join(difflib.unified_diff(buggy_code.splitlines(keepends=True), node_code.splitlines(keepends=True),
                                        fromfile="buggy", tofile="node", n=context))


def test_results_table(node: Any) -> pd.DataFrame:
    """The node's visible-test outcomes (status, got, expected, error)."""
    row = node.to_dict() if hasattr(node, "to_dict") else dict(node)
    return pd.DataFrame(row.get("test_results") or [], columns=["status", "got", "expected", "error"])


test_results_table.__test__ = False  # a helper, not a pytest test


def tree_graph(nodes: Any) -> nx.DiGraph:
    graph = nx.DiGraph()
    for row in as_rows(nodes):
        graph.add_node(row["id"], **{k: row.get(k) for k in ("visits", "value", "pass_fraction", "depth")})
        if row.get("parent") is not None:
            graph.add_edge(row["parent"], row["id"])
    return graph


def tidy_layout(graph: nx.DiGraph, root: int = 0) -> dict[int, tuple[float, float]]:
    """Layered layout without graphviz: leaves left to right in DFS order, parents centred."""
    positions: dict[int, tuple[float, float]] = {}
    next_x = [0.0]

    def place(node: int, depth: int) -> float:
        children = sorted(graph.successors(node))
        if not children:
            x = next_x[0]
            next_x[0] += 1.0
        else:
            xs = [place(child, depth + 1) for child in children]
            x = (xs[0] + xs[-1]) / 2
        positions[node] = (x, -float(depth))
        return x

    place(root, 0)
    return positions


def label(attrs: dict[str, Any]) -> str:
    """'visits / pass fraction', e.g. '3/0.67'; '-' for a fraction that could not be scored."""
    fraction = attrs.get("pass_fraction")
    return f"{attrs.get('visits', 0)}/" + ("-" if fraction is None else f"{fraction:.2f}")


def draw_tree(nodes: Any, ax=None, cmap: str = "viridis", highlight: Iterable[int] = ()):
    """Draw the tree on `ax` (created if None); returns the axes. Colour = value in [0, 1]."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    graph = tree_graph(nodes)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4, graph.number_of_nodes() * 0.6), 4))
    positions = tidy_layout(graph)
    colours = colormaps[cmap]
    norm = Normalize(0.0, 1.0)
    node_colours = [colours(norm(graph.nodes[n]["value"])) if graph.nodes[n]["value"] is not None else "lightgrey"
                    for n in graph.nodes]
    highlight = set(highlight)
    nx.draw_networkx_edges(graph, positions, ax=ax, arrows=False, edge_color="grey")
    nx.draw_networkx_nodes(graph, positions, ax=ax, node_color=node_colours, node_size=500,
                           edgecolors=["red" if n in highlight else "black" for n in graph.nodes])
    nx.draw_networkx_labels(graph, positions, ax=ax, labels={n: label(graph.nodes[n]) for n in graph.nodes},
                            font_size=7)
    ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, label="value")
    ax.set_axis_off()
    return ax
