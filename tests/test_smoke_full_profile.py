"""`scripts/smoke_full_profile.sh`: the full profile's whole stage graph (convert -> collect ->
pairs -> train -> evaluate -> ablations -> results) with a tiny random Qwen2 on CPU, in a
temporary copy of the checkout. Its last stdout line is JSON; every table must hold the rows
the profile asks for (all five strategies, every K and alpha), and a DPO run with the
profile's train.dpo settings must have a finite loss (codeq_lib/study/smoke.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_full_profile_smoke_run_has_every_row():
    env = {**os.environ, "PYTHON": sys.executable, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "smoke_full_profile.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.stdout.strip(), proc.stderr[-6000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0 and report["ok"], json.dumps(report.get("problems")) + proc.stderr[-4000:]
    assert report["strategies"] == ["single_pass", "best_of_n", "refine", "mcts", "rex"]
    assert report["tables"]["K"] == [2, 5, 8] and report["tables"]["alpha"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert report["tables"]["policies"] == ["base", "round1", "round2"]
    assert report["dpo_check"]["finite"] and report["dpo_check"]["steps"] >= 1 and report["dpo_check"]["lora_moved"]
