"""Many task searches at once: threads inside a process, and optionally several processes.

**Threads, one engine per process.** A search is plain sequential code (select, expand,
run, back up) that blocks in two places: `policy.sample` and `sandbox.run_batch`. Run each
search in its own thread and both blocking points become batching points: the policy's
engine (`codeq_lib.engine.loop`) decodes the rows of every waiting call in one batch, and
the sandbox pool executes one search's candidates while the others decode. Threads keep
every strategy's code, counters and seeds exactly as they are (asyncio would have meant
rewriting each strategy as coroutines; generators the same with more ceremony), and the
GIL is not the bottleneck: the engine thread spends its time in torch ops that release it,
and the sandbox's work is in child processes. Results do not depend on the concurrency:
each search is seeded from its task id, and the engine gives each call's rows exactly what
they would get alone (tests/test_concurrency.py).

**Processes** (`processes` > 1) each load their own policy and engine, open their own
sandbox, and run `concurrency` searches at once; the parent hands out tasks (a worker takes
one only when it has a free thread) and writes every finished task itself, so the run log,
its resume rule and the hidden-test count stay exactly as in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

POLL_S = 1.0  # how often a waiting parent checks that its workers live (and workers their parent)


def run_concurrently(fn: Callable[[Any], Any], items: Iterable[Any], concurrency: int) -> Iterator[Any]:
    """`fn(item)` for every item, up to `concurrency` at once in threads; results in completion
    order. Items are started in order and only as slots free up, so a killed run has started
    few more tasks than it finished. An exception stops the run and is raised here."""
    if concurrency < 1:
        raise ValueError(f"concurrency: must be >= 1, got {concurrency}")
    items = iter(items)
    if concurrency == 1:
        for item in items:
            yield fn(item)
        return
    executor = ThreadPoolExecutor(concurrency, thread_name_prefix="codeq-search")
    try:
        pending = {executor.submit(fn, item) for _, item in zip(range(concurrency), items)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                for item in items:
                    pending.add(executor.submit(fn, item))
                    break
                yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class LocalPool:
    """`concurrency` searches at once in this process, on one policy and one sandbox."""

    processes = 1

    def __init__(self, policy: Any, sandbox: Any, concurrency: int = 1):
        if concurrency < 1:
            raise ValueError(f"concurrency: must be >= 1, got {concurrency}")
        self.policy, self.sandbox, self.concurrency = policy, sandbox, concurrency
        self.policy_id = getattr(policy, "policy_id", None)

    def map(self, fn: Callable, tasks: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        yield from run_concurrently(lambda task: fn(task, self.policy, self.sandbox, **kwargs), tasks, self.concurrency)


def _watch_parent(parent: int) -> None:
    """A worker whose parent died (killed mid-run) exits instead of waiting for jobs forever."""
    import time

    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc))}")


def _worker_main(policy_model: str, sandbox_config: Any, call_cache: str | None, concurrency: int,
                 policy_options: dict[str, Any], jobs: Any, results: Any, parent: int) -> None:
    """One worker process: open the policy and sandbox, then run jobs `concurrency` at a time."""
    from codeq_lib.sandbox.config import sandbox_from_config
    from codeq_lib.study.policies import open_policy

    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        policy = open_policy(policy_model, call_cache=call_cache, **policy_options)
        sandbox = sandbox_from_config(sandbox_config).__enter__()
    except Exception as exc:
        results.put(("error", None, RuntimeError(f"worker could not start ({type(exc).__name__}: {exc})")))
        return
    results.put(("ready", None, getattr(policy, "policy_id", None)))
    free = threading.Semaphore(concurrency)
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="codeq-search") as executor:
            while True:
                free.acquire()  # take a job only with a free thread: the other workers get the rest
                job = jobs.get()
                if job is None:
                    break
                index, fn, kwargs, task = job

                def report(future, index=index):
                    try:
                        results.put(("ok", index, future.result()))
                    except BaseException as exc:
                        results.put(("error", index, _picklable(exc)))
                    finally:
                        free.release()

                executor.submit(fn, task, policy, sandbox, **kwargs).add_done_callback(report)
    finally:
        sandbox.__exit__(None, None, None)
        close = getattr(policy, "close", None)
        if close is not None:
            close()


class TaskPool:
    """`processes` worker processes, each running `concurrency` searches `fn(task, policy,
    sandbox, **kwargs)` at once. Use as a context manager; `map` yields results in
    completion order; a job's exception is raised in the parent."""

    def __init__(self, policy_model: str, sandbox_config: Any, processes: int, call_cache: str | None = None,
                 concurrency: int = 1, policy_options: dict[str, Any] | None = None):
        if processes < 1:
            raise ValueError(f"processes: must be >= 1, got {processes}")
        if concurrency < 1:
            raise ValueError(f"concurrency: must be >= 1, got {concurrency}")
        self.processes, self.concurrency = processes, concurrency
        # spawn, not fork: the parent may hold torch's thread pool and a sandbox's workers
        context = multiprocessing.get_context("spawn")
        self._jobs, self._results = context.Queue(), context.Queue()
        self._workers = [context.Process(target=_worker_main, daemon=True,
                                         args=(policy_model, sandbox_config, call_cache, concurrency, policy_options or {}, self._jobs,
                                               self._results, os.getpid()))
                         for _ in range(processes)]
        for worker in self._workers:
            worker.start()
        try:
            hellos = [self._receive() for _ in self._workers]
        except BaseException:
            self.terminate()
            raise
        self.policy_id = hellos[0][2]

    def _receive(self) -> tuple:
        while True:
            try:
                message = self._results.get(timeout=POLL_S)
            except queue.Empty:
                dead = [w.exitcode for w in self._workers if w.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"a worker process died (exit code {dead[0]})") from None
                continue
            if message[0] == "error":
                raise message[2]
            return message

    def map(self, fn: Callable, tasks: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        tasks = list(tasks)
        for index, task in enumerate(tasks):
            self._jobs.put((index, fn, kwargs, task))
        for _ in tasks:
            yield self._receive()[2]

    def close(self) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join()

    def terminate(self) -> None:
        for worker in self._workers:
            worker.terminate()
        for worker in self._workers:
            worker.join()

    def __enter__(self) -> "TaskPool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()
