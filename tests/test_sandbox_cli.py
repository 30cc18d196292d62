"""`codeq sandbox` end to end: real task and candidate files, real workers."""

from __future__ import annotations

import json
import subprocess
import sys

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
