#include "tables/lookup_table.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tables/permutations.h"

namespace sluice {
namespace {

using permutation::Candidate;
using permutation::Modulus;

// The load bound, 11/10 of a backend's share: see docs/performance-notes.md,
// "The lookup table", for the disruption and the balance it measured.
constexpr uint64_t kLoadBoundNumerator = 11;
constexpr uint64_t kLoadBoundDenominator = 10;

// See BuildLookupTable: where the race hands over to TailByDistance.
constexpr uint32_t kTailFactor = 1;

// Bounded-load rendezvous: backend b proposes the slots of its permutation in
// order, its k-th proposal at ProposalTime(k, weight), and a slot belongs to the
// first proposal that reaches it (ties: faster clock first, then key order).
// Without the bound that is rendezvous (highest-random-weight) hashing with the
// arrival time as the score, so a slot's owner depends only on the backends
// that reach it before its owner does: removing a backend moves only its own
// slots, adding one moves only the slots it wins. The bound (a backend stops
// proposing once it holds 1.1x its share) trims plain rendezvous's multinomial
// spread (which leaves the busiest of many backends well above its share:
// docs/performance-notes.md, "The lookup table"); it moves slots beyond the
// ideal only through backends that reach it, and it is loose enough that few
// do. (Consistent hashing with bounded loads, Mirrokni, Thorup and
// Zadimoghaddam, SODA 2018, makes the same trade.)
// When a backend of weight w makes its k-th proposal (k from 1): -ln(1 - (k -
// 1/2) / M) / w. A slot sits at a uniform position of each permutation, so the
// first proposal reaching it from a backend comes at an exponentially
// distributed time of rate w, and the earliest of several such clocks is
// backend b's with probability w_b / W: shares follow weights. (Times linear in
// k would favour heavy backends: 3/4 instead of 2/3 for weights 2 and 1.)
double RoundTime(uint64_t k, uint32_t m) {
  return -std::log1p(-(static_cast<double>(k) - 0.5) / m);
}
double ProposalTime(uint64_t k, uint32_t weight, uint32_t m) { return RoundTime(k, m) / weight; }

// RoundTime by round, computed once for all classes: with many classes the
// logarithm per class and round cost more than the rounds. Dividing the cached
// value gives ProposalTime to the bit.
class RoundClock {
 public:
  explicit RoundClock(uint32_t m) : m_(m) {}
  double Time(uint64_t k, uint32_t weight) {
    while (by_round_.size() <= k) by_round_.push_back(RoundTime(by_round_.size(), m_));
    return by_round_[k] / weight;
  }

 private:
  const uint32_t m_;
  std::vector<double> by_round_;
};

// The weight a backend's clock runs at: its top kClockBits significant bits
// (weights below 2^kClockBits exactly). Backends with equal clocks propose in
// shared rounds, and rounds are what the merge in FillInTimeOrder orders, so
// this keeps 1000 distinct weights from costing a heap operation per proposal;
// the price is a share up to 2^(1-kClockBits) (0.8%) below the exact one.
constexpr int kClockBits = 8;
uint32_t ClockWeight(uint32_t weight) {
  const int bits = 32 - __builtin_clz(weight);
  const int drop = bits > kClockBits ? bits - kClockBits : 0;
  return weight >> drop << drop;
}

// Backends of one clock weight propose together, once per round, in key order.
// Its members are parallel arrays in that order: a round reads every member's
// position and step, but its backend and room only when it wins, and the step
// loop vectorizes. A member that reaches its cap is parked on slot M, which
// counts as taken, until enough have capped to compact the arrays.
struct WeightClass {
  uint32_t weight;  // ClockWeight
  uint64_t round;   // the next one, from 1
  double time;      // ProposalTime(round)
  std::vector<uint32_t> pos;    // the slot its next proposal names
  std::vector<uint32_t> skip;   // its permutation's step
  std::vector<uint32_t> index;  // into the caller's vector
  std::vector<uint32_t> room;   // slots it may still win under the load bound; 0: parked
  uint32_t parked = 0;
  // The smallest cap: a member wins at most one slot a round, so none caps
  // before this round.
  uint32_t least_cap = UINT32_MAX;

