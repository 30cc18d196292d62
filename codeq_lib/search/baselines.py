"""The baselines every search is compared against, at equal LLM-call budget (CodeQ Table 1).

- `single_pass`: one call, one greedy rewrite, committed as is (pass@1 of the policy).
- `best_of_n`: `budget` calls of K samples from the buggy program; commit by search-test
  pass fraction (visible tests only at evaluation time: a fair pass@1).
- `oracle_best_of_n`: the same samples, chosen with the HIDDEN tests. Not a pass@1: it is
  reported under this name only (DESIGN.md protocol item 2) and needs the guard's oracle.
"""

from __future__ import annotations

from codeq_lib.search.expand import SearchContext, expand, finish_node
from codeq_lib.search.mcts import commit
from codeq_lib.search.tree import Node


def single_pass(ctx: SearchContext, budget: int = 1) -> Node:
    """One greedy rewrite of the buggy program; the budget is ignored (always one call)."""
    children = expand(ctx, ctx.tree.root, n=1, temperature=ctx.config.single_pass_temperature)
    for child in children:
        finish_node(child, ctx.config)
    finish_node(ctx.tree.root, ctx.config)
    return children[0] if children else ctx.tree.root


def best_of_n(ctx: SearchContext, budget: int) -> Node:
    """`budget` independent calls of K samples each from the root prompt."""
    finish_node(ctx.tree.root, ctx.config)
    for _ in range(budget):
        children = expand(ctx, ctx.tree.root, n=ctx.config.K, temperature=ctx.config.temperature)
        for child in children:
            finish_node(child, ctx.config)
        if ctx.config.early_stop and any(child.passes_all for child in children):
            break
    return commit(ctx.tree)


def oracle_best_of_n(ctx: SearchContext, budget: int, oracle) -> Node:
    """Best-of-n chosen by hidden tests through `oracle(codes) -> list[pass fraction]`.

    Early stop is off: an oracle must see the same samples the fair best-of-n would.
    """
    finish_node(ctx.tree.root, ctx.config)
    for _ in range(budget):
        for child in expand(ctx, ctx.tree.root, n=ctx.config.K, temperature=ctx.config.temperature):
            finish_node(child, ctx.config)
    generated = ctx.tree.nodes[1:] or [ctx.tree.root]
    scores = oracle([node.code for node in generated])
    best = max(range(len(generated)), key=lambda i: (scores[i] if scores[i] is not None else -1.0, -i))
    return generated[best]
