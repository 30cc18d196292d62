"""Sandboxed execution of candidate programs (issue 3; interfaces.md "Sandbox").

    from codeq_lib.sandbox import make_sandbox
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sb:
        result = sb.run(code, task, task.visible_tests)

Threat model, in short: candidates are untrusted. Each runs in a fresh fork of a warm
worker, as its own unprivileged uid, with rlimits (CPU, address space, file size, processes,
open files), a wall-clock deadline, a private work dir, no network (new network namespace,
or Docker's "none"), its own IPC namespace (or its SysV objects removed after it), a root
that holds only an allowlist of read-only system folders (the host worker's jail, or the
Docker image), a PID namespace that ends everything it started, an environment of four
variables, stdout and stderr truncated. Isolation that cannot be set up is refused unless
opted out of by name (issue 15). The child is never given the expected values: it only reports canonical
JSON of what the candidate returned, on a pipe whose records the parent validates, and the
parent compares. So a candidate that forges records, patches the harness or prints "all
passed" can at most claim values it could have returned itself (see tests/adversarial/).

`timeout_s` bounds one candidate's whole run (all its tests); tests finished before the
deadline keep their outcomes, the running one is "timeout", the rest "not_run".

Modules: `harness` (child side), `worker` (warm worker, fork per candidate), `jail` (the host
worker's namespaces and allowlisted root), `cleanup` (after each candidate, and the check
that nothing is left), `channel` (framing), `pool` (the Sandbox), `scoring` (trusted
comparison), `result`, `cache`, `static_checks`, `subprocess_backend`, `docker_backend`,
`cli` (`codeq sandbox`). Guarantees and backend differences: docs/sandbox.md.
"""

from __future__ import annotations

from codeq_lib.sandbox.pool import Sandbox, SandboxIsolationError
from codeq_lib.sandbox.result import ExecResult, TestOutcome
from codeq_lib.sandbox.scoring import values_equal

BACKENDS = ("subprocess", "docker")


def make_sandbox(backend: str = "subprocess", workers: int = 2, timeout_s: float = 5.0, *,
                 memory_mb: int = 1024, cache: bool = True, static_checks: bool = True,
                 limits: dict | None = None, allow_unisolated=(), **backend_options) -> Sandbox:
    """A started Sandbox (use it as a context manager so its workers are stopped).

    `limits` may set file_size_mb, nproc, nofile, max_output_bytes, max_result_bytes;
    `backend_options` go to the backend (subprocess: allow_paths; Docker: image, python,
    mem_limit, pids_limit). Raises SandboxIsolationError when a worker cannot set up its
    isolation, unless the missing parts are named in `allow_unisolated` (any of "network",
    "filesystem", "pid", "ipc"): candidates then run with less protection, knowingly.
    """
    limits = {"memory_mb": memory_mb, **(limits or {})}
    if backend == "subprocess":
        from codeq_lib.sandbox.subprocess_backend import SubprocessBackend

        impl = SubprocessBackend(**backend_options)
    elif backend == "docker":
        from codeq_lib.sandbox.docker_backend import DockerBackend

        impl = DockerBackend(**backend_options)
    else:
        raise ValueError(f"backend={backend!r} is not one of {list(BACKENDS)}")
    return Sandbox(impl, workers=workers, timeout_s=timeout_s, limits=limits, cache=cache,
                   static_checks=static_checks, allow_unisolated=allow_unisolated)


__all__ = ["make_sandbox", "Sandbox", "SandboxIsolationError", "ExecResult", "TestOutcome", "values_equal", "BACKENDS"]
