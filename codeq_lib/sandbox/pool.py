"""The Sandbox: a pool of warm workers (either backend), a result cache, and batch execution.

    with make_sandbox("subprocess", workers=2, timeout_s=5.0) as sb:
        result = sb.run(code, task, tests)
        results = sb.run_batch([(code, task, tests), ...])   # parallel, order kept

Requests carry the test inputs only; expected values stay here and are compared by
`scoring.score_response` (DESIGN.md "Result comparison").

No candidate can crash the caller or lose another's result (issue 15): each `run` turns any
exception into that candidate's own "could_not_run"; a worker that reports it could not
clean up after a candidate, or that failed, is replaced before it serves another; and the
Sandbox refuses to start when a worker could not set up its isolation (network, filesystem,
pid, ipc), unless the caller opts out of the missing parts by name (`allow_unisolated`).
"""

from __future__ import annotations

import ast
import json
import queue
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Iterator, Sequence

from tqdm.auto import tqdm

from codeq_lib.sandbox.cache import ResultCache, cache_key
from codeq_lib.sandbox.channel import WorkerDied
from codeq_lib.sandbox.result import ExecResult, TestOutcome, could_not_run
from codeq_lib.sandbox.scoring import score_response
from codeq_lib.sandbox.static_checks import find_issues

# How long past the candidate's own timeout the parent waits for a worker before declaring
# it dead (the worker enforces the real deadline; this only catches a wedged worker).
WORKER_GRACE_S = 20.0
ISOLATIONS = ("network", "filesystem", "pid", "ipc")
LIMIT_KEYS = ("memory_mb", "file_size_mb", "nproc", "nofile", "max_output_bytes", "max_result_bytes")


def check_limits(limits: dict) -> None:
    """Unknown keys and values that are not positive numbers are errors naming the key."""
    for key, value in limits.items():
        if key not in LIMIT_KEYS:
            raise ValueError(f"limits: unknown key {key!r} (allowed: {list(LIMIT_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"limits: {key}={value!r} must be a positive number")


class SandboxIsolationError(RuntimeError):
    """A worker could not set up part of its isolation and the caller did not opt out of it."""


def check_isolation(hello: dict, allowed: set[str], backend: str) -> None:
    """Raise SandboxIsolationError naming each missing part, why, and how to opt out."""
    isolation = hello.get("isolation") or {}
    errors = hello.get("isolation_errors") or {}
    missing = [name for name in ISOLATIONS if not isolation.get(name) and name not in allowed]
    if missing:
        reasons = "; ".join(f"{name}: {errors.get(name, 'not reported by the worker')}" for name in missing)
        raise SandboxIsolationError(
            f"{backend} sandbox worker could not isolate candidates ({reasons}). Run as root (the "
            f"subprocess backend needs CAP_SYS_ADMIN for its namespaces), use backend='docker', or "
            f"opt out knowingly with allow_unisolated={missing!r} (allowed names: {list(ISOLATIONS)})")


def build_request(code: str, task, tests, limits: dict) -> dict:
    """The message a worker gets: inputs only, one JSON text per test (decoded fresh per test)."""
    return {
        "code": code,
        "entry_point": task.entry_point,
        "arg_types": task.arg_types,
        "return_type": task.return_type,
        "tests": [json.dumps({"args": t.args, "kwargs": t.kwargs}) for t in tests],
        "limits": limits,
    }


def precheck(code: Any, task, tests) -> str | None:
    """Why this candidate cannot be sent at all (not a string, bad task), else None."""
    if not isinstance(code, str):
        return f"code must be a string, got {type(code).__name__}"
    try:
        code.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: not text any file or hash can hold
        return f"code is not valid UTF-8 text ({exc.reason} at position {exc.start})"
    if task is None or not hasattr(task, "entry_point"):
        return "no task given for this candidate"
    if not isinstance(tests, (list, tuple)):
        return f"tests must be a list of TestCase, got {type(tests).__name__}"
    return None


def syntax_error_result(code: str, tests, backend: str) -> ExecResult | None:
    """Code that does not parse is the candidate's fault: status error, scored 0 (not run)."""
    try:
        ast.parse(code)
    except SyntaxError as exc:
        message = f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError) as exc:
        message = f"{type(exc).__name__}: {exc}"
    else:
        return None
    return ExecResult(status="error", passed=0, total=len(tests), backend=backend, error=message,
                      outcomes=[TestOutcome(status="not_run", expected=t.expected) for t in tests])


