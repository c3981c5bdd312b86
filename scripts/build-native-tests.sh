#!/usr/bin/env bash
# Builds the EAL-free native unit tests (doctest) into native/test/build/.
#   bash scripts/build-native-tests.sh             -> sluice-native-tests
#   SANITIZE=1 bash scripts/build-native-tests.sh  -> sluice-native-tests-asan
#   FORCE=1 rebuilds even when the binary is newer than every input.
# Only the pure sources are compiled in: the N-API files need Node, and nothing
# here may need hugepages, root or rte_eal_init.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/compile-objects.sh
source scripts/lib/compile-objects.sh

out_dir=native/test/build
sources=(native/test/*.cc native/maglev.cc native/local_reply.cc native/flow_table.cc native/encap.cc native/icmp_errors.cc
  native/ndp.cc native/encap6.cc native/icmpv6_errors.cc native/nat_pool.cc native/nat_steering_rules.cc native/neighbor_resolver.cc
  native/snapshot.cc native/snapshot_ipv6.cc)

flags=(-std=c++17 -O2 -g -Wall -Wextra)
out="$out_dir/sluice-native-tests"
if [[ "${SANITIZE:-0}" == "1" ]]; then
  flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  out="$out_dir/sluice-native-tests-asan"
fi

# DPDK's cflags bring -march and rte_config.h, so the code is compiled as the addon
# compiles it. The only DPDK library linked is librte_eal, for the CPU-flag query
# behind rte_hash_crc.h; nothing here calls rte_eal_init.
read -r -a dpdk_cflags <<<"$(pkg-config --cflags libdpdk)"

headers=(native/*.h native/test/*.h "${BASH_SOURCE[0]}" scripts/lib/compile-objects.sh)
compile_flags=("${flags[@]}" "${dpdk_cflags[@]}")
# One object per source, compiled in parallel: doctest's main alone takes half a
# minute under ASan, and it rarely changes.
if ! compile_objects g++ "$out_dir/obj-$(basename "$out")" "${sources[@]}"; then
  echo "native test build failed" >&2
  exit 1
fi
if [[ "$compiled" == 0 ]] && up_to_date "$out" "${objects[@]}"; then
  echo "up to date: $out"
  exit 0
fi
g++ "${flags[@]}" "${objects[@]}" -lrte_eal -o "$out.tmp"
mv -f "$out.tmp" "$out"
echo "built $out"