  uint32_t Size() const { return static_cast<uint32_t>(pos.size()); }
  uint32_t Live() const { return Size() - parked; }

  void Add(uint32_t backend, uint32_t cap, uint32_t first, uint32_t step) {
    pos.push_back(first);
    skip.push_back(step);
    index.push_back(backend);
    room.push_back(cap);
    least_cap = std::min(least_cap, cap);
  }

  // M + M - M: a parked member stays on slot M.
  void Park(uint32_t member, uint32_t m) {
    pos[member] = m;
    skip[member] = m;
    ++parked;
  }

  // Compacting costs a pass over the class; a parked member costs a losing
  // proposal a round.
  void CompactIfWorthIt() {
    if (parked != 0 && parked >= Size() / 16) Compact();
  }

  // Drops the parked members, keeping the others' order (the tie order).
  void Compact() {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < Size(); ++i) {
      if (room[i] == 0) continue;
      pos[kept] = pos[i];
      skip[kept] = skip[i];
      index[kept] = index[i];
      room[kept] = room[i];
      ++kept;
    }
    pos.resize(kept);
    skip.resize(kept);
    index.resize(kept);
    room.resize(kept);
    parked = 0;
  }
};

// Above this share of free slots a round claims branch-free (a proposal finds
// its slot free about as often as not, which no predictor learns), below it by
// a branch that is almost always "taken": see RendezvousFiller.
constexpr uint32_t kBranchFreeAboveOneIn = 8;

// Rounds a RendezvousFiller::Batch runs.
constexpr uint32_t kBatchRounds = 16;

// Several clock classes batch (BatchInTimeOrder) once there are this many, or
// fewer whose members average fewer than kBatchBelowMembers: with few, large
// classes rounds cost less than sorting the finds by time, with many or small
// ones more (docs/performance-notes.md, "The lookup table").
constexpr size_t kBatchFromClasses = 32;
constexpr size_t kBatchBelowMembers = 256;

class RendezvousFiller {
  struct Found;  // a batch's proposal that found its slot free

 public:
  // `table` has m + 1 entries: the last one is where losing proposals write in
  // a branch-free round. `members` bounds a class's size.
  RendezvousFiller(uint32_t m, uint32_t* table, uint32_t members)
      : m_(m), table_(table), taken_(m / 64 + 1, 0), capped_(members) {
    // The bits from slot M on count as taken: M is where capped members are
    // parked, and a scan for free slots needs no bound check.
    taken_.back() = ~uint64_t{0} << (m % 64);
  }

  // One round of `c`: each member tries its next slot and steps on; those
  // that reach their cap are parked. True once the table is full. Proposals
  // after the last free slot find nothing, so finishing the round is harmless.
  bool Round(WeightClass& c) {
    uint32_t capped = 0;
    if (Sparse()) {
      capped = ClaimBranching(c.pos.data(), c.index.data(), c.room.data(), c.Size());
    } else if (c.round < c.least_cap) {
      ClaimBranchFree<false>(c.pos.data(), c.index.data(), c.room.data(), c.Size());
    } else {
      capped = ClaimBranchFree<true>(c.pos.data(), c.index.data(), c.room.data(), c.Size());
    }
    Step(c.pos.data(), c.skip.data(), c.Size());
    for (uint32_t k = 0; k < capped; ++k) c.Park(capped_[k], m_);
    c.CompactIfWorthIt();
    ++c.round;
    return filled_ == m_;
  }

