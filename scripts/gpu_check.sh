#!/usr/bin/env bash
# The full profile's GPU path on one CUDA machine, in under 10 minutes, with no network and no
# real weights (a randomly initialised model of Qwen2.5-Coder-7B-Instruct's shape):
#   1. the device: torch's CUDA build, the driver, the GPU (stops at once without CUDA, saying why);
#   2. decoding through the engine in bf16 at 1, 4, 16 and 32 calls in flight (bench/throughput.py --random-7b);
#   3. the same model in NF4 4-bit with a bf16 LoRA adapter, as `quantize_4bit: true` loads it,
#      decoded at 1, 8 and 32 calls in flight, and whether the adapter still acts (bench/gpu_check.py nf4);
#   4. DPO steps with CodeQ's LoRA on the 7B shape, bf16, fp32 log-probs (bench/train.py --random-7b).
# Writes bench/out/gpu_check.json; its last stdout line is the same JSON. Needs `pip install -e .[gpu]`
# and ~20 GB free disk (the random model is written once). Not run on this project's machines (no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
out=bench/out
mkdir -p "$out"
step() { echo "== $1" >&2; }

step "device"
"$python" - > "$out/gpu_check_device.json" <<'PY'
import json, torch
from codeq_lib.policy.models import nvidia_driver_version, resolve_device
device = resolve_device("cuda")  # raises with the reason (torch build, driver, CUDA 12 wheel index)
print(json.dumps({"torch": torch.__version__, "torch_cuda": torch.version.cuda, "driver": nvidia_driver_version(),
                  "gpu": torch.cuda.get_device_name(0), "gpus": torch.cuda.device_count(), "device": device,
                  "bf16": torch.cuda.is_bf16_supported()}))
PY
cat "$out/gpu_check_device.json" >&2

step "engine, bf16, 7B shape"
"$python" bench/throughput.py --random-7b --concurrency 4 16 32 --max-new-tokens 128 \
  --out "$out/throughput.json" >&2

step "engine, NF4 + bf16 adapter, 7B shape"
"$python" bench/gpu_check.py nf4 --concurrency 1 8 32 --max-new-tokens 128 --work-dir "${TMPDIR:-/tmp}" \
  --out "$out/gpu_check_nf4.json" >&2

step "DPO, LoRA, 7B shape"
"$python" bench/train.py --random-7b --steps 3 --out "$out/train_random_7b.json" >&2

"$python" - <<'PY'
import json, math
from pathlib import Path
out = Path("bench/out")
parts = {"device": "gpu_check_device.json", "engine_bf16": "throughput_random_7b.json",
         "engine_nf4": "gpu_check_nf4.json", "dpo": "train_random_7b.json"}
report = {name: json.loads((out / file).read_text()) for name, file in parts.items()}
losses = report["dpo"].get("losses") or []
report["ok"] = bool(report["engine_nf4"]["adapter_survives"] and losses and all(math.isfinite(x) for x in losses))
(out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
print(json.dumps(report))
PY