class Sandbox:
    """Runs candidates on a pool of warm workers; counts `executions` and `cache_hits`."""

    def __init__(self, backend, workers: int = 2, timeout_s: float = 5.0, limits: dict | None = None,
                 cache: bool = True, static_checks: bool = True, allow_unisolated=()):
        try:
            if workers < 1:
                raise ValueError(f"workers={workers}: must be at least 1")
            if timeout_s <= 0:
                raise ValueError(f"timeout_s={timeout_s}: must be positive")
            unknown = sorted(set(allow_unisolated) - set(ISOLATIONS))
            if unknown:
                raise ValueError(f"allow_unisolated={list(allow_unisolated)!r}: {unknown} not among {list(ISOLATIONS)}")
            check_limits(limits or {})
        except ValueError:
            backend.close()
            raise
        self.allow_unisolated = set(allow_unisolated) | set(getattr(backend, "opted_out", ()))
        self.backend = backend
        self.timeout_s = float(timeout_s)
        self.limits = {**(limits or {}), "timeout_s": self.timeout_s}
        self.cache = ResultCache() if cache else None
        self.static_checks = static_checks
        self.executions = 0
        self.cache_hits = 0
        self._lock = threading.Lock()
        self._idle: queue.Queue = queue.Queue()
        self._channels: list = []
        self.network_isolated = True
        try:
            for index in range(workers):
                channel = self._start(index)
                self._idle.put((index, channel))
        except BaseException:
            self.close()
            raise
        self.workers = workers

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        while self._channels:
            channel = self._channels.pop()
            try:
                channel.close()
            except Exception:
                pass
        self.backend.close()

    # -- execution -------------------------------------------------------------------------
    def _start(self, index: int):
        channel = self.backend.start_worker(index)
        self._channels.append(channel)
        try:
            check_isolation(channel.hello, self.allow_unisolated, self.backend.name)
        except SandboxIsolationError:
            self._channels.remove(channel)
            channel.close()
            raise
        self.network_isolated &= bool(channel.hello.get("network_isolated"))
        return channel

    def _execute(self, request: dict) -> dict:
        """Send to an idle worker. A worker that died, or failed before the candidate ran, is
        replaced and the request retried once; one that could not clean up after it (the
        response says `unhealthy`) is replaced after answering (issue 15 class 2)."""
        index, channel = self._idle.get()
        try:
            for attempt in range(2):
                try:
                    response = channel.request(request, self.timeout_s + WORKER_GRACE_S)
                except WorkerDied:
                    channel = self._replace(channel, index)
                    if attempt == 1:
                        raise
                    continue
                if "worker_error" in response and attempt == 0:
                    channel = self._replace(channel, index)
                    continue
                if response.get("unhealthy") or "worker_error" in response:
                    channel = self._replace(channel, index)
                return response
            raise AssertionError("unreachable")
        finally:
            self._idle.put((index, channel))

    def _replace(self, channel, index: int):
        try:
            channel.close()
        except Exception:
            pass
        if channel in self._channels:
            self._channels.remove(channel)
        return self._start(index)

    def run(self, code: str, task, tests: Sequence, tally: dict | None = None) -> ExecResult:
        """Run one candidate against `tests` (a list of TestCase) and score it here. `tally`
        (a dict) counts this call's "executions" and "cache_hits": the sandbox's own counters
        are shared by every search running at once.

        Never raises for a candidate: anything that goes wrong is that candidate's own
        "could_not_run", so a batch keeps every other result."""
        try:
            return self._run(code, task, tests, tally)
        except Exception as exc:
            total = len(tests) if isinstance(tests, (list, tuple)) else 0
            return could_not_run(total, f"sandbox failed on this candidate: {type(exc).__name__}: {exc}"[:2000],
                                 self.backend.name)

    def _run(self, code: str, task, tests: Sequence, tally: dict | None = None) -> ExecResult:
        name = self.backend.name
        problem = precheck(code, task, tests)
        if problem:
            return could_not_run(len(tests) if isinstance(tests, (list, tuple)) else 0, problem, name)
        tests = list(tests)
        findings = find_issues(code, task) if self.static_checks else []
        if not tests:
            return could_not_run(0, "no tests to run", name, findings)
        key = cache_key(code, task, tests)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                with self._lock:
                    self.cache_hits += 1
                    if tally is not None:
                        tally["cache_hits"] = tally.get("cache_hits", 0) + 1
                return hit
        result = syntax_error_result(code, tests, name)
        if result is None:
            with self._lock:
                self.executions += 1
                if tally is not None:
                    tally["executions"] = tally.get("executions", 0) + 1
            try:
                response = self._execute(build_request(code, task, tests, self.limits))
            except Exception as exc:  # a dead worker that could not be restarted: this run only
                return could_not_run(len(tests), f"sandbox worker failed: {type(exc).__name__}: {exc}", name, findings)
            if "worker_error" in response:
                return could_not_run(len(tests), response["worker_error"], name, findings)
            result = score_response(response, [t.expected for t in tests], task.compare or "exact",
                                    self.limits, name)
        result.network_isolated = self.network_isolated
        result.static_findings = findings
        if self.cache is not None and result.status != "timeout":
            # A timeout depends on the machine's load, not only on the program: never a
            # verdict to reuse (issue 15 class 8).
            self.cache.put(key, result)
        return result

    def run_batch(self, jobs: Sequence[tuple], progress: bool = False, tally: dict | None = None) -> list[ExecResult]:
        """Run many (code, task, tests) jobs in parallel across the workers; order is kept.
        Thread-safe: many searches share one sandbox, each with its own `tally` (see `run`)."""
        jobs = list(jobs)
        results: list = [None] * len(jobs)
        for index, result in self.run_iter(jobs, progress=progress, tally=tally):
            results[index] = result
        return results

    def run_iter(self, jobs: Sequence[tuple], progress: bool = False,
                 tally: dict | None = None) -> Iterator[tuple[int, ExecResult]]:
        """(index, result) for each job as it finishes, so a caller can keep results as they
        come (`codeq sandbox` writes each at once: a crash loses only the running ones)."""
        jobs = list(jobs)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self._run_job, job, tally): index for index, job in enumerate(jobs)}
            for future in tqdm(as_completed(futures), total=len(futures), desc=f"sandbox[{self.backend.name}]",
                               disable=not progress, leave=False):
                yield futures[future], future.result()

    def _run_job(self, job, tally: dict | None = None) -> ExecResult:
        try:
            code, task, tests = job
        except (TypeError, ValueError):
            return could_not_run(0, "each job must be a (code, task, tests) tuple", self.backend.name)
        return self.run(code, task, tests, tally)