  // kBatchRounds rounds of `c` at once, for a table at most 1/kBranchFreeAboveOneIn
  // free: each member walks its next kBatchRounds slots against the bitmap as
  // it stands, and only the proposals that found a free slot are replayed, in
  // round and then key order, against the bitmap as they fill it. The others
  // lose in the race too: their slots were taken before the batch. A member
  // that reaches its cap in the replay makes no later proposals. The walk keeps
  // a member's position in a register and skips the step pass. True once the
  // table is full.
  bool Batch(WeightClass& c) {
    found_.clear();
    std::fill(std::begin(per_round_), std::end(per_round_), 0);
    Walk<true>(c.pos.data(), c.skip.data(), c.Size(), kBatchRounds, 0);
    // Counting sort by round; the walk went in key order, and that order stays.
    uint32_t start[kBatchRounds];
    for (uint32_t r = 0, sum = 0; r < kBatchRounds; ++r) start[r] = sum, sum += per_round_[r];
    replay_.resize(found_.size());
    for (const Found& f : found_) replay_[start[f.round]++] = f;
    for (const Found& f : replay_) Replay(c, f);
    c.CompactIfWorthIt();
    c.round += kBatchRounds;
    return filled_ == m_;
  }

  // Batch for several clock classes: the window ends at the earliest time any
  // class would reach kBatchRounds rounds, each class walks its rounds before
  // that time, and the finds are replayed in the race's (time, class, key)
  // order. True once the table is full.
  bool BatchInTimeOrder(std::vector<WeightClass>& classes, RoundClock& clock) {
    double end = std::numeric_limits<double>::infinity();
    for (const WeightClass& c : classes) {
      if (c.Live() != 0) end = std::min(end, clock.Time(c.round + kBatchRounds, c.weight));
    }
    found_.clear();
    first_round_.resize(classes.size());
    for (uint32_t ci = 0; ci < classes.size(); ++ci) {
      WeightClass& c = classes[ci];
      first_round_[ci] = c.round;
      if (c.Live() == 0) continue;
      uint32_t rounds = 0;
      while (rounds < kBatchRounds && clock.Time(c.round + rounds, c.weight) < end) ++rounds;
      if (rounds == 0) continue;
      Walk<false>(c.pos.data(), c.skip.data(), c.Size(), rounds, ci);
      c.round += rounds;
    }
    if (InRaceOrder(classes, clock)) {
      for (const Found& f : replay_) Replay(classes[f.cls], f);
    } else {
      timed_.clear();
      for (const Found& f : found_) {
        const WeightClass& c = classes[f.cls];
        timed_.push_back({clock.Time(first_round_[f.cls] + f.round, c.weight), f});
      }
      std::sort(timed_.begin(), timed_.end(), [](const Timed& a, const Timed& b) {
        if (a.time != b.time) return a.time < b.time;
        if (a.found.cls != b.found.cls) return a.found.cls < b.found.cls;
        return a.found.member < b.found.member;
      });
      for (const Timed& t : timed_) Replay(classes[t.found.cls], t.found);
    }
    for (WeightClass& c : classes) {
      c.CompactIfWorthIt();
      c.time = clock.Time(c.round, c.weight);
    }
    return filled_ == m_;
  }

