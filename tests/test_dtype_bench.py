"""bench/dtype_rates.py on a tiny random model: each policy runs once in fp32 and once in bf16
(each run's metrics record the dtype it sampled in), the two are paired on the same tasks, and
the machine's own dtype rule is left as it was. No timing is asserted."""

import json

import pytest
from script_support import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/dtype_rates.py")


def test_both_dtypes_sample_the_same_tasks_paired(bench, tmp_path, capsys):
    import codeq_lib.policy.models as models
    from codeq_lib.data.curriculum import curriculum_tasks
    from codeq_lib.data.tasks import save_tasks
    from codeq_lib.policy.models import tiny_random_model_dir

    tasks = tmp_path / "tasks.jsonl"
    save_tasks(curriculum_tasks()[:6], str(tasks))
    rule = models.cpu_has_fast_bf16
    out = tmp_path / "report.json"
    assert bench.main(["--model", str(tiny_random_model_dir(0)), "--tasks", str(tasks), "--n", "3",
                       "--concurrency", "2", "--out", str(out)]) == 0
    assert models.cpu_has_fast_bf16 is rule
    report = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    (policy,) = report["policies"]
    assert [s["dtype"] for s in policy["sides"]] == ["float32", "bfloat16"]
    assert [s["sampler"]["dtype"] for s in policy["sides"]] == ["float32", "bfloat16"]
    assert [s["n_tasks"] for s in policy["sides"]] == [3, 3]
    paired = policy["paired"]
    assert (paired["a"], paired["b"], paired["n_tasks"]) == ("float32", "bfloat16", 3)
    assert paired["a_solved"] == policy["sides"][0]["solved"] and paired["b_solved"] == policy["sides"][1]["solved"]
    assert 0 <= policy["answers_differ"] <= 3 and 0 <= policy["token_counts_differ"] <= 3
    assert report["machine"]["native_bf16"] == rule()


def test_a_missing_model_folder_is_named(bench, tmp_path):
    with pytest.raises(SystemExit, match="nowhere"):
        bench.main(["--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.json")])
