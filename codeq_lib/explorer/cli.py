"""`codeq explore`: write the shareable explorer page, one self-contained HTML file.

    codeq explore --trees results/eval/base/mcts@5 [--trees results/eval/round2/mcts@5 ...] \\
        [--tasks data/tasks/curriculum_test.jsonl] [--pairs runs/round1/pairs/pairs.jsonl \\
        --pairs-trees runs/round1/collect] --out trees.html

`--trees` takes a run folder (as `codeq eval` / `codeq collect` write them) or a trees JSONL
file; give it twice or more to compare runs side by side. `--tasks` adds the test inputs,
descriptions, categories and difficulties of the tasks it holds.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trees", action="append", default=[], metavar="RUN",
                        help="a run folder or trees JSONL file (repeatable: runs side by side)")
    parser.add_argument("--tasks", action="append", default=[], metavar="FILE",
                        help="task file(s) of those runs: test inputs, descriptions, category, difficulty")
    parser.add_argument("--pairs", default=None, help="a round's pairs.jsonl to browse on the page")
    parser.add_argument("--pairs-trees", default=None, metavar="RUN",
                        help="the trees those pairs came from: adds the dropped candidates with their reasons")
    parser.add_argument("--out", required=True, help="the HTML file to write")
    parser.add_argument("--title", default="codeq explorer", help="the page's title")


def run_cli(args: argparse.Namespace) -> int:
    from codeq_lib.data.tasks import load_tasks
    from codeq_lib.explorer import ExploreError, load_run, round_pairs, write_page

    if not args.trees and not args.pairs:
        raise ExploreError("<command line>", None, "--trees", "give at least one run folder or trees file (or --pairs)")
    tasks = [task for path in args.tasks for task in load_tasks(path)]
    runs = [load_run(path, tasks) for path in args.trees]
    names = [run.name for run in runs]
    for index, run in enumerate(runs):  # two runs with one folder name: tell them apart by position
        if names.count(run.name) > 1:
            run.name = f"{run.name} ({index + 1})"
    pairs = round_pairs(args.pairs, args.pairs_trees) if args.pairs else []
    out = write_page(runs, args.out, pairs, title=args.title)
    n_tasks = sum(len(run.trees) for run in runs)
    print(f"codeq explore: {len(runs)} run(s), {n_tasks} task tree(s), {len(pairs)} pair(s) -> {out}", file=sys.stderr)
    return 0
