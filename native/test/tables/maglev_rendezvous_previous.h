// The rendezvous table's builder as it was before the build was sped up
// (commit 79bfd59), kept verbatim as a reference for the test that the new
// one builds byte-identical tables. Test-only: nothing outside native/test uses it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tables/maglev.h"

namespace maglev_previous {

using sluice::MaglevBackend;
using sluice::kMaglevNoBackend;

namespace detail {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
inline constexpr uint64_t kOffsetSeed = 0x6a09e667f3bcc908ULL;
inline constexpr uint64_t kSkipSeed = 0xbb67ae8584caa73bULL;

inline constexpr uint64_t kLoadBoundNumerator = 11;
inline constexpr uint64_t kLoadBoundDenominator = 10;

inline constexpr uint32_t kTailFactor = 3;

inline uint64_t Fnv1a64(const std::string& s) {
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
inline uint64_t Mix64(uint64_t z) {
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

struct Proposer {
  uint32_t index;
  uint32_t room;  // slots it may still win under the load bound; > 0 while live
  uint32_t pos;
  uint32_t skip;
};

inline double ProposalTime(uint64_t k, uint32_t weight, uint32_t m) {
  return -std::log1p(-(static_cast<double>(k) - 0.5) / m) / weight;
}

inline constexpr int kClockBits = 8;
inline uint32_t ClockWeight(uint32_t weight) {
  const int bits = 32 - __builtin_clz(weight);
  const int drop = bits > kClockBits ? bits - kClockBits : 0;
  return weight >> drop << drop;
}

struct WeightClass {
  uint32_t weight;  // ClockWeight
  uint64_t round;  // the next one, from 1
  double time;     // ProposalTime(round)
  std::vector<Proposer> live;
};

class RendezvousFiller {
 public:
  explicit RendezvousFiller(uint32_t m) : m_(m), taken_((m + 63) / 64, 0), wins_(m + 1) {}

  // One round of `c`: each live proposer tries its next slot; those that reach
  // their cap leave. True once the table is full. Branch-free: whether a slot
  // is free is a coin toss the predictor cannot learn, so a win is logged
  // unconditionally and counted only if real, and the table is written at the
  // end (proposals after the last free slot find nothing, so finishing the
  // round is harmless).
  bool Round(WeightClass& c) {
    // Locals, so that stores through `p` need not be assumed to alias members.
    uint64_t* const taken = taken_.data();
    uint64_t* const wins = wins_.data();
    const uint32_t m = m_;
    uint32_t filled = filled_;
    bool capped = false;
    for (Proposer& p : c.live) {
      const uint32_t pos = p.pos;
      const uint64_t word = taken[pos >> 6];
      const uint32_t free = ~(word >> (pos & 63)) & 1;
      taken[pos >> 6] = word | uint64_t{1} << (pos & 63);
      wins[filled] = pos | uint64_t{p.index} << 32;
      filled += free;
      p.room -= free;
      capped |= p.room == 0;
      const uint32_t next = pos + p.skip;  // pos, skip < m < 2^31: no overflow
      p.pos = next >= m ? next - m : next;
    }
    if (capped) {
      c.live.erase(std::remove_if(c.live.begin(), c.live.end(),
                                  [](const Proposer& p) { return p.room == 0; }),
                   c.live.end());
    }
    ++c.round;
    filled_ = filled;
    return filled == m;
  }

  uint32_t Free() const { return m_ - filled_; }
  bool Taken(uint32_t pos) const { return (taken_[pos >> 6] >> (pos & 63)) & 1; }

  void WriteTo(std::vector<uint32_t>& table) const {
    for (uint32_t i = 0; i < filled_; ++i) {
      table[static_cast<uint32_t>(wins_[i])] = static_cast<uint32_t>(wins_[i] >> 32);
    }
  }

 private:
  const uint32_t m_;
  std::vector<uint64_t> taken_;
  // Slot in the low half, backend index in the high half; one spare entry for
  // a losing proposal's log after the last win.
  std::vector<uint64_t> wins_;
  uint32_t filled_ = 0;
};

// Runs rounds in time order until the table is full or at most `tail` slots
// are free.
inline void FillInTimeOrder(std::vector<WeightClass>& classes, uint32_t m, uint32_t tail,
                     RendezvousFiller& filler) {
  if (classes.size() == 1) {
    while (!filler.Round(classes[0]) && filler.Free() > tail) {
    }
    return;
  }
  // At equal times the heavier class (lower index) goes first.
  const auto later = [&classes](uint32_t a, uint32_t b) {
    return classes[a].time != classes[b].time ? classes[a].time > classes[b].time : a > b;
  };
  std::vector<uint32_t> heap(classes.size());
  for (uint32_t i = 0; i < heap.size(); ++i) heap[i] = i;
  std::make_heap(heap.begin(), heap.end(), later);
  for (;;) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const uint32_t id = heap.back();
    WeightClass& c = classes[id];
    // Rounds of one class run back to back while it stays the earliest: a heavy
    // class among light ones costs no heap operation per round.
    do {
      if (filler.Round(c) || filler.Free() <= tail) return;
      c.time = ProposalTime(c.round, c.weight, m);
    } while (!c.live.empty() && (heap.size() == 1 || later(heap.front(), id)));
    if (c.live.empty()) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), later);
    }
  }
}

