"""Clean-up after a candidate, and the check that nothing of it is left (issue 15).

Standalone (stdlib only, imported by worker.py as a top-level module, also inside a
container). Everything here runs in the trusted supervisor after the candidate's processes
are dead, on what the candidate shaped: so no recursion (a folder chain can be thousands
deep), no link followed, and bounded work.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

IPC_RMID = 0
_libc = ctypes.CDLL(None, use_errno=True)


def ipc_objects() -> list[tuple[str, int, int]]:
    """(kind, id, owner uid) of every SysV IPC object in this IPC namespace."""
    out = []
    for kind, id_col, uid_col in (("shm", 1, 7), ("sem", 1, 4), ("msg", 1, 7)):
        try:
            with open(f"/proc/sysvipc/{kind}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > max(id_col, uid_col):
                out.append((kind, int(fields[id_col]), int(fields[uid_col])))
    return out


def remove_ipc(objects: list[tuple[str, int, int]]) -> None:
    for kind, ipc_id, _ in objects:
        if kind == "shm":
            _libc.shmctl(ipc_id, IPC_RMID, None)
        elif kind == "sem":
            _libc.semctl(ipc_id, 0, IPC_RMID)
        else:
            _libc.msgctl(ipc_id, IPC_RMID, None)


def sweep_as_uid(uid: int, kill: bool, ipc: list[tuple[str, int, int]]) -> None:
    """As `uid` (no capability needed, which a container does not give): kill every process
    of that uid (escaped grandchildren, fork bombs) and remove its SysV IPC objects."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            # Repeat: a process caught mid-fork can add a child after one pass. ESRCH means
            # nothing of this uid is left to signal (zombies still count, so bounded).
            for _ in range(100 if kill else 0):
                os.kill(-1, signal.SIGKILL)
                time.sleep(0.002)
        except ProcessLookupError:
            pass
        finally:
            try:
                remove_ipc([obj for obj in ipc if obj[2] == uid])
            finally:
                os._exit(0)
    os.waitpid(pid, 0)


def remove_tree(path: str) -> None:
    """Delete the folder `path` and all in it, without recursion and without following links.

    The candidate shaped this tree (issue 15: a few thousand nested folders made
    `shutil.rmtree` raise RecursionError and poisoned the worker), so: one directory fd open
    at a time, entries removed relative to it, subfolders entered by name and left by "..",
    and a stack of pending names instead of a call stack. Its processes are dead by now, so
    nothing moves underneath."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    pending: list[list[str]] = [[]]  # per level: subfolders still to empty
    entered: list[str] = []  # names from `path` down to the current folder
    try:
        while True:
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending[-1].append(entry.name)
                    else:
                        os.unlink(entry.name, dir_fd=fd)
            while not pending[-1]:
                if not entered:
                    os.close(fd)
                    fd = -1
                    os.rmdir(path)
                    return
                parent = os.open("..", flags, dir_fd=fd)
                os.close(fd)
                fd = parent
                pending.pop()
                os.rmdir(entered.pop(), dir_fd=fd)
            name = pending[-1].pop()
            child = os.open(name, flags, dir_fd=fd)
            os.close(fd)
            fd = child
            entered.append(name)
            pending.append([])
    finally:
        if fd >= 0:
            os.close(fd)


def remove_candidate_files(uid: int, folders: tuple[str, ...]) -> list[str]:
    """Delete what the candidate left in the shared temp dirs (only files owned by its uid),
    so one candidate cannot plant files for the next one served by this worker. Returns
    the paths it could not remove."""
    failed = []
    for folder in folders:
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
                        remove_tree(entry.path)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    failed.append(entry.path)
    return failed


def processes_of(uid: int) -> list[int]:
    """Live processes of `uid` visible here (this worker's PID namespace: a handful)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                info = os.stat(f"/proc/{name}")
            except OSError:
                continue
            if info.st_uid == uid:
                pids.append(int(name))
    return pids


def leftovers(uid: int, workdir: str, check_processes: bool, check_ipc: bool = True,
              unremoved: list[str] | None = None, folders: tuple[str, ...] = ()) -> list[str]:
    """What the candidate left behind after clean-up (empty when the worker is healthy).

    `unremoved`: files the clean-up already failed on (else `folders` are scanned);
    `check_ipc` False where no SysV object existed before the clean-up."""
    found = []
    if os.path.lexists(workdir):
        found.append(f"work dir {workdir} not removed")
    if unremoved is None:
        unremoved = []
        for folder in folders:
            try:
                with os.scandir(folder) as entries:
                    unremoved += [e.path for e in entries if e.stat(follow_symlinks=False).st_uid == uid]
            except OSError:
                continue
    if unremoved:
        found.append(f"{len(unremoved)} files of the candidate left, e.g. {unremoved[0]}")
    ipc = [obj for obj in ipc_objects() if obj[2] == uid] if check_ipc else []
    if ipc:
        found.append(f"{len(ipc)} SysV IPC objects of the candidate left")
    if check_processes:
        survivors = [pid for pid in processes_of(uid) if not is_zombie(pid)]
        if survivors:
            found.append(f"{len(survivors)} processes of the candidate still running")
    return found


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True
