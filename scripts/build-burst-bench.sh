#!/usr/bin/env bash
# Builds native/bench/burst_bench (the per-packet path alone) and
# native/bench/table_ceiling (a forwarder that only keeps a flow table; see their
# headers) into native/bench/build/, with the addon's optimisation flags.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/compile-objects.sh
source scripts/lib/compile-objects.sh
# shellcheck source=lib/native-sources.sh
source scripts/lib/native-sources.sh

out_dir=native/bench/build
out="$out_dir/burst_bench"
ceiling="$out_dir/table_ceiling"
native_sources packet_path
sources=(native/bench/burst_bench.cc native/bench/table_ceiling.cc "${sources[@]}")
# libcrypto: AES for QUIC-LB connection IDs (tables/quic_lb.h).
read -r -a dpdk_cflags <<<"$(pkg-config --cflags libdpdk libcrypto)"
read -r -a dpdk_libs <<<"$(pkg-config --libs libdpdk libcrypto)"
mapfile -t headers < <(find native -name '*.h' -not -path '*/build/*')
headers+=("${BASH_SOURCE[0]}" scripts/lib/compile-objects.sh scripts/lib/native-sources.sh)
# Optimised as binding.gyp optimises the addon (-fno-tree-slp-vectorize: see there).
compile_flags=(-std=c++17 -O3 -fno-tree-slp-vectorize -g -Wall -Wextra -Wno-missing-field-initializers -Wno-unused-parameter
  -Inative "${dpdk_cflags[@]}")
if ! compile_objects g++ "$out_dir/obj" "${sources[@]}"; then
  echo "native bench build failed" >&2
  exit 1
fi
# objects is in source order (compile_objects names each object after its source).
worker_objects=("${objects[@]:2}")
ceiling_objects=("${objects[1]}" "$out_dir/obj/native_tables_flow_table.o" "$out_dir/obj/native_tables_flow_table_create.o")
if [[ "$compiled" == 0 ]] && up_to_date "$out" "${objects[0]}" "${worker_objects[@]}" &&
  up_to_date "$ceiling" "${ceiling_objects[@]}"; then
  echo "up to date: $out $ceiling"
  exit 0
fi
g++ "${objects[0]}" "${worker_objects[@]}" "${dpdk_libs[@]}" -lrte_net_ring -o "$out.tmp"
mv -f "$out.tmp" "$out"
g++ "${ceiling_objects[@]}" "${dpdk_libs[@]}" -o "$ceiling.tmp"
mv -f "$ceiling.tmp" "$ceiling"
echo "built $out $ceiling"
