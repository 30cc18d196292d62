"""Subprocess backend: warm `worker.py` processes on this host, talked to over pipes.

Each worker starts once (`python -E -s -S`: no site-packages, no environment), enters a
new network namespace, imports the preamble, then forks a confined child per candidate.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from codeq_lib.sandbox.channel import Channel

WORKER = Path(__file__).with_name("worker.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
# Never hidden, even when the current directory is inside one: the interpreter needs them.
SYSTEM_DIRS = ("/", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/dev", "/sys", "/opt")


def default_hidden_paths() -> list[str]:
    """Folders a candidate must not read: the repository's parent (task files, shared data
    beside the checkout), the current directory, /home and /root (the interpreter's own
    installation is bound back read-only by the worker)."""
    paths = {str(REPO_ROOT.parent if REPO_ROOT.parent != Path("/") else REPO_ROOT), os.getcwd(), "/home", "/root"}
    return sorted(p for p in paths if p not in SYSTEM_DIRS and not any(p.startswith(d + "/") for d in SYSTEM_DIRS))


class SubprocessBackend:
    name = "subprocess"

    def __init__(self, python: str | None = None, isolate_network: bool = True,
                 private_fs: bool = True, hide_paths: list[str] | None = None):
        self.python = python or sys.executable
        self.isolate_network = isolate_network
        self.private_fs = private_fs
        self.hide_paths = default_hidden_paths() if hide_paths is None else list(hide_paths)

    def start_worker(self, index: int) -> Channel:
        command = [self.python, "-E", "-s", "-S", str(WORKER)]
        if not self.isolate_network:
            command.append("--allow-network")
        if self.private_fs:
            command.append("--private-fs")
            for path in self.hide_paths:
                command += ["--hide", path]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)

        def close() -> None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        try:
            return Channel(proc.stdout.fileno(), proc.stdin.fileno(), close)
        except Exception:
            proc.kill()
            close()
            raise

    def close(self) -> None:
        """Nothing shared to release (each worker is closed through its channel)."""
