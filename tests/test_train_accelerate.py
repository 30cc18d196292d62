"""DPO under `accelerate launch` with 2 processes on a CPU (the shipped DDP config's CPU twin,
scripts/accelerate/ddp_cpu.yaml), on the tiny random model: both ranks train, the effective
batch stays `batch_size` (each rank accumulates half as many steps), only the main process
writes the checkpoint, the loss is finite and the LoRA weights moved off their zero init."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from codeq_lib.io import read_json, read_jsonl, write_jsonl
from codeq_lib.policy.models import tiny_random_model_dir
from codeq_lib.train.distributed import accumulation_per_process, is_main_process, world_size

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from test_train_dpo import make_pairs  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_launcher_environment_is_read():
    assert world_size({"WORLD_SIZE": "4"}) == 4 and world_size({}) == 1
    assert is_main_process({"RANK": "0"}) and not is_main_process({"RANK": "3"})
    assert accumulation_per_process(16, 2, 2) == 4


@pytest.mark.slow
def test_two_process_dpo_under_accelerate_launch(tmp_path):
    from safetensors.torch import load_file

    write_jsonl(tmp_path / "pairs.jsonl", make_pairs(8))
    accelerate = Path(sys.executable).parent / "accelerate"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [str(accelerate), "launch", "--config_file", str(ROOT / "scripts/accelerate/ddp_cpu.yaml"),
           "--main_process_port", str(free_port()), "-m", "codeq_lib.cli", "train", "--trainer", "dpo",
           "--pairs", "pairs.jsonl", "--base", str(tiny_random_model_dir()), "--out", "out",
           "--set", "device=cpu", "max_steps=2", "batch_size=4", "per_device_batch_size=1", "lora_r=4",
           "lora_alpha=8", "learning_rate=0.01", "warmup_ratio=0.0", "max_length=128"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"adapter"')]
    assert len(summaries) == 1, "only the main process writes and reports the checkpoint"
    summary = read_json(tmp_path / "out" / "run.json")["summary"]
    assert summary["processes"] == 2 and summary["steps"] == 2 and summary["finite"]
    losses = [row for row in read_jsonl(tmp_path / "out" / "log.jsonl") if "loss" in row]
    assert len(losses) == 2
    # 8 pairs, batch 4 = 2 processes x 1 pair x 2 accumulation steps: 2 steps make one epoch
    assert losses[-1]["epoch"] == pytest.approx(1.0)
    weights = load_file(str(tmp_path / "out" / "adapter" / "adapter_model.safetensors"))
    lora_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
    assert lora_b and any(float(t.abs().sum()) > 0 for t in lora_b), "LoRA B starts at zero and must have moved"
    assert (tmp_path / "out" / "train_curves.png").is_file()


def test_doctests_of_distributed():
    import doctest

    from codeq_lib.train import distributed

    failed, attempted = doctest.testmod(distributed)
    assert failed == 0 and attempted >= 3