  // BatchInTimeOrder's finds in the race's (time, class, member) order, into
  // replay_, without sorting them: the finds of one class's round share a time
  // and the walk made them in member order, so it is enough to order the
  // (class, round) pairs, far fewer than the finds. False, with nothing done,
  // in the case that does not cover: two rounds of one class at one time
  // (the caller then sorts the finds themselves).
  bool InRaceOrder(const std::vector<WeightClass>& classes, RoundClock& clock) {
    const uint32_t pairs = static_cast<uint32_t>(classes.size()) * kBatchRounds;
    pair_start_.assign(pairs, 0);
    for (const Found& f : found_) ++pair_start_[f.cls * kBatchRounds + f.round];
    pairs_.clear();
    for (uint32_t p = 0; p < pairs; ++p) {
      if (pair_start_[p] == 0) continue;
      const uint32_t cls = p / kBatchRounds;
      pairs_.push_back({clock.Time(first_round_[cls] + p % kBatchRounds, classes[cls].weight), p});
    }
    // At one time, the lower class first: its pairs number lower.
    std::sort(pairs_.begin(), pairs_.end(), [](const Pair& a, const Pair& b) {
      return a.time != b.time ? a.time < b.time : a.pair < b.pair;
    });
    for (size_t k = 1; k < pairs_.size(); ++k) {
      if (pairs_[k].time == pairs_[k - 1].time && pairs_[k].pair / kBatchRounds == pairs_[k - 1].pair / kBatchRounds) {
        return false;
      }
    }
    uint32_t at = 0;
    for (const Pair& p : pairs_) {
      const uint32_t count = pair_start_[p.pair];
      pair_start_[p.pair] = at;
      at += count;
    }
    replay_.resize(found_.size());
    for (const Found& f : found_) replay_[pair_start_[f.cls * kBatchRounds + f.round]++] = f;
    return true;
  }

  bool Sparse() const { return Free() <= m_ / kBranchFreeAboveOneIn; }
  uint32_t Free() const { return m_ - filled_; }

  // Calls f(slot) for each free slot, in slot order.
  template <typename F>
  void ForEachFree(F f) const {
    for (uint32_t w = 0; w < taken_.size(); ++w) {
      for (uint64_t free = ~taken_[w]; free != 0; free &= free - 1) {
        f(w * 64 + static_cast<uint32_t>(__builtin_ctzll(free)));
      }
    }
  }

 private:
  // The claim loops are kept out of line: inlined into the build, they lose
  // their registers to it.

  // While many slots are free, whether a proposal wins is a coin toss, so the
  // claim is unconditional: a loser's write goes to the spare entry. Returns
  // how many members reached their cap (listed in capped_) if kMayCap.
  template <bool kMayCap>
  __attribute__((noinline)) uint32_t ClaimBranchFree(const uint32_t* __restrict pos,
                                                     const uint32_t* __restrict index,
                                                     uint32_t* __restrict room, uint32_t n) {
    uint64_t* const taken = taken_.data();
    uint32_t* const table = table_;
    uint32_t* const capped = capped_.data();
    const uint32_t spare = m_;
    uint32_t filled = filled_;
    uint32_t ncapped = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t s = pos[i];
      const uint64_t word = taken[s >> 6];
      const uint32_t free = ~(word >> (s & 63)) & 1;
      taken[s >> 6] = word | uint64_t{1} << (s & 63);
      // Selected arithmetically: as `free ? s : spare` the compiler branches.
      table[spare ^ ((s ^ spare) & (0 - free))] = index[i];
      filled += free;
      room[i] -= free;
      if (kMayCap) {
        capped[ncapped] = i;
        ncapped += free & (room[i] == 0);
      }
    }
    filled_ = filled;
    return ncapped;
  }

