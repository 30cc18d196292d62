"""Search over program rewrites: one interface for every strategy (DESIGN.md "Search").

`run_search(task, policy, sandbox, mode, budget, config, seed)` -> `SearchResult(answer_code,
tree, counters)`. The budget is in LLM calls (one rollout = one expansion = one batched
`policy.sample` call), so strategies are compared at equal call budget. At evaluation time
the search sees the visible tests only (`search_view` strips the hidden ones); training
collection passes `tests=training_reward_tests(task)` explicitly (protocol item 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from codeq_lib.search.baselines import best_of_n, oracle_best_of_n, single_pass
from codeq_lib.search.config import SearchConfig
from codeq_lib.search.expand import Counters, SearchContext, init_root
from codeq_lib.search.mcts import mcts as mcts_search
from codeq_lib.search.protocol import HiddenTestGuard, ProtocolError, search_view, training_reward_tests
from codeq_lib.search.refine import refine as refine_search
from codeq_lib.search.rex import rex as rex_search
from codeq_lib.search.tree import Node, Tree, load_trees, save_trees
from codeq_lib.data.tasks import Task, TestCase

STRATEGIES: dict[str, Callable[[SearchContext, int], Node]] = {
    "single_pass": single_pass,
    "best_of_n": best_of_n,
    "refine": refine_search,  # aliased so `codeq_lib.search.refine` stays the module
    "mcts": mcts_search,
    "rex": rex_search,
}
MODES = tuple(STRATEGIES)


@dataclass
class SearchResult:
    answer_code: str
    tree: list[dict[str, Any]]
    counters: dict[str, Any]
    answer_node: int = 0
    answer_passes_search_tests: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def run_search(task: Task, policy: Any, sandbox: Any, mode: str, budget: int,
               config: SearchConfig | None = None, seed: int | None = None,
               tests: list[TestCase] | None = None, round: int = 0,
               oracle: Callable[[list[str]], list[float | None]] | None = None,
               **hooks: Any) -> SearchResult:
    """Search `task` with one strategy; `tests` default to the visible tests.

    `hooks` may replace the prompt builders / extractor (`build_repair_messages`,
    `build_critic_messages`, `feedback_from_result`, `extract_code`).
    `mode="oracle_best_of_n"` needs `oracle` (the guard's hidden-test scorer).
    """
    config = config or SearchConfig()
    if mode not in STRATEGIES and mode != "oracle_best_of_n":
        raise ValueError(f"mode: {mode!r} is not one of {list(MODES) + ['oracle_best_of_n']}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget: must be a positive number of LLM calls, got {budget!r}")
    search_tests = list(task.visible_tests) if tests is None else list(tests)
    ctx = SearchContext(task=search_view(task), tests=search_tests, policy=policy, sandbox=sandbox,
                        config=config, seed=config.seed if seed is None else seed, round=round, **hooks)
    start = time.perf_counter()
    init_root(ctx)
    if mode == "oracle_best_of_n":
        if oracle is None:
            raise ValueError("mode oracle_best_of_n: needs oracle=guard-bound hidden-test scorer")
        answer = oracle_best_of_n(ctx, budget, oracle)
    else:
        answer = STRATEGIES[mode](ctx, budget)
    ctx.counters.wall_s = time.perf_counter() - start
    counters = ctx.counters.to_dict() | {"budget": budget, "mode": mode, "nodes": len(ctx.tree.nodes)}
    return SearchResult(
        answer_code=answer.code,
        tree=ctx.tree.to_rows(),
        counters=counters,
        answer_node=answer.id,
        answer_passes_search_tests=answer.passes_all,
    )


__all__ = [
    "Counters", "HiddenTestGuard", "MODES", "Node", "ProtocolError", "SearchConfig", "SearchResult",
    "Tree", "load_trees", "run_search", "save_trees", "search_view", "training_reward_tests",
]
