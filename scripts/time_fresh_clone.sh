#!/usr/bin/env bash
# Time `make repro` on a fresh clone of this repository (empty DVC cache, no .venv): the
# wall time the README reports.
#   scripts/time_fresh_clone.sh [DIR]            clone into DIR (default: codeq-fresh next to this
#                                                checkout; deleted first) and run `make repro`
#   scripts/time_fresh_clone.sh --resume [DIR]   run `make repro` again in DIR, e.g. after the run
#                                                was killed (every sampling stage resumes its tasks)
# Each invocation appends `start end wall_s commit` to DIR/.repro_times; the total over the
# invocations is printed last. Needs the same machine set-up as `make repro` (../shared next to DIR).
set -euo pipefail
resume=0
if [ "${1:-}" = "--resume" ]; then resume=1; shift; fi
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dir=${1:-$(dirname "$repo")/codeq-fresh}  # a sibling, so that ../shared resolves as here
if [ "$resume" = 0 ]; then
  rm -rf "$dir"
  git clone -q "$repo" "$dir"
elif [ ! -d "$dir/.git" ]; then
  echo "time_fresh_clone.sh: --resume: $dir is not a clone made by this script" >&2
  exit 2
fi
cd "$dir"
start=$(date +%s)
echo "$( [ "$resume" = 1 ] && echo resumed || echo fresh ) clone of $(git rev-parse --short HEAD) in $dir, start $(date -Is)"
status=0
make repro || status=$?
end=$(date +%s)
echo "$start $end $(( end - start )) $(git rev-parse --short HEAD) exit=$status" >> .repro_times
echo "make repro wall_s=$(( end - start )) (exit $status); over $(wc -l < .repro_times) invocation(s): total_wall_s=$(awk '{s += $3} END {print s}' .repro_times)"
exit "$status"
