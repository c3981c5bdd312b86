#!/usr/bin/env bash
# Builds the EAL-free native unit tests (doctest) into native/test/build/.
#   bash scripts/build-native-tests.sh             -> sluice-native-tests
#   SANITIZE=1 bash scripts/build-native-tests.sh  -> sluice-native-tests-asan
#   FORCE=1 rebuilds even when the binary is newer than every input.
# The sources are native-sources.sh's `unit` list: no N-API (that needs Node),
# and nothing here may need hugepages, root or rte_eal_init.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/compile-objects.sh
source scripts/lib/compile-objects.sh
# shellcheck source=lib/native-sources.sh
source scripts/lib/native-sources.sh

out_dir=native/test/build
native_sources unit
sources=(native/test/*.cc native/test/*/*.cc "${sources[@]}")

flags=(-std=c++17 -O2 -g -Wall -Wextra)
out="$out_dir/sluice-native-tests"
if [[ "${SANITIZE:-0}" == "1" ]]; then
  flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  out="$out_dir/sluice-native-tests-asan"
fi

# DPDK's cflags bring -march and rte_config.h, so the code is compiled as the addon
# compiles it. DPDK's libraries are linked for what the unit list references
# (rte_hash, rte_malloc, the CPU-flag query behind rte_hash_crc.h); nothing here
# calls rte_eal_init. libcrypto: AES for QUIC-LB connection IDs (tables/quic_lb.h).
read -r -a dpdk_cflags <<<"$(pkg-config --cflags libdpdk libcrypto)"
read -r -a dpdk_libs <<<"$(pkg-config --libs libdpdk libcrypto)"

mapfile -t headers < <(find native -name '*.h' -not -path '*/build/*')
headers+=("${BASH_SOURCE[0]}" scripts/lib/compile-objects.sh scripts/lib/native-sources.sh)
compile_flags=("${flags[@]}" -Inative "${dpdk_cflags[@]}")
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
g++ "${flags[@]}" -Wl,--gc-sections "${objects[@]}" "${dpdk_libs[@]}" -o "$out.tmp"
mv -f "$out.tmp" "$out"
echo "built $out"
