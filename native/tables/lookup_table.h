// A service's lookup table: table_size slots (prime), each naming a backend;
// the data path hashes a new flow to a slot (LookupSlot) and only indexes the
// finished table. Built on the control thread by BuildLookupTable: bounded-load
// rendezvous over per-backend permutations (Maglev's: offset + j * skip mod M,
// from the key's hash; tables/permutations.h). Each slot goes to the backend
// whose permutation reaches it first on a clock scaled by weight, unless that
// backend already holds 1.1x its share.
// Why not classic Maglev (tables/classic_maglev.h, kept for comparison): its
// turns cascade. Removing one of N backends shifts every later turn, moving
// slots between survivors, several times the ideal 1/N at N = 1000 in 65537
// slots. Here a slot's owner depends only on the backends that reach it
// earlier, so a removal moves only the removed backend's slots, an addition
// only those the new one wins; the bound adds a little churn where it binds and
// costs balance: the busiest backend holds up to 1.1x its share, where classic
// Maglev's stays within a few slots of it (figures: docs/performance-notes.md,
// "The lookup table").
// INTERFACE CONTRACT:
// - kInvariantTableSize: table_size is a prime from 2 to kMaxLookupTableSize
//   (throws CodedError SLUICE_INVALID_ARGUMENT "<where>: ..." otherwise).
//   Each entry of the result is an index into `backends`. Backends with weight
//   0 get no slots. When no backend has weight > 0 every slot is kNoBackend.
// - Deterministic: a pure function of the set of (key, weight) and the size,
//   never of the vector's order, the process or history, so every lcore and a
//   restarted balancer build the same table. `key` is a stable identity such as
//   "10.0.0.1:80".
// - Shares: within a binomial spread of weight / total, never above 1.1x (and
//   the rounded-up share), with weights timed at 8 significant bits (up to 0.8%
//   off).
// - Cost: ~M ln N bit tests, and the last M / N free slots' owners computed
//   directly (build times: docs/performance-notes.md, "The lookup table", and
//   BENCHMARKS.md); no N x M matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

// A slot no backend takes: the service has no backend with weight > 0.
constexpr uint32_t kNoBackend = UINT32_MAX;
constexpr uint32_t kMaxLookupTableSize = 16777259;  // smallest prime > 2^24

struct LookupBackend {
  std::string key;
  uint32_t weight;
};

// `where` names the size in the error when it breaks kInvariantTableSize.
std::vector<uint32_t> BuildLookupTable(const std::vector<LookupBackend>& backends, uint32_t table_size,
                                       const std::string& where = "table size");

// The slot a flow's signature picks in a service's table (the data path's only
// use of the table).
inline uint32_t LookupSlot(uint32_t sig, uint32_t table_size) {
  // The flow table buckets on the low bits of the same CRC; remix so the
  // table's slot is independent of the bucket.
  uint32_t h = sig;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h % table_size;
}

}  // namespace sluice
