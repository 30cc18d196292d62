"""train@1 takes the select stage's run of its chosen trainer only when that run is the same
training (trainer, settings, data by content, start and base); anything else trains again."""

from __future__ import annotations

import json

from codeq_lib import stages


def _setup(tmp_path, trainer="dpo"):
    pairs = tmp_path / "pairs" / "pairs.jsonl"
    pairs.parent.mkdir()
    pairs.write_text('{"task_id": "t1"}\n')
    (pairs.parent / "winners.jsonl").write_text('{"task_id": "t1"}\n')
    cfg = stages.TrainStage(trainer="auto", dpo={"max_steps": 1, "seed": 0})
    choice_dir = tmp_path / "select"
    stage = stages.candidate_train_stage(cfg, trainer, 1.0)
    identity = stages.train_identity(stage, str(pairs), "models/base", "models/base")
    (choice_dir / trainer / "train").mkdir(parents=True)
    (choice_dir / trainer / "train" / "summary.json").write_text("{}")
    (choice_dir / trainer / "policy").mkdir()
    (choice_dir / trainer / "identity.json").write_text(json.dumps(identity))  # as run_select writes it
    choice = {"trainer": trainer, "rpo_alpha": 0.0, "candidates": {trainer: {"trained": True, "identity": identity}}}
    (choice_dir / "choice.json").write_text(json.dumps(choice))
    return cfg, pairs, choice_dir / "choice.json"


def test_the_same_training_is_reused(tmp_path):
    cfg, pairs, choice = _setup(tmp_path)
    chosen = stages.chosen_train_stage(cfg, str(choice))
    assert stages.selected_run(chosen, str(choice), str(pairs), "models/base", "models/base") == choice.parent / "dpo"


def test_any_difference_trains_again(tmp_path):
    cfg, pairs, choice = _setup(tmp_path)
    chosen = stages.chosen_train_stage(cfg, str(choice))
    # round 2 starts from round 1
    assert stages.selected_run(chosen, str(choice), str(pairs), "models/round1", "models/base") is None
    # another setting
    other = stages.TrainStage(trainer="dpo", dpo={"max_steps": 2, "seed": 0, "rpo_alpha": 0.0})
    assert stages.selected_run(other, str(choice), str(pairs), "models/base", "models/base") is None
    # other data
    pairs.write_text('{"task_id": "t2"}\n')
    assert stages.selected_run(chosen, str(choice), str(pairs), "models/base", "models/base") is None
    # trained with bf16 autocast on another kind of machine (train.dpo.autocast_bf16: auto)
    record = json.loads(choice.read_text())
    record["candidates"]["dpo"]["identity"]["autocast_bf16"] = not record["candidates"]["dpo"]["identity"]["autocast_bf16"]
    identity = choice.parent / "dpo" / "identity.json"
    identity.write_text(json.dumps(record["candidates"]["dpo"]["identity"]))
    pairs.write_text('{"task_id": "t1"}\n')
    assert stages.selected_run(chosen, str(choice), str(pairs), "models/base", "models/base") is None
    # no choice at all
    assert stages.selected_run(chosen, None, str(pairs), "models/base", "models/base") is None


def test_an_untrained_candidate_is_not_reused(tmp_path):
    cfg, pairs, choice = _setup(tmp_path, trainer="rft")
    record = json.loads(choice.read_text())
    record["candidates"]["rft"]["trained"] = False
    choice.write_text(json.dumps(record))
    chosen = stages.chosen_train_stage(cfg, str(choice))
    assert stages.selected_run(chosen, str(choice), str(pairs), "models/base", "models/base") is None


def test_a_killed_select_keeps_the_candidates_it_finished(tmp_path):
    from codeq_lib.stages.train import _finished_candidate

    folder = tmp_path / "dpo"
    identity = {"trainer": "dpo", "data": {"pairs.jsonl": "abc"}}
    assert _finished_candidate(folder, identity) is None  # nothing yet
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "summary.json").write_text('{"trained": true, "steps": 3}')
    (folder / "policy").mkdir()
    assert _finished_candidate(folder, identity) is None  # killed before its identity was written
    (folder / "identity.json").write_text(json.dumps(identity))
    assert _finished_candidate(folder, identity) == {"trained": True, "steps": 3}
    assert _finished_candidate(folder, {**identity, "data": {"pairs.jsonl": "other"}}) is None
