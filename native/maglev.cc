#include "maglev.h"

#include <algorithm>
#include <stdexcept>

namespace sluice {
namespace {

// These constants decide every backend's permutation. Changing any of them
// reshuffles all tables on upgrade, breaking flows that survive a restart, so
// they are fixed forever, like a wire format.
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kOffsetSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kSkipSeed = 0xbb67ae8584caa73bULL;

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

struct Candidate {
  uint32_t index;   // into the caller's vector
  uint32_t weight;
  uint64_t credit;  // weight earned and not yet spent on a slot (round-robin fill)
  uint64_t turns;   // slots taken so far (event-driven fill)
  uint64_t pos;     // next position of this backend's permutation to try
  uint64_t skip;
};

// The slot filling shared by both schedules. Occupancy is a bitmap: probing
// touches one bit instead of a 4-byte entry, so a 65537-slot table's probe set
// stays in L1.
class Filler {
 public:
  explicit Filler(std::vector<uint32_t>* table)
      : table_(*table), m_(table->size()), taken_((m_ + 63) / 64, 0) {}

  // Gives `c` the next free slot of its permutation; true once the table is full.
  bool Take(Candidate& c) {
    uint64_t pos = c.pos;
    while ((taken_[pos >> 6] >> (pos & 63)) & 1) pos = Next(pos, c.skip);
    taken_[pos >> 6] |= uint64_t{1} << (pos & 63);
    table_[pos] = c.index;
    c.pos = Next(pos, c.skip);
    return ++filled_ == m_;
  }

 private:
  uint64_t Next(uint64_t pos, uint64_t skip) const {
    pos += skip;
    return pos >= m_ ? pos - m_ : pos;
  }

  std::vector<uint32_t>& table_;
  const uint64_t m_;
  std::vector<uint64_t> taken_;
  uint64_t filled_ = 0;
};

// Each round every candidate earns its weight and a turn costs max_weight, so
// turns are proportional to weight; credit stays below 2*max_weight, so at most
// one turn per round and the heaviest take one every round. Within a round,
// turns go in candidate (key) order.
void FillRoundRobin(std::vector<Candidate>& candidates, uint32_t max_weight, Filler& filler) {
  for (;;) {
    for (Candidate& c : candidates) {
      c.credit += c.weight;
      if (c.credit < max_weight) continue;
      c.credit -= max_weight;
      if (filler.Take(c)) return;
    }
  }
}

// The same turns in the same order, without visiting idle candidates: under the
// schedule above, a candidate's k-th turn falls in round ceil(k * max / weight),
// so turns are events ordered by (round, candidate order). Costs O(log N) per
// turn instead of O(N * max / mean weight), which matters only for skewed weights.
void FillByEvents(std::vector<Candidate>& candidates, uint32_t max_weight, Filler& filler) {
  struct Turn {
    uint64_t round;
    uint32_t candidate;
  };
  const auto later = [](const Turn& a, const Turn& b) {
    return a.round != b.round ? a.round > b.round : a.candidate > b.candidate;
  };
  const auto round_of = [max_weight](uint64_t turn, uint32_t weight) {
    // turn <= 2^32 and max_weight < 2^32, so the product cannot overflow.
    return (turn * max_weight + weight - 1) / weight;
  };
  std::vector<Turn> heap;
  heap.reserve(candidates.size());
  for (uint32_t i = 0; i < candidates.size(); ++i) {
    heap.push_back({round_of(1, candidates[i].weight), i});
  }
  std::make_heap(heap.begin(), heap.end(), later);
  for (;;) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Turn& t = heap.back();
    Candidate& c = candidates[t.candidate];
    if (filler.Take(c)) return;
    t.round = round_of(++c.turns + 1, c.weight);
    std::push_heap(heap.begin(), heap.end(), later);
  }
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

std::vector<uint32_t> BuildMaglevTable(const std::vector<MaglevBackend>& backends,
                                       uint32_t table_size) {
  if (table_size < 2 || !IsPrime(table_size)) {
    throw std::invalid_argument("maglev table size must be a prime >= 2, got " +
                                std::to_string(table_size));
  }
  const uint64_t m = table_size;
  std::vector<uint32_t> table(table_size, kMaglevNoBackend);

  std::vector<Candidate> candidates;
  candidates.reserve(backends.size());
  uint32_t max_weight = 0;
  uint64_t total_weight = 0;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    const MaglevBackend& b = backends[i];
    if (b.weight == 0) continue;
    const uint64_t h = Fnv1a64(b.key);
    // A prime table size makes every skip in [1, M-1] coprime to M, so each
    // permutation visits every slot and a turn always finds a free one.
    candidates.push_back({i, b.weight, 0, 0, Mix64(h ^ kOffsetSeed) % m,
                          Mix64(h ^ kSkipSeed) % (m - 1) + 1});
    max_weight = std::max(max_weight, b.weight);
    total_weight += b.weight;
  }
  if (candidates.empty()) return table;

  // Turn order decides who wins contested slots, so it follows the keys, not the
  // caller's vector order: the same set of backends always builds the same table.
  std::sort(candidates.begin(), candidates.end(),
            [&backends](const Candidate& a, const Candidate& b) {
              const int c = backends[a.index].key.compare(backends[b.index].key);
              if (c != 0) return c < 0;
              if (a.weight != b.weight) return a.weight < b.weight;
              return a.index < b.index;
            });

  // Round-robin visits N candidates per round for total/max turns, i.e.
  // N * max / total visits per slot; a visit costs ~1 ns and a heap turn ~50
  // (measured, 1000 backends), hence the break-even below. Both give the
  // identical table, so the choice is invisible to callers.
  constexpr uint64_t kMaxVisitsPerTurn = 48;
  Filler filler(&table);
  if (uint64_t{max_weight} * candidates.size() <= kMaxVisitsPerTurn * total_weight) {
    FillRoundRobin(candidates, max_weight, filler);
  } else {
    FillByEvents(candidates, max_weight, filler);
  }
  return table;
}

}  // namespace sluice
