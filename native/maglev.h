// Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016), computed on
// the control thread; the data path only indexes the finished table.
// INTERFACE CONTRACT:
// - BuildMaglevTable(backends, table_size): table_size must be prime (throws
//   std::invalid_argument otherwise, and for table_size < 2). Each entry of the
//   result is an index into `backends`. Backends with weight 0 get no slots. When
//   no backend has weight > 0 every slot is kMaglevNoBackend.
// - Slots are shared in proportion to weight (within a few slots of exact).
// - Deterministic: the permutation of a backend depends only on its `key` (a stable
//   identity such as "10.0.0.1:80"), never on its position in the vector or on the
//   process, so a restarted balancer picks the same backends.
// - Minimal disruption: removing one of N equal backends moves about 1/N of slots.
// - Cost: O(table_size * average probes); 65537 slots x 1000 backends in well
//   under 2 ms. It never builds the full permutation matrix.
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

// The data path's table: bounded-load rendezvous hashing over the same
// permutations (see maglev.cc). Same contract as BuildMaglevTable except that
// shares are within kLoadBound = 1.1 of exact instead of a few slots, and that
// removing one of N backends moves only its own slots unless the bound binds
// (measured at most ~1.2/N for N <= 1000 and M >= 65537, BENCHMARKS.md).
std::vector<uint32_t> BuildRendezvousTable(const std::vector<MaglevBackend>& backends,
                                           uint32_t table_size);

}  // namespace sluice
