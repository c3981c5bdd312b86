#!/usr/bin/env bash
# The whole suite. Test files run one at a time: each starts its own EAL (once
# per process) with worker lcores, and the CI machine has two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then set -- dist/test/*.test.js; fi
exec node --test --test-concurrency=1 --test-timeout=600000 "$@"
