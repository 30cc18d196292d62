"""DebugBench Python 3 -> schema-v1 tasks: load, dedup, categorise, synthesise tests.

DebugBench (Tian et al. 2024, arXiv:2401.04621) ships LeetCode problems with a correct
`oracle_code`, an implanted-bug `buggy_code` and the problem's example text, but no
executable tests. Tests are built here: the examples are parsed into arguments, random
extra inputs are drawn from the oracle's type annotations, and the *oracle* is run in the
sandbox to give every expected value (the example text is checked against it and the
disagreements counted, never trusted over it). Examples become `visible_tests`; examples
plus random inputs become `hidden_tests`.

Sections, in pipeline order: loading and dedup; test synthesis and its report. Example
parsing and the oracle's signature live in `leetcode_examples`, random inputs in
`random_inputs`. All but test synthesis are pure functions; the sandbox only enters in
`build_tasks_from_records` / `build_debugbench_tasks` (the entry point `prepare` calls).
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeq_lib.hashing import normalized_code_hash, sha256_text
# The parsing and drawing halves moved to their own modules; their public names stay
# importable from here, where callers found them before the split.
from codeq_lib.data.leetcode_examples import (  # noqa: F401
    Param, Signature, bind_example, io_types, node_kind, oracle_signature, parse_assignments, parse_example,
    parse_literal)
from codeq_lib.data.random_inputs import (  # noqa: F401
    INT_WINDOW, MAX_LEN, VALUE_KINDS, Relation, ValueSpec, apply_equal_lengths, apply_relations, draw_value,
    edge_inputs, parse_constraints, parse_equal_lengths, parse_relations, random_inputs, value_kind, value_spec)
from codeq_lib.data.tasks import Task, TestCase

HF_PREFIX = "hf:"
DEFAULT_HF_DATASET = "Rtian/DebugBench"
REQUIRED_KEYS = ("slug", "description", "examples", "constraints", "oracle_code", "buggy_code", "level")

# DebugBench's taxonomy (Tian et al. 2024, Table 1): four major categories, minor types
# named as the shard files (`python3_<minor type>.json`) and the HF `subtype` column.
# "illegal separation" only occurs in the C++/Java shards; it is listed for the HF path.
BUG_CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("misused == or =", "missing colons", "unclosed parentheses", "illegal indentation",
                     "unclosed string", "illegal comment", "illegal separation"), "syntax"),
    **dict.fromkeys(("faulty indexing", "undefined objects", "undefined methods", "illegal keywords"),
                    "reference"),
    **dict.fromkeys(("condition error", "operation error", "variable error", "other error"), "logic"),
    **dict.fromkeys(("double", "triple", "quadruple"), "multiple"),
}


def bug_category(minor_type: str) -> str:
    """Map a DebugBench minor bug type to its major category.

    >>> bug_category("faulty indexing"), bug_category("triple")
    ('reference', 'multiple')
    """
    try:
        return BUG_CATEGORIES[minor_type]
    except KeyError:
        raise ValueError(f"unknown DebugBench bug type {minor_type!r}; known: {sorted(BUG_CATEGORIES)}") from None


# ---------------------------------------------------------------------------- loading

def _check_record(record: Any, where: str) -> dict:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: each record must be a JSON object, got {type(record).__name__}")
    for key in REQUIRED_KEYS:
        if key not in record:
            raise ValueError(f"{where}: field {key!r} is missing (required: {list(REQUIRED_KEYS)})")
    if not isinstance(record["examples"], list) or not all(isinstance(e, str) for e in record["examples"]):
        raise ValueError(f"{where}: field 'examples' must be a list of strings")
    for key in ("slug", "description", "constraints", "oracle_code", "buggy_code"):
        if record[key] is None and key in ("description", "constraints"):
            record[key] = ""
        if not isinstance(record[key], str):
            raise ValueError(f"{where}: field {key!r} must be a string, got {type(record[key]).__name__}")
    if record["level"] not in ("easy", "medium", "hard"):
        raise ValueError(f"{where}: field 'level' is {record['level']!r}; allowed: easy, medium, hard")
    bug_category(record["minor_type"])
    return record


def load_shards(folder: str | Path) -> list[dict]:
    """Read every `python3_*.json` shard of a local DebugBench `benchmark/` folder (sorted)."""
    folder = Path(folder)
    shards = sorted(folder.glob("python3_*.json"))
    if not shards:
        raise FileNotFoundError(f"{folder}: no python3_*.json DebugBench shards found")
    records = []
    for shard in shards:
        minor_type = shard.stem[len("python3_"):]
        with open(shard, encoding="utf-8") as handle:
            rows = json.load(handle)
        if not isinstance(rows, list):
            raise ValueError(f"{shard}: must hold a JSON list of records")
        for index, row in enumerate(rows):
            if isinstance(row, dict):
                row = {**row, "minor_type": minor_type, "shard": shard.name, "index": index}
            records.append(_check_record(row, f"{shard}[{index}]"))
    return records


def load_hf(dataset: str = DEFAULT_HF_DATASET, split: str = "test") -> list[dict]:
    """The HF dataset, Python 3 rows only, renamed to the shard field names.

    Column names per the dataset card (slug, category, subtype, language, level,
    release_time, question, examples, constraints, solution, solution_explanation,
    buggy_code, bug_explanation). Not runnable here (no hub access); tests use the shards.
    """
    from datasets import load_dataset

    rows = load_dataset(dataset, split=split)
    records = []
    for index, row in enumerate(rows):
        if row.get("language") != "python3":
            continue
        record = {
            "slug": row["slug"], "description": row["question"], "examples": list(row["examples"]),
            "constraints": row["constraints"], "oracle_code": row["solution"], "buggy_code": row["buggy_code"],
            "level": row["level"], "content": row.get("solution_explanation", ""),
            "explanations": row.get("bug_explanation", ""), "release_time": row.get("release_time"),
            "minor_type": row["subtype"], "shard": f"{dataset}:{split}", "index": index,
        }
        records.append(_check_record(record, f"{dataset}:{split}[{index}]"))
    return records


def load_debugbench_records(source: str | Path) -> list[dict]:
    """`source` is a folder of `python3_*.json` shards or `"hf:Rtian/DebugBench"`."""
    if isinstance(source, str) and source.startswith(HF_PREFIX):
        return load_hf(source[len(HF_PREFIX):] or DEFAULT_HF_DATASET)
    return load_shards(source)


def buggy_code_key(code: str) -> str:
    """Hash of a buggy program that ignores formatting but keeps every bug.

    A program that parses is hashed on its AST (`normalized_code_hash`: comments, blank
    lines and spacing do not count). One that does not parse keeps its indentation, since
    for "illegal indentation" and friends the layout *is* the bug (hashing's fallback
    folds all whitespace, which would merge different syntax bugs); only trailing spaces
    and blank lines are ignored.
    """
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        lines = [line.rstrip() for line in code.splitlines() if line.strip()]
        return "unparsed:" + sha256_text("\n".join(lines))
    return normalized_code_hash(code)


def record_key(record: dict) -> str:
    """Identity for dedup: slug + the formatting-insensitive buggy program."""
    return record["slug"] + ":" + buggy_code_key(record["buggy_code"])


def dedup_records(records: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Keep the first record per `record_key`; count what was removed, by minor type.

    The kept record (a copy) lists the minor types of its removed duplicates under
    `duplicate_types`: the same buggy program is filed under several types in DebugBench.
    """
    kept, seen = [], {}
    removed: collections.Counter = collections.Counter()
    for record in records:
        key = record_key(record)
        if key in seen:
            removed[record["minor_type"]] += 1
            seen[key].setdefault("duplicate_types", []).append(record["minor_type"])
            continue
        seen[key] = dict(record)
        kept.append(seen[key])
    return kept, dict(sorted(removed.items()))


