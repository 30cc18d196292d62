"""Warm sandbox worker: imports the harness once, then forks a fresh child per candidate.

Runs as `python -E -s -S worker.py` on the host (subprocess backend, with a clean minimal
environment) or inside a container (Docker backend, `--listen SOCKET --container`);
standalone, stdlib only.

On the host the worker first builds its own jail (issue 15): new mount, network, IPC and
PID namespaces, and a root file system that holds only what is allowed (an allowlist: /usr,
the /bin and /lib links, the Python installation, read-only; fresh tmpfs for /tmp, /var/tmp
and /dev/shm; five device nodes; a proc that hides other users' processes). It then forks
itself once: that child is pid 1 of the new PID namespace and serves requests, so when it
ends, for whatever reason, the kernel kills every process a candidate left behind. A
container gives the Docker worker the same namespaces and an equally small root.

Per request:

    worker --fork--> candidate                            (nproc 1: no process can be forked)
    worker --fork--> supervisor --unshare(PID)+fork--> candidate (pid 1 of its namespace)

The supervisor (trusted, root) owns the wall-clock deadline, reads the candidate's
stdout/stderr/result pipes (truncating them), kills its whole process group (and, where no
PID namespace is permitted, every process of its uid) when it ends or stops itself (a
ptrace stop is not an exit), removes its files and SysV IPC objects, checks that nothing is
left, and sends one message back. The candidate runs with rlimits (CPU, address space, file
size, processes, open files), a fresh unprivileged uid, no new privileges, its own IPC
namespace where permitted, a private work dir, an empty environment but PATH/HOME/TMPDIR/LANG,
and only its three pipe ends open.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import resource
import select
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cleanup  # noqa: E402  (standalone: the folder is the import path)
import harness  # noqa: E402
import jail  # noqa: E402

# Where a candidate can leave files: the jail's tmpfs folders and POSIX message queues,
# which a container's /dev/mqueue lists (on the host each candidate's IPC namespace holds
# its own, gone with it).
CANDIDATE_WRITABLE = jail.PRIVATE_TMPFS + ("/dev/mqueue",)
ISOLATIONS = ("network", "filesystem", "pid", "ipc")  # as pool.ISOLATIONS
# A candidate's whole environment (issue 15: it used to inherit the scorer's, secrets included).
CANDIDATE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
PR_SET_NO_NEW_PRIVS = 38
UID_BASE = 200_000  # candidate uid: UID_BASE + the worker's host pid, or + salt + supervisor pid
# Containers reuse small pids, so each worker adds a random salt (bits above any pid) to
# keep candidates of different containers from sharing a uid and its process limit.
UID_SALT = (int.from_bytes(os.urandom(1), "big") % 255 + 1) << 22
RESULT_FD = 1000  # where the result pipe sits in the candidate (everything else is closed)
_HEADER = struct.Struct(">Q")
_libc = ctypes.CDLL(None, use_errno=True)
PRIVILEGED = os.geteuid() == 0  # root: own uid per candidate, namespaces, mounts
_dumps = json.dumps  # bound at import: a candidate re-binding json.dumps cannot mute the channel
_WARM_NAMESPACE: dict | None = None  # the preamble, executed once; each fork gets its own copy
_WORKER_UID: int | None = None  # host worker: UID_BASE + its host pid (its own pid is 1 in its jail)
_PARENT_FD: int | None = None  # the request channel: readable mid-run only when the parent went away

DEFAULT_LIMITS = {
    "timeout_s": 5.0,
    "memory_mb": 1024,
    "file_size_mb": 16,
    "nproc": 1,  # no threads or subprocesses; raise it to allow them (PID namespace then)
    "nofile": 64,
    "max_output_bytes": 8192,
    "max_result_bytes": 16 * 1024 * 1024,
}


def read_exact(fd: int, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """One length-prefixed message (8-byte big-endian length), None at end of stream."""
    header = read_exact(fd, _HEADER.size)
    if header is None:
        return None
    return read_exact(fd, _HEADER.unpack(header)[0])


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_frame(fd: int, data: bytes) -> None:
    write_all(fd, _HEADER.pack(len(data)) + data)


def _set_limits(limits: dict) -> None:
    cpu = int(math.ceil(limits["timeout_s"])) + 1
    memory = int(limits["memory_mb"]) * 1024 * 1024
    fsize = int(limits["file_size_mb"]) * 1024 * 1024
    for which, value in (
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_NPROC, int(limits["nproc"])),
        (resource.RLIMIT_NOFILE, int(limits["nofile"])),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))


def candidate_main(request: dict, limits: dict, workdir: str, uid: int, out_w: int, err_w: int, res_w: int) -> None:
    """In the forked candidate process: confine, then run the harness. Never returns."""
    os.setsid()  # its own process group: the supervisor can kill the group on timeout
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(res_w, RESULT_FD)
    # Only stdin/stdout/stderr and the result pipe stay open: the worker's request channel
    # and the supervisor's pipes are out of the candidate's reach.
    os.closerange(3, RESULT_FD)
    os.closerange(RESULT_FD + 1, 65536)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update({**CANDIDATE_ENV, "HOME": workdir, "TMPDIR": workdir})
    tempfile.tempdir = workdir
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-large file is an OSError, not a kill
    _set_limits(limits)
    if PRIVILEGED:  # unprivileged runs keep their uid (and rlimits still apply)
        # Its own SysV IPC namespace, gone with its last process (refused in a container:
        # there the supervisor removes the candidate's IPC objects instead).
        jail.unshare(jail.CLONE_NEWIPC)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it

    def emit(record: dict) -> None:
        write_all(RESULT_FD, (_dumps(record) + "\n").encode())

    try:
        harness.execute(request, emit, _WARM_NAMESPACE)
    except BaseException:  # the channel was closed or patched away by the candidate
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(0)


def _collect(pipes: dict[int, int], pid: int, deadline: float, uid: int, sweep: bool):
    """Read the candidate's pipes until they close or the deadline passes.

    A stopped child (a ptrace stop after PTRACE_TRACEME, which waitpid reports to its
    tracer) is not an exit: it is killed at once (issue 15 class 3) and reaped later."""
    buffers = {fd: bytearray() for fd in pipes}
    dropped = {fd: 0 for fd in pipes}
    open_fds, status, timed_out, stopped = set(pipes), None, False, False
    watch = [_PARENT_FD] if _PARENT_FD is not None else []
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds) + watch, [], [], min(remaining, 0.05))
        if _PARENT_FD in ready:  # the parent closed the channel (exited, killed): stop now
            raise ParentGone("the parent closed the request channel")
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
                continue
            room = max(pipes[fd] - len(buffers[fd]), 0)
            buffers[fd] += chunk[:room]
            dropped[fd] += max(len(chunk) - room, 0)
        if status is None and not stopped:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done and os.WIFSTOPPED(raw):
                stopped = True
                _kill_group(pid)
            elif done:
                status = raw
                if sweep:  # grandchildren may hold the pipes open: end them
                    cleanup.sweep_as_uid(uid, kill=True, ipc=[])
    return buffers, dropped, status, timed_out, stopped


class ParentGone(Exception):
    """The process that sends requests went away mid-run: end the candidate and exit."""


def _kill_group(pid: int) -> None:
    """SIGKILL the candidate and its process group (a stopped or traced one too)."""
    for target in (pid, -pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid: int) -> int:
    """Wait for `pid` to exit, skipping stop reports (a traced child reports those)."""
    while True:
        _, status = os.waitpid(pid, 0)
        if not os.WIFSTOPPED(status):
            return status


def supervise(request: dict, new_pid_namespace: bool) -> dict:
    """Run one candidate in a confined child; return the raw outcome for the parent.

    With `nproc` 1 (the default) the candidate can start no process or thread at all, so
    the worker supervises it directly: one fork per candidate. With more, a throwaway
    supervisor gives it a PID namespace (or sweeps its uid after).
    """
    limits = {**DEFAULT_LIMITS, **request.get("limits", {})}
    start = time.monotonic()
    pid_ns = jail.unshare(jail.CLONE_NEWPID) if new_pid_namespace else False
    sweep = PRIVILEGED and not pid_ns and int(limits["nproc"]) > 1
    uid = _WORKER_UID if _WORKER_UID is not None else UID_BASE + UID_SALT + os.getpid()
    workdir = tempfile.mkdtemp(prefix="codeq-run-")
    if PRIVILEGED:
        os.chown(workdir, uid, uid)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            candidate_main(request, limits, workdir, uid, out_w, err_w, res_w)
        finally:
            os._exit(70)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    try:
        return _finish(request, limits, start, pid, uid, workdir, sweep, pid_ns, out_r, err_r, res_r)
    finally:
        for fd in (out_r, err_r, res_r):
            os.close(fd)


def _finish(request, limits, start, pid, uid, workdir, sweep, pid_ns, out_r, err_r, res_r) -> dict:
    caps = {out_r: limits["max_output_bytes"], err_r: limits["max_output_bytes"], res_r: limits["max_result_bytes"]}
    try:
        buffers, dropped, status, timed_out, stopped = _collect(caps, pid, start + limits["timeout_s"], uid, sweep)
    except ParentGone:
        _kill_group(pid)
        _reap(pid)
        if sweep:
            cleanup.sweep_as_uid(uid, kill=True, ipc=[])
        os._exit(0)  # pid 1 of the jail: everything left in it dies with this process
    if status is None:  # still running, or stopped: kill it, then reap it
        _kill_group(pid)
        status = _reap(pid)
    else:  # exited and reaped: its process group may outlive it (the id stays reserved)
        try:
            os.kill(-pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    wall_s = time.monotonic() - start
    ipc = cleanup.ipc_objects()
    if PRIVILEGED and (sweep or ipc):
        cleanup.sweep_as_uid(uid, kill=sweep, ipc=ipc)
    cleanup.remove_tree(workdir)
    unhealthy = []
    if PRIVILEGED:  # the self-check: anything of the candidate still here makes us unhealthy
        unhealthy = cleanup.leftovers(uid, workdir, check_processes=sweep, check_ipc=bool(ipc),
                                      unremoved=cleanup.remove_candidate_files(uid, CANDIDATE_WRITABLE))
    return {
        "records": buffers[res_r].decode("utf-8", "replace"),
        "result_truncated": dropped[res_r] > 0,
        "stdout": buffers[out_r].decode("utf-8", "replace"),
        "stderr": buffers[err_r].decode("utf-8", "replace"),
        "stdout_dropped": dropped[out_r],
        "stderr_dropped": dropped[err_r],
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out,
        "stopped": stopped,
        "pid_namespace": pid_ns,
        "wall_s": wall_s,
        "unhealthy": unhealthy,
    }


def run_request(request: dict) -> dict:
    """Run one candidate: directly (nproc 1), else in a forked supervisor with a backstop."""
    nproc = int(request.get("limits", {}).get("nproc", DEFAULT_LIMITS["nproc"]))
    if nproc <= 1:
        try:
            return supervise(request, new_pid_namespace=False)
        except Exception as exc:  # e.g. no space for a work dir: report; the parent replaces us
            return {"worker_error": f"sandbox worker failed: {type(exc).__name__}: {exc}"}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            message = supervise(request, new_pid_namespace=True)
            write_all(write_end, json.dumps(message).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    timeout = float(request.get("limits", {}).get("timeout_s", DEFAULT_LIMITS["timeout_s"]))
    deadline = time.monotonic() + timeout + 10.0
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([read_end], [], [], remaining)[0]:
            os.kill(pid, signal.SIGKILL)  # a wedged supervisor: end it and all of its candidate's uid
            if PRIVILEGED:
                cleanup.sweep_as_uid(_WORKER_UID if _WORKER_UID is not None else UID_BASE + UID_SALT + pid, kill=True, ipc=[])
            break
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    try:
        return json.loads(bytes(data))
    except ValueError:
        return {"worker_error": "the supervisor ended without a result"}


def _reap_orphans() -> None:
    """Reap children reparented to us (the worker is pid 1 in a container without init)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def serve(in_fd: int, out_fd: int, hello: dict) -> None:
    global _PARENT_FD
    _PARENT_FD = in_fd
    write_frame(out_fd, json.dumps({"ready": True, **hello}).encode())
    while True:
        frame = read_frame(in_fd)
        if frame is None:
            return
        response = run_request(json.loads(frame))
        _reap_orphans()
        write_frame(out_fd, json.dumps(response).encode())
        if response.get("unhealthy") or "worker_error" in response:
            return  # the parent replaces a worker that could not clean up after a candidate


