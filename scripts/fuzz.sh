#!/usr/bin/env bash
# Runs every libFuzzer harness of native/fuzz/ for a bounded time, each on a copy
# of its seed corpus (the committed corpus never grows).
#   bash scripts/fuzz.sh [SECONDS]      total time over all harnesses (default 60)
#   FUZZERS="packet_path_fuzz" bash scripts/fuzz.sh 600
# Exits non-zero when any harness crashed, hung, leaked, ran out of memory or made
# a sanitizer report, and prints the report and the reproducer; 0 otherwise.
# Reproduce a failure: native/fuzz/build/<harness> <reproducer file>
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

total_seconds="${1:-60}"
if ! [[ "$total_seconds" =~ ^[0-9]+$ ]] || [[ "$total_seconds" -lt 3 ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS >= 3]" >&2
  exit 2
fi
read -r -a fuzzers <<<"${FUZZERS:-parse_fuzz local_reply_fuzz packet_path_fuzz}"

bash scripts/build-fuzzers.sh >/dev/null

# Shares of the time: the whole packet path has the most to explore.
declare -A weight=([parse_fuzz]=1 [local_reply_fuzz]=1 [packet_path_fuzz]=2)
weights=0
for f in "${fuzzers[@]}"; do weights=$((weights + ${weight[$f]:-1})); done

# Leaks: on (ASan's default). libFuzzer checks after any input that malloc'ed more
# than it freed, and the per-packet path never calls malloc, so a report is a real
# leak in the code under test or the harness; and it found none at exit, where the
# EAL's own allocations stay reachable from its globals. LSan cannot see DPDK's
# memory (mbufs, rte_malloc): packet_path_fuzz counts the pool's mbufs itself.
# Memory: libFuzzer's default 2048 MB RSS limit (also the per-allocation limit).
# packet_path_fuzz holds the EAL's 256 MB (-m 256, ordinary memory) and ASan's
# quarantine (256 MB) on top of the harness; 2048 MB leaves room for both, and an
# input that makes the path allocate without bound still trips it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

work="$(mktemp -d /tmp/sluice-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
artifacts_root=native/fuzz/build/artifacts

failed=()
for f in "${fuzzers[@]}"; do
  binary="native/fuzz/build/$f"
  seconds=$((total_seconds * ${weight[$f]:-1} / weights))
  [[ "$seconds" -ge 1 ]] || seconds=1
  corpus="$work/$f"
  mkdir -p "$corpus"
  cp native/fuzz/corpus/"$f"/* "$corpus"/
  artifacts="$artifacts_root/$f"
  rm -rf "$artifacts"
  mkdir -p "$artifacts"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$artifacts/")
  [[ "$f" == packet_path_fuzz ]] && options+=(-max_len=8192 -use_value_profile=1)
  log="$work/$f.log"
  echo "fuzz: $f for ${seconds}s"
  status=0
  "$binary" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
  # A sanitizer report that somehow did not end the run still fails it.
  reported=0
  grep -qE "ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|invariant violated" "$log" && reported=1
  reproducers=("$artifacts"/*)
  [[ -e "${reproducers[0]}" ]] || reproducers=()
  if [[ "$status" != 0 || "$reported" == 1 || "${#reproducers[@]}" -gt 0 ]]; then
    echo "fuzz: $f FAILED (exit $status)"
    # The report starts at the sanitizer or invariant message; keep the stats.
    start="$(grep -nE "^==[0-9]+==|runtime error:|invariant violated|ERROR: libFuzzer|ALARM: working on the last" "$log" | head -1 | cut -d: -f1)"
    tail -n +"${start:-1}" "$log" | head -150
    for r in "${reproducers[@]}"; do
      echo "fuzz: reproducer $root/$r"
      echo "fuzz: reproduce with: $binary $r"
    done
    failed+=("$f")
  else
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' ' | sed "s/^/fuzz: $f ok: /"
    echo
    rmdir "$artifacts"
  fi
done

if [[ "${#failed[@]}" -gt 0 ]]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#fuzzers[@]} harnesses, ${total_seconds}s, no crash, hang, leak or sanitizer report"
