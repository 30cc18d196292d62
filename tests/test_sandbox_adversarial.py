"""The adversarial corpus (issues 3 and 15) against both backends.

Each file in tests/adversarial/ is a nasty candidate for `add(a, b)` whose first line names
the status it must get; every case must be contained, scored as not passing, give a result
that is strict JSON and valid UTF-8, and leave the host unharmed (no files written or
deleted, no connection made, no process left running, no SysV IPC object left, in the host's
namespace or the worker's), and the worker must serve a correct candidate normally right
after it, one that also finds nothing of the case left in its sandbox.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from codeq_lib.sandbox import make_sandbox
from codeq_lib.sandbox.docker_backend import ensure_docker_engine
from codeq_lib.data.tasks import task_from_dict

CORPUS = Path(__file__).with_name("adversarial")
CASES = sorted(p.stem for p in CORPUS.glob("*.py"))
TASK = task_from_dict({
    "id": "adversarial", "entry_point": "add", "buggy_code": "pass", "hidden_tests": [],
    "visible_tests": [{"args": [1, 2], "expected": 3}, {"args": [10, 20], "expected": 30},
                      {"args": [[1], [2]], "expected": [1, 2]}],
})
GOOD = "def add(a, b):\n    return a + b\n"
# A correct candidate that answers only when nothing of an earlier one is visible to it:
# processes of its uid, entries in /tmp (besides its work dir), /dev/shm and /dev/mqueue,
# SysV objects.
PROBE = """import os
def add(a, b):
    me, uid, cwd = os.getpid(), os.getuid(), os.getcwd()
    procs = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != me and os.stat('/proc/' + p).st_uid == uid]
    tmp = [e for e in os.listdir('/tmp') if '/tmp/' + e != cwd]
    shm = os.listdir('/dev/shm') if os.path.isdir('/dev/shm') else []
    ipc = [line for kind in ('shm', 'sem', 'msg') for line in open('/proc/sysvipc/' + kind).read().splitlines()[1:]]
    mq = os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else []
    return a + b if not (procs or tmp or shm or ipc or mq) else [procs, tmp, shm, ipc, mq]
"""
SECRET_ENV = {"CODEQ_ADVERSARIAL_SECRET": "codeq-adversarial-secret-value"}
UID_BASE = 200_000  # candidate uids start here (worker.UID_BASE)
CANARIES = ["/tmp/codeq_adversarial_canary.txt", "/work/codeq_adversarial_canary.txt",
            "/etc/codeq_adversarial_canary.txt"]
BACKENDS = ["subprocess", pytest.param("docker", marks=pytest.mark.docker)]


def expected_statuses(name: str) -> set[str]:
    """The first line, `# expect: timeout` or `# expect: error|timeout` where the limit that
    trips first depends on the machine (e.g. memory or time for unbounded recursion)."""
    first = (CORPUS / f"{name}.py").read_text().splitlines()[0]
    match = re.match(r"# expect: ([\w|]+)$", first)
    assert match, f"{name}.py: first line must be '# expect: <status>[|<status>]'"
    return set(match.group(1).split("|"))


def processes_of_uid(uid: int, grace_s: float = 3.0) -> list[int]:
    """Live (non-zombie) processes of `uid`, allowing SIGKILLed ones a moment to finish dying."""
    deadline = time.monotonic() + grace_s
    while True:
        pids = _live_processes_of_uid(uid)
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def _live_processes_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        match = re.search(r"^Uid:\s+(\d+)", status, re.M)
        if match and int(match.group(1)) == uid and "State:\tZ" not in status:
            pids.append(int(entry.name))
    return pids


def host_ipc_objects() -> list[str]:
    """SysV IPC objects of candidate uids in the host's IPC namespace."""
    rows = []
    for kind, uid_col in (("shm", 7), ("sem", 4), ("msg", 7)):
        for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]:
            if int(line.split()[uid_col]) >= UID_BASE:
                rows.append(f"{kind}: {line}")
    return rows


def worker_ipc_objects(sandbox) -> list[str]:
    """SysV IPC objects in the (only) worker's IPC namespace, read from the host."""
    files = ["/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg"]
    if sandbox.backend.name == "docker":
        exit_code, output = sandbox.backend._containers[0].exec_run(["cat", *files])
        assert exit_code == 0, output
        text = output.decode()
    else:
        pid = str(sandbox._channels[0].hello["pid"])
        text = subprocess.run(["nsenter", "-t", pid, "-i", "cat", *files], check=True, capture_output=True,
                              text=True).stdout
    return [line for line in text.splitlines() if line.split() and not line.split()[0] == "key"]


