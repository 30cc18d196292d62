"""bench/sandbox.py runs at a tiny size and writes its JSON (values are not asserted: timings)."""

from __future__ import annotations

import json

import pytest
from script_support import load_script



def load_bench():
    return load_script("bench/sandbox.py")


def test_bench_tiny_run_writes_json(tmp_path):
    out = tmp_path / "sandbox.json"
    assert load_bench().main(["--n", "6", "--n-naive", "2", "--workers", "1", "--no-docker", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["subprocess"]["executions"] == 6 and report["subprocess"]["passed"] == 6
    assert report["naive"]["passed"] == 2 and set(report["ratios"]) == {"subprocess_over_naive"}


@pytest.mark.docker
def test_bench_tiny_run_with_docker(tmp_path):
    from codeq_lib.sandbox.docker_backend import ensure_docker_engine

    assert ensure_docker_engine()
    out = tmp_path / "sandbox.json"
    load_bench().main(["--n", "4", "--n-naive", "2", "--workers", "1", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["docker"]["passed"] == 4 and "subprocess_over_docker" in report["ratios"]
