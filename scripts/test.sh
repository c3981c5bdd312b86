#!/usr/bin/env bash
# The test suite, by tier (test/<tier>/*.test.ts, compiled to dist/test/<tier>/):
#
#   unit       pure TypeScript and the EAL-free native binaries: files in parallel
#   api        the REST API through inject() on a real data plane
#   dataplane  tests that start the EAL
#   system     root, network namespaces, daemons, the demo, fuzzers, sanitizers
#
# Every file of api, dataplane and system starts its own EAL (once per process)
# with worker lcores, and the CI machine has two cores: those run one at a time.
#
#   bash scripts/test.sh                        every tier, in the order above
#   bash scripts/test.sh --tier unit            only the named tier(s); repeatable,
#   bash scripts/test.sh --tier unit,api          or comma-separated
#   bash scripts/test.sh dist/test/unit/config.test.js ...   just those files, one at a time
#
# Other arguments starting with - go to node (in the --option=value form). Every
# tier runs even when one before it failed; each ends with node's own closing
# lines (# pass N, # fail N) and a one-line summary, and the exit status is
# non-zero if any tier failed. An unknown tier is exit 2. A file under test/
# outside the tier folders, test/helpers/ and test/fixtures/ is an error: it
# would never run.
set -euo pipefail
cd "$(dirname "$0")/.."

TIERS=(unit api dataplane system)
TIMEOUT=--test-timeout=600000

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }
die_usage() { echo "scripts/test.sh: $*" >&2; exit 2; }

wanted=()
files=()
node_opts=()
add_tiers() {
  local t known
  [ -n "$1" ] || die_usage "--tier needs a tier name: ${TIERS[*]}"
  IFS=, read -r -a list <<<"$1"
  for t in "${list[@]}"; do
    known=0
    for k in "${TIERS[@]}"; do [ "$t" = "$k" ] && known=1; done
    [ "$known" = 1 ] || die_usage "unknown tier '$t' (tiers: ${TIERS[*]})"
    wanted+=("$t")
  done
}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tier) [ "$#" -ge 2 ] || die_usage "--tier needs a tier name: ${TIERS[*]}"; add_tiers "$2"; shift 2 ;;
    --tier=*) add_tiers "${1#--tier=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) node_opts+=("$1"); shift ;;
    *) files+=("$1"); shift ;;
  esac
done
if [ "${#wanted[@]}" -gt 0 ] && [ "${#files[@]}" -gt 0 ]; then
  die_usage "give tiers or test files, not both"
fi

# Every test file is in a tier folder, or it would never run.
stray=()
while IFS= read -r f; do
  case "$f" in
    test/helpers/*.test.ts|test/fixtures/*.test.ts) stray+=("$f") ;;
    test/helpers/*|test/fixtures/*) ;;
    test/unit/*/*|test/api/*/*|test/dataplane/*/*|test/system/*/*) [[ "$f" == *.ts ]] && stray+=("$f") ;;
    test/unit/*.test.ts|test/api/*.test.ts|test/dataplane/*.test.ts|test/system/*.test.ts) ;;
    test/unit/*.ts|test/api/*.ts|test/dataplane/*.ts|test/system/*.ts) stray+=("$f") ;;
    test/*/*) [[ "$f" == *.ts ]] && stray+=("$f") ;;
    *) stray+=("$f") ;;
  esac
done < <(find test -type f | sort)
if [ "${#stray[@]}" -gt 0 ]; then
  {
    echo "scripts/test.sh: these files under test/ belong to no tier and would never run:"
    printf '  %s\n' "${stray[@]}"
    echo "Tests go in test/{$(IFS=,; echo "${TIERS[*]}")}/NAME.test.ts; shared code in test/helpers/, packet tables in test/fixtures/."
  } >&2
  exit 1
fi

# node's closing lines go to stdout; keep a copy to summarise from.
log_dir=$(mktemp -d /tmp/sluice-test.XXXXXX)
trap 'rm -rf "$log_dir"' EXIT
reporter=(--test-reporter=tap)
for o in "${node_opts[@]+"${node_opts[@]}"}"; do
  case "$o" in --test-reporter*) reporter=() ;; esac
done

summaries=()
failed=0
total_pass=0
total_fail=0
# run LABEL CONCURRENCY FILE...
run() {
  local label=$1 concurrency=$2
  shift 2
  local log="$log_dir/${label// /-}.log" start=$SECONDS status pass fail cancelled verdict
  echo "== $label: $# file(s), --test-concurrency=$concurrency"
  set +e
  node --test "--test-concurrency=$concurrency" "$TIMEOUT" "${reporter[@]+"${reporter[@]}"}" \
    "${node_opts[@]+"${node_opts[@]}"}" "$@" | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  count() { grep -aE "^(# |ℹ )$1 [0-9]+$" "$log" | tail -n 1 | grep -oE '[0-9]+$' || echo '?'; }
  pass=$(count pass)
  fail=$(count fail)
  cancelled=$(count cancelled)
  [ "$pass" = '?' ] || total_pass=$((total_pass + pass))
  [ "$fail" = '?' ] || total_fail=$((total_fail + fail))
  verdict=ok
  if [ "$status" -ne 0 ] || [ "$pass" = '?' ] || [ "$fail" != 0 ]; then
    verdict="FAILED (exit $status)"
    failed=1
  fi
  summaries+=("$label: $verdict; pass $pass, fail $fail, cancelled $cancelled; $# file(s) in $((SECONDS - start)) s")
  echo "${summaries[-1]}"
}

if [ "${#files[@]}" -gt 0 ]; then
  for i in "${!files[@]}"; do
    # A source path runs its compiled file.
    case "${files[$i]}" in
      test/*.test.ts) files[$i]="dist/${files[$i]%.ts}.js" ;;
    esac
  done
  run files 1 "${files[@]}"
else
  [ "${#wanted[@]}" -gt 0 ] || wanted=("${TIERS[@]}")
  for tier in "${TIERS[@]}"; do
    selected=0
    for w in "${wanted[@]}"; do [ "$w" = "$tier" ] && selected=1; done
    [ "$selected" = 1 ] || continue
    # The tier's files from the source tree (node 20 expands no globs), compiled.
    tier_files=()
    missing=()
    for src in test/"$tier"/*.test.ts; do
      [ -e "$src" ] || continue
      js="dist/${src%.ts}.js"
      if [ -e "$js" ]; then tier_files+=("$js"); else missing+=("$src"); fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      printf 'scripts/test.sh: not compiled (npx tsc -p tsconfig.json): %s\n' "${missing[@]}" >&2
      summaries+=("tier $tier: FAILED; ${#missing[@]} of its files not compiled, nothing run")
    elif [ "${#tier_files[@]}" -eq 0 ]; then
      summaries+=("tier $tier: FAILED; no test files in test/$tier/")
    fi
    if [ "${#missing[@]}" -gt 0 ] || [ "${#tier_files[@]}" -eq 0 ]; then
      echo "${summaries[-1]}" >&2
      failed=1
      continue
    fi
    if [ "$tier" = unit ]; then run "tier $tier" 2 "${tier_files[@]}"; else run "tier $tier" 1 "${tier_files[@]}"; fi
  done
fi

echo "== summary"
printf '%s\n' "${summaries[@]}"
# One closing line over every tier, for whoever reads only the last one.
echo "tests: $total_pass passed, $total_fail failed"
exit "$failed"
