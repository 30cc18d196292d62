"""The bug generator: each mutation operator plants the category it claims, and every kept
bug passes the keep-checks, on real references (a fixed MBPP sample and the curriculum)."""

from __future__ import annotations

import ast
import builtins
import random
from pathlib import Path

import pytest

from codeq_lib.data import mbpp, mutate
from codeq_lib.data.bugs import generate_bug_tasks, reference_problems
from codeq_lib.data.curriculum import curriculum_tasks
from codeq_lib.data.debugbench import buggy_code_key
from codeq_lib.sandbox import make_sandbox

MBPP = Path(__file__).resolve().parents[2] / "shared" / "mbpp" / "mbpp.jsonl"
SAMPLE_IDS = range(2, 122, 3)  # 40 real problems, spread over the file
# Some MBPP references write regexes as '\w' in plain strings; parsing them warns.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")


@pytest.fixture(scope="module")
def references() -> list[str]:
    """Reference programs: the MBPP sample (those that parse as one function) + the curriculum's."""
    programs = []
    for record in mbpp.load_mbpp(MBPP):
        if record["task_id"] in SAMPLE_IDS:
            try:
                programs.append(mbpp.parse_problem(record).reference)
            except mbpp.Drop:
                continue
    return programs + [t.reference_code for t in reference_problems(curriculum_tasks())]


def _names(code: str) -> set[str]:
    tree = ast.parse(code)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def _subscripts(code: str) -> list[str]:
    return sorted(ast.dump(n.slice) for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Subscript))


@pytest.mark.parametrize("operator", sorted(mutate.OPERATORS))
def test_each_operator_plants_the_category_it_claims(references, operator):
    category = mutate.CATEGORY_OF[operator]
    planted = 0
    for index, code in enumerate(references):
        mutated = mutate.plant(code, operator, random.Random(index))
        if mutated is None:
            continue
        planted += 1
        assert mutated != code
        if category == "syntax":
            assert not mutate.parses(mutated), (operator, mutated)
            continue
        assert mutate.parses(mutated), (operator, mutated)
        new_names = _names(mutated) - _names(code)
        if operator == "undefined_name":  # reads a name nothing binds or provides
            assert new_names and not new_names & set(dir(builtins)), mutated
        elif operator == "undefined_method":  # calls an attribute the reference never uses
            assert new_names, mutated
        elif operator == "faulty_index":  # only a subscript changed
            assert _subscripts(mutated) != _subscripts(code) and not new_names
        else:  # logic: same names, different program
            assert category == "logic" and not new_names, (operator, mutated)
            assert ast.dump(ast.parse(mutated)) != ast.dump(ast.parse(code))
        assert mutate.fix_size(mutated, code)["tokens"] >= 1
    assert planted >= 5, f"{operator} found a site in only {planted} of {len(references)} references"


def test_multiple_bugs_combine_two_to_four_operators(references):
    rng = random.Random(0)
    drawn = [mutate.draw_multiple(code, rng) for code in references]
    drawn = [c for c in drawn if c is not None]
    assert len(drawn) >= len(references) * 3 // 4
    for candidate in drawn:
        assert candidate.minor_type == mutate.MULTIPLE[len(candidate.operators)]
        assert mutate.claims_hold(candidate)
        # a syntax operator, if any, comes last: nothing parses after it
        syntax = [mutate.CATEGORY_OF[name] == "syntax" for name in candidate.operators]
        assert not any(syntax[:-1])
    assert {c.minor_type for c in drawn} == {"double", "triple", "quadruple"}


def test_fix_size_counts_changed_tokens_and_lines():
    reference = "def f(a, b):\n    if a < b:\n        return a + b\n    return a\n"
    assert mutate.fix_size(reference.replace("a + b", "a - b"), reference) == {"tokens": 1, "lines": 1}
    assert mutate.fix_size(reference.replace("b:", "b"), reference) == {"tokens": 1, "lines": 1}
    both = reference.replace("a + b", "a - b").replace("a < b", "a <= b")
    assert mutate.fix_size(both, reference) == {"tokens": 2, "lines": 2}
    assert mutate.fix_size(reference.replace("        return a + b", "      return a + b"), reference)["tokens"] == 1
    assert [mutate.difficulty_of(n) for n in (1, 2, 3)] == ["easy", "medium", "hard"]


@pytest.fixture(scope="module")
def generated():
    """Bugs planted in 30 real MBPP references and the curriculum's 30, then re-run."""
    records = [r for r in mbpp.load_mbpp(MBPP) if r["task_id"] in SAMPLE_IDS]
    with make_sandbox("subprocess", workers=2) as sandbox:
        refs, _ = mbpp.build_references_from_records(records, sandbox, n_random=3, progress=False)
        refs = refs[:30] + reference_problems(curriculum_tasks())
        tasks, report = generate_bug_tasks(refs, sandbox, seed=0, progress=False)
        again, _ = generate_bug_tasks(refs, sandbox, seed=0, progress=False)
        buggy = sandbox.run_batch([(t.buggy_code + "\n", t, t.hidden_tests) for t in tasks])
        fixed = sandbox.run_batch([(t.reference_code + "\n", t, t.hidden_tests) for t in tasks])
    return refs, tasks, report, again, buggy, fixed


def test_every_kept_bug_fails_its_hidden_tests_and_its_reference_passes(generated):
    refs, tasks, report, _, buggy, fixed = generated
    assert report["kept"] == len(tasks) >= 3 * len(refs)  # most (problem, category) slots fill
    for task, bug, ref in zip(tasks, buggy, fixed):
        assert ref.status == "pass", (task.id, ref.error)
        assert bug.status in ("fail", "error"), task.id
        if task.category != "syntax" and not (task.category == "multiple" and not mutate.parses(task.buggy_code)):
            visible = len(task.visible_tests)
            assert any(o.status != "pass" for o in bug.outcomes[:visible]), task.id  # a visible signal
        else:
            assert "SyntaxError" in (bug.error or "") or "IndentationError" in (bug.error or ""), task.id
        assert task.meta["distinguishing_hidden"] == sum(o.status != "pass" for o in bug.outcomes) or \
            not mutate.parses(task.buggy_code)


def test_kept_bugs_record_what_was_done_and_are_no_duplicates(generated):
    refs, tasks, _, again, _, _ = generated
    keys = [buggy_code_key(t.buggy_code) for t in tasks]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {buggy_code_key(r.reference_code) for r in refs}
    for task in tasks:
        operators = task.meta["operators"]
        if task.category == "multiple":
            assert task.minor_type == mutate.MULTIPLE[len(operators)]
        else:
            assert [mutate.CATEGORY_OF[name] for name in operators] == [task.category]
            assert mutate.MINOR_TYPE[operators[0]] == task.minor_type
        assert task.difficulty == mutate.difficulty_of(task.meta["fix_tokens"])
        assert task.source in ("mbpp", "curriculum-mutated") and task.problem
    assert {t.category for t in tasks} == set(mutate.CATEGORIES)
    assert [t.to_dict() for t in again] == [t.to_dict() for t in tasks]  # seeded: the same bugs again


def test_unknown_operator_and_category_are_refused():
    with pytest.raises(ValueError, match="unknown mutation operator 'nope'"):
        mutate.plant("def f(): pass\n", "nope", random.Random(0))
    with pytest.raises(ValueError, match="unknown bug category 'typo'"):
        mutate.candidates("def f(): pass\n", random.Random(0), 1, ["typo"])


def test_docstring_examples_hold():
    import doctest

    result = doctest.testmod(mutate)
    assert result.failed == 0 and result.attempted >= 2
