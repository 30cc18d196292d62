"""Small real runs for the explorer tests: `codeq_lib.evaluate` and `codeq_lib.collect` with a
scripted policy (no model) on three tasks, one of them adversarial (a candidate whose code
holds `</script>` and markup), written by the same code paths as the pipeline's runs."""

from __future__ import annotations

from pathlib import Path

from codeq_lib.collect import collect
from codeq_lib.data.tasks import save_tasks, task_from_dict
from codeq_lib.evaluate import evaluate
from codeq_lib.search import SearchConfig
from codeq_lib.search.scripted import ScriptedPolicy
from search_support import BUGGY, GOOD, HIDDEN, ONE_THIRD, TWO_THIRDS, VISIBLE, fence

# Passes the visible tests and smuggles markup: the page must show it as text.
INJECTION = ('def add(a, b):\n    s = "</script><script>window.pwned = 1</script><img src=x onerror=alert(1)>"\n'
             '    return a + b\n')
MAX_BUGGY = "def biggest(xs):\n    return min(xs)\n"
MAX_GOOD = "def biggest(xs):\n    return max(xs)\n"
MAX_HALF = "def biggest(xs):\n    return xs[-1]\n"


def tasks():
    add = {"entry_point": "add", "buggy_code": BUGGY, "visible_tests": VISIBLE, "hidden_tests": HIDDEN,
           "description": "Return a + b."}
    return [
        task_from_dict({"id": "add-logic", "category": "logic", "difficulty": "easy", **add}),
        task_from_dict({"id": "add-markup", "category": "syntax", "difficulty": "medium", **add}),
        task_from_dict({"id": "biggest", "entry_point": "biggest", "buggy_code": MAX_BUGGY, "category": "reference",
                        "difficulty": "hard", "description": "The largest item.",
                        "visible_tests": [{"args": [[1, 5, 2]], "expected": 5}, {"args": [[3]], "expected": 3},
                                          {"args": [[9, 1]], "expected": 9}],
                        "hidden_tests": [{"args": [[4, 8, 6]], "expected": 8}]}),
    ]


def script(messages, n, call_index, seed):
    """Rewrites by task (read off the prompt): `add-logic` gets better with depth, `add-markup`
    answers with the injection program, `biggest` never finds the fix."""
    prompt = messages[-1]["content"]
    if "biggest" in prompt:
        return [fence([MAX_HALF, MAX_BUGGY.replace("min", "sorted")][i % 2]) for i in range(n)]
    if "onerror" in prompt or call_index % 7 == 3:
        return [fence(INJECTION)] + [fence(ONE_THIRD)] * (n - 1)
    return [fence([TWO_THIRDS, ONE_THIRD, GOOD][(call_index + i) % 3]) for i in range(n)]


def make_eval_run(root: Path, sandbox, mode: str = "mcts", budget: int = 3, task_list=None) -> Path:
    """results/eval/<policy>/<mode>@<budget> as `codeq eval` writes it; returns the folder."""
    task_list = task_list or tasks()
    out = root / "eval" / "base" / f"{mode}@{budget}"
    evaluate(task_list, ScriptedPolicy(script), sandbox, mode, budget,
             SearchConfig(K=2, c=1.0, early_stop=False), out, progress=False)
    return out


def make_collect_run(root: Path, sandbox, task_list=None) -> Path:
    out = root / "round1" / "collect"
    collect(task_list or tasks(), ScriptedPolicy(script), sandbox, "mcts", 3, SearchConfig(K=3, c=1.0, early_stop=False),
            out, round=1, progress=False)
    return out


def write_tasks(root: Path, task_list=None) -> Path:
    return save_tasks(task_list or tasks(), root / "tasks.jsonl")
