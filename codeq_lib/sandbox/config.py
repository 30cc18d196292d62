"""Sandbox settings as a typed config (a `sandbox:` block in params.yaml, strict keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from codeq_lib.sandbox.docker_backend import DEFAULT_IMAGE


@dataclass
class SandboxConfig:
    backend: Literal["subprocess", "docker"] = field(default="subprocess", metadata={"help": "where candidates run: warm host workers or long-lived Docker containers"})
    workers: int = field(default=2, metadata={"help": "warm workers (containers for Docker) running candidates in parallel"})
    timeout_s: float = field(default=5.0, metadata={"help": "wall-clock limit per candidate (all its tests), seconds"})
    memory_mb: int = field(default=1024, metadata={"help": "address-space limit per candidate, MiB"})
    nproc: int = field(default=1, metadata={"help": "processes+threads a candidate may have; 1 = none besides itself (fastest); more uses a PID namespace per candidate"})
    file_size_mb: int = field(default=16, metadata={"help": "largest file a candidate may write in its work dir, MiB"})
    max_output_bytes: int = field(default=8192, metadata={"help": "stdout/stderr kept per candidate (the rest is counted and dropped)"})
    cache: bool = field(default=True, metadata={"help": "cache results by (code hash, tests hash)"})
    static_checks: bool = field(default=True, metadata={"help": "attach AST findings (forbidden imports, dunders, test lookup tables) to results"})
    docker_image: str = field(default=DEFAULT_IMAGE, metadata={"help": "Docker image; the default is built locally on first use"})
    docker_mem_limit: str = field(default="2g", metadata={"help": "memory limit per container"})
    docker_pids_limit: int = field(default=256, metadata={"help": "process limit per container"})
    allow_unisolated: list[str] = field(default_factory=list, metadata={"help": "isolation parts the sandbox may run without when they cannot be set up (network, filesystem, pid, ipc); empty = refuse to start (issue 15)"})


def sandbox_from_config(config: SandboxConfig):
    """A started Sandbox for `config` (use it as a context manager)."""
    from codeq_lib.sandbox import make_sandbox

    limits = {"nproc": config.nproc, "file_size_mb": config.file_size_mb, "max_output_bytes": config.max_output_bytes}
    options = {}
    if config.backend == "docker":
        options = {"image": config.docker_image, "mem_limit": config.docker_mem_limit, "pids_limit": config.docker_pids_limit}
    return make_sandbox(config.backend, workers=config.workers, timeout_s=config.timeout_s, memory_mb=config.memory_mb,
                        cache=config.cache, static_checks=config.static_checks, limits=limits,
                        allow_unisolated=config.allow_unisolated, **options)
