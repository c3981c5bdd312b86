// A service's lookup table: table_size slots (prime), each naming a backend;
// the data path hashes a new flow to a slot and only indexes the finished
// table. Built on the control thread. Two fills over the same per-backend
// permutations (Maglev's: offset + j * skip mod M, from the key's hash):
// - BuildRendezvousTable, the data path's: bounded-load rendezvous. Each slot
//   goes to the backend whose permutation reaches it first on a clock scaled
//   by weight, unless that backend already holds 1.1x its share.
// - BuildMaglevTable: classic weighted Maglev (Eisenbud et al., NSDI 2016),
//   backends taking turns at their next free slot; kept for comparison.
// Why not Maglev: its turns cascade. Removing one of N backends shifts every
// later turn, moving slots between survivors: 6.9x the ideal 1/N at N = 1000 in
// 65537 slots. Under rendezvous a slot's owner depends only on the backends
// that reach it earlier, so a removal moves only the removed backend's slots,
// an addition only those the new one wins; the bound adds a little churn where
// it binds (at most 1.24x the ideal measured, N <= 1000, M >= 65537) and costs balance:
// the busiest backend holds up to 1.1x its share instead of ~1.01x.
// INTERFACE CONTRACT (both):
// - table_size must be prime (throws std::invalid_argument otherwise, and for
//   table_size < 2). Each entry of the result is an index into `backends`.
//   Backends with weight 0 get no slots. When no backend has weight > 0 every
//   slot is kMaglevNoBackend.
// - Deterministic: a pure function of the set of (key, weight) and the size,
//   never of the vector's order, the process or history, so every lcore and a
//   restarted balancer build the same table. `key` is a stable identity such as
//   "10.0.0.1:80".
// - Shares: Maglev's within a few slots of weight / total; rendezvous's within
//   a binomial spread of it, never above 1.1x (and the rounded-up share), and
//   with weights timed at 8 significant bits (up to 0.8% off).
// - Cost: rendezvous makes ~M ln N bit tests and computes the last M / N free
//   slots' owners directly (65537 x 1000: ~10 M instructions, ~1.3 ms through
//   the addon on the shared development machine); neither builds an N x M matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

constexpr uint32_t kMaglevNoBackend = UINT32_MAX;
constexpr uint32_t kMaglevDefaultTableSize = 65537;
constexpr uint32_t kMaglevMaxTableSize = 16777259;  // smallest prime > 2^24

struct MaglevBackend {
  std::string key;
  uint32_t weight;
};

bool IsPrime(uint32_t n);

std::vector<uint32_t> BuildMaglevTable(const std::vector<MaglevBackend>& backends,
                                       uint32_t table_size);

std::vector<uint32_t> BuildRendezvousTable(const std::vector<MaglevBackend>& backends,
                                           uint32_t table_size);

// The slot a flow's signature picks in a service's table (the data path's only
// use of the table).
inline uint32_t MaglevSlot(uint32_t sig, uint32_t table_size) {
  // The flow table buckets on the low bits of the same CRC; remix so the Maglev
  // slot is independent of the bucket.
  uint32_t h = sig;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h % table_size;
}

}  // namespace sluice
