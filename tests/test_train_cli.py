"""`codeq train` end to end at a tiny budget: params section + flags + --set, strict keys,
checkpoint + report written; `codeq train report` on a log."""

from __future__ import annotations

import doctest

import pytest
import yaml

from codeq_lib.cli import main as codeq_main
from codeq_lib.config import ConfigError
from codeq_lib.io import read_json, write_jsonl
from codeq_lib.policy.models import tiny_random_model_dir
from codeq_lib.train import cli as train_cli
from codeq_lib.train import report

pytestmark = pytest.mark.slow


def test_doctests_pass():
    assert doctest.testmod(train_cli).failed == 0
    assert doctest.testmod(report).failed == 0


def pair(i: int) -> dict:
    return {"prompt": [{"role": "user", "content": f"Fix #{i}: def f(x): return x - 1"}],
            "chosen": [{"role": "assistant", "content": "```python\ndef f(x):\n    return x + 1\n```"}],
            "rejected": [{"role": "assistant", "content": "```python\ndef f(x):\n    return x\n```"}],
            "task_id": f"t{i}", "weight": 0.9}


def write_params(path, **dpo):
    section = {"trainer": "dpo", "dpo": {"batch_size": 2, "per_device_batch_size": 2, "lora_r": 4, "lora_alpha": 8,
                                         "learning_rate": 1e-2, "warmup_ratio": 0.0, "device": "cpu", **dpo}}
    path.write_text(yaml.safe_dump({"train": section}))
    return path


def test_codeq_train_dpo_from_params_and_flags(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(pairs, [pair(i) for i in range(2)])
    params = write_params(tmp_path / "params.yaml", max_steps=5)
    out = tmp_path / "run"
    rc = codeq_main(["train", "--params", str(params), "--pairs", str(pairs), "--base", str(tiny_random_model_dir(0)),
                     "--ref", "base", "--out", str(out), "--set", "max_steps=1", "confidence_weighting=true"])
    assert rc == 0
    config = read_json(out / "train_config.json")
    assert config["max_steps"] == 1 and config["reference"] == "base" and config["confidence_weighting"] is True
    assert config["lora_r"] == 4  # from the params section
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "train_log.csv").read_text().startswith("step,loss,")
    assert (out / "train_curves.png").stat().st_size > 0
    assert read_json(out / "run.json")["summary"]["reference"]["kind"] == "base"

    rc = codeq_main(["train", "report", "--log", str(out / "log.jsonl"), "--out-dir", str(tmp_path / "fig"),
                     "--name", "r1"])
    assert rc == 0 and (tmp_path / "fig" / "r1_log.csv").is_file() and (tmp_path / "fig" / "r1_curves.png").is_file()


def test_unknown_keys_and_misplaced_flags_are_errors(tmp_path, capsys):
    # user errors: one line and exit 2 (issue 17); --debug raises them with their traceback
    params = write_params(tmp_path / "params.yaml", lora_rank=8)
    assert codeq_main(["train", "--params", str(params), "--pairs", "x.jsonl"]) == 2
    assert "lora_rank" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="nonsense"):
        codeq_main(["train", "--pairs", "x.jsonl", "--set", "nonsense=1", "--debug"])
    assert codeq_main(["train", "--trainer", "dpo", "--tasks", "t.jsonl"]) == 2
    assert capsys.readouterr().err.strip() == "codeq train: --tasks applies to --trainer grpo; DPO trains on --pairs"
    with pytest.raises(ValueError, match="no logged training steps"):
        log = tmp_path / "empty.jsonl"
        write_jsonl(log, [{"train_loss": 0.1}])
        report.write_report(log, tmp_path / "fig")


def test_codeq_train_rft_fine_tunes_on_winners(tmp_path):
    """RFT: supervised fine-tuning on the search's passing rewrites, prompt masked out; the LoRA
    moves and the checkpoint is written like DPO's."""
    from safetensors.torch import load_file

    winners = tmp_path / "winners.jsonl"
    write_jsonl(winners, [{"prompt": pair(i)["prompt"], "completion": pair(i)["chosen"], "task_id": f"t{i}"}
                          for i in range(4)])
    out = tmp_path / "rft"
    rc = codeq_main(["train", "--trainer", "rft", "--winners", str(winners), "--base", str(tiny_random_model_dir(0)),
                     "--out", str(out), "--set", "max_steps=2", "batch_size=2", "per_device_batch_size=2",
                     "lora_r=4", "lora_alpha=8", "learning_rate=0.01", "device=cpu", "warmup_ratio=0.0"])
    assert rc == 0
    summary = read_json(out / "run.json")["summary"]
    assert summary["trainer"] == "rft" and summary["steps"] == 2 and summary["finite"] and summary["n_examples"] == 4
    weights = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert any("lora_B" in name and tensor.abs().sum() > 0 for name, tensor in weights.items())  # B starts at 0
    # a user error: one line, exit 2 (codeq_lib/cli.py)
    assert codeq_main(["train", "--trainer", "rft", "--pairs", "p.jsonl", "--out", str(tmp_path / "x")]) == 2


def test_trainer_auto_takes_the_trainer_its_data_flag_names(tmp_path):
    from codeq_lib.train.cli import add_arguments, resolve_config

    import argparse

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"trainer": "auto"}}))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    trainer, _ = resolve_config(parser.parse_args(["--params", str(params), "--pairs", "p.jsonl"]))
    assert trainer == "dpo"
    trainer, _ = resolve_config(parser.parse_args(["--params", str(params), "--winners", "w.jsonl"]))
    assert trainer == "rft"
    with pytest.raises(Exception, match="train.trainer is auto"):
        resolve_config(parser.parse_args(["--params", str(params)]))