def warm_up() -> None:
    """Pre-import the preamble once; each fork gets a copy-on-write copy of it."""
    global _WARM_NAMESPACE
    _WARM_NAMESPACE = harness.base_namespace()
    gc.freeze()  # keep the warm heap shared (copy-on-write) across the forks


def hello_message(pid: int, errors: dict[str, str]) -> dict:
    """What the parent checks before it sends a candidate (it refuses missing isolation)."""
    return {"pid": pid, "network_isolated": "network" not in errors,
            "isolation": {name: name not in errors for name in ISOLATIONS}, "isolation_errors": errors}


def main(argv: list[str]) -> int:
    isolate = "--allow-network" not in argv
    allow = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--allow"]
    private_fs = "--private-fs" in argv
    if "--listen" in argv:
        # In a container: Docker gave the worker its own network ("none"), IPC, PID and mount
        # namespaces and a root of a few folders (docker_backend); nothing to set up here.
        path = argv[argv.index("--listen") + 1]
        errors = {} if jail.network_isolated() or not isolate else {"network": "an interface besides loopback is visible"}
        if not isolate:
            errors["network"] = "not requested (--allow-network)"
        warm_up()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        server.bind(path)
        server.listen(1)
        # One client, then exit: when the parent goes away (even killed), the container
        # stops and, started with auto-remove, disappears instead of idling forever.
        conn, _ = server.accept()
        serve(conn.fileno(), conn.fileno(), hello_message(os.getpid(), errors))
        conn.close()
        return 0
    # stdio mode: keep the channel on private fds; stray prints go to stderr, not the channel
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    global _WORKER_UID
    host_pid = os.getpid()
    _WORKER_UID = UID_BASE + host_pid  # pids are unique on the host while the worker lives
    errors = jail.enter_jail(isolate, private_fs, allow + [sys.base_prefix, *jail.SYSTEM_PATHS], in_fd, out_fd)
    warm_up()
    serve(in_fd, out_fd, hello_message(host_pid, errors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
