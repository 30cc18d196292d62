"""Subprocess backend: warm `worker.py` processes on this host, talked to over pipes.

Each worker starts once (`python -E -s -S`, no site-packages, and a clean minimal
environment: nothing of the scorer's, secrets included, reaches it), jails itself (new
mount, network, IPC and PID namespaces; a root holding only an allowlist of read-only
system folders and the Python installation; see worker.py), imports the preamble, then
forks a confined child per candidate. Setting that up needs root (CAP_SYS_ADMIN); where it
fails the Sandbox refuses to start unless the missing parts are opted out by name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codeq_lib.sandbox.channel import Channel

WORKER = Path(__file__).with_name("worker.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
# The worker's whole environment (issue 15 class 4: it used to inherit the scorer's).
WORKER_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class SubprocessBackend:
    name = "subprocess"

    def __init__(self, python: str | None = None, isolate_network: bool = True,
                 private_fs: bool = True, allow_paths: list[str] | None = None):
        """`allow_paths`: extra host folders candidates may read (read-only), beside /usr, the
        /bin and /lib links and the Python installation; nothing else of the host is visible."""
        self.python = python or sys.executable
        self.isolate_network = isolate_network
        self.private_fs = private_fs
        self.allow_paths = list(allow_paths or [])
        # Turning a part off is opting out of it by name (the Sandbox checks the rest); without
        # its own root the worker has no private /proc either, so that is the pid part too.
        self.opted_out = ({"network"} if not isolate_network else set()) | ({"filesystem", "pid"} if not private_fs else set())

    def start_worker(self, index: int) -> Channel:
        command = [self.python, "-E", "-s", "-S", str(WORKER)]
        if not self.isolate_network:
            command.append("--allow-network")
        if self.private_fs:
            command.append("--private-fs")
            for path in self.allow_paths:
                command += ["--allow", path]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True, env=WORKER_ENV, cwd="/")

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