# ---------------------------------------------------------------------------- test synthesis

_UNORDERED_RE = re.compile(r"\bin any order\b", re.I)
_MANY_ANSWERS_RE = re.compile(r"\breturn any\b|\bany of them\b|\bany valid\b|\bmultiple (valid )?answers\b"
                              r"|\bmultiple solutions\b", re.I)


@dataclass
class ProblemPlan:
    """Everything one problem's tests are built from, before the oracle has run."""

    slug: str
    oracle_code: str
    signature: Signature
    arg_types: list[str | None]
    return_type: str | None
    compare: str
    example_args: list[list[Any]]
    example_outputs: list[Any]
    random_args: list[list[Any]]
    examples_unparsed: int = 0


def plan_problem(record: dict, n_random: int, seed: int) -> ProblemPlan:
    """Parse examples, read the oracle's signature, draw random inputs (no execution).

    Raises ValueError("<reason>: ...") when the problem cannot become a task; the reason
    (before the colon) is what the report counts.
    """
    parsed, unparsed = [], 0
    for text in record["examples"]:
        try:
            parsed.append(parse_example(text))
        except ValueError:
            unparsed += 1
    try:
        signature = oracle_signature(record["oracle_code"], [list(inputs) for inputs, _ in parsed], record["slug"])
    except SyntaxError as exc:
        raise ValueError(f"oracle_syntax_error: {exc}") from None
    arg_types, return_type = io_types(signature)
    bound = []
    for inputs, output in parsed:
        try:
            bound.append((bind_example(inputs, signature), output))
        except ValueError:
            unparsed += 1
    arity = max((len(args) for args, _ in bound), default=0)
    kept = [(args, output) for args, output in bound if len(args) == arity]
    unparsed += len(bound) - len(kept)
    if not kept:
        raise ValueError(f"no_usable_examples: none of {len(record['examples'])} examples parsed and matched")
    params = signature.params[:arity]
    # constraints name inputs as the examples do; oracles often rename them (`a` for `aliceValues`)
    example_names = [list(inputs) for inputs, _ in parsed if len(inputs) == arity]
    names = example_names[0] if example_names and all(n == example_names[0] for n in example_names) \
        else [p.name for p in params]
    if set(names) == {p.name for p in params}:
        names = [p.name for p in params]  # the same names, maybe in another order: bound by name
    specs = [value_spec(names[i], p.annotation, [args[i] for args, _ in kept], record["constraints"],
                        record["description"]) for i, p in enumerate(params)]
    rng = random.Random(f"{seed}:{record['slug']}")  # per problem: same inputs for every bug of it
    randoms = random_inputs(specs, n_random, rng, [a for a, _ in kept]) if all(specs) and n_random > 0 else []
    # issue 14: random draws alone were short (median longest input 5) and often alike, so
    # edge cases follow: shortest, single element, long, extremes (`random_inputs.edge_inputs`)
    if all(specs) and n_random > 0:
        randoms += edge_inputs(specs, rng, [a for a, _ in kept] + randoms)
    compare = "unordered" if _UNORDERED_RE.search(record["description"]) and return_type is None else "exact"
    return ProblemPlan(record["slug"], record["oracle_code"], signature, arg_types[:arity] or None, return_type,
                       compare, [a for a, _ in kept], [o for _, o in kept], randoms, unparsed)