  // Once most slots are taken, nearly every proposal loses, and a loss costs a
  // bit test and a well-predicted branch.
  __attribute__((noinline)) uint32_t ClaimBranching(const uint32_t* __restrict pos,
                                                    const uint32_t* __restrict index,
                                                    uint32_t* __restrict room, uint32_t n) {
    uint64_t* const taken = taken_.data();
    uint32_t* const table = table_;
    uint32_t filled = filled_;
    uint32_t ncapped = 0;
#pragma GCC unroll 4
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t s = pos[i];
      if (__builtin_expect((taken[s >> 6] >> (s & 63)) & 1, 1)) continue;
      taken[s >> 6] |= uint64_t{1} << (s & 63);
      table[s] = index[i];
      ++filled;
      if (--room[i] == 0) capped_[ncapped++] = i;
    }
    filled_ = filled;
    return ncapped;
  }

  // Walks kWalkLanes members side by side: one member's walk is a chain of
  // dependent steps, and interleaving chains lets them overlap. Within a
  // round, finds still come in member order.
  // kAllRounds: kBatchRounds rounds, a constant the compiler unrolls.
  static constexpr uint32_t kWalkLanes = 4;
  template <bool kAllRounds>
  __attribute__((noinline)) void Walk(uint32_t* __restrict pos, const uint32_t* __restrict skip,
                                      uint32_t n, uint32_t some_rounds, uint32_t cls) {
    const uint32_t rounds = kAllRounds ? kBatchRounds : some_rounds;
    const uint64_t* const taken = taken_.data();
    const uint32_t m = m_;
    const auto probe = [&](uint32_t& p, uint32_t k, uint32_t member, uint32_t r) {
      if (__builtin_expect(!((taken[p >> 6] >> (p & 63)) & 1), 0)) {
        found_.push_back({p, member, r, cls});
        ++per_round_[r];
      }
      // Not std::min: that becomes vector instructions on a scalar here.
      const uint32_t next = p + k;
      p = next >= m ? next - m : next;
    };
    uint32_t i = 0;
    for (; i + kWalkLanes <= n; i += kWalkLanes) {
      uint32_t p[kWalkLanes], k[kWalkLanes];
      for (uint32_t j = 0; j < kWalkLanes; ++j) p[j] = pos[i + j], k[j] = skip[i + j];
#pragma GCC unroll 16
      for (uint32_t r = 0; r < rounds; ++r) {
        for (uint32_t j = 0; j < kWalkLanes; ++j) probe(p[j], k[j], i + j, r);
      }
      for (uint32_t j = 0; j < kWalkLanes; ++j) pos[i + j] = p[j];
    }
    for (; i < n; ++i) {
      uint32_t p = pos[i];
      for (uint32_t r = 0; r < rounds; ++r) probe(p, skip[i], i, r);
      pos[i] = p;
    }
  }

  // A find, in its turn: it wins if its slot is still free and its member has room.
  void Replay(WeightClass& c, const Found& f) {
    if (c.room[f.member] == 0) return;  // capped earlier in the batch, or parked
    const uint32_t s = f.slot;
    if ((taken_[s >> 6] >> (s & 63)) & 1) return;
    taken_[s >> 6] |= uint64_t{1} << (s & 63);
    table_[s] = c.index[f.member];
    ++filled_;
    if (--c.room[f.member] == 0) c.Park(f.member, m_);
  }

  // pos + skip < 2M + 1 < 2^32, and when it is below M, subtracting M wraps above it.
  __attribute__((noinline)) void Step(uint32_t* __restrict pos, const uint32_t* __restrict skip,
                                      uint32_t n) const {
    const uint32_t m = m_;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t next = pos[i] + skip[i];
      pos[i] = std::min(next, next - m);
    }
  }

  const uint32_t m_;
  uint32_t* const table_;
  std::vector<uint64_t> taken_;
  std::vector<uint32_t> capped_;
  uint32_t filled_ = 0;
  // Batch's proposals that found a free slot, as walked and in replay order.
  struct Found {
    uint32_t slot;
    uint32_t member;
    uint32_t round;  // within the batch
    uint32_t cls;
  };
  std::vector<Found> found_;
  std::vector<Found> replay_;
  struct Timed {
    double time;
    Found found;
  };
  std::vector<Timed> timed_;
  // InRaceOrder's (class, round) pairs with a find: class * kBatchRounds + round.
  struct Pair {
    double time;
    uint32_t pair;
  };
  std::vector<Pair> pairs_;
  std::vector<uint32_t> pair_start_;  // by pair: its finds' count, then where they go in replay_
  std::vector<uint64_t> first_round_;  // per class, in BatchInTimeOrder
  uint32_t per_round_[kBatchRounds];
};

