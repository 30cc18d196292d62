"""The protocol in code: hidden tests never reach the search and run exactly once per task,
on the committed answer, for every strategy (DESIGN.md "The protocol", item 2)."""

from __future__ import annotations


import pytest

from codeq_lib.evaluate import evaluate
from codeq_lib.hashing import json_hash
from codeq_lib.search import MODES, HiddenTestGuard, ProtocolError, SearchConfig, run_search, search_view
from codeq_lib.search.protocol import training_reward_tests
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import GOOD, OVERFIT, ZERO, fence, make_task, random_script


class RecordingSandbox:
    """The real sandbox, with a log of which test lists each call ran (a spy, not a mock)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def _record(self, code, task, tests):
        self.calls.append((task.id, json_hash([t.to_dict() for t in tests]), code))

    def run(self, code, task, tests):
        self._record(code, task, tests)
        return self.inner.run(code, task, tests)

    def run_batch(self, jobs):
        for job in jobs:
            self._record(*job)
        return self.inner.run_batch(jobs)

    @property
    def executions(self):
        return self.inner.executions

    @property
    def cache_hits(self):
        return self.inner.cache_hits


script = random_script


@pytest.mark.parametrize("mode", MODES + ("oracle_best_of_n",))
def test_hidden_tests_run_once_after_the_commit(tmp_path, sandbox, mode):
    tasks = [make_task(f"add{i}") for i in range(3)]
    spy = RecordingSandbox(sandbox)
    metrics = evaluate(tasks, ScriptedPolicy(script), spy, mode, 3, SearchConfig(K=2, early_stop=False),
                       tmp_path, progress=False)
    hidden_key = json_hash([t.to_dict() for t in tasks[0].hidden_tests])
    visible_key = json_hash([t.to_dict() for t in tasks[0].visible_tests])
    assert metrics["hidden_test_runs"] == 3
    for task in tasks:
        calls = [c for c in spy.calls if c[0] == task.id]
        hidden_runs = [i for i, c in enumerate(calls) if c[1] == hidden_key]
        if mode == "oracle_best_of_n":
            # the oracle scores every sample with hidden tests, then the committed one runs once more
            assert len(hidden_runs) >= 2 and hidden_runs[-1] == len(calls) - 1
            assert metrics["label"].startswith("ORACLE")
        else:
            assert hidden_runs == [len(calls) - 1]  # exactly one, and the very last call
            assert all(c[1] == visible_key for c in calls[:-1])
            assert "label" not in metrics


def test_guard_refuses_every_other_use(sandbox):
    task = make_task()
    guard = HiddenTestGuard([task], sandbox)
    with pytest.raises(ProtocolError, match="before the search committed"):
        guard.run_hidden(task, GOOD)
    guard.commit(task, GOOD)
    with pytest.raises(ProtocolError, match="already committed"):
        guard.commit(task, ZERO)
    with pytest.raises(ProtocolError, match="other than the committed"):
        guard.run_hidden(task, ZERO)
    assert guard.run_hidden(task, GOOD).status == "pass"
    with pytest.raises(ProtocolError, match="already ran once"):
        guard.run_hidden(task, GOOD)
    with pytest.raises(ProtocolError, match="not registered"):
        guard.commit(make_task("other"), GOOD)
    assert guard.total_runs == 1


def test_search_never_sees_hidden_tests_the_reference_or_the_bug_explanation(sandbox):
    import dataclasses

    seen = []

    def spy_prompt(task, code, feedback=None, attempts=None):
        from codeq_lib.policy.prompts import build_repair_messages

        seen.append((list(task.hidden_tests), task.reference_code, dict(task.meta)))
        return build_repair_messages(task, code, feedback, attempts)

    task = dataclasses.replace(make_task(), reference_code=GOOD,
                               meta={"problem_key": "add", "explanations": "the + became a -",
                                     "operators": ["operation_error"]})
    run_search(task, ScriptedPolicy(script), sandbox, "mcts", 2, SearchConfig(K=2, early_stop=False),
               build_repair_messages=spy_prompt)
    assert seen and all(view == ([], None, {"problem_key": "add"}) for view in seen)
    view = search_view(task)
    assert (view.hidden_tests, view.reference_code, view.meta) == ([], None, {"problem_key": "add"})
    assert len(task.hidden_tests) == 2 and task.reference_code == GOOD and "explanations" in task.meta


def test_training_collection_uses_all_tests_by_name(sandbox):
    task = make_task()
    assert len(training_reward_tests(task)) == 5
    result = run_search(task, ScriptedPolicy([fence(OVERFIT)]), sandbox, "single_pass", 1,
                        tests=training_reward_tests(task))
    # OVERFIT passes the 3 visible tests but only 1 of 2 hidden: 4 of 5 with all tests
    assert (result.tree[1]["passed"], result.tree[1]["total"]) == (4, 5)
