"""`codeq sandbox` end to end: real task and candidate files, real workers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeq_lib.cli import main
from codeq_lib.io import read_jsonl, write_jsonl


@pytest.fixture
def files(tmp_path):
    task = {"id": "add", "entry_point": "add", "buggy_code": "def add(a, b):\n    return a - b\n",
            "visible_tests": [{"args": [1, 2], "expected": 3}],
            "hidden_tests": [{"args": [2, 2], "expected": 4}, {"args": [0, 5], "expected": 5}]}
    write_jsonl(tmp_path / "tasks.jsonl", [task])
    lines = [
        json.dumps({"task_id": "add", "code": "def add(a, b):\n    return a + b\n", "source": "tool-x"}),
        json.dumps({"task_id": "add", "code": "def add(a, b):\n    return a * b\n"}),
        json.dumps({"task_id": "add", "code": 17}),
        json.dumps({"task_id": "nope", "code": "def add(a, b): return 0"}),
        json.dumps({"task_id": "add", "code": "def add(a, b:"}),
        json.dumps({"task_id": "add", "code": "def plus(a, b):\n    return a + b\n"}),
        "{not json",
        json.dumps(["a", "list"]),
    ]
    (tmp_path / "cands.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_cli_scores_every_candidate(files):
    out = files / "out.jsonl"
    rc = main(["sandbox", "--tasks", str(files / "tasks.jsonl"), "--candidates", str(files / "cands.jsonl"),
               "--out", str(out), "--workers", "1", "--timeout-s", "3"])
    rows = read_jsonl(out)
    assert rc == 0 and len(rows) == 8
    assert [r["status"] for r in rows] == ["pass", "fail", "could_not_run", "could_not_run", "error", "error",
                                          "could_not_run", "could_not_run"]
    assert (rows[0]["passed"], rows[0]["total"], rows[0]["tests"], rows[0]["meta"]) == (2, 2, "hidden", {"source": "tool-x"})
    assert rows[1]["passed"] == 1 and rows[1]["backend"] == "subprocess"
    assert "field 'code' must be a string" in rows[2]["error"] and ":3:" in rows[2]["error"]
    assert "'nope' is not a task" in rows[3]["error"]
    assert rows[4]["error"].startswith("SyntaxError")
    assert "entry point 'add' is not defined" in rows[5]["error"]
    assert "not valid JSON" in rows[6]["error"] and rows[7]["pass_fraction"] is None


def test_cli_visible_tests(files):
    out = files / "vis.jsonl"
    main(["sandbox", "--tasks", str(files / "tasks.jsonl"), "--candidates", str(files / "cands.jsonl"),
          "--out", str(out), "--tests", "visible", "--workers", "1"])
    assert read_jsonl(out)[0]["total"] == 1


def test_cli_bad_task_file_is_refused_and_nothing_written(files, capsys):
    (files / "bad.jsonl").write_text('{"id": "x"}\n')
    rc = main(["sandbox", "--tasks", str(files / "bad.jsonl"), "--candidates", str(files / "cands.jsonl"),
               "--out", str(files / "never.jsonl")])
    assert rc == 2 and "bad.jsonl:1" in capsys.readouterr().err
    assert not (files / "never.jsonl").exists()


def test_cli_entry_point_installed(files):
    out = files / "cmd.jsonl"
    done = subprocess.run([sys.executable, "-m", "codeq_lib.cli", "sandbox", "--tasks", str(files / "tasks.jsonl"),
                           "--candidates", str(files / "cands.jsonl"), "--out", str(out), "--workers", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(read_jsonl(out)) == 8 and "8 candidates" in done.stderr


def test_cli_output_is_strict_json_and_bad_lines_are_contained(files):
    # issue 15: no candidate makes `codeq sandbox` fail or write a non-JSON token
    nan_code = (Path(__file__).with_name("adversarial") / "nan_result.py").read_text()
    lines = [json.dumps({"task_id": "add", "code": nan_code}),
             '{"task_id": "add", "code": "def add(a, b): return a + b", "score": NaN}',
             '{"task_id": "add", "code": "def add(a, b): return a + b", "meta": ' + "[" * 5000 + "]" * 5000 + "}",
             json.dumps({"task_id": "add", "code": "def add(a, b):\n    raise ValueError('\\udc80')\n"})]
    (files / "nasty.jsonl").write_text("\n".join(lines) + "\n")
    out = files / "nasty_out.jsonl"
    rc = main(["sandbox", "--tasks", str(files / "tasks.jsonl"), "--candidates", str(files / "nasty.jsonl"),
               "--out", str(out), "--workers", "1", "--timeout-s", "3"])
    text = out.read_text(encoding="utf-8")
    rows = [json.loads(line, parse_constant=lambda token: pytest.fail(f"bare {token} in out.jsonl")) for line in text.splitlines()]
    assert rc == 0 and [r["status"] for r in rows] == ["error", "could_not_run", "could_not_run", "error"]
    assert "not valid JSON" in rows[1]["error"] and "nested deeper" in rows[2]["error"]
    assert rows[3]["outcomes"][0]["error"] == "ValueError: \ufffd"
    assert not Path(f"{out}.partial").exists()


def test_cli_keeps_results_as_they_finish_and_resumes(files):
    # Killed mid-run (as a crash would be), the finished candidates are already on disk; a
    # rerun with the same task file and settings reuses them and runs only the rest.
    lines = [json.dumps({"task_id": "add", "code": f"def add(a, b):\n    return a + b  # {i}\n"}) for i in range(2)]
    stuck = json.dumps({"task_id": "add", "code": "def add(a, b):\n    while True:\n        pass\n"})
    (files / "slow.jsonl").write_text("\n".join(lines + [stuck]) + "\n")
    out = files / "slow_out.jsonl"
    partial = Path(f"{out}.partial")
    command = [sys.executable, "-m", "codeq_lib.cli", "sandbox", "--tasks", str(files / "tasks.jsonl"),
               "--candidates", str(files / "slow.jsonl"), "--out", str(out), "--workers", "1", "--timeout-s", "30"]
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (partial.exists() and partial.read_text().count("\n") >= 3) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    header, *finished = [json.loads(line) for line in partial.read_text().splitlines()]
    assert header["codeq_sandbox_partial"] == 1 and header["timeout_s"] == 30.0
    assert [(r["line"], r["status"]) for r in finished] == [(1, "pass"), (2, "pass")] and not out.exists()
    # Line 3 is now a quick program (lines 1 and 2 are the same, so theirs are reused).
    (files / "slow.jsonl").write_text("\n".join(lines + [lines[0]]) + "\n")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["status"] for r in rows] == ["pass", "pass", "pass"]
    assert [r["wall_s"] for r in rows[:2]] == [r["wall_s"] for r in finished]  # reused, not rerun
    assert not partial.exists()
    # Other settings: nothing is reused from an interrupted run's file.
    partial.write_text(json.dumps({**header, "timeout_s": 99.0}) + "\n" + json.dumps({**finished[0], "wall_s": -1.0}) + "\n")
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    assert read_jsonl(out)[0]["wall_s"] != -1.0


def test_cli_refuses_to_run_without_isolation_unless_opted_out(files):
    # Root without CAP_SYS_ADMIN cannot jail the workers (issue 15): a clear error, exit 2,
    # nothing written; naming the missing parts runs anyway.
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root to drop CAP_SYS_ADMIN from")
    out = files / "refused.jsonl"
    command = ["setpriv", "--bounding-set", "-sys_admin", "--", sys.executable, "-m", "codeq_lib.cli", "sandbox",
               "--tasks", str(files / "tasks.jsonl"), "--candidates", str(files / "cands.jsonl"), "--out", str(out),
               "--workers", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "could not isolate candidates" in done.stderr
    assert "filesystem: unshare(CLONE_NEWNS): Operation not permitted" in done.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()
    opt_out = [arg for name in ("network", "filesystem", "pid", "ipc") for arg in ("--allow-unisolated", name)]
    done = subprocess.run(command + opt_out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_jsonl(out)[0]["status"] == "pass" and read_jsonl(out)[0]["network_isolated"] is False
