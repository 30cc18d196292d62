"""The host worker's jail (issue 15): its own mount, network, IPC and PID namespaces and a
root file system that holds only an allowlist.

Standalone (stdlib only, imported by worker.py as a top-level module). Needs root with
CAP_SYS_ADMIN; each step that fails is reported by name, and the parent refuses to use a
worker whose isolation is incomplete unless the user opted out of the missing part.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)
# World-writable places a candidate can write to: each a fresh tmpfs in the jail, and what a
# candidate leaves there is removed after it (cleanup.remove_candidate_files).
PRIVATE_TMPFS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# The allowlist of the jail's root (read-only binds), besides the Python installation:
# what the interpreter and its extension modules load. Top-level symlinks (merged /usr) are
# copied as symlinks. The Docker image holds the same (docker_backend.rootfs_tarball).
SYSTEM_PATHS = ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
ETC_FILES = {"passwd": "root:x:0:0:root:/root:/bin/sh\n", "group": "root:x:0:\n"}
NEW_ROOT = "/tmp"  # where the root is assembled (a tmpfs over /tmp, in the worker's namespace only)
_libc = ctypes.CDLL(None, use_errno=True)


def unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def network_isolated() -> bool:
    """True when no interface but loopback exists (new netns, or Docker network 'none')."""
    try:
        return {name for _, name in socket.if_nameindex()} <= {"lo"}
    except OSError:
        return False


class IsolationError(OSError):
    """One step of setting up a namespace or the root file system failed (named in the text)."""


def _check(ok: bool, step: str) -> None:
    if not ok:
        err = ctypes.get_errno()
        raise IsolationError(f"{step}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> bool:
    enc = lambda text: None if text is None else text.encode()  # noqa: E731
    return _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) == 0


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _check(_mount(source, target, None, MS_BIND | MS_REC), f"bind {source}")
    _check(_mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV), f"read-only {source}")


def build_root(allow: list[str]) -> None:
    """In a new mount namespace, assemble at NEW_ROOT a root holding only the allowlist.

    Allowlist, not denylist (issue 15 class 5): a task file or checkout anywhere (/opt, /srv,
    beside the repository) is simply not there. Raises IsolationError naming the failed step."""
    _check(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_mount("none", "/", None, MS_REC | MS_PRIVATE), "make / private")
    paths = sorted({os.path.realpath(p) for p in allow if os.path.exists(p)}, key=len)
    for path in paths:
        if _under(path, NEW_ROOT):
            raise IsolationError(f"allowed path {path} lies under {NEW_ROOT}, where the root is built")
    _check(_mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755"), f"tmpfs on {NEW_ROOT}")
    bound: list[str] = []
    for name in SYSTEM_PATHS:  # merged /usr: /bin -> usr/bin stays a symlink
        if os.path.islink(name):
            os.symlink(os.readlink(name), NEW_ROOT + name)
    for path in paths:
        if any(_under(path, outer) for outer in bound) or os.path.islink(path.rstrip("/") or "/"):
            continue
        _bind_read_only(path, NEW_ROOT + path)
        bound.append(path)
    for device in DEVICES:
        target = NEW_ROOT + device
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
        _check(_mount(device, target, None, MS_BIND), f"bind {device}")
    os.symlink("/proc/self/fd", NEW_ROOT + "/dev/fd")
    for folder in PRIVATE_TMPFS:
        os.makedirs(NEW_ROOT + folder, exist_ok=True)
        _check(_mount("tmpfs", NEW_ROOT + folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=512m,mode=1777"), f"tmpfs on {folder}")
    os.makedirs(NEW_ROOT + "/etc", exist_ok=True)
    for name, text in ETC_FILES.items():
        with open(f"{NEW_ROOT}/etc/{name}", "w") as handle:
            handle.write(text)
    os.makedirs(NEW_ROOT + "/proc", exist_ok=True)


def enter_root() -> None:
    """Mount a proc for this PID namespace (other users' processes hidden), then make the
    assembled root the only one: pivot_root and detach the old root (chroot if refused)."""
    _check(_mount("proc", NEW_ROOT + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2"), "mount /proc")
    old = NEW_ROOT + "/.old-root"
    os.makedirs(old, exist_ok=True)
    if SYS_PIVOT_ROOT is not None and _libc.syscall(SYS_PIVOT_ROOT, NEW_ROOT.encode(), old.encode()) == 0:
        os.chdir("/")
        _check(_libc.umount2(b"/.old-root", MNT_DETACH) == 0, "detach the old root")
        os.rmdir("/.old-root")
    else:
        os.chroot(NEW_ROOT)
        os.chdir("/")
    _check(_mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV), "read-only /")


def enter_jail(isolate_network: bool, private_fs: bool, allow: list[str], in_fd: int, out_fd: int) -> dict[str, str]:
    """Host worker: enter new namespaces and the allowlisted root; return what failed and why
    ({isolation name: reason}, empty when all holds).

    Forks once after unshare(CLONE_NEWPID): the child, pid 1 of the new namespace, returns
    and serves; this process waits for it and exits with it. When pid 1 ends (the parent
    closed the channel, or this process was killed: PDEATHSIG), the kernel kills every
    process left in the namespace, so nothing a candidate started outlives the worker."""
    errors: dict[str, str] = {}
    if isolate_network and not unshare(CLONE_NEWNET):
        errors["network"] = f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    elif not isolate_network:
        errors["network"] = "not requested (--allow-network)"
    if not unshare(CLONE_NEWIPC):
        errors["ipc"] = f"unshare(CLONE_NEWIPC): {os.strerror(ctypes.get_errno())}"
    if private_fs:
        try:
            build_root(allow)
        except OSError as exc:
            errors["filesystem"] = str(exc)
    else:
        errors["filesystem"] = "not requested (no --private-fs)"
    if unshare(CLONE_NEWPID):
        child = os.fork()
        if child:
            os.close(in_fd)
            os.close(out_fd)
            while True:
                _, status = os.waitpid(child, 0)
                if not os.WIFSTOPPED(status):
                    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        errors["pid"] = f"unshare(CLONE_NEWPID): {os.strerror(ctypes.get_errno())}"
    if "filesystem" not in errors:
        try:
            enter_root()
        except OSError as exc:
            errors["filesystem"] = str(exc)
    if "filesystem" in errors and "pid" not in errors:
        # Without a root of its own the worker cannot mount a proc for its PID namespace:
        # /proc would still list the host's processes and their command lines.
        errors["pid"] = "no private /proc without the filesystem isolation (the host's processes stay listed)"
    if "network" not in errors and not network_isolated():
        errors["network"] = "an interface besides loopback is visible"
    return errors
