// What both table builders share (the data path's, tables/lookup_table.h, and
// classic Maglev, tables/classic_maglev.h): each backend's permutation of the
// table's slots, offset + j * skip mod M from its key's hash, and the order
// backends are taken in. Internal to native/tables and its tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tables/lookup_table.h"

namespace sluice {

bool IsPrime(uint32_t n);

namespace permutation {

// x mod m by Barrett reduction: a multiply instead of a 64-bit division, which
// costs tens of cycles. floor((2^64 - 1) / m) >= 2^64 / m - 1, so the quotient
// estimate is at most one short and one correction suffices.
class Modulus {
 public:
  explicit Modulus(uint64_t m) : m_(m), reciprocal_(~uint64_t{0} / m) {}
  uint64_t operator()(uint64_t x) const {
    const uint64_t q =
        static_cast<uint64_t>((static_cast<unsigned __int128>(x) * reciprocal_) >> 64);
    const uint64_t r = x - q * m_;
    return r >= m_ ? r - m_ : r;
  }

 private:
  const uint64_t m_;
  const uint64_t reciprocal_;
};

// A backend with its permutation, and the state a fill keeps for it.
struct Candidate {
  uint32_t index;   // into the caller's vector
  uint32_t weight;
  uint64_t credit;  // weight earned and not yet spent on a slot (classic round-robin fill)
  uint64_t turns;   // slots taken so far (classic event-driven fill)
  uint64_t pos;     // next position of this backend's permutation to try
  uint64_t skip;
};

// Backends with weight > 0 with their permutations of `table_size` slots, in
// key order: turn order decides who wins contested slots, so it follows the
// keys, not the caller's vector order, and the same set of backends always
// builds the same table. First checks kInvariantTableSize (the one check of it,
// before any table is allocated): only a prime size makes every skip coprime
// to it, so that each permutation visits every slot and every fill ends.
std::vector<Candidate> SortedCandidates(const std::vector<LookupBackend>& backends, uint32_t table_size,
                                        const std::string& where);

}  // namespace permutation
}  // namespace sluice
