"""Warm sandbox worker: imports the harness once, then forks a fresh child per candidate.

Runs as `python -E -s -S worker.py` on the host (subprocess backend) or inside a container
(Docker backend, `--listen SOCKET`); standalone, stdlib only. Per request:

    worker --fork--> supervisor --unshare(PID)+fork--> candidate (pid 1 of its own namespace)

The supervisor (trusted, root) drops nothing: it owns the wall-clock deadline, reads the
candidate's stdout/stderr/result pipes (truncating them), kills it on timeout, removes its
work dir and sends one message back. The candidate runs with rlimits (CPU, address space,
file size, processes, open files), a fresh unprivileged uid of its own, no new privileges,
a private work dir, no network (the worker entered a new network namespace at start), and
only its three pipe ends open. When the candidate (pid 1) dies, the kernel kills every
process it forked; where PID namespaces are not permitted (e.g. a default Docker container)
a sweep `kill(-1)` run as the candidate's uid does the same job.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (standalone: the folder is the import path)

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x20, 0x1000, 0x4000, 0x40000
# World-writable places a non-root candidate could otherwise write to on the host.
PRIVATE_TMPFS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
UID_BASE = 200_000  # candidate uid: UID_BASE + salt + supervisor pid, unique per live candidate
# Containers reuse small pids, so each worker adds a random salt (bits above any pid) to
# keep candidates of different containers from sharing a uid and its process limit.
UID_SALT = (int.from_bytes(os.urandom(1), "big") % 255 + 1) << 22
RESULT_FD = 1000  # where the result pipe sits in the candidate (everything else is closed)
_HEADER = struct.Struct(">Q")
_libc = ctypes.CDLL(None, use_errno=True)
PRIVILEGED = os.geteuid() == 0  # root: own uid per candidate, namespaces, mounts
_dumps = json.dumps  # bound at import: a candidate re-binding json.dumps cannot mute the channel
_WARM_NAMESPACE: dict | None = None  # the preamble, executed once; each fork gets its own copy

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


def unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def network_isolated() -> bool:
    """True when no interface but loopback exists (new netns, or Docker network 'none')."""
    try:
        return {name for _, name in socket.if_nameindex()} <= {"lo"}
    except OSError:
        return False


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
    os.environ.update({"HOME": workdir, "TMPDIR": workdir})
    tempfile.tempdir = workdir
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-large file is an OSError, not a kill
    _set_limits(limits)
    if PRIVILEGED:  # unprivileged runs keep their uid (and rlimits still apply)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it

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


def _sweep_uid(uid: int) -> None:
    """Kill every process left running as `uid` (escaped grandchildren, fork bombs)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            # Repeat: a process caught mid-fork can add a child after one pass. ESRCH means
            # nothing of this uid is left to signal (zombies still count, so bounded).
            for _ in range(100):
                os.kill(-1, signal.SIGKILL)
                time.sleep(0.002)
        except ProcessLookupError:
            pass
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _remove_candidate_files(uid: int) -> None:
    """Delete what the candidate left in the shared temp dirs (only files owned by its uid),
    so one candidate cannot plant files for the next one served by this worker."""
    for folder in PRIVATE_TMPFS:
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    continue


def _collect(pipes: dict[int, int], pid: int, deadline: float, uid: int, sweep: bool):
    """Read the candidate's pipes until they close or the deadline passes."""
    buffers = {fd: bytearray() for fd in pipes}
    dropped = {fd: 0 for fd in pipes}
    open_fds, status, timed_out = set(pipes), None, False
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], min(remaining, 0.05))
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
                continue
            room = max(pipes[fd] - len(buffers[fd]), 0)
            buffers[fd] += chunk[:room]
            dropped[fd] += max(len(chunk) - room, 0)
        if status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
                if sweep:  # grandchildren may hold the pipes open: end them
                    _sweep_uid(uid)
    return buffers, dropped, status, timed_out


