"""Docker backend: long-lived containers (no network, memory and pids limits), one warm
worker in each, serving many candidates over a Unix socket in a bind-mounted folder.

No registry is reachable on the dev machines, so the default image is built locally on first
use: `docker import` of a tiny root filesystem (a few folders, symlinks and /etc files), with
the host's Python installation and /usr bind-mounted read-only. A real user can instead pass
`image="python:3.11-slim", python="python3", mount_host_python=False`.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from codeq_lib.sandbox.channel import Channel, WorkerDied

DEFAULT_IMAGE = "codeq-sandbox:local"
SANDBOX_DIR = Path(__file__).resolve().parent
CONTAINER_CODE = "/codeq_sandbox"
CONTAINER_IO = "/io"
LABEL = "codeq.sandbox"


def ensure_docker_engine() -> bool:
    """True when a Docker Engine answers; else run scripts/ensure_docker.sh (installs Debian's
    docker.io and starts dockerd when root) and ask again. For tests and CI set-up."""
    import subprocess

    import docker

    def answers() -> bool:
        try:
            client = docker.from_env()
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False

    if answers():
        return True
    script = Path(__file__).resolve().parents[2] / "scripts" / "ensure_docker.sh"
    if script.exists():
        subprocess.run(["bash", str(script)], check=False, timeout=600)
    return answers()


def host_python() -> tuple[str, str]:
    """(installation prefix, interpreter path) of the Python running this process."""
    prefix = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name in (version, "python3"):
        path = os.path.join(prefix, "bin", name)
        if os.path.exists(path):
            return prefix, path
    raise FileNotFoundError(f"no interpreter under {prefix}/bin (looked for {version}, python3)")


def _tar_add(tar: tarfile.TarFile, name: str, kind: bytes, mode: int = 0o755, target: str = "", data: bytes = b"") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, 0
    if kind == tarfile.SYMTYPE:
        info.linkname = target
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def rootfs_tarball() -> bytes:
    """A minimal root filesystem: mount points, the host's /bin-/lib symlinks, /etc/passwd."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        # /sbin stays a real folder: Docker mounts its init (tini) at /sbin/docker-init.
        for folder in ("usr", "tmp", "io", "codeq_sandbox", "proc", "sys", "dev", "etc", "root", "sbin"):
            _tar_add(tar, folder, tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755)
        for name in ("bin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                _tar_add(tar, name, tarfile.SYMTYPE, target=os.readlink(host))
            elif host.is_dir():
                _tar_add(tar, name, tarfile.DIRTYPE)
        _tar_add(tar, "etc/passwd", tarfile.REGTYPE, 0o644, data=b"root:x:0:0:root:/root:/bin/sh\n")
        _tar_add(tar, "etc/group", tarfile.REGTYPE, 0o644, data=b"root:x:0:\n")
    return buffer.getvalue()


def host_system_mounts() -> dict[str, dict]:
    """/usr, plus /bin, /lib... where they are real folders rather than symlinks into /usr."""
    mounts = {"/usr": {"bind": "/usr", "mode": "ro"}}
    for name in ("bin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_dir() and not host.is_symlink():
            mounts[str(host)] = {"bind": str(host), "mode": "ro"}
    return mounts


def ensure_image(client, image: str = DEFAULT_IMAGE) -> str:
    """Return the image id, importing the minimal root filesystem if `image` is missing."""
    import docker.errors

    try:
        return client.images.get(image).id
    except docker.errors.ImageNotFound:
        if image != DEFAULT_IMAGE:
            raise ValueError(f"docker image {image!r} is not present and no registry is assumed; "
                             f"build or pull it first, or use the default {DEFAULT_IMAGE!r}") from None
    repository, tag = image.split(":", 1)
    client.api.import_image_from_data(rootfs_tarball(), repository=repository, tag=tag)
    return client.images.get(image).id


class DockerBackend:
    name = "docker"

    def __init__(self, image: str = DEFAULT_IMAGE, python: str | None = None, mount_host_python: bool = True,
                 mem_limit: str = "2g", pids_limit: int = 256, start_timeout_s: float = 60.0):
        import docker

        self.client = docker.from_env()
        self.image = image
        ensure_image(self.client, image)
        self.mount_host_python = mount_host_python
        self.prefix, default_python = host_python()
        self.python = python or (default_python if mount_host_python else "python3")
        self.mem_limit, self.pids_limit = mem_limit, pids_limit
        self.start_timeout_s = start_timeout_s
        self._containers: list = []

    def _volumes(self, io_dir: str) -> dict[str, dict]:
        volumes = {str(SANDBOX_DIR): {"bind": CONTAINER_CODE, "mode": "ro"},
                   io_dir: {"bind": CONTAINER_IO, "mode": "rw"}}
        if self.mount_host_python:
            volumes.update(host_system_mounts())
            volumes[self.prefix] = {"bind": self.prefix, "mode": "ro"}
        return volumes

    def start_worker(self, index: int) -> Channel:
        io_dir = tempfile.mkdtemp(prefix=f"codeq-docker-{index}-")  # 0700; removed once connected
        container = self.client.containers.create(
            self.image,
            command=[self.python, "-E", "-s", "-S", f"{CONTAINER_CODE}/worker.py", "--listen", f"{CONTAINER_IO}/worker.sock"],
            network_mode="none", mem_limit=self.mem_limit, pids_limit=self.pids_limit,
            volumes=self._volumes(io_dir), tmpfs={"/tmp": "size=512m,mode=1777"}, read_only=True,
            init=True, auto_remove=True, security_opt=["no-new-privileges"], labels={LABEL: "1"},
            name=f"codeq-sandbox-{os.getpid()}-{index}-{uuid.uuid4().hex[:6]}",
        )
        self._containers.append(container)
        try:
            container.start()
            sock = self._connect(container, os.path.join(io_dir, "worker.sock"))
        except BaseException:
            self._remove(container)
            raise
        finally:
            # Connected (or failed): the socket file is no longer needed, so nothing is left
            # behind on the host even if this process is killed later.
            shutil.rmtree(io_dir, ignore_errors=True)

        def close() -> None:
            sock.close()
            self._remove(container)

        try:
            return Channel(sock.fileno(), sock.fileno(), close)
        except BaseException:
            close()
            raise

    def _connect(self, container, path: str) -> socket.socket:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(path):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(path)
                    return sock
                except OSError:
                    sock.close()
            try:
                container.reload()
            except Exception:  # auto-removed after exiting
                raise WorkerDied(f"sandbox container {container.name} exited before serving") from None
            if container.status in ("exited", "dead"):
                raise WorkerDied(f"sandbox container {container.name} exited before serving")
            time.sleep(0.05)
        raise WorkerDied(f"sandbox container {container.name} did not start within {self.start_timeout_s}s")

    def _remove(self, container) -> None:
        try:
            container.remove(force=True)
        except Exception:
            pass
        if container in self._containers:
            self._containers.remove(container)

    def close(self) -> None:
        for container in list(self._containers):
            self._remove(container)
        self.client.close()
