"""scripts/design_effect.py: the ANOVA ICC at its known extremes and against a direct
computation, the design effect it implies, and a bad row named by file and line."""

from __future__ import annotations

import json
import math

import pytest
from script_support import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("scripts/design_effect.py")


def test_icc_extremes(script):
    # problems entirely solved or entirely failed: all variance between clusters
    assert script.anova_icc([[1, 1], [0, 0], [1, 1], [0, 0]]) == pytest.approx(1.0)
    # every problem half solved: none between clusters, the estimator's lower end
    assert script.anova_icc([[1, 0], [0, 1], [1, 0], [0, 1]]) == pytest.approx(-1.0)
    assert math.isnan(script.anova_icc([[1, 0, 1]]))


def test_icc_equal_sizes_matches_the_textbook_formula(script):
    clusters = [[1, 1, 0], [0, 0, 0], [1, 0, 0], [1, 1, 1], [0, 1, 0]]
    k, m = len(clusters), 3
    grand = sum(map(sum, clusters)) / (k * m)
    msb = m * sum((sum(c) / m - grand) ** 2 for c in clusters) / (k - 1)
    msw = sum((x - sum(c) / m) ** 2 for c in clusters for x in c) / (k * (m - 1))
    assert script.anova_icc(clusters) == pytest.approx((msb - msw) / (msb + (m - 1) * msw))


def test_run_clustering_reads_result_rows(script, tmp_path, capsys):
    rows = [{"problem_key": p, "solved": s} for p, s in
            [("a", True), ("a", True), ("b", False), ("b", False), ("c", True), ("c", True), ("d", False)]]
    run = tmp_path / "base" / "single_pass@1"
    run.mkdir(parents=True)
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert script.main([str(run)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n_tasks"], out["n_problems"]) == (7, 4)
    assert out["icc"] == pytest.approx(1.0)
    assert out["design_effect"] == pytest.approx(1 + (7 / 4 - 1) * 1.0)


def test_bad_row_is_named(script, tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text(json.dumps({"problem_key": "a", "solved": True}) + "\n" + json.dumps({"solved": False}) + "\n")
    with pytest.raises(SystemExit, match=r"results.jsonl:2: not a result row"):
        script.main([str(bad)])