def _probe_task(plan: ProblemPlan, tests: list[TestCase]) -> Task:
    return Task(id=f"probe-{plan.slug}", entry_point=plan.signature.entry_point, buggy_code=plan.oracle_code,
                visible_tests=[], hidden_tests=tests, arg_types=plan.arg_types, return_type=plan.return_type,
                compare=plan.compare)


@dataclass
class ProblemTests:
    visible: list[TestCase]
    hidden: list[TestCase]
    disagreements: int
    random_dropped: int


def oracle_answers(first, second) -> list[tuple[bool, Any]]:
    """(usable, outcome) per test from two runs of one oracle (ExecResults on the same tests).

    Usable means both runs returned and agree: an oracle whose answer depends on hash
    order or `random` cannot define an expected value.
    """
    from codeq_lib.sandbox import values_equal

    return [(a.status in ("pass", "fail") and b.status in ("pass", "fail") and values_equal(a.got, b.got),
             a if a.error or not first.error else dataclasses.replace(a, error=first.error))  # e.g. a load error
            for a, b in zip(first.outcomes, second.outcomes)]


def cross_check(plans: list[ProblemPlan], answers: list[list[tuple[bool, Any]]]) -> int:
    """Several oracles of one problem (DebugBench has up to 3): a random input they do not all
    answer alike is probably outside the problem's constraints, where correct programs may
    differ, so it is marked unusable for all of them. Returns how many inputs were marked."""
    from codeq_lib.sandbox import values_equal

    if len(plans) < 2 or any(p.random_args != plans[0].random_args for p in plans):
        return 0
    marked = 0
    for i in range(len(plans[0].random_args)):
        cells = [answer[len(plan.example_args) + i] for plan, answer in zip(plans, answers)]
        if all(usable for usable, _ in cells) and all(values_equal(outcome.got, cells[0][1].got, plans[0].compare)
                                                      for _, outcome in cells):
            continue
        marked += all(usable for usable, _ in cells)
        for plan, answer in zip(plans, answers):
            index = len(plan.example_args) + i
            answer[index] = (False, answer[index][1])
    return marked