def host_files_of_candidates() -> list[str]:
    """Entries in the host's shared temp folders owned by a candidate uid."""
    found = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        for entry in os.scandir(folder):
            try:
                if entry.stat(follow_symlinks=False).st_uid >= UID_BASE:
                    found.append(entry.path)
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def secret_file():
    """A task file with expected values kept under a system folder (/opt)."""
    folder = Path(f"/opt/codeq-adversarial-{os.getpid()}")
    folder.mkdir(exist_ok=True)
    path = folder / "tasks.jsonl"
    path.write_text('{"expected": 3}\n')
    path.chmod(0o644)
    folder.chmod(0o755)
    yield path
    path.unlink()
    folder.rmdir()


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    if request.param == "docker":
        assert ensure_docker_engine(), "no Docker Engine (scripts/ensure_docker.sh could not start one)"
    saved = {name: os.environ.get(name) for name in SECRET_ENV}
    os.environ.update(SECRET_ENV)  # a secret in the scorer's environment when workers start
    try:
        with make_sandbox(request.param, workers=1, timeout_s=2.0, memory_mb=512, cache=False) as sb:
            yield sb
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.mark.parametrize("name", CASES)
def test_adversarial_case_is_contained(sandbox, name, tmp_path, secret_file):
    code = (CORPUS / f"{name}.py").read_text()
    code = code.replace('SECRET_FILE = "/nonexistent"', f"SECRET_FILE = {str(secret_file)!r}")
    canary = tmp_path / "keep.txt"
    canary.write_text("precious")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    code = code.replace('CANARY_PATH = "/nonexistent"', f"CANARY_PATH = {str(canary)!r}")
    code = code.replace("HOST_PORT = 9", f"HOST_PORT = {server.getsockname()[1]}")
    code = code.replace('REPO_FILE = "/nonexistent"', f"REPO_FILE = {str(Path(__file__).resolve())!r}")
    try:
        result = sandbox.run(code, TASK, TASK.visible_tests)
        with pytest.raises(socket.timeout):
            server.accept()  # nothing from the sandbox ever reached the host's loopback
    finally:
        server.close()
    assert result.status != "pass" and result.passed < result.total
    assert result.status in expected_statuses(name), result.to_dict()
    assert result.pass_fraction is not None
    json.dumps(result.to_dict(), allow_nan=False, ensure_ascii=False).encode("utf-8")  # strict JSON, UTF-8
    assert canary.read_text() == "precious"
    assert Path("/etc/hostname").exists()
    for path in CANARIES + [os.path.join(os.path.realpath(os.sys.base_prefix), "codeq_adversarial_canary.txt")]:
        assert not Path(path).exists(), f"{name} wrote {path}"
    uid = re.search(r"uid (\d+)", result.stderr)
    if uid:
        assert processes_of_uid(int(uid.group(1))) == [], f"{name} left processes running"
    assert host_ipc_objects() == [], f"{name} left SysV IPC objects on the host"
    assert worker_ipc_objects(sandbox) == [], f"{name} left SysV IPC objects in the worker"
    assert host_files_of_candidates() == [], f"{name} left files on the host"
    after = sandbox.run(PROBE, TASK, TASK.visible_tests)
    assert (after.status, after.passed) == ("pass", 3), f"worker unhealthy after {name}: {after.to_dict()}"


def test_mutated_inputs_do_not_reach_the_next_candidate(sandbox):
    poison = (CORPUS / "mutate_shared_inputs.py").read_text()
    assert sandbox.run(poison, TASK, TASK.visible_tests).status == "fail"
    result = sandbox.run(GOOD, TASK, TASK.visible_tests)  # [1] + [2]: poison would show
    assert (result.status, result.outcomes[2].got) == ("pass", [1, 2])
    assert TASK.visible_tests[2].args == [[1], [2]]


def test_huge_output_is_truncated(sandbox):
    result = sandbox.run((CORPUS / "huge_output.py").read_text(), TASK, TASK.visible_tests)
    assert len(result.stdout) < 10_000 and "bytes dropped" in result.stdout


def test_corpus_covers_issue_cases():
    required = {"infinite_loop", "memory_bomb", "fork_bomb", "deep_recursion", "huge_output",
                "sys_exit_before_tests", "os_exit_before_tests", "sys_exit_during_tests",
                "os_exit_during_tests", "write_outside_workdir", "delete_files", "open_socket",
                "eq_always_true", "fake_pass_output", "patch_builtins_and_harness",
                "read_expected_values", "mutate_shared_inputs", "entry_point_other_name",
                "entry_point_lazy", "read_task_files",
                # issue 15, one or more per class
                "deep_result_record", "deep_linked_list", "deep_expression", "deep_directory_chain",
                "ptrace_stop", "sysv_shm_leak", "read_host_processes", "read_environment",
                "read_system_folder", "int_as_float", "lone_surrogate_error", "nan_result", "record_flood"}
    assert required <= set(CASES)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fork_bomb_when_processes_are_allowed(backend):
    if backend == "docker":
        assert ensure_docker_engine()
    # With nproc > 1 the candidate may fork; a PID namespace (host) or a uid sweep (Docker,
    # where namespaces are not permitted) must still leave nothing running afterwards.
    code = (CORPUS / "fork_bomb.py").read_text()
    threads = "import threading\ndef add(a, b):\n    t = threading.Thread(target=lambda: None)\n    t.start()\n    t.join()\n    return a + b\n"
    with make_sandbox(backend, workers=1, timeout_s=2.0, cache=False, limits={"nproc": 16}) as sb:
        result = sb.run(code, TASK, TASK.visible_tests)
        assert result.status == "timeout"
        uid = int(re.search(r"uid (\d+)", result.stderr).group(1))
        assert processes_of_uid(uid) == []
        assert sb.run(threads, TASK, TASK.visible_tests).status == "pass"


def test_threads_refused_by_default(sandbox):
    code = "import threading\ndef add(a, b):\n    threading.Thread(target=print).start()\n    return a + b\n"
    result = sandbox.run(code, TASK, TASK.visible_tests)
    assert result.status == "error" and "can't start new thread" in result.outcomes[0].error