def supervise(request: dict, new_pid_namespace: bool) -> dict:
    """Run one candidate in a confined child; return the raw outcome for the parent.

    With `nproc` 1 (the default) the candidate can start no process or thread at all, so
    nothing can outlive it and the worker supervises it directly: one fork per candidate.
    With more, a throwaway supervisor gives it a PID namespace (or sweeps its uid after).
    """
    limits = {**DEFAULT_LIMITS, **request.get("limits", {})}
    start = time.monotonic()
    pid_ns = unshare(CLONE_NEWPID) if new_pid_namespace else False
    sweep = PRIVILEGED and not pid_ns and int(limits["nproc"]) > 1
    uid = UID_BASE + UID_SALT + os.getpid()
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
    buffers, dropped, status, timed_out = _collect(caps, pid, start + limits["timeout_s"], uid, sweep)
    if status is None:
        for target in (pid, -pid):
            try:
                os.kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _, status = os.waitpid(pid, 0)
    if sweep:
        _sweep_uid(uid)
    shutil.rmtree(workdir, ignore_errors=True)
    if PRIVILEGED:
        _remove_candidate_files(uid)
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
        "pid_namespace": pid_ns,
        "wall_s": time.monotonic() - start,
    }


def run_request(request: dict) -> dict:
    """Run one candidate: directly (nproc 1), else in a forked supervisor with a backstop."""
    nproc = int(request.get("limits", {}).get("nproc", DEFAULT_LIMITS["nproc"]))
    if nproc <= 1:
        try:
            return supervise(request, new_pid_namespace=False)
        except Exception as exc:  # e.g. no space for a work dir: report, keep serving
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
            os.kill(pid, signal.SIGKILL)
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


def serve(in_fd: int, out_fd: int, network: bool) -> None:
    write_frame(out_fd, json.dumps({"ready": True, "network_isolated": network, "pid": os.getpid()}).encode())
    while True:
        frame = read_frame(in_fd)
        if frame is None:
            return
        response = run_request(json.loads(frame))
        _reap_orphans()
        write_frame(out_fd, json.dumps(response).encode())


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> bool:
    enc = lambda text: None if text is None else text.encode()  # noqa: E731
    return _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) == 0


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def isolate_filesystem(hide: list[str]) -> bool:
    """A private mount namespace: empty tmpfs over the world-writable dirs and over `hide`.

    Candidates then cannot leave files on the host, and cannot read what sits under the
    hidden folders (the repository, task files with expected outputs, /root). The Python
    installation is bound back read-only where a hidden folder covers it (pyenv lives under
    /root), so lazy standard-library imports still work. False where mounts are refused.
    """
    if not unshare(CLONE_NEWNS) or not _mount("none", "/", None, MS_REC | MS_PRIVATE):
        return False
    prefix = os.path.realpath(sys.base_prefix)
    ok = all(_mount("tmpfs", p, "tmpfs", 0, "size=512m,mode=1777") for p in PRIVATE_TMPFS if os.path.isdir(p))
    hidden = [os.path.realpath(p) for p in hide if os.path.isdir(p)]
    stage = "/tmp/.codeq-python"
    if any(_under(prefix, h) for h in hidden):
        os.makedirs(stage, exist_ok=True)
        ok &= _mount(prefix, stage, None, MS_BIND | MS_REC)
    done: list[str] = []
    for folder in sorted(set(hidden), key=len):
        if folder == prefix or any(_under(folder, outer) for outer in done):
            continue  # already covered by an outer hidden folder
        done.append(folder)
        ok &= _mount("tmpfs", folder, "tmpfs", 0, "size=16m,mode=0755")
        if _under(prefix, folder):
            os.makedirs(prefix, exist_ok=True)
            ok &= _mount(stage, prefix, None, MS_BIND | MS_REC)
            _mount(None, prefix, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    return ok


def warm_up(isolate_network: bool, hide: list[str] | None = None) -> bool:
    """Enter new network/mount namespaces (once per worker) and pre-import the preamble."""
    if isolate_network:
        unshare(CLONE_NEWNET)
    if hide is not None:
        isolate_filesystem(hide)
    global _WARM_NAMESPACE
    _WARM_NAMESPACE = harness.base_namespace()
    gc.freeze()  # keep the warm heap shared (copy-on-write) across the forks
    return network_isolated()


def main(argv: list[str]) -> int:
    isolate = "--allow-network" not in argv
    hide = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--hide"]
    private_fs = "--private-fs" in argv
    if "--listen" in argv:
        path = argv[argv.index("--listen") + 1]
        network = warm_up(isolate, hide if private_fs else None)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        server.bind(path)
        server.listen(1)
        # One client, then exit: when the parent goes away (even killed), the container
        # stops and, started with auto-remove, disappears instead of idling forever.
        conn, _ = server.accept()
        serve(conn.fileno(), conn.fileno(), network)
        conn.close()
        return 0
    # stdio mode: keep the channel on private fds; stray prints go to stderr, not the channel
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    serve(in_fd, out_fd, warm_up(isolate, hide if private_fs else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
