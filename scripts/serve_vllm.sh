#!/usr/bin/env bash
# Serve the policy of every round with vLLM, OpenAI-compatible, on one GPU: the base checkpoint
# as "base" and each round's adapter policy (models/round<r>: base + LoRA, unmerged) as
# "round<r>", LoRA applied per request (no merged copies). Adapters written later (the next
# round) are loaded at run time by the stages themselves (served_policy), hence
# VLLM_ALLOW_RUNTIME_LORA_UPDATING.
#
#   python -m venv .venv-vllm && .venv-vllm/bin/pip install vllm   # its own torch (README "GPU set-up")
#   scripts/serve_vllm.sh            # port 8000; then `server: http://127.0.0.1:8000/v1` in params
#
# Environment: VLLM (the vllm executable), BASE (models/base), PORT (8000), MAX_LORA_RANK (32,
# the profile's lora_r), EXTRA (more vllm serve flags, e.g. "--gpu-memory-utilization 0.85").
set -euo pipefail
cd "$(dirname "$0")/.."
VLLM=${VLLM:-.venv-vllm/bin/vllm}
BASE=${BASE:-models/base}
PORT=${PORT:-8000}
[ -x "$VLLM" ] || command -v "$VLLM" >/dev/null || { echo "serve_vllm: $VLLM not found (see the header)" >&2; exit 2; }
[ -f "$BASE/config.json" ] || { echo "serve_vllm: $BASE is not a model folder (run dvc repro convert)" >&2; exit 2; }
modules=()
for dir in models/round*/; do
  [ -f "$dir/codeq_policy.json" ] && modules+=("$(basename "$dir")=$dir")
done
args=(serve "$BASE" --served-model-name base --enable-lora --max-lora-rank "${MAX_LORA_RANK:-32}"
      --max-loras 4 --seed 0 --port "$PORT" --generation-config vllm)
[ ${#modules[@]} -gt 0 ] && args+=(--lora-modules "${modules[@]}")
export VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
# shellcheck disable=SC2086
exec "$VLLM" "${args[@]}" ${EXTRA:-}
