#include "tables/classic_maglev.h"

#include <algorithm>

#include "tables/permutations.h"

namespace sluice {
namespace {

using permutation::Candidate;

// The slot filling shared by both fill schedules below. Occupancy is a bitmap: probing
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

std::vector<uint32_t> BuildClassicMaglevTable(const std::vector<LookupBackend>& backends,
                                              uint32_t table_size, const std::string& where) {
  std::vector<Candidate> candidates = permutation::SortedCandidates(backends, table_size, where);
  std::vector<uint32_t> table(table_size, kNoBackend);
  if (candidates.empty()) return table;
  uint32_t max_weight = 0;
  uint64_t total_weight = 0;
  for (const Candidate& c : candidates) {
    max_weight = std::max(max_weight, c.weight);
    total_weight += c.weight;
  }

  // Round-robin visits N candidates per round for total/max turns, i.e.
  // N * max / total visits per slot; a visit is far cheaper than a heap turn
  // (docs/performance-notes.md, "The lookup table"), hence the break-even below.
  // Both give the identical table, so the choice is invisible to callers.
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
