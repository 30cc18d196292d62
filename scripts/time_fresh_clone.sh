#!/usr/bin/env bash
# Time `make repro` on a fresh clone of this repository (empty DVC cache, no .venv): the
# wall time the README reports. Usage: scripts/time_fresh_clone.sh [DIR]   (default: codeq-fresh next to this checkout)
# DIR is deleted first. Needs the same machine set-up as `make repro` (../shared next to DIR).
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dir=${1:-$(dirname "$repo")/codeq-fresh}  # a sibling, so that ../shared resolves as here
rm -rf "$dir"
git clone -q "$repo" "$dir"
cd "$dir"
start=$(date +%s)
echo "fresh clone of $(git rev-parse --short HEAD) in $dir, start $(date -Is)"
make repro
echo "make repro wall_s=$(( $(date +%s) - start ))"
