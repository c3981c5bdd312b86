#!/usr/bin/env bash
# Idempotent set-up, run before `npm start` and `npm test`: Debian packages,
# 2 MiB hugepages and hugetlbfs, npm ci, the addon, the TypeScript and the native
# unit tests. Each step runs only when something it produces is missing or stale.
#   bash scripts/setup.sh [--quiet] [--run-only]
#   --run-only            what running needs (`npm start`): no test or benchmark
#                         tools (compilers for fuzzers, scapy, tshark, valgrind,
#                         testpmd) and no native unit tests
#   SLUICE_HUGEPAGES_MB   hugepage memory to reserve (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
run_only=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --run-only) run_only=1 ;;
    *) echo "setup: unknown option $arg (usage: setup.sh [--quiet] [--run-only])" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }
note() { echo "setup: $*" >&2; }

# To build and run: DPDK's headers and libraries (libdpdk.pc requires libpcap),
# node-gyp's toolchain, the test bed's ip and ethtool, dpdk-devbind.py,
# gobgpd, the BGP speaker that announces VIPs (docs/bgp.md), and frr, the
# router of `npm start -- --nodes N` (docs/tier.md): npm's prestart cannot see
# --nodes, so `npm start` installs it either way. The test bed runs its own
# zebra and bgpd with their own files; Debian's frr.service (zebra, staticd,
# watchfrr, no bgpd) starts on install on a host booted with systemd.
# libssl-dev: libcrypto's AES for QUIC-LB connection IDs (tables/quic_lb.h).
packages=(libdpdk-dev dpdk pkg-config build-essential python3 libpcap-dev libssl-dev iproute2 ethtool gobgpd frr)
# To test and benchmark: doctest (native unit tests), packet tools for golden
# and af_packet tests, clang for fuzzers and sanitizers, valgrind for
# instruction counts, dpdk-dev for testpmd, chromium for the dashboard's
# browser tests (driven by puppeteer-core, which downloads no browser),
# python3-cryptography for the test bed's QUIC-LB encoder (tools/testbed/quic_lb.py),
# ngtcp2's example HTTP/3 client and server (gtlsclient, gtlsserver) and openssl
# for the server's certificate: a real QUIC connection that migrates
# (test/system/quic-lb-migration.test.ts).
[ "$run_only" = 1 ] || packages+=(dpdk-dev doctest-dev tshark tcpdump python3-scapy python3-cryptography ngtcp2-client ngtcp2-server openssl clang libclang-rt-14-dev llvm valgrind chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    note "run as root to install: ${missing[*]}"
    exit 1
  fi
  note "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

hugepages_mb="${SLUICE_HUGEPAGES_MB:-1024}"
if ! [[ "$hugepages_mb" =~ ^[0-9]+$ ]]; then
  note "SLUICE_HUGEPAGES_MB must be a number of MiB, not '$hugepages_mb'"
  exit 1
fi
pages=$((hugepages_mb / 2))
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -e "$nr" ]; then
  if [ "$(cat "$nr")" -lt "$pages" ]; then
    echo "$pages" >"$nr" 2>/dev/null || true
    got=$(cat "$nr")
    if [ "$got" -lt "$pages" ]; then
      note "only $got of $pages 2 MiB hugepages could be reserved; configs with hugepages: true may fail to start"
    else
      say "reserved $pages 2 MiB hugepages"
    fi
  fi
  if ! grep -q " /dev/hugepages hugetlbfs " /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
    say "mounted hugetlbfs on /dev/hugepages"
  fi
else
  note "this kernel has no 2 MiB hugepages; use hugepages: false in the config"
fi

# Anything in `dir...` newer than `target`, or `target` missing.
stale() {
  local target=$1
  shift
  [ ! -e "$target" ] && return 0
  [ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

if stale node_modules/.package-lock.json package.json package-lock.json; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
# The addon's own sources only: native/ also holds the test and fuzzer builds.
if stale build/Release/sluice.node native/{common,packet,tables,modes,worker,control,addon} binding.gyp scripts/lib/native-sources.sh; then
  say "building the addon"
  npx --no-install node-gyp rebuild -j 2 >/tmp/sluice-node-gyp.log 2>&1 || {
    cat /tmp/sluice-node-gyp.log >&2
    exit 1
  }
fi
if stale dist/.built src tools test tsconfig.json native/common/lcore_counters.h scripts/gen-counters.js; then
  say "compiling TypeScript"
  rm -rf dist
  node scripts/gen-counters.js
  npx --no-install tsc -p tsconfig.json
  touch dist/.built
fi
if [ "$run_only" = 0 ] && stale native/test/build/sluice-native-tests native scripts/build-native-tests.sh; then
  say "building the native unit tests"
  bash scripts/build-native-tests.sh >/dev/null
fi
say "ready"
