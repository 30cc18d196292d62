"""Every `codeq` subcommand reports a user error as one line, `codeq <command>: <file>:<line>:
<field>: <what>`, with exit status 2; a bug keeps its traceback, and so does any error under
`--debug` (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeq_lib import cli
from codeq_lib.cli import main
from search_support import make_task

DATA = Path(__file__).parent / "data"


@pytest.fixture
def bad_tasks(tmp_path):
    """A user's own bug with a difficulty label outside the schema, on line 2."""
    good = make_task("t1").to_dict()
    bad = {**make_task("t2").to_dict(), "difficulty": "unknown"}
    path = tmp_path / "my.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    return path


def one_line_error(capsys, argv: list[str], command: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"codeq {command}: "), err
    assert "Traceback" not in err[0]
    return err[0]


def test_eval_bad_task_file(capsys, bad_tasks, tmp_path):
    line = one_line_error(capsys, ["eval", "--tasks", str(bad_tasks), "--mode", "mcts", "--out", str(tmp_path / "o")],
                          "eval")
    assert line == (f"codeq eval: {bad_tasks}:2: difficulty: 'unknown' is not one of ['easy', 'medium', 'hard']; "
                    "leave the field out when it is not known")
    assert not (tmp_path / "o").exists()


def test_collect_missing_task_file(capsys, tmp_path):
    line = one_line_error(capsys, ["collect", "--tasks", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "o")],
                          "collect")
    assert line == f"codeq collect: {tmp_path / 'absent.jsonl'}: file not found"
    line = one_line_error(capsys, ["collect", "--tasks", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path),
                                   "--shard", "4/2"], "collect")
    assert "--shard: need 0 <= i < n" in line


@pytest.mark.slow
def test_train_wrong_model_path(capsys, tmp_path):
    line = one_line_error(capsys, ["train", "--pairs", str(DATA / "pairs_tiny.jsonl"), "--base", str(tmp_path / "nope"),
                                   "--out", str(tmp_path / "out")], "train")
    assert line.startswith(f"codeq train: {tmp_path / 'nope'}: model path not found (expected 'embedded'")
    line = one_line_error(capsys, ["train", "--pairs", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "o")],
                          "train")
    assert line == f"codeq train: {tmp_path / 'absent.jsonl'}: file not found (the pairs file to train on)"


def test_pairs_missing_and_malformed_trees(capsys, tmp_path, bad_tasks):
    line = one_line_error(capsys, ["pairs", "--trees", str(tmp_path / "absent.jsonl"), "--tasks-test", str(bad_tasks),
                                   "--out", str(tmp_path / "p.jsonl")], "pairs")
    assert line == f"codeq pairs: {tmp_path / 'absent.jsonl'}: No such file or directory"
    broken = tmp_path / "trees.jsonl"
    broken.write_text('{"task_id": "t1"}\n{not json\n')
    line = one_line_error(capsys, ["pairs", "--trees", str(broken), "--tasks-test", str(bad_tasks),
                                   "--out", str(tmp_path / "p.jsonl")], "pairs")
    assert line.startswith(f"codeq pairs: {broken}:2: not valid JSON")


def test_prepare_unknown_config_key(capsys, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  debugbench_limt: 3\n")
    line = one_line_error(capsys, ["prepare", "--params", str(params)], "prepare")
    assert "debugbench_limt" in line and str(params) in line


def test_sandbox_bad_task_file(capsys, bad_tasks, tmp_path):
    candidates = tmp_path / "c.jsonl"
    candidates.write_text("")
    line = one_line_error(capsys, ["sandbox", "--tasks", str(bad_tasks), "--candidates", str(candidates),
                                   "--out", str(tmp_path / "o.jsonl")], "sandbox")
    assert f"{bad_tasks}:2: difficulty: 'unknown'" in line


def test_convert_model_missing_gguf(capsys, tmp_path):
    line = one_line_error(capsys, ["convert-model", "--gguf", str(tmp_path / "m.gguf"), "--out", str(tmp_path / "o")],
                          "convert-model")
    assert line == f"codeq convert-model: {tmp_path / 'm.gguf'}: GGUF file not found"


def test_explore_task_file_instead_of_trees(capsys, bad_tasks, tmp_path):
    line = one_line_error(capsys, ["explore", "--trees", str(bad_tasks), "--out", str(tmp_path / "t.html")], "explore")
    assert line.startswith(f"codeq explore: {bad_tasks}:1: task_id: is required but missing")


def test_debug_and_bugs_keep_the_traceback(monkeypatch, bad_tasks, tmp_path):
    argv = ["eval", "--tasks", str(bad_tasks), "--mode", "mcts", "--out", str(tmp_path / "o")]
    with pytest.raises(ValueError, match="difficulty"):
        main(argv + ["--debug"])

    def broken(args):
        raise KeyError("a bug, not a user error")

    monkeypatch.setattr("codeq_lib.evaluate.run_cli", broken)
    with pytest.raises(KeyError):
        main(argv)
    assert cli.user_error_line("eval", OSError("no filename")) is None