// The race's last free slots, found from the slots instead: a member at
// position `pos` with step `skip` reaches slot s after (s - pos) / skip steps
// (mod M), so each free slot's earliest live proposer is computed directly,
// and the slots are handed out in the order of those proposals. A member that
// reaches its cap first loses its later ones, and those slots look again.
// The result is the race's; the race would have needed about M ln(free)
// more proposals to find these slots by chance.
class TailByDistance {
 public:
  TailByDistance(std::vector<WeightClass>& classes, uint32_t m)
      : classes_(classes), m_(m), barrett_(~uint64_t{0} / m) {
    for (WeightClass& c : classes_) {
      for (Proposer& p : c.live) inverse_.push_back(Inverse(p.skip));
    }
  }

  void Fill(const RendezvousFiller& filler, std::vector<uint32_t>& table) {
    std::vector<Event> heap;
    for (uint32_t s = 0; s < m_; ++s) {
      if (!filler.Taken(s)) heap.push_back(Earliest(s));
    }
    std::make_heap(heap.begin(), heap.end(), Later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), Later);
      Event e = heap.back();
      heap.pop_back();
      if (e.proposer->room == 0) {
        heap.push_back(Earliest(e.slot));
        std::push_heap(heap.begin(), heap.end(), Later);
        continue;
      }
      table[e.slot] = e.proposer->index;
      --e.proposer->room;
    }
  }

 private:
  struct Event {
    double time;
    uint32_t cls;  // class index, then rank in the class: the race's tie order
    uint32_t rank;
    uint32_t slot;
    Proposer* proposer;
  };
  static bool Later(const Event& a, const Event& b) {
    if (a.time != b.time) return a.time > b.time;
    if (a.cls != b.cls) return a.cls > b.cls;
    return a.rank > b.rank;
  }

  // skip^(M-2) mod M: M is prime.
  uint32_t Inverse(uint32_t skip) const {
    uint64_t result = 1, base = skip;
    for (uint32_t e = m_ - 2; e != 0; e >>= 1) {
      if (e & 1) result = Mod(result * base);
      base = Mod(base * base);
    }
    return static_cast<uint32_t>(result);
  }

  // x mod M for x < 2^64 (here x < M^2): Barrett, one correction.
  uint64_t Mod(uint64_t x) const {
    const uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(x) * barrett_) >> 64);
    const uint64_t r = x - q * m_;
    return r >= m_ ? r - m_ : r;
  }

  Event Earliest(uint32_t slot) {
    Event best{0, UINT32_MAX, 0, slot, nullptr};
    uint32_t member = 0;
    for (uint32_t ci = 0; ci < classes_.size(); ++ci) {
      WeightClass& c = classes_[ci];
      uint64_t steps = UINT64_MAX;
      uint32_t rank = 0;
      for (uint32_t j = 0; j < c.live.size(); ++j, ++member) {
        const Proposer& p = c.live[j];
        if (p.room == 0) continue;
        const uint64_t ahead = slot >= p.pos ? slot - p.pos : uint64_t{slot} + m_ - p.pos;
        const uint64_t d = Mod(ahead * inverse_[member]);
        if (d < steps) steps = d, rank = j;
      }
      if (steps == UINT64_MAX) continue;
      // One class: rounds compare as integers, no clock needed.
      const uint64_t round = c.round + steps;
      const double time = classes_.size() == 1 ? static_cast<double>(round)
                                               : ProposalTime(round, c.weight, m_);
      const Event e{time, ci, rank, slot, &c.live[rank]};
      if (best.proposer == nullptr || Later(best, e)) best = e;
    }
    return best;
  }

  std::vector<WeightClass>& classes_;
  const uint32_t m_;
  const uint64_t barrett_;
  std::vector<uint32_t> inverse_;  // per member, in class then rank order
};


