#!/usr/bin/env bash
# `make bench`: brings the lab up at its scale option and runs every module benchmark
# (bench/<module>/run.py). Each prints medians and ratios against a baseline measured in the
# same run and writes bench/results/<module>.json. Speed is never asserted in tests.
#   bench/run.sh [module ...]
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
mkdir -p bench/results
python tests/lab/lab.py up --scale || exit 1
rc=0
if [ $# -eq 0 ]; then set -- $(ls -d bench/*/run.py 2>/dev/null | xargs -n1 dirname | xargs -n1 basename); fi
for module in "$@"; do
  printf '\n=== bench %s ===\n' "$module"
  python "bench/$module/run.py" || rc=1
done
exit $rc
