#!/usr/bin/env bash
# Builds the libFuzzer harnesses of native/fuzz/ with ASan and UBSan (clang) into
# native/fuzz/build/: parse_fuzz, local_reply_fuzz, packet_path_fuzz.
#   bash scripts/build-fuzzers.sh         only what is out of date
#   FORCE=1 bash scripts/build-fuzzers.sh everything
# scripts/fuzz.sh runs them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/compile-objects.sh
source scripts/lib/compile-objects.sh
# shellcheck source=lib/native-sources.sh
source scripts/lib/native-sources.sh

if ! command -v clang++ >/dev/null; then
  echo "clang++ not found: run scripts/setup.sh (Debian packages clang and libclang-rt-14-dev)" >&2
  exit 1
fi

out_dir=native/fuzz/build

# Each harness and the data-plane sources it links. packet_path_fuzz runs the real
# per-packet path, so it takes the worker and everything the worker calls, and
# port_setup.cc to make its ring port the way the data plane does.
native_sources packet
packet_sources="${sources[*]}"
native_sources packet_path
declare -A harness_sources=(
  [parse_fuzz]=""
  [local_reply_fuzz]="$packet_sources"
  [packet_path_fuzz]="${sources[*]}"
)

# -fsanitize=fuzzer on a compile adds the coverage instrumentation libFuzzer
# steers by, on a link its main(). UBSan reports abort (no recovery), so libFuzzer
# saves the input like any other crash.
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -Wall -Wextra -Wno-missing-field-initializers -Wno-unused-parameter)
# libcrypto: AES for QUIC-LB connection IDs (tables/quic_lb.h).
read -r -a dpdk_cflags <<<"$(pkg-config --cflags libdpdk libcrypto)"
read -r -a dpdk_libs <<<"$(pkg-config --libs libdpdk libcrypto)"

mapfile -t headers < <(find native -name '*.h' -not -path '*/build/*')
headers+=("${BASH_SOURCE[0]}" scripts/lib/compile-objects.sh scripts/lib/native-sources.sh)

compile_flags=("${flags[@]}" -Inative "${dpdk_cflags[@]}")
declare -A seen=()
sources=()
for harness in "${!harness_sources[@]}"; do
  for src in "native/fuzz/$harness.cc" ${harness_sources[$harness]}; do
    [[ -n "${seen[$src]:-}" ]] || sources+=("$src")
    seen[$src]=1
  done
done
if ! compile_objects clang++ "$out_dir/obj" "${sources[@]}"; then
  echo "fuzzer build failed" >&2
  exit 1
fi
declare -A object_of=()
for i in "${!sources[@]}"; do object_of[${sources[$i]}]=${objects[$i]}; done

for harness in "${!harness_sources[@]}"; do
  linked=()
  for src in "native/fuzz/$harness.cc" ${harness_sources[$harness]}; do linked+=("${object_of[$src]}"); done
  out="$out_dir/$harness"
  if up_to_date "$out" "${linked[@]}"; then
    echo "up to date: $out"
    continue
  fi
  clang++ "${flags[@]}" "${linked[@]}" "${dpdk_libs[@]}" -lrte_net_ring -o "$out.tmp"
  mv -f "$out.tmp" "$out"
  echo "built $out"
done
