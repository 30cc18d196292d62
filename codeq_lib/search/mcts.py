"""Monte Carlo tree search over full-program rewrites (CodeQ; Agent Q; LATS).

One rollout = one expansion = one batched LLM call: select a leaf by UCB1 (unvisited
children first), ask the policy for K rewrites of it, run each at once on the search tests,
back each child's pass fraction up the path with a running mean. "Could not run" gives no
reward at all (STYLE.md rule 6), so such a child is neither backed up nor selected.
Each child is simulated (executed) as it is created, so it enters the tree with one visit;
the unvisited-first rule of UCB1 matters for trees replayed or built without evaluation.
The pure pieces (`ucb1`, `blend`, `backup`, `select_child`, `commit`) are tested on
hand-computed values; `mcts` is the loop.
"""

from __future__ import annotations

import math
from typing import Sequence

from codeq_lib.search.expand import SearchContext, expand, finish_node
from codeq_lib.search.tree import Node, Tree


def ucb1(q: float, visits: int, parent_visits: int, c: float) -> float:
    """UCB1 (Kocsis & Szepesvari 2006) as CodeQ uses it: q + c*sqrt(ln N / n); inf if n == 0.

    >>> round(ucb1(0.5, 2, 8, 1.0), 4)
    1.5197
    """
    if visits == 0:
        return math.inf
    return q + c * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def blend(q_mcts: float | None, q_critic: float | None, alpha: float, use_critic: bool) -> float | None:
    """CodeQ / Agent Q value: alpha*Q_mcts + (1-alpha)*Q_critic; plain Q_mcts without a critic.

    >>> blend(1.0, 0.5, 0.25, True)
    0.625
    """
    if q_mcts is None:
        return q_critic if use_critic else None
    if not use_critic or q_critic is None:
        return q_mcts
    return alpha * q_mcts + (1.0 - alpha) * q_critic


def backup(path: Sequence[Node], reward: float, alpha: float = 1.0, use_critic: bool = False) -> None:
    """Mean backup: every node on the path gets one more visit and `reward` in its running mean."""
    for node in path:
        node.visits += 1
        node.value_sum += reward
        node.q_mcts = node.value_sum / node.visits
        node.value = blend(node.q_mcts, node.q_critic, alpha, use_critic)


def select_child(children: Sequence[Node], parent_visits: int, c: float) -> Node | None:
    """The scorable child with the highest UCB1 (unvisited first, ties to the earliest child)."""
    best, best_score = None, -math.inf
    for child in children:
        if not child.scorable:
            continue  # could not run: no evidence to select on, and nothing to refine from
        score = ucb1(child.value if child.value is not None else 0.0, child.visits, parent_visits, c)
        if score > best_score:
            best, best_score = child, score
    return best


def select_leaf(tree: Tree, c: float) -> Node:
    """Descend from the root by UCB1 until a node that has not been expanded yet."""
    node = tree.root
    while node.expanded:
        child = select_child([tree.nodes[i] for i in node.children], node.visits, c)
        if child is None:
            return node  # every rewrite so far merged or unrunnable: expand this node again
        node = child
    return node


def commit(tree: Tree) -> Node:
    """The best-valued node passing every search test, else the best-valued node (DESIGN.md).

    The root is the program known to be buggy: it is committed only when the search produced
    no scorable rewrite at all. Ties go to the earlier node (deterministic).
    """
    candidates = [n for n in tree.nodes[1:] if n.scorable] or [tree.root]

    def key(node: Node) -> tuple[float, int]:
        return (node.value if node.value is not None else -1.0, -node.id)

    passing = [n for n in candidates if n.passes_all]
    return max(passing or candidates, key=key)


def mcts(ctx: SearchContext, budget: int) -> Node:
    """Run `budget` rollouts (LLM calls) of MCTS and return the committed node."""
    config = ctx.config
    root = ctx.tree.root
    if root.scorable:
        backup([root], root.reward, config.alpha, config.use_critic)
    for _ in range(budget):
        leaf = select_leaf(ctx.tree, config.c)
        children = expand(ctx, leaf, n=config.K, temperature=config.temperature)
        leaf.expanded = True
        for child in children:
            if child.scorable:
                backup(ctx.tree.path_to_root(child), child.reward, config.alpha, config.use_critic)
            else:
                finish_node(child, config)
        if config.early_stop and any(child.passes_all for child in children):
            break
    return commit(ctx.tree)