// Runs rounds in time order until the table is full or at most `tail` slots
// are free.
void FillInTimeOrder(std::vector<WeightClass>& classes, uint32_t m, uint32_t tail,
                     RendezvousFiller& filler) {
  if (classes.size() == 1) {
    WeightClass& c = classes[0];
    while (!(filler.Sparse() ? filler.Batch(c) : filler.Round(c)) && filler.Free() > tail) {
    }
    return;
  }
  // The next round of each class, earliest on top; at equal times the heavier
  // class (lower index) goes first. Times are held in the heap, not looked up.
  struct Next {
    double time;
    uint32_t cls;
  };
  const auto later = [](const Next& a, const Next& b) {
    return a.time != b.time ? a.time > b.time : a.cls > b.cls;
  };
  std::vector<Next> heap;
  for (uint32_t i = 0; i < classes.size(); ++i) heap.push_back({classes[i].time, i});
  std::make_heap(heap.begin(), heap.end(), later);
  // The top's new time moves down from the root: half the work of a pop and a push.
  const auto sift_down = [&heap, &later]() {
    const Next v = heap[0];
    size_t i = 0;
    for (size_t child; (child = 2 * i + 1) < heap.size(); i = child) {
      if (child + 1 < heap.size() && later(heap[child], heap[child + 1])) ++child;
      if (!later(v, heap[child])) break;
      heap[i] = heap[child];
    }
    heap[i] = v;
  };
  size_t members = 0;
  for (const WeightClass& c : classes) members += c.Size();
  const bool batch = classes.size() >= kBatchFromClasses || members < kBatchBelowMembers * classes.size();
  RoundClock clock(m);
  for (;;) {
    Next& top = heap[0];
    WeightClass& c = classes[top.cls];
    // Rounds of one class run back to back while it stays the earliest: a heavy
    // class among light ones costs no heap operation per round.
    const auto earliest = [&heap, &later, &top]() {
      return (heap.size() < 2 || later(heap[1], top)) && (heap.size() < 3 || later(heap[2], top));
    };
    do {
      if (filler.Round(c) || filler.Free() <= tail) return;
      top.time = c.time = clock.Time(c.round, c.weight);
      if (batch && filler.Sparse()) {
        while (!filler.BatchInTimeOrder(classes, clock) && filler.Free() > tail) {
        }
        return;
      }
    } while (c.Live() != 0 && earliest());
    if (c.Live() == 0) {
      heap[0] = heap.back();
      heap.pop_back();
      if (heap.empty()) return;  // cannot happen: the caps add up to the table
    }
    sift_down();
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
  TailByDistance(const std::vector<WeightClass>& classes, uint32_t m)
      : m_(m), mod_(m) {
    // Members are numbered in class, then key order: the race's tie order.
    for (const WeightClass& c : classes) {
      Group g{c.weight, c.round, {}, {}, {}, {}};
      std::vector<uint32_t> skip;
      for (uint32_t j = 0; j < c.Size(); ++j) {
        if (c.room[j] == 0) continue;  // parked
        g.pos.push_back(c.pos[j]);
        skip.push_back(c.skip[j]);
        g.member.push_back(static_cast<uint32_t>(index_.size()));
        index_.push_back(c.index[j]);
        room_.push_back(c.room[j]);
        group_of_.push_back(static_cast<uint32_t>(groups_.size()));
      }
      g.inverse = Inverses(skip);
      for (uint32_t w : g.inverse) {
        g.shoup.push_back(static_cast<uint32_t>((uint64_t{w} << 32) / m));
      }
      groups_.push_back(std::move(g));
    }
  }

  void Fill(const RendezvousFiller& filler, uint32_t* table) {
    std::vector<Event> heap;
    filler.ForEachFree([&](uint32_t s) { heap.push_back(Earliest(s)); });
    std::make_heap(heap.begin(), heap.end(), Later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), Later);
      const Event e = heap.back();
      heap.pop_back();
      if (room_[e.member] == 0) {
        heap.push_back(Earliest(e.slot));
        std::push_heap(heap.begin(), heap.end(), Later);
        continue;
      }
      table[e.slot] = index_[e.member];
      if (--room_[e.member] == 0) Drop(e.member);
    }
  }

 private:
  struct Event {
    double time;
    uint32_t member;
    uint32_t slot;
  };
  static bool Later(const Event& a, const Event& b) {
    return a.time != b.time ? a.time > b.time : a.member > b.member;
  }

  // A class's live members, as parallel arrays in key order.
  struct Group {
    uint32_t weight;
    uint64_t round;
    std::vector<uint32_t> pos;
    std::vector<uint32_t> inverse;  // of its skip, mod M
    std::vector<uint32_t> shoup;    // floor(inverse * 2^32 / M), for multiplying by inverse mod M
    std::vector<uint32_t> member;
  };


  // a^(M-2) mod M: M is prime.
  uint64_t Inverse(uint64_t a) const {
    uint64_t result = 1;
    for (uint32_t e = m_ - 2; e != 0; e >>= 1) {
      if (e & 1) result = mod_(result * a);
      a = mod_(a * a);
    }
    return result;
  }

  // Every value's inverse with one exponentiation (Montgomery's trick): the
  // inverse of a prefix product, unwound from the back.
  std::vector<uint32_t> Inverses(const std::vector<uint32_t>& values) const {
    const size_t n = values.size();
    std::vector<uint32_t> out(n);
    if (n == 0) return out;
    std::vector<uint64_t> prefix(n);
    prefix[0] = values[0];
    for (size_t i = 1; i < n; ++i) prefix[i] = mod_(prefix[i - 1] * values[i]);
    uint64_t inverse = Inverse(prefix[n - 1]);  // of values[0..i]
    for (size_t i = n - 1; i > 0; --i) {
      out[i] = static_cast<uint32_t>(mod_(inverse * prefix[i - 1]));
      inverse = mod_(inverse * values[i]);
    }
    out[0] = static_cast<uint32_t>(inverse);
    return out;
  }

  void Drop(uint32_t member) {
    Group& g = groups_[group_of_[member]];
    const size_t j = std::lower_bound(g.member.begin(), g.member.end(), member) - g.member.begin();
    g.pos.erase(g.pos.begin() + j);
    g.inverse.erase(g.inverse.begin() + j);
    g.shoup.erase(g.shoup.begin() + j);
    g.member.erase(g.member.begin() + j);
  }

  // The steps each member of `g` needs to reach `slot`, the fewest with the
  // lowest rank, packed as steps << 32 | rank. Steps are (slot - pos) * inverse
  // mod M, multiplied by Shoup's method: with x < 2^32 and q = floor(x * shoup /
  // 2^32), x * inverse - q * M lies in [0, 2M), and that fits 32 bits.
  uint64_t Nearest(const Group& g, uint32_t slot) const {
    const uint32_t m = m_;
    const uint32_t n = static_cast<uint32_t>(g.pos.size());
    const uint32_t* const pos = g.pos.data();
    const uint32_t* const inverse = g.inverse.data();
    const uint32_t* const shoup = g.shoup.data();
    uint64_t best = UINT64_MAX;
    for (uint32_t j = 0; j < n; ++j) {
      const uint32_t ahead = slot >= pos[j] ? slot - pos[j] : slot + m - pos[j];
      const uint32_t q = static_cast<uint32_t>((uint64_t{ahead} * shoup[j]) >> 32);
      const uint32_t r = ahead * inverse[j] - q * m;
      const uint32_t steps = std::min(r, r - m);
      best = std::min(best, uint64_t{steps} << 32 | j);
    }
    return best;
  }

  Event Earliest(uint32_t slot) const {
    Event best{0, UINT32_MAX, slot};
    for (const Group& g : groups_) {
      if (g.pos.empty()) continue;
      const uint64_t nearest = Nearest(g, slot);
      const uint64_t round = g.round + (nearest >> 32);
      // One class: rounds compare as integers, no clock needed.
      const double time = groups_.size() == 1 ? static_cast<double>(round)
                                              : ProposalTime(round, g.weight, m_);
      const Event e{time, g.member[static_cast<uint32_t>(nearest)], slot};
      if (best.member == UINT32_MAX || Later(best, e)) best = e;
    }
    return best;
  }

  const uint32_t m_;
  const Modulus mod_;
  std::vector<Group> groups_;
  // Per member:
  std::vector<uint32_t> index_;     // into the caller's vector
  std::vector<uint32_t> room_;
  std::vector<uint32_t> group_of_;
};

}  // namespace

