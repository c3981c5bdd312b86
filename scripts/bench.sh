#!/usr/bin/env bash
# `npm run bench`: set-up if needed, then the benchmarks, which write
# BENCHMARKS.md and bench-results.json at the repository root. Arguments go to
# dist/tools/bench/main.js (--flows 1024,1048576 --sweep 65536,262144,4194304 --seconds 5 --new-flows N
# --repeat R --workers N --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
exec node dist/tools/bench/main.js "$@"
