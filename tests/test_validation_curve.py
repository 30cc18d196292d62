"""scripts/validation_curve.py on a tiny random model: the length that equals the select
stage's candidate takes that run (read-only), a longer one trains and scores under --out, each
point paired with the base on the same validation tasks, and a second invocation trains
nothing again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from script_support import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def script():
    return load_script("scripts/validation_curve.py")


@pytest.fixture
def selected(tmp_path, monkeypatch):
    """A folder laid out as the pipeline leaves it after `select`, on the tiny model."""
    from codeq_lib import stages
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks
    from codeq_lib.policy.models import tiny_random_model_dir

    monkeypatch.chdir(tmp_path)
    pairs_dir = tmp_path / "runs" / "round1" / "pairs"
    pairs_dir.mkdir(parents=True)
    shutil.copyfile(ROOT / "tests" / "data" / "pairs_tiny.jsonl", pairs_dir / "pairs.jsonl")
    rows = [json.loads(line) for line in (pairs_dir / "pairs.jsonl").read_text().splitlines()]
    (pairs_dir / "winners.jsonl").write_text("".join(json.dumps({"prompt": r["prompt"], "completion": r["chosen"]}) + "\n"
                                                     for r in rows))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base").symlink_to(tiny_random_model_dir(0))
    save_tasks(curriculum_tasks()[:4], str(tmp_path / "val.jsonl"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    small = {"processes": 1, "concurrency": 2, "call_cache": None, "sample": None, "limit": 3,
             "search": {"max_new_tokens": 16}, "sandbox": {"workers": 1}}
    params["select"] = {**params["select"], "trainers": ["rft"], "tasks": ["val.jsonl"], **small}
    params["train"]["rft"] = {**params["train"]["rft"], "batch_size": 2, "per_device_batch_size": 1, "lora_r": 2,
                              "lora_alpha": 4, "num_train_epochs": 1.0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cfg = stages.load_config(stages.SelectStage, params["select"], "select")
    train = stages.load_config(stages.TrainStage, params["train"], "train")
    stages.run_select(cfg, train, "runs/round1/pairs/pairs.jsonl", "models/base", "runs/select")
    return tmp_path


def test_the_curve_reuses_select_and_trains_the_longer_run(script, selected, capsys):
    assert script.main(["--epochs", "1", "2"]) == 0
    report = json.loads((selected / "results" / "metrics" / "validation_curve.json").read_text())
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    one, two = report["curve"]
    assert one["run"] == "runs/select/rft" and two["run"] == "runs/validation_curve/rft_epochs2"
    assert two["steps"] == 2 * one["steps"]
    for entry in (one, two):
        assert entry["n_tasks"] == 3 and entry["vs_base"]["a_solved"] == report["base_solved"]
        assert entry["solved"] == entry["vs_base"]["a_solved"] + entry["vs_base"]["b_only"] - entry["vs_base"]["a_only"]
    assert not (selected / "runs" / "validation_curve" / "rft_epochs1").exists()  # select's run, not retrained
    stamp = selected / "runs" / "validation_curve" / "rft_epochs2" / "train" / "summary.json"
    before = stamp.stat().st_mtime_ns
    assert script.main(["--epochs", "2"]) == 0
    assert stamp.stat().st_mtime_ns == before  # resumed by identity: nothing trained twice


def test_without_select_it_says_what_to_run(script, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="dvc repro select"):
        script.main(["--epochs", "1"])