std::vector<uint32_t> BuildLookupTable(const std::vector<LookupBackend>& backends, uint32_t table_size,
                                       const std::string& where) {
  const std::vector<Candidate> candidates = permutation::SortedCandidates(backends, table_size, where);
  if (candidates.empty()) return std::vector<uint32_t>(table_size, kNoBackend);
  // A lone backend's cap is the whole table, and it wins every slot: what the
  // race would find after about M ln M proposals (0.7 ms at 65,537 slots).
  if (candidates.size() == 1) return std::vector<uint32_t>(table_size, candidates[0].index);
  unsigned __int128 total_weight = 0;
  for (const Candidate& c : candidates) total_weight += c.weight;

  // Heaviest class first, so that at equal times heavier backends propose first.
  std::vector<WeightClass> classes;
  std::vector<const Candidate*> by_weight;
  for (const Candidate& c : candidates) by_weight.push_back(&c);
  const auto heavier = [](const Candidate* a, const Candidate* b) {
    return ClockWeight(a->weight) > ClockWeight(b->weight);
  };
  if (!std::is_sorted(by_weight.begin(), by_weight.end(), heavier)) {
    std::stable_sort(by_weight.begin(), by_weight.end(), heavier);
  }
  uint32_t cap = 0, cap_weight = 0;
  for (const Candidate* c : by_weight) {
    const uint32_t clock = ClockWeight(c->weight);
    if (classes.empty() || classes.back().weight != clock) {
      classes.push_back({clock, 1, ProposalTime(1, clock, table_size), {}, {}, {}, {}});
    }
    // The cap: the load bound times the share, and never below the share
    // rounded up, so the caps add up to at least the table and it always fills.
    // (128-bit divisions are library calls: computed once per weight.)
    if (c->weight != cap_weight) {
      const unsigned __int128 scaled = static_cast<unsigned __int128>(table_size) * c->weight;
      const unsigned __int128 at_least = (scaled + total_weight - 1) / total_weight;
      const unsigned __int128 bounded =
          scaled * kLoadBoundNumerator / (total_weight * kLoadBoundDenominator);
      cap = static_cast<uint32_t>(std::max(at_least, bounded));
      cap_weight = c->weight;
    }
    classes.back().Add(c->index, cap, static_cast<uint32_t>(c->pos),
                       static_cast<uint32_t>(c->skip));
  }

  std::vector<uint32_t> table(table_size + 1, kNoBackend);
  uint32_t largest = 0;
  for (const WeightClass& c : classes) largest = std::max(largest, c.Size());
  RendezvousFiller filler(table_size, table.data(), largest);
  // Below this many free slots, computing each one's earliest proposer (a
  // multiply per slot and live backend) beats waiting for the race to hit it
  // (a visit per proposal, M / free proposals per slot found): fewest
  // instructions around M / N (callgrind, N = 100 and 1000, M = 65537 and
  // 655373), and no more than M / 64 (the heap of free slots then costs
  // more than it saves).
  const uint32_t tail = static_cast<uint32_t>(
      std::min<uint64_t>(table_size / 64, uint64_t{kTailFactor} * table_size / candidates.size()));
  FillInTimeOrder(classes, table_size, tail, filler);
  if (filler.Free() != 0) TailByDistance(classes, table_size).Fill(filler, table.data());
  table.pop_back();
  return table;
}

}  // namespace sluice
