"""Docker backend: the same API and features as the subprocess backend, in long-lived
containers (no network, memory and pids limits) built from a locally imported image."""

from __future__ import annotations

import pytest

from codeq_lib.sandbox import make_sandbox
from codeq_lib.sandbox.docker_backend import DEFAULT_IMAGE, LABEL, ensure_docker_engine, rootfs_tarball

from codeq_lib.data.tasks import task_from_dict

pytestmark = pytest.mark.docker

ADD = task_from_dict({"id": "a", "entry_point": "Solution.add", "buggy_code": "pass", "hidden_tests": [],
                      "visible_tests": [{"args": [1, 2], "expected": 3}, {"args": [2, 2], "expected": 4}]})
REV = task_from_dict({"id": "r", "entry_point": "Solution.reverseList", "buggy_code": "pass", "hidden_tests": [],
                      "visible_tests": [{"args": [[1, 2, 3]], "expected": [3, 2, 1]}],
                      "arg_types": ["ListNode"], "return_type": "ListNode"})
GOOD = "class Solution:\n    def add(self, a, b):\n        return a + b\n"


@pytest.fixture(scope="module")
def sb():
    assert ensure_docker_engine(), "no Docker Engine (scripts/ensure_docker.sh could not start one)"
    with make_sandbox("docker", workers=2, timeout_s=3.0) as sandbox:
        yield sandbox


def running(container_ids):
    """Which of these containers exist and run (other sessions may run their own beside)."""
    import docker

    client = docker.from_env()
    try:
        return {c.id for c in client.containers.list(filters={"label": LABEL}) if c.id in container_ids}
    finally:
        client.close()


def test_docker_scores_like_subprocess(sb):
    jobs = [(GOOD, ADD, ADD.visible_tests), ("class Solution:\n    def add(self, a, b):\n        return a * b\n", ADD, ADD.visible_tests),
            ("class Solution:\n    def reverseList(self, head):\n        prev = None\n        while head:\n"
             "            head.next, prev, head = prev, head, head.next\n        return prev\n", REV, REV.visible_tests),
            ("def nothing(): pass", ADD, ADD.visible_tests)]
    docker_results = sb.run_batch(jobs)
    with make_sandbox("subprocess", workers=1) as local:
        local_results = local.run_batch(jobs)
    assert [r.status for r in docker_results] == ["pass", "fail", "pass", "error"]
    for ours, theirs in zip(docker_results, local_results):
        assert [(o.status, o.got) for o in ours.outcomes] == [(o.status, o.got) for o in theirs.outcomes]
    assert all(r.backend == "docker" and r.network_isolated for r in docker_results)


def test_docker_seeds_random_like_subprocess(sb):
    """Issue 14: both backends start every test from the same `random` seed."""
    task = task_from_dict({"id": "d", "entry_point": "draw", "buggy_code": "pass", "hidden_tests": [],
                           "visible_tests": [{"args": [3], "expected": None}, {"args": [2], "expected": None}]})
    code = "import random\ndef draw(n):\n    return [random.random() for _ in range(n)]\n"
    ours = sb.run(code, task, task.visible_tests)
    with make_sandbox("subprocess", workers=1) as local:
        theirs = local.run(code, task, task.visible_tests)
    assert [o.got for o in ours.outcomes] == [o.got for o in theirs.outcomes]
    assert ours.outcomes[1].got == ours.outcomes[0].got[:2]


def test_containers_are_long_lived(sb):
    ours = {c.id for c in sb.backend._containers}
    executions = sb.executions
    results = sb.run_batch([(GOOD + f"\n# variant {i}\n", ADD, ADD.visible_tests) for i in range(30)])
    assert [r.status for r in results] == ["pass"] * 30
    assert sb.executions == executions + 30
    assert len(ours) == 2 and running(ours) == ours == {c.id for c in sb.backend._containers}


def test_containers_removed_on_close():
    with make_sandbox("docker", workers=1, timeout_s=3.0) as sandbox:
        ours = {c.id for c in sandbox.backend._containers}
        assert len(ours) == 1 and running(ours) == ours
        assert sandbox.run(GOOD, ADD, ADD.visible_tests).status == "pass"
    assert running(ours) == set()


def test_missing_custom_image_is_a_clear_error():
    with pytest.raises(ValueError, match="not present"):
        make_sandbox("docker", image="codeq-no-such-image:never")


def test_rootfs_tarball_is_small_and_has_mount_points():
    import io
    import tarfile

    data = rootfs_tarball()
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert {"usr", "tmp", "sbin", "etc/passwd"} <= set(names) and len(data) < 100_000
    assert DEFAULT_IMAGE.endswith(":local")
