"""Stage glue: persisted run folders are reset exactly when a finished task's result could
have changed (codeq_lib.stages.reset_if_changed)."""

from codeq_lib.stages import _task_hashes, reset_if_changed


def identity(limit=None, k=4, tasks=({"id": "a", "x": 1}, {"id": "b", "x": 2})):
    return {"config": {"limit": limit, "shard": "0/1", "search": {"K": k}}, "round": 1,
            "policy": "weights-sha", "tasks": list(tasks)}


def run_folder(tmp_path, ident):
    folder = tmp_path / "collect"
    reset_if_changed(folder, ident)
    (folder / "results.jsonl").write_text('{"task_id": "a"}\n')
    return folder


def test_changing_which_tasks_run_keeps_finished_work(tmp_path):
    folder = run_folder(tmp_path, identity(limit=1, tasks=[{"id": "a", "x": 1}]))
    reset_if_changed(folder, identity(limit=2))
    assert (folder / "results.jsonl").exists()


def test_a_search_knob_or_a_changed_task_resets(tmp_path):
    folder = run_folder(tmp_path, identity())
    reset_if_changed(folder, identity(k=8))
    assert not (folder / "results.jsonl").exists()
    folder = run_folder(tmp_path, identity())
    reset_if_changed(folder, identity(tasks=[{"id": "a", "x": 99}, {"id": "b", "x": 2}]))
    assert not (folder / "results.jsonl").exists()


def test_unchanged_identity_resumes_and_stamps_task_hashes(tmp_path):
    folder = run_folder(tmp_path, identity())
    reset_if_changed(folder, identity())
    assert (folder / "results.jsonl").exists()
    assert set(_task_hashes([{"id": "a", "x": 1}])) == {"a"}
