#include "maglev.h"

#include <algorithm>
#include <cmath>
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

// The rendezvous table's load bound, 11/10 of a backend's share: see
// README, "Maglev", for the disruption it costs at each bound.
constexpr uint64_t kLoadBoundNumerator = 11;
constexpr uint64_t kLoadBoundDenominator = 10;

// See BuildRendezvousTable: where the race hands over to TailByDistance.
constexpr uint32_t kTailFactor = 3;

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

// Bounded-load rendezvous: backend b proposes the slots of its permutation in
// order, its k-th proposal at ProposalTime(k, weight), and a slot belongs to the
// first proposal that reaches it (ties: faster clock first, then key order).
// Without the bound that is rendezvous (highest-random-weight) hashing with the
// arrival time as the score, so a slot's owner depends only on the backends
// that reach it before its owner does: removing a backend moves only its own
// slots, adding one moves only the slots it wins. The bound (a backend stops
// proposing once it holds 1.1x its share) trims plain rendezvous's multinomial
// spread (the busiest of 1000 backends in 65537 slots would hold ~1.24x); it
// moves slots beyond the ideal only through backends that reach it, and it is
// loose enough that few do. (Consistent hashing with bounded loads, Mirrokni,
// Thorup and Zadimoghaddam, SODA 2018, makes the same trade.)
struct Proposer {
  uint32_t index;
  uint32_t room;  // slots it may still win under the load bound; > 0 while live
  uint32_t pos;
  uint32_t skip;
};

// When a backend of weight w makes its k-th proposal (k from 1): -ln(1 - (k -
// 1/2) / M) / w. A slot sits at a uniform position of each permutation, so the
// first proposal reaching it from a backend comes at an exponentially
// distributed time of rate w, and the earliest of several such clocks is
// backend b's with probability w_b / W: shares follow weights. (Times linear in
// k would favour heavy backends: 3/4 instead of 2/3 for weights 2 and 1.)
double ProposalTime(uint64_t k, uint32_t weight, uint32_t m) {
  return -std::log1p(-(static_cast<double>(k) - 0.5) / m) / weight;
}

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
void FillInTimeOrder(std::vector<WeightClass>& classes, uint32_t m, uint32_t tail,
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

namespace {

void CheckTableSize(uint32_t table_size) {
  if (table_size < 2 || !IsPrime(table_size)) {
    throw std::invalid_argument("table size must be a prime >= 2, got " +
                                std::to_string(table_size));
  }
}

// Backends with weight > 0 with their permutations, in key order: turn order
// decides who wins contested slots, so it follows the keys, not the caller's
// vector order, and the same set of backends always builds the same table.
std::vector<Candidate> SortedCandidates(const std::vector<MaglevBackend>& backends, uint64_t m) {
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

}  // namespace

std::vector<uint32_t> BuildMaglevTable(const std::vector<MaglevBackend>& backends,
                                       uint32_t table_size) {
  CheckTableSize(table_size);
  std::vector<uint32_t> table(table_size, kMaglevNoBackend);
  std::vector<Candidate> candidates = SortedCandidates(backends, table_size);
  if (candidates.empty()) return table;
  uint32_t max_weight = 0;
  uint64_t total_weight = 0;
  for (const Candidate& c : candidates) {
    max_weight = std::max(max_weight, c.weight);
    total_weight += c.weight;
  }

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

std::vector<uint32_t> BuildRendezvousTable(const std::vector<MaglevBackend>& backends,
                                           uint32_t table_size) {
  CheckTableSize(table_size);
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

}  // namespace sluice
