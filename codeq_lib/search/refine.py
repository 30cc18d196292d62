"""Multi-attempt refinement with test feedback (DebugArena; the REx paper's linear baseline).

An episode starts from the buggy program; each attempt is one LLM call that sees the current
program, its failing search tests (input, expected, got, error) and the episode's earlier
attempts. The next attempt continues from the best of the call's K rewrites. An episode ends
when a rewrite passes every search test or after A attempts; then a new episode starts from
the buggy program, until the call budget is spent.
"""

from __future__ import annotations

from codeq_lib.search.expand import SearchContext, expand, finish_node
from codeq_lib.search.mcts import commit
from codeq_lib.search.tree import Node


def best_child(children: list[Node]) -> Node | None:
    """Highest reward among scorable children, ties to the earliest (deterministic)."""
    scorable = [c for c in children if c.scorable]
    return max(scorable, key=lambda c: (c.reward, -c.id)) if scorable else None


def refine(ctx: SearchContext, budget: int) -> Node:
    config = ctx.config
    root = ctx.tree.root
    finish_node(root, config)
    current, earlier, attempt = root, [], 0
    for _ in range(budget):
        children = expand(ctx, current, n=config.K, temperature=config.temperature,
                          attempts=list(earlier) or None)
        attempt += 1
        for child in children:
            finish_node(child, config)
        if config.early_stop and any(child.passes_all for child in children):
            break
        nxt = best_child(children)
        if nxt is None or attempt >= config.refine_attempts:
            current, earlier, attempt = root, [], 0  # a new episode from the buggy program
        else:
            if current is not root:  # the buggy program is shown as "the program", not an attempt
                earlier.append({"code": current.code, "feedback": ctx.feedback(current)})
            current = nxt
    return commit(ctx.tree)
