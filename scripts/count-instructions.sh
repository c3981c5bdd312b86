#!/usr/bin/env bash
# Instructions per packet of the per-packet path (sluice::ProcessBurst and the tx
# flush), counted by callgrind on native/bench/burst_bench: the same count on
# every run, however busy the machine, so a change to the data path can be
# measured by it where Mpps would drown in noise.
#   bash scripts/count-instructions.sh [burst_bench arguments...]
#   e.g. bash scripts/count-instructions.sh --mode tunnel --offload
#        bash scripts/count-instructions.sh --mode nat --replies --flows 1048576 --rounds 2
# CACHE_SIM=1 also simulates the caches and adds data-cache misses per packet
# (first level and last level; callgrind's model, sized from the host): a
# deterministic stand-in for memory traffic, several times slower to run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/build-burst-bench.sh >/dev/null
command -v valgrind >/dev/null || { echo "valgrind not found (Debian package valgrind)" >&2; exit 1; }

flows=1024 rounds=100 per_flow=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --flows) flows=${args[$((i + 1))]} ;;
    --rounds) rounds=${args[$((i + 1))]} ;;
    --replies) per_flow=2 ;;  # nat: each flow's packet and the backend's reply
  esac
done
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cache_sim=()
[[ "${CACHE_SIM:-0}" == "1" ]] && cache_sim=(--cache-sim=yes)
valgrind --tool=callgrind "${cache_sim[@]}" --callgrind-out-file="$out/cg" --collect-atstart=no \
  --toggle-collect='sluice::ProcessBurst*' --toggle-collect='rte_eth_tx_buffer_flush*' \
  native/bench/build/burst_bench --rounds "$rounds" "$@" >"$out/stdout" 2>"$out/stderr" || {
  cat "$out/stderr" >&2
  exit 1
}
total=$(grep -m1 '^summary:' "$out/cg" | awk '{print $2}')
# Round 0 (the inserts) is counted too: every round sends each flow once (twice with --replies).
packets=$((flows * (rounds + 1) * per_flow))
misses=""
if [[ ${#cache_sim[@]} -gt 0 ]]; then
  # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
  misses=$(grep -m1 '^summary:' "$out/cg" | awk -v p="$packets" \
    '{printf ",\"d1MissesPerPacket\":%.2f,\"llMissesPerPacket\":%.3f", ($6 + $7) / p, ($9 + $10) / p}')
fi
echo "{\"args\":\"$*\",\"instructions\":$total,\"packets\":$packets,\"instructionsPerPacket\":$(awk "BEGIN{printf \"%.1f\", $total/$packets}")$misses}"