def resolve_tests(plan: ProblemPlan, answers: list[tuple[bool, Any]]) -> ProblemTests:
    """Expected values from the oracle's answers (see `oracle_answers`) on examples + random inputs.

    An example the oracle cannot answer drops the problem; an unusable random input (the
    oracle failed on it, e.g. its constraints were violated, or was unstable) is discarded.
    An example whose stated output differs from the oracle's is kept, with the oracle's
    value, and counted.
    """
    from codeq_lib.sandbox import values_equal

    n_examples = len(plan.example_args)
    for index in range(n_examples):
        usable, outcome = answers[index]
        if outcome.status not in ("pass", "fail"):
            raise ValueError(f"oracle_fails_examples: example {index + 1}: {outcome.error or outcome.status}")
        if not usable:
            raise ValueError(f"oracle_nondeterministic: example {index + 1}")
    visible = [TestCase(args=args, expected=answers[i][1].got) for i, args in enumerate(plan.example_args)]
    disagreements = sum(not values_equal(answers[i][1].got, stated, plan.compare)
                        for i, stated in enumerate(plan.example_outputs))
    randoms = [TestCase(args=args, expected=answers[n_examples + i][1].got)
               for i, args in enumerate(plan.random_args) if answers[n_examples + i][0]]
    return ProblemTests(visible, visible + randoms, disagreements, len(plan.random_args) - len(randoms))


def _type_slug(minor_type: str) -> str:
    """'misused == or =' -> 'misused-eq-or-assign' (task ids stay readable and unique)."""
    text = minor_type.replace("==", " eq ").replace("=", " assign ")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def task_id(record: dict) -> str:
    """Stable id: `db-<slug>-<minor type>-<8 hex of the dedup key>`."""
    return f"db-{record['slug']}-{_type_slug(record['minor_type'])}-{sha256_text(record_key(record))[:8]}"


def describe(record: dict) -> str:
    """The problem as the policy sees it: statement, examples, constraints."""
    examples = "\n\n".join(f"Example {i + 1}:\n{text.strip()}" for i, text in enumerate(record["examples"]))
    return f"{record['description'].strip()}\n\n{examples}\n\nConstraints:\n{(record['constraints'] or '').strip()}"


def make_task(record: dict, plan: ProblemPlan, tests: ProblemTests) -> Task:
    """One DebugBench record -> Task (schema v1); the oracle becomes `reference_code`."""
    meta = {
        "shard": record["shard"], "index": record["index"], "entry_method": plan.signature.method,
        "example_disagreements": tests.disagreements, "n_random_tests": len(tests.hidden) - len(tests.visible),
        "may_have_multiple_answers": bool(_MANY_ANSWERS_RE.search(record["description"])),
    }
    for key in ("type", "duplicate_types", "explanations", "release_time"):
        if record.get(key):
            meta["bug_types" if key == "type" else key] = record[key]
    return Task(id=task_id(record), entry_point=plan.signature.entry_point, buggy_code=record["buggy_code"],
                visible_tests=tests.visible, hidden_tests=tests.hidden, description=describe(record),
                category=bug_category(record["minor_type"]), minor_type=record["minor_type"],
                difficulty=record["level"], reference_code=record["oracle_code"], source="debugbench",
                problem=record["slug"], arg_types=plan.arg_types, return_type=plan.return_type,
                compare=plan.compare, meta=meta)


def _reason(exc: ValueError) -> str:
    head = str(exc).split(":", 1)[0]
    return head if re.fullmatch(r"[a-z_]+", head) else "other"


