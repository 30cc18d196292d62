"""One expansion, shared by every strategy: K rewrites from ONE batched policy call, all run
at once on the search tests in one `sandbox.run_batch`, turned into child nodes.

This is where the counters are kept exact: every `policy.sample` call is one LLM call (the
budget unit), its completion tokens are summed, every program sent to the sandbox is one
sandbox run, a rewrite already in the tree (normalised AST hash) is merged and never run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from codeq_lib.sandbox.pool import Sandbox
from codeq_lib.search.config import SearchConfig
from codeq_lib.search.tree import Node, Tree
from codeq_lib.data.tasks import Task, TestCase


@dataclass
class Counters:
    llm_calls: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    critic_calls: int = 0
    sandbox_runs: int = 0
    sandbox_executions: int = 0
    sandbox_cache_hits: int = 0
    duplicates: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _default_prompts():
    from codeq_lib.policy import prompts

    return prompts.build_repair_messages, prompts.build_critic_messages, prompts.feedback_from_result


def _default_extract():
    from codeq_lib.policy.extract import extract_code

    return extract_code


@dataclass
class SearchContext:
    """Everything one search over one task needs; `tests` are the only tests it may run."""

    task: Task
    tests: list[TestCase]
    policy: Any
    sandbox: Any
    config: SearchConfig
    seed: int = 0
    round: int = 0
    tree: Tree | None = None
    counters: Counters = field(default_factory=Counters)
    results: dict[int, Any] = field(default_factory=dict)
    build_repair_messages: Callable | None = None
    build_critic_messages: Callable | None = None
    feedback_from_result: Callable | None = None
    extract_code: Callable | None = None

    def __post_init__(self) -> None:
        repair, critic, feedback = _default_prompts()
        self.build_repair_messages = self.build_repair_messages or repair
        self.build_critic_messages = self.build_critic_messages or critic
        self.feedback_from_result = self.feedback_from_result or feedback
        if self.extract_code is None:
            self.extract_code = _default_extract()
        if self.tree is None:
            self.tree = Tree(task_id=self.task.id)

    def feedback(self, node: Node) -> list[dict] | None:
        result = self.results.get(node.id)
        if result is None or node.passes_all or not self.config.feedback_items:
            return None
        return self.feedback_from_result(self.task, self.tests, result, max_items=self.config.feedback_items) or None


def run_programs(ctx: SearchContext, codes: list[str]) -> list[Any]:
    """All programs at once on the search tests (one batch: the sandbox runs them in parallel)."""
    if not codes:
        return []
    jobs = [(code, ctx.task, ctx.tests) for code in codes]
    ctx.counters.sandbox_runs += len(codes)
    if isinstance(ctx.sandbox, Sandbox):  # shared by concurrent searches: count this call's own work
        tally: dict[str, int] = {}
        results = ctx.sandbox.run_batch(jobs, tally=tally)
        ctx.counters.sandbox_executions += tally.get("executions", 0)
        ctx.counters.sandbox_cache_hits += tally.get("cache_hits", 0)
        return results
    before_exec = getattr(ctx.sandbox, "executions", 0)  # a wrapper (tests): its counters are this search's
    before_hits = getattr(ctx.sandbox, "cache_hits", 0)
    results = ctx.sandbox.run_batch(jobs)
    ctx.counters.sandbox_executions += getattr(ctx.sandbox, "executions", 0) - before_exec
    ctx.counters.sandbox_cache_hits += getattr(ctx.sandbox, "cache_hits", 0) - before_hits
    return results


def score_node(ctx: SearchContext, node: Node, result: Any) -> None:
    """Copy a sandbox result onto a node; `pass_fraction` stays None when it could not run."""
    ctx.results[node.id] = result
    node.status = result.status
    node.passed, node.total = result.passed, result.total
    node.pass_fraction = result.pass_fraction if result.total else None
    node.test_results = [asdict(o) if hasattr(o, "__dataclass_fields__") else dict(o) for o in result.outcomes]
    node.error = result.error


def finish_node(node: Node, config: SearchConfig) -> None:
    """A leaf evaluated once (no tree backup): its value is its own reward (blended)."""
    from codeq_lib.search.mcts import backup, blend

    if node.scorable:
        if node.visits == 0:
            backup([node], node.reward, config.alpha, config.use_critic)
    else:
        node.value = blend(None, node.q_critic, config.alpha, config.use_critic) if node.q_critic is not None else None


def score_critic(ctx: SearchContext, nodes: list[Node]) -> None:
    """One batched critic call over new nodes (CodeQ's self-critique, Q_critic in [0, 1])."""
    if not ctx.config.use_critic or not nodes:
        return
    batch = [ctx.build_critic_messages(ctx.task, node.code, ctx.feedback(node)) for node in nodes]
    scores = ctx.policy.critic(batch)
    ctx.counters.critic_calls += 1
    for node, score in zip(nodes, scores):
        node.critic_score = node.q_critic = float(score)


def init_root(ctx: SearchContext) -> Node:
    """The root is the buggy program, run once on the search tests (its feedback seeds prompts)."""
    root = ctx.tree.add(ctx.task.buggy_code, None, policy_id=None, round=ctx.round)
    (result,) = run_programs(ctx, [root.code])
    score_node(ctx, root, result)
    score_critic(ctx, [root])
    return root


def call_seed(base_seed: int, call_index: int) -> int:
    """Distinct, reproducible seed per LLM call of one search."""
    return (base_seed * 1_000_003 + call_index) % (2**31 - 1)


def expand(ctx: SearchContext, parent: Node, n: int, temperature: float,
           attempts: list[dict] | None = None) -> list[Node]:
    """ONE policy call for n rewrites of `parent`; returns the new (non-duplicate) children."""
    messages = ctx.build_repair_messages(ctx.task, parent.code, ctx.feedback(parent), attempts)
    generations = ctx.policy.sample(
        messages, n=n, temperature=temperature, top_p=ctx.config.top_p,
        max_new_tokens=ctx.config.max_new_tokens, seed=call_seed(ctx.seed, ctx.counters.llm_calls),
    )
    ctx.counters.llm_calls += 1
    ctx.counters.samples += len(generations)
    ctx.counters.prompt_tokens += generations[0].prompt_tokens if generations else 0
    policy_id = getattr(ctx.policy, "policy_id", None)
    children: list[Node] = []
    for gen in generations:
        ctx.counters.generated_tokens += gen.completion_tokens
        # original=parent: a block that only echoes the program being fixed loses to one that changes it
        extraction = ctx.extract_code(gen.text, ctx.task.entry_point, original=parent.code)
        code = extraction.code or ""
        existing = ctx.tree.find(code)
        if existing is not None:
            existing.duplicates += 1
            ctx.counters.duplicates += 1
            continue
        children.append(ctx.tree.add(
            code, parent, completion=gen.text, prompt=messages, policy_id=policy_id, round=ctx.round,
            completion_tokens=gen.completion_tokens, finish_reason=gen.finish_reason,
            extraction=extraction.reason,
        ))
    for child, result in zip(children, run_programs(ctx, [child.code for child in children])):
        score_node(ctx, child, result)
    score_critic(ctx, children)
    return children
