"""Fixtures shared by the search, evaluation and table tests."""

from __future__ import annotations

import os

import pytest

# Nothing here may load from a model hub at run time: offline mode makes a hub lookup fail at
# once instead of after its connection retries (~45 s per test that tries one), and the
# notebooks' kernels and the pipelines' subprocesses inherit it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from codeq_lib.sandbox import make_sandbox  # noqa: E402 (after the environment is set)


@pytest.fixture(scope="module")
def sandbox():
    """A real subprocess sandbox, fresh per test module (so its cache counters start at zero)."""
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sb:
        yield sb


class BackgroundRun:
    """A command started now and waited for later; its output goes to files, not pipes (a full
    pipe would stall it while no one reads)."""

    def __init__(self, cmd: list[str], cwd, env: dict, folder):
        import subprocess
        from pathlib import Path

        self.folder = Path(folder)
        self.stdout, self.stderr = (self.folder / "stdout").open("w+"), (self.folder / "stderr").open("w+")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.stdout, stderr=self.stderr, text=True)

    def wait(self, timeout: float) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except Exception:
            self.proc.kill()
            raise
        self.stdout.seek(0)
        self.stderr.seek(0)
        return code, self.stdout.read(), self.stderr.read()


@pytest.fixture(scope="session")
def smoke_full_profile_run(tmp_path_factory):
    """`scripts/smoke_full_profile.sh` started in the background at the first request.

    The tiny pipeline (tests/test_pipeline.py) requests it before its own `dvc repro` when the
    smoke test is also selected, so the two end-to-end runs overlap: each is a chain of stage
    start-ups (kernel, imports, model load) that keeps about one core busy."""
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHON": sys.executable, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    run = BackgroundRun(["bash", str(root / "scripts" / "smoke_full_profile.sh")], root, env,
                        tmp_path_factory.mktemp("smoke-full-profile"))
    yield run
    if run.proc.poll() is None:
        run.proc.kill()
        run.proc.wait()
