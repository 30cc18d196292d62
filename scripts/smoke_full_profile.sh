#!/usr/bin/env bash
# The full profile's whole stage graph (convert -> collect -> pairs -> train -> evaluate ->
# ablations -> results) at a tiny size on a CPU: a random Qwen2-architecture model, a few
# DebugBench tasks, budgets of 1-2 calls (codeq_lib/study/smoke.py says what is shrunk and what
# is kept). Runs `dvc repro` in a temporary copy of this checkout (git-tracked files; ../shared
# linked beside it), then checks that every table has the rows the profile asks for.
# The last line of stdout is JSON: {"strategies": [...], "ok": bool, ...}; exit 0 iff ok.
# KEEP_SMOKE_DIR=1 keeps the temporary folder (its path goes to stderr).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python)"
work="$(mktemp -d "${TMPDIR:-/tmp}/codeq-smoke-full.XXXXXX")"
cleanup() { if [ "${KEEP_SMOKE_DIR:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
repo="$work/main"
mkdir -p "$repo"
# a fresh copy of the tracked files, as a clone would have them
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$repo/")
ln -s "$(cd "$root/.." && pwd)/shared" "$work/shared"
cd "$repo"
export PATH="$(dirname "$python"):$PATH"
export CODEQ_CACHE_DIR="$root/.cache"   # the tiny model is built once and reused
"$python" -m codeq_lib.study.smoke params --profile profiles/full.yaml --out params.yaml
{
  git init -q && git -c user.name=smoke -c user.email=smoke@localhost add -A &&
    git -c user.name=smoke -c user.email=smoke@localhost commit -qm smoke
  start=$(date +%s)
  dvc repro
  echo "dvc repro: $(( $(date +%s) - start )) s" >&2
  # the pipeline's rounds have no pairs from a random model (codeq_lib/study/smoke.py): DPO with the
  # profile's train.dpo settings on the fixture pairs, on the tiny Qwen2 base the convert stage wrote
  "$python" -m codeq_lib.cli train --params params.yaml --pairs tests/data/pairs_tiny.jsonl \
    --base models/base --out "$work/dpo_check"
} 1>&2
"$python" -m codeq_lib.study.smoke check --params params.yaml --tables results/tables --dpo-run "$work/dpo_check"
