"""REx: refinement as an arm-acquiring bandit solved by Thompson sampling (Tang et al. 2024).

Every program in the tree is an arm. Its heuristic R is its pass fraction on the search
tests and N the number of times it was already refined; each step draws
theta ~ Beta(1 + C*R, 1 + C*(1 - R) + N) for every arm and refines the argmax (one LLM call,
K rewrites). High R is exploited, but each failed refinement lowers an arm's draw, so the
search moves on. In the saved tree a node's `visits` is 1 + N (its evaluation plus its
refinements). Programs that could not run have no R and are not arms.
"""

from __future__ import annotations

import random
from typing import Sequence

from codeq_lib.search.expand import SearchContext, expand, finish_node
from codeq_lib.search.mcts import commit
from codeq_lib.search.tree import Node


def rex_beta_params(reward: float, refinements: int, C: float) -> tuple[float, float]:
    """REx's posterior parameters (alpha, beta) for one program.

    >>> rex_beta_params(0.5, 2, 4.0)
    (3.0, 5.0)
    """
    return 1.0 + C * reward, 1.0 + C * (1.0 - reward) + refinements


def rex_pick(arms: Sequence[tuple[float, int]], C: float, rng: random.Random) -> int:
    """Index of the arm (reward, refinements) with the largest Thompson draw."""
    draws = [rng.betavariate(*rex_beta_params(r, n, C)) for r, n in arms]
    return max(range(len(draws)), key=lambda i: (draws[i], -i))


def rex(ctx: SearchContext, budget: int) -> Node:
    config = ctx.config
    rng = random.Random(ctx.seed)
    finish_node(ctx.tree.root, config)
    refinements: dict[int, int] = {}
    for _ in range(budget):
        arms = [node for node in ctx.tree.nodes if node.scorable] or [ctx.tree.root]
        chosen = arms[rex_pick([(n.reward or 0.0, refinements.get(n.id, 0)) for n in arms], config.rex_C, rng)]
        refinements[chosen.id] = refinements.get(chosen.id, 0) + 1
        chosen.visits = 1 + refinements[chosen.id]
        children = expand(ctx, chosen, n=config.K, temperature=config.temperature)
        chosen.expanded = True
        for child in children:
            finish_node(child, config)
        if config.early_stop and any(child.passes_all for child in children):
            break
    return commit(ctx.tree)
