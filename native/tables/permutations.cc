#include "tables/permutations.h"

#include <algorithm>
#include <cstring>

#include "common/invariant.h"

namespace sluice {
namespace {

// These constants decide every backend's permutation. Changing any of them
// reshuffles all tables on upgrade, breaking flows that survive a restart, so
// they are fixed forever, like a wire format.
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kOffsetSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kSkipSeed = 0xbb67ae8584caa73bULL;

// The invariant of every table size: see SortedCandidates. The bound keeps
// slot arithmetic (pos + skip < 2M) inside 32 bits and the table's memory sane.
static_assert(kMaxLookupTableSize == 16777259, "kInvariantTableSize states the bound");
constexpr const char* kInvariantTableSize = "must be prime, from 2 to 16777259";

uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = kFnvOffsetBasis;
  // Bytes as unsigned so a platform where char is signed hashes the same.
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// splitmix64's finalizer: FNV-1a alone leaves the low bits of similar keys
// ("10.0.0.1:80", "10.0.0.2:80") correlated, and both % M and the
// offset/skip pair need them independent.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool IsPrime(uint32_t n) {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

namespace permutation {

std::vector<Candidate> SortedCandidates(const std::vector<LookupBackend>& backends, uint32_t table_size,
                                        const std::string& where) {
  if (table_size > kMaxLookupTableSize || !IsPrime(table_size)) {
    FailInvariant(where, std::string(kInvariantTableSize) + "; got " + std::to_string(table_size));
  }
  const uint64_t m = table_size;
  // Sorted by the keys' first 16 bytes as two big-endian words (zero-padded),
  // which order as std::string::compare does; only keys that agree in all 16
  // bytes are compared in full. Address keys share long prefixes, and whole-key
  // comparisons cost more than the rest of the setup.
  struct Entry {
    uint64_t high, low;
    uint32_t index;
  };
  std::vector<Entry> order;
  order.reserve(backends.size());
  for (uint32_t i = 0; i < backends.size(); ++i) {
    const std::string& key = backends[i].key;
    if (backends[i].weight == 0) continue;
    unsigned char bytes[16] = {};
    std::memcpy(bytes, key.data(), std::min<size_t>(key.size(), sizeof bytes));
    uint64_t high = 0, low = 0;
    for (int j = 0; j < 8; ++j) high = high << 8 | bytes[j];
    for (int j = 8; j < 16; ++j) low = low << 8 | bytes[j];
    order.push_back({high, low, i});
  }
  std::sort(order.begin(), order.end(), [&backends](const Entry& a, const Entry& b) {
    if (a.high != b.high) return a.high < b.high;
    if (a.low != b.low) return a.low < b.low;
    const LookupBackend& x = backends[a.index];
    const LookupBackend& y = backends[b.index];
    const int c = x.key.compare(y.key);
    if (c != 0) return c < 0;
    if (x.weight != y.weight) return x.weight < y.weight;
    return a.index < b.index;
  });
  const Modulus mod_m(m), mod_m_1(m - 1);
  std::vector<Candidate> candidates;
  candidates.reserve(order.size());
  for (const Entry& e : order) {
    const LookupBackend& b = backends[e.index];
    const uint64_t h = Fnv1a64(b.key);
    // A prime table size makes every skip in [1, M-1] coprime to M, so each
    // permutation visits every slot and a turn always finds a free one.
    candidates.push_back({e.index, b.weight, 0, 0, mod_m(Mix64(h ^ kOffsetSeed)),
                          mod_m_1(Mix64(h ^ kSkipSeed)) + 1});
  }
  return candidates;
}

}  // namespace permutation
}  // namespace sluice
