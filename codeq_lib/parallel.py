"""Search several tasks at once: worker processes, each with its own policy and sandbox.

Why processes: decoding a small model on a CPU is bound by per-op overhead, so a second
torch thread in the same process barely helps (and thrashes when the other core is busy,
`stages.cpu_threads`), while a second process searching another task uses the second core
fully. Each worker loads the policy once (one torch thread) and opens its own sandbox; the
parent hands out tasks and writes every finished task to the run folder itself, so the run
log, its resume rule and the hidden-test count stay exactly as in a single process. Results
do not depend on the number of processes: every task's search is seeded from its own id
(`evaluate.task_seed`), never from the order tasks are run in.
"""

from __future__ import annotations

import multiprocessing
from functools import partial
from typing import Any, Callable, Iterable, Iterator

_WORKER: dict[str, Any] = {}


def _start_worker(policy_model: str, sandbox_config: Any, call_cache: str | None) -> None:
    """Pool initializer: open this worker's policy and sandbox (closed when the worker exits).
    A failure is kept and raised by the worker's first job: an initializer that raises would
    make multiprocessing.Pool respawn the worker forever instead of reporting it."""
    from multiprocessing.util import Finalize

    from codeq_lib.sandbox.config import sandbox_from_config
    from codeq_lib.stages import open_policy

    try:
        _WORKER["policy"] = open_policy(policy_model, call_cache=call_cache)
        sandbox = sandbox_from_config(sandbox_config)
        _WORKER["sandbox"] = sandbox.__enter__()
        Finalize(None, sandbox.__exit__, args=(None, None, None), exitpriority=10)
    except Exception as exc:  # reported by the first job, see above
        _WORKER["error"] = f"worker could not start ({type(exc).__name__}: {exc})"


def _checked_worker() -> dict[str, Any]:
    if "error" in _WORKER:
        raise RuntimeError(_WORKER["error"])
    return _WORKER


def _run_in_worker(fn: Callable, kwargs: dict[str, Any], task: Any) -> Any:
    worker = _checked_worker()
    return fn(task, worker["policy"], worker["sandbox"], **kwargs)


def _policy_id(_: Any) -> str | None:
    return getattr(_checked_worker()["policy"], "policy_id", None)


class TaskPool:
    """`processes` workers that run `fn(task, policy, sandbox, **kwargs)` for many tasks.

    Use as a context manager; `map` yields results in completion order."""

    def __init__(self, policy_model: str, sandbox_config: Any, processes: int, call_cache: str | None = None):
        if processes < 1:
            raise ValueError(f"processes: must be >= 1, got {processes}")
        self.processes = processes
        # spawn, not fork: the parent may hold torch's thread pool and a sandbox's workers
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(processes, initializer=_start_worker, initargs=(policy_model, sandbox_config, call_cache))
        try:
            self.policy_id = self._pool.map(_policy_id, [None])[0]
        except Exception:
            self._pool.terminate()
            raise

    def map(self, fn: Callable, tasks: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        yield from self._pool.imap_unordered(partial(_run_in_worker, fn, kwargs), list(tasks))

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> "TaskPool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._pool.terminate()
            self._pool.join()
