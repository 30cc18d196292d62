"""`scripts/smoke_full_profile.sh`: the full profile's whole stage graph (convert -> collect ->
pairs -> train -> evaluate -> ablations -> results) with a tiny random Qwen2 on CPU, in a
temporary copy of the checkout, started in the background by the `smoke_full_profile_run`
fixture (tests/conftest.py). Its last stdout line is JSON; every table must hold the rows the
profile asks for (all five strategies, every K and alpha), and a DPO run with the profile's
train.dpo settings must have a finite loss (codeq_lib/study/smoke.py)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_full_profile_smoke_run_has_every_row(smoke_full_profile_run):
    returncode, stdout, stderr = smoke_full_profile_run.wait(timeout=1800)
    assert stdout.strip(), stderr[-6000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert returncode == 0 and report["ok"], json.dumps(report.get("problems")) + stderr[-4000:]
    assert report["strategies"] == ["single_pass", "best_of_n", "refine", "mcts", "rex"]
    assert report["tables"]["K"] == [2, 5, 8] and report["tables"]["alpha"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert report["tables"]["policies"] == ["base", "round1", "round2"]
    assert report["dpo_check"]["finite"] and report["dpo_check"]["steps"] >= 1 and report["dpo_check"]["lora_moved"]
