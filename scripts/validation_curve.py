"""The validation curve of a trainer: how the single-pass rate on the select stage's validation
draw moves with the length of round 1's training, each length a full training run of its own
(its own schedule), scored and paired with the base on the same tasks. It tells whether the
profile's training length (`train.<trainer>.num_train_epochs`) should grow; the test split is
never read.

    python scripts/validation_curve.py --epochs 1 2 4            # RFT, params.yaml's settings
    python scripts/validation_curve.py --trainer dpo --epochs 1 2

Needs the pipeline through `select` (`dvc repro select`): round 1's pairs and winners, the base,
and the select stage's runs. A point whose training equals a select candidate's (same
identity: trainer, settings, data, start) takes that candidate's training and validation rows,
read-only; the others train and score under `--out` (default runs/validation_curve/), each
point resumed by its identity when the script is run again after a kill. Writes the curve to
`--json` (default results/metrics/validation_curve.json) and prints it as the last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = "runs/round1/pairs/pairs.jsonl"
BASE = "models/base"
SELECT = "runs/select"
SINGLE = "single_pass@1"


def rows_of(folder: Path) -> list[dict]:
    path = folder / SINGLE / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def point(stage, name: str, select: Path, out: Path, score) -> tuple[dict, list[dict], str]:
    """Train (or take) one length's run and score it; (its training summary, its validation
    rows, where they come from)."""
    from codeq_lib.io import write_json
    from codeq_lib.stages import run_train, train_identity
    from codeq_lib.stages.train import _finished_candidate

    identity = train_identity(stage, PAIRS, BASE, BASE)
    folder = out / point_name(stage)
    for done in (select / name, folder):  # select's candidate, or this script's finished run
        summary = _finished_candidate(done, identity)
        if summary is not None and (done / "eval" / SINGLE / "metrics.json").is_file():
            return summary, rows_of(done / "eval"), str(done)
    summary = _finished_candidate(folder, identity)  # trained, killed while scoring: score resumes
    if summary is None:
        summary = run_train(stage, PAIRS, BASE, BASE, str(folder / "train"), str(folder / "policy"))
        write_json(folder / "identity.json", identity)
    score(str(folder / "policy"), folder / "eval")
    return summary, rows_of(folder / "eval"), str(folder)


def point_name(stage) -> str:
    section = getattr(stage, stage.trainer)
    alpha = section.get("rpo_alpha", 0.0) if stage.trainer == "dpo" else 0.0
    return f"{stage.trainer}{'_rpo' + str(alpha) if alpha else ''}_epochs{section['num_train_epochs']:g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainer", default="rft", choices=["dpo", "rpo", "rft"])
    parser.add_argument("--epochs", type=float, nargs="+", default=[1.0, 2.0, 4.0], help="training lengths (epochs)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="runs/validation_curve")
    parser.add_argument("--json", default="results/metrics/validation_curve.json")
    args = parser.parse_args(argv)
    import yaml

    from codeq_lib.data.sample import task_files
    from codeq_lib.io import atomic_write_text
    from codeq_lib.paired import paired_comparison
    from codeq_lib.stages import SelectStage, TrainStage, candidate_train_stage, evaluate_runs, load_config, load_options

    for path in (PAIRS, BASE, f"{SELECT}/base/eval/{SINGLE}/results.jsonl"):
        if not Path(path).exists():
            raise SystemExit(f"validation_curve.py: {path} is missing: run `dvc repro select` first")
    if any(e <= 0 for e in args.epochs):
        raise SystemExit(f"validation_curve.py: --epochs {args.epochs}: every length must be > 0")
    params = yaml.safe_load(Path(args.params).read_text())
    select_cfg = load_config(SelectStage, params["select"], "select")
    train_cfg = load_config(TrainStage, params["train"], "train")
    single = [(SINGLE, "single_pass", 1, select_cfg.search)]

    def score(policy: str, folder: Path) -> None:
        evaluate_runs(select_cfg.tasks, select_cfg.limit, select_cfg.sandbox, policy, single, str(folder),
                      select_cfg.processes, select_cfg.call_cache, select_cfg.concurrency, load_options(select_cfg),
                      sample=select_cfg.sample, sample_seed=select_cfg.sample_seed)

    base_rows = rows_of(Path(SELECT) / "base" / "eval")
    section = "dpo" if args.trainer in ("dpo", "rpo") else "rft"
    curve = []
    for epochs in args.epochs:
        settings = {**getattr(train_cfg, section), "num_train_epochs": float(epochs)}
        stage = candidate_train_stage(dataclasses.replace(train_cfg, **{section: settings}), args.trainer,
                                      select_cfg.rpo_alpha)
        summary, rows, source = point(stage, args.trainer, Path(SELECT), Path(args.out), score)
        comparison = paired_comparison("base", f"{args.trainer}@{epochs:g}", "single_pass", base_rows, rows)
        entry = {"trainer": args.trainer, "epochs": epochs, "steps": summary.get("steps"),
                 "final_loss": summary.get("final_loss"), "examples": summary.get("n_examples", summary.get("n_pairs")),
                 "solved": comparison["b_solved"], "n_tasks": comparison["n_tasks"], "n_problems": comparison["n_problems"],
                 "vs_base": {k: comparison[k] for k in ("a_solved", "b_only", "a_only", "mcnemar_p", "diff", "diff_ci95",
                                                         "significant")},
                 "run": source}
        print(json.dumps(entry), flush=True)
        curve.append(entry)
    report = {"validation_files": [str(f) for f in task_files(select_cfg.tasks)], "sample": select_cfg.sample,
              "base_solved": curve[0]["vs_base"]["a_solved"], "curve": curve}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
