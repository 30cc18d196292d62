"""Tables: rates with Wilson CIs per group, and the anytime budget reading checked against
real runs at each budget (the exactness condition (3) of `anytime_budget_rows`)."""

from __future__ import annotations

import pandas as pd
import pytest

from codeq_lib.evaluate import evaluate
from codeq_lib.search import SearchConfig
from codeq_lib.search.scripted import ScriptedPolicy
from codeq_lib.tables import anytime_budget_rows, fmt_rate, load_rows, markdown_table, rate_table
from tests.search_support import GOOD, HIDDEN, ONE_THIRD, TWO_THIRDS, VISIBLE, fence, make_task

# task id -> the call (1-based, counted per task) whose rewrites include the fix; 0 = never
SOLVE_AT = {"t1": 1, "t2": 2, "t3": 4, "t4": 0}


def scripted_policy() -> ScriptedPolicy:
    def script(messages, n, call_index, seed):
        text = " ".join(m["content"] for m in messages)
        task_id = next(t for t in SOLVE_AT if f"task {t}." in text)
        calls = sum(f"task {task_id}." in " ".join(m["content"] for m in h["messages"]) for h in policy.history) + 1
        wrong = [fence(ONE_THIRD.replace("a * b", f"a * b + {calls * 10 + i}")) for i in range(n)]
        return [fence(GOOD)] + wrong[1:] if calls == SOLVE_AT[task_id] else [fence(TWO_THIRDS)] + wrong[1:]

    policy = ScriptedPolicy(script)
    return policy


def tasks():
    return [make_task(t, hidden=VISIBLE + HIDDEN, description=f"Return a + b (task {t}.)",
                      category="logic", difficulty="easy") for t in SOLVE_AT]


def test_anytime_reading_equals_real_runs_at_each_budget(tmp_path, sandbox):
    config = SearchConfig(K=2, early_stop=True)
    evaluate(tasks(), scripted_policy(), sandbox, "mcts", 5, config, tmp_path / "b5" / "base" / "mcts@5", progress=False)
    run5 = load_rows(tmp_path / "b5")
    for budget in (1, 2, 3, 4):
        evaluate(tasks(), scripted_policy(), sandbox, "mcts", budget, config,
                 tmp_path / f"b{budget}" / "base" / f"mcts@{budget}", progress=False)
        real = load_rows(tmp_path / f"b{budget}").set_index("task_id")["solved"]
        read = anytime_budget_rows(run5, [budget], tasks()).set_index("task_id")["solved"]
        assert read.sort_index().tolist() == real.sort_index().tolist(), budget
    assert load_rows(tmp_path / "b5").set_index("task_id")["solved"].to_dict() == {
        "t1": True, "t2": True, "t3": True, "t4": False}
    # the reading keeps no per-call tokens or sandbox runs: its cost columns are blank, not 0
    table = rate_table(anytime_budget_rows(run5, [2], tasks()), ["mode", "budget"])
    assert table.loc[0, "solved"] > 0
    assert table[["tokens_per_task", "tokens_per_solved", "sandbox_runs_per_solved"]].isna().all(axis=None)
    assert table.loc[0, "llm_calls_per_solved"] > 0


def test_anytime_refuses_runs_without_early_stop_and_bad_tasks(tmp_path, sandbox):
    evaluate(tasks()[:1], scripted_policy(), sandbox, "mcts", 2, SearchConfig(K=2, early_stop=False),
             tmp_path / "x" / "base" / "mcts@2", progress=False)
    with pytest.raises(ValueError, match="early_stop"):
        anytime_budget_rows(load_rows(tmp_path / "x"), [1], tasks())
    rows = load_rows(tmp_path / "x").assign(early_stop=True)
    odd = [make_task("t1", hidden=[{"args": [5, 7], "expected": 12}])]
    with pytest.raises(ValueError, match="visible tests are not all hidden tests"):
        anytime_budget_rows(rows, [1], odd)


def test_rate_table_values_and_formatting():
    rows = pd.DataFrame({"policy": ["base"] * 4 + ["round1"] * 4, "mode": ["mcts"] * 8,
                         "solved": [True, False, False, False, True, True, False, False],
                         "llm_calls": [2] * 8, "generated_tokens": [10] * 8, "sandbox_runs": [3] * 8})
    table = rate_table(rows, ["policy", "mode"])
    base = table[table.policy == "base"].iloc[0]
    assert (base.n, base.solved, base.rate, base.llm_calls_per_solved) == (4, 1, 0.25, 8.0)
    assert base.lo == pytest.approx(0.045587, abs=1e-5) and base.hi == pytest.approx(0.699358, abs=1e-5)
    assert fmt_rate(base) == "0.250 [0.05, 0.70] (1/4)"
    md = markdown_table(table, index="mode", columns="policy")
    assert md.splitlines()[0] == "| mode | base | round1 |"
    assert "0.500 [0.15, 0.85] (2/4)" in md