def build_debugbench_tasks(source, sandbox, *, n_random: int = 5, seed: int = 0, limit: int | None = None,
                           progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Load DebugBench from `source` (shard folder or "hf:Rtian/DebugBench"), keep `limit`
    evenly spaced records if given, and build the tasks: see `build_tasks_from_records`."""
    records = load_debugbench_records(source)
    n_loaded = len(records)
    records = spread(records, limit)
    tasks, report = build_tasks_from_records(records, sandbox, n_random=n_random, seed=seed, progress=progress)
    return tasks, {"source": str(source), "records_loaded": n_loaded, **report}


def spread(records: list[dict], limit: int | None) -> list[dict]:
    """`limit` records evenly spaced over the (shard-sorted) list, so a tiny run still sees
    every bug type instead of the first shard only.

    >>> spread(list(range(10)), 3), spread(list(range(3)), 5), spread([1, 2], None)
    ([0, 3, 6], [0, 1, 2], [1, 2])
    """
    if limit is None or limit >= len(records):
        return list(records)
    if limit < 0:
        raise ValueError(f"limit={limit}: must be a non-negative number of records")
    return [records[i * len(records) // limit] for i in range(limit)]


def build_tasks_from_records(records: list[dict], sandbox, *, n_random: int = 5, seed: int = 0,
                             progress: bool = True) -> tuple[list[Task], dict[str, Any]]:
    """Dedup, plan, run the oracles (twice) and the buggy programs; return tasks + report.

    Problems are planned once per (slug, oracle) and their random inputs seeded by
    (seed, slug), so every bug of a problem gets the same tests. Dropped records are
    counted by reason: the problem's own reason (design_class, unsupported_type,
    no_usable_examples, oracle_fails_examples, ...) for each of its records, and
    buggy_passes_hidden for a bug the hidden tests cannot see.
    """
    from tqdm.auto import tqdm

    kept, removed = dedup_records(records)
    dropped: collections.Counter = collections.Counter()
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in kept:
        groups.setdefault((record["slug"], sha256_text(record["oracle_code"])), []).append(record)
    plans: dict[tuple[str, str], ProblemPlan] = {}
    drop_examples: dict[str, list[str]] = {}
    examples = collections.Counter()
    for key, members in tqdm(groups.items(), desc="plan problems", disable=not progress):
        examples["total"] += len(members[0]["examples"])
        try:
            plans[key] = plan_problem(members[0], n_random, seed)
            examples["unusable"] += plans[key].examples_unparsed
        except ValueError as exc:
            dropped[_reason(exc)] += len(members)
            _note(drop_examples, _reason(exc), f"{key[0]}: {exc}")
            examples["unusable"] += len(members[0]["examples"])
    by_slug: dict[str, list[tuple[str, str]]] = {}
    for key in plans:
        by_slug.setdefault(key[0], []).append(key)
    for keys in by_slug.values():  # one input set per problem, so its oracles can be compared
        shared = plans[keys[0]]
        for key in keys[1:]:
            if len(plans[key].example_args[0]) == len(shared.example_args[0]):
                plans[key].random_args = shared.random_args
    jobs = []
    for plan in plans.values():
        tests = [TestCase(args=a, expected=None) for a in plan.example_args + plan.random_args]
        jobs.append((plan.oracle_code, _probe_task(plan, tests), tests))
        # a second, uncached run (one more newline changes the cache key) catches oracles
        # whose answers depend on hash order or randomness
        jobs.append((plan.oracle_code + "\n", _probe_task(plan, tests), tests))
    results = sandbox.run_batch(jobs, progress=progress) if jobs else []
    answers = {key: oracle_answers(results[2 * i], results[2 * i + 1]) for i, key in enumerate(plans)}
    oracles_disagree = sum(cross_check([plans[k] for k in keys], [answers[k] for k in keys])
                           for keys in by_slug.values())
    candidates, random_dropped, disagreements = [], 0, 0
    for key, plan in plans.items():
        try:
            tests = resolve_tests(plan, answers[key])
        except ValueError as exc:
            dropped[_reason(exc)] += len(groups[key])
            _note(drop_examples, _reason(exc), f"{key[0]}: {exc}"[:300])
            continue
        random_dropped += tests.random_dropped
        disagreements += tests.disagreements
        candidates.extend(make_task(record, plan, tests) for record in groups[key])
    buggy_results = sandbox.run_batch([(t.buggy_code, t, t.hidden_tests) for t in candidates],
                                      progress=progress) if candidates else []
    tasks = []
    for task, result in zip(candidates, buggy_results):
        if result.status == "pass":
            dropped["buggy_passes_hidden"] += 1
            _note(drop_examples, "buggy_passes_hidden", task.id)
            continue
        task.meta["buggy_hidden_status"] = result.status
        note_distinguishing(task, result)
        tasks.append(task)
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise RuntimeError("debugbench: task ids are not unique; record_key hashing changed?")
    report = build_report(records, kept, removed, dropped, drop_examples, tasks, examples,
                          random_dropped, disagreements, n_random)
    report["random_inputs_oracles_disagree"] = oracles_disagree
    report["hidden_strength"] = hidden_strength(tasks)
    report["problems_with_several_oracles"] = sum(len(keys) > 1 for keys in by_slug.values())
    return tasks, report


def note_distinguishing(task: Task, result) -> None:
    """Record how many hidden tests tell the buggy program from the oracle (issue 14).

    `distinguishing_extras` counts those beyond the visible examples; a task with none is
    flagged `weak_hidden`: its hidden tests add nothing the visible ones do not check.
    """
    failed = [index for index, outcome in enumerate(result.outcomes) if outcome.status != "pass"]
    task.meta["distinguishing_hidden"] = len(failed)
    task.meta["distinguishing_extras"] = sum(index >= len(task.visible_tests) for index in failed)
    task.meta["weak_hidden"] = task.meta["distinguishing_extras"] == 0


def hidden_strength(tasks: list[Task]) -> dict[str, Any]:
    """The report's view of how strong the hidden tests are (issue 14, item 5)."""
    by_problem: dict[str, list[Task]] = {}
    for task in tasks:
        by_problem.setdefault(task.problem, []).append(task)
    constant = 0
    for members in by_problem.values():
        extras = members[0].hidden_tests[len(members[0].visible_tests):]
        constant += len(extras) >= 2 and len({json.dumps(t.expected, sort_keys=True) for t in extras}) == 1
    extras = sorted(len(t.hidden_tests) - len(t.visible_tests) for t in tasks)
    return {
        "tasks_without_extra_tests": sum(len(t.hidden_tests) == len(t.visible_tests) for t in tasks),
        "tasks_weak_hidden": sum(t.meta.get("weak_hidden", False) for t in tasks),
        "problems_extras_one_expected_value": constant,
        "extra_tests_median": extras[len(extras) // 2] if extras else 0,
        "distinguishing_hidden": _count(t.meta.get("distinguishing_hidden", 0) for t in tasks),
        "longest_input_median": _median_longest_input(tasks),
    }


def _median_longest_input(tasks: list[Task]) -> int:
    """Median over problems of the longest list or string among their hidden inputs."""
    def longest(value: Any) -> int:
        if isinstance(value, (list, str)):
            return max([len(value)] + [longest(item) for item in value if isinstance(item, list)])
        return 0
    per_problem = {}
    for task in tasks:
        per_problem.setdefault(task.problem, max([0] + [longest(arg) for t in task.hidden_tests for arg in t.args]))
    values = sorted(per_problem.values())
    return values[len(values) // 2] if values else 0


def _note(notes: dict[str, list[str]], reason: str, text: str) -> None:
    if text not in notes.setdefault(reason, []):
        notes[reason].append(text)


def _count(values) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


def build_report(records, kept, removed, dropped, drop_examples, tasks, examples,
                 random_dropped, disagreements, n_random) -> dict[str, Any]:
    """The data-report block for DebugBench (prepare writes it into report.json)."""
    return {
        "records_used": len(records),
        "problems_used": len({r["slug"] for r in records}),
        "after_dedup": len(kept),
        "dedup_removed": sum(removed.values()),
        "dedup_removed_by_type": removed,
        "dropped": dict(sorted(dropped.items())),
        "dropped_total": sum(dropped.values()),
        "drop_examples": {k: v[:10] for k, v in sorted(drop_examples.items())},
        "tasks": len(tasks),
        "problems": len({t.problem for t in tasks}),
        "by_category": _count(t.category for t in tasks),
        "by_minor_type": _count(t.minor_type for t in tasks),
        "by_difficulty": _count(t.difficulty for t in tasks),
        "examples_total": examples["total"],
        "examples_unusable": examples["unusable"],
        "example_oracle_disagreements": disagreements,
        "problems_with_disagreement": len({t.problem for t in tasks if t.meta["example_disagreements"]}),
        "n_random_requested": n_random,
        "random_inputs_discarded": random_dropped,
        "visible_tests": sum(len(t.visible_tests) for t in tasks),
        "hidden_tests": sum(len(t.hidden_tests) for t in tasks),
        "compare_unordered": sum(t.compare == "unordered" for t in tasks),
        "return_types": _count(t.return_type or "json" for t in tasks),
        "may_have_multiple_answers": sum(t.meta["may_have_multiple_answers"] for t in tasks),
    }