// Backends with weight > 0 with their permutations, in key order: turn order
// decides who wins contested slots, so it follows the keys, not the caller's
// vector order, and the same set of backends always builds the same table.
inline std::vector<Candidate> SortedCandidates(const std::vector<MaglevBackend>& backends, uint64_t m) {
  std::vector<Candidate> candidates;
  candidates.reserve(backends.size());
  for (uint32_t i = 0; i < backends.size(); ++i) {
    const MaglevBackend& b = backends[i];
    if (b.weight == 0) continue;
    const uint64_t h = Fnv1a64(b.key);
    // A prime table size makes every skip in [1, M-1] coprime to M, so each
    // permutation visits every slot and a turn always finds a free one.
    candidates.push_back({i, b.weight, 0, 0, Mix64(h ^ kOffsetSeed) % m,
                          Mix64(h ^ kSkipSeed) % (m - 1) + 1});
  }
  std::sort(candidates.begin(), candidates.end(),
            [&backends](const Candidate& a, const Candidate& b) {
              const int c = backends[a.index].key.compare(backends[b.index].key);
              if (c != 0) return c < 0;
              if (a.weight != b.weight) return a.weight < b.weight;
              return a.index < b.index;
            });
  return candidates;
}

}  // namespace detail

// Expects a prime table_size (the caller checks).
inline std::vector<uint32_t> BuildRendezvousTable(const std::vector<MaglevBackend>& backends,
                                                  uint32_t table_size) {
  using namespace detail;
  std::vector<uint32_t> table(table_size, kMaglevNoBackend);
  const std::vector<Candidate> candidates = SortedCandidates(backends, table_size);
  if (candidates.empty()) return table;
  unsigned __int128 total_weight = 0;
  for (const Candidate& c : candidates) total_weight += c.weight;

  // Heaviest class first, so that at equal times heavier backends propose first.
  std::vector<WeightClass> classes;
  std::vector<const Candidate*> by_weight;
  for (const Candidate& c : candidates) by_weight.push_back(&c);
  std::stable_sort(by_weight.begin(), by_weight.end(), [](const Candidate* a, const Candidate* b) {
    return ClockWeight(a->weight) > ClockWeight(b->weight);
  });
  for (const Candidate* c : by_weight) {
    const uint32_t clock = ClockWeight(c->weight);
    if (classes.empty() || classes.back().weight != clock) {
      classes.push_back({clock, 1, ProposalTime(1, clock, table_size), {}});
    }
    // The cap: the load bound times the share, and never below the share
    // rounded up, so the caps add up to at least the table and it always fills.
    const unsigned __int128 scaled = static_cast<unsigned __int128>(table_size) * c->weight;
    const unsigned __int128 at_least = (scaled + total_weight - 1) / total_weight;
    const unsigned __int128 bounded =
        scaled * kLoadBoundNumerator / (total_weight * kLoadBoundDenominator);
    classes.back().live.push_back({c->index, static_cast<uint32_t>(std::max(at_least, bounded)),
                                   static_cast<uint32_t>(c->pos), static_cast<uint32_t>(c->skip)});
  }

  RendezvousFiller filler(table_size);
  // Below this many free slots, computing each one's earliest proposer (a
  // multiply per slot and live backend) beats waiting for the race to hit it
  // (a visit per proposal, M / free proposals per slot found): measured best
  // around 3M / N, and no more than M / 64 (the heap of free slots then costs
  // more than it saves).
  const uint32_t tail = static_cast<uint32_t>(
      std::min<uint64_t>(table_size / 64, uint64_t{kTailFactor} * table_size / candidates.size()));
  FillInTimeOrder(classes, table_size, tail, filler);
  filler.WriteTo(table);
  if (filler.Free() != 0) TailByDistance(classes, table_size).Fill(filler, table);
  return table;
}

}  // namespace maglev_previous
