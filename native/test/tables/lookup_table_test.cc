// The data path's lookup table: bounded-load rendezvous over per-backend
// permutations (tables/lookup_table.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/coded_error.h"
#include "tables/lookup_table.h"
#include "tables/permutations.h"
#include "test/tables/table_test_support.h"

namespace {

using sluice::BuildLookupTable;
using sluice::IsPrime;
using sluice::kNoBackend;
using sluice::LookupBackend;

using table_support::Backends;
using table_support::Counts;
using table_support::Keys;
using table_support::WeightCase;

// BuildLookupTable with its default `where`, as a function the helpers can call.
std::vector<uint32_t> Build(const std::vector<LookupBackend>& b, uint32_t size) { return BuildLookupTable(b, size); }

// The cap the implementation promises: max(ceil(share), floor(1.1 * share)).
uint64_t Cap(uint64_t m, uint64_t weight, uint64_t total) {
  return std::max((m * weight + total - 1) / total, m * weight * 11 / (total * 10));
}

// The definition, the slow way: every backend's permutation is
// (offset + j * skip) % M with offset and skip from its key; its j-th proposal
// (j from 1) happens at time -ln(1 - (j - 1/2) / M) / clock, where clock is the
// weight cut to 8 significant bits; events run in (time, faster clock first, key)
// order, each proposal takes its slot if free, and a backend stops once it
// holds its cap. Each event is found by scanning all backends (each one's next
// time computed once, when its previous proposal is made).
std::vector<uint32_t> ReferenceTable(const std::vector<LookupBackend>& backends, uint32_t m) {
  struct Ref {
    uint32_t index;
    uint64_t offset, skip, proposals, load, cap;
    uint32_t clock;  // the weight its proposals are timed by
    double next;     // when its next proposal (proposals + 1) happens
  };
  std::vector<Ref> refs;
  uint64_t total = 0;
  for (const LookupBackend& b : backends) total += b.weight;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0) continue;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char ch : backends[i].key) h = (h ^ ch) * 0x100000001b3ULL;
    // The clock keeps the weight's top 8 significant bits.
    uint32_t clock = backends[i].weight;
    int bits = 0;
    for (uint32_t t = clock; t != 0; t >>= 1) ++bits;
    if (bits > 8) clock = clock >> (bits - 8) << (bits - 8);
    refs.push_back({i, table_support::ReferenceMix(h ^ 0x6a09e667f3bcc908ULL) % m, table_support::ReferenceMix(h ^ 0xbb67ae8584caa73bULL) % (m - 1) + 1,
                    0, 0, Cap(m, backends[i].weight, total), clock, 0});
  }
  std::vector<uint32_t> table(m, kNoBackend);
  if (refs.empty()) return table;  // no backend with weight: every slot empty
  const auto time = [&](const Ref& r) {
    return -std::log1p(-(static_cast<double>(r.proposals + 1) - 0.5) / m) / r.clock;
  };
  for (Ref& r : refs) r.next = time(r);
  const auto before = [&](const Ref& a, const Ref& b) {
    if (a.next != b.next) return a.next < b.next;
    if (a.clock != b.clock) return a.clock > b.clock;
    return backends[a.index].key < backends[b.index].key;
  };
  uint32_t filled = 0;
  while (filled < m) {
    Ref* next = nullptr;
    for (Ref& r : refs) {
      if (r.load < r.cap && (next == nullptr || before(r, *next))) next = &r;
    }
    REQUIRE(next != nullptr);
    const uint64_t slot = (next->offset + next->proposals * next->skip) % m;
    ++next->proposals;
    next->next = time(*next);
    if (table[slot] == kNoBackend) {
      table[slot] = next->index;
      ++next->load;
      ++filled;
    }
  }
  return table;
}

struct Disruption {
  double moved;         // fraction of all slots whose backend changed
  double others_moved;  // fraction moved although neither side is the changed backend
};

Disruption Compare(const std::vector<std::string>& before, const std::vector<std::string>& after,
                   const std::string& changed_key) {
  size_t moved = 0, others = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == after[i]) continue;
    ++moved;
    others += before[i] != changed_key && after[i] != changed_key;
  }
  return {moved / double(before.size()), others / double(before.size())};
}

}  // namespace

TEST_CASE("lookup table: matches the definition for any weights") {
  const WeightCase cases[] = {
      {"equal", 20, 4099, [](uint32_t) { return 1u; }},
      {"equal, the bound binds", 40, 251, [](uint32_t) { return 7u; }},
      {"1..10", 37, 4099, [](uint32_t i) { return 1 + i % 10; }},
      {"distinct weights, some above 8 bits", 60, 4099, [](uint32_t i) { return 250 + 7 * i; }},
      {"one heavy", 30, 4099, [](uint32_t i) { return i == 3 ? 1000u : 1u; }},
      {"some zero, some heavy", 40, 4099,
       [](uint32_t i) { return i % 7 == 0 ? 0u : (i == 1 ? 5000u : 3u); }},
  };
  table_support::CheckAgainstReference(Build, ReferenceTable, cases);
}

TEST_CASE("lookup table: the table depends on keys, not on vector order") {
  table_support::CheckKeyedNotOrdered(Build, 200, 65537);
}

TEST_CASE("lookup table: no backend, or none with weight, leaves every slot empty") {
  for (uint32_t size : {2u, 251u, 65537u}) {
    CAPTURE(size);
    const auto none = BuildLookupTable({}, size);
    CHECK(none.size() == size);
    CHECK(std::all_of(none.begin(), none.end(), [](uint32_t e) { return e == kNoBackend; }));
    const auto zero = BuildLookupTable(Backends(5, 0), size);
    CHECK(std::all_of(zero.begin(), zero.end(), [](uint32_t e) { return e == kNoBackend; }));
  }
}

TEST_CASE("lookup table: IsPrime") {
  const uint32_t primes[] = {2, 3, 5, 7, 11, 13, 251, 65537, 655373, 16777259, 4294967291u};
  const uint32_t composites[] = {0, 1, 4, 6, 9, 15, 25, 49, 65535, 65536, 655371, 16777216,
                                 16777257, 4294967295u,
                                 65537u * 3u, 251u * 251u};
  for (uint32_t p : primes) {
    CAPTURE(p);
    CHECK(IsPrime(p));
  }
  for (uint32_t c : composites) {
    CAPTURE(c);
    // Independent trial division, so a wrong entry in the table above is caught too.
    bool prime = c >= 2;
    for (uint64_t d = 2; d * d <= c && prime; ++d) prime = c % d != 0;
    REQUIRE_FALSE(prime);
    CHECK_FALSE(IsPrime(c));
  }
  uint32_t below_1000 = 0;
  for (uint32_t n = 0; n < 1000; ++n) below_1000 += IsPrime(n);
  CHECK(below_1000 == 168);
}

// The table size's invariant: a prime from 2 to kMaxLookupTableSize, checked
// before anything is allocated, and named by the caller's `where`.
TEST_CASE("lookup table: a size that is not a prime from 2 to 16777259 is refused, naming it") {
  for (uint32_t size : {0u, 1u, 4u, 100u, 65535u, 65536u, 16777261u, 4294967291u}) {
    CAPTURE(size);
    CHECK_THROWS_AS(BuildLookupTable(Backends(3), size), sluice::CodedError);
    CHECK_THROWS_AS(BuildLookupTable({}, size), sluice::CodedError);
  }
  try {
    BuildLookupTable(Backends(3), 65536, "services[2].lookupTableSize");
    FAIL("no error");
  } catch (const sluice::CodedError& e) {
    CHECK(std::string(e.code()) == "SLUICE_INVALID_ARGUMENT");
    CHECK(std::string(e.what()) == "services[2].lookupTableSize: must be prime, from 2 to 16777259; got 65536");
  }
  CHECK(BuildLookupTable(Backends(3), 2).size() == 2);
  CHECK(BuildLookupTable(Backends(3), 3).size() == 3);
  CHECK(BuildLookupTable(Backends(1), sluice::kMaxLookupTableSize).size() == sluice::kMaxLookupTableSize);
}

TEST_CASE("lookup table: every slot filled, no backend above its bound, weights set the share") {
  const uint32_t size = 65537;
  {
    auto b = Backends(4);
    b[0].weight = 1;
    b[1].weight = 2;
    b[2].weight = 0;
    b[3].weight = 1;
    const auto c = Counts(BuildLookupTable(b, size), 4);
    CHECK(c[2] == 0);
    CHECK(std::fabs(c[0] / double(size) - 0.25) <= 0.005);
    CHECK(std::fabs(c[1] / double(size) - 0.50) <= 0.005);
    CHECK(std::fabs(c[3] / double(size) - 0.25) <= 0.005);
  }
  const WeightCase cases[] = {
      {"1000 equal", 1000, 65537, [](uint32_t) { return 100u; }},
      {"100 of 1..10", 100, 65537, [](uint32_t i) { return 1 + i % 10; }},
      {"1000 of 1..10", 1000, 655373, [](uint32_t i) { return 1 + i % 10; }},
      {"one at UINT32_MAX", 50, 65537, [](uint32_t i) { return i == 0 ? UINT32_MAX : 1000u; }},
  };
  for (const WeightCase& c : cases) {
    CAPTURE(c.name);
    auto b = Backends(c.n);
    uint64_t total = 0;
    for (uint32_t i = 0; i < c.n; ++i) total += b[i].weight = c.weight(i);
    const auto counts = Counts(BuildLookupTable(b, c.size), c.n);
    double worst = 0;
    for (uint32_t i = 0; i < c.n; ++i) {
      CAPTURE(i);
      CHECK(counts[i] <= Cap(c.size, b[i].weight, total));
      worst = std::max(worst, counts[i] / (double(c.size) * b[i].weight / total));
    }
    std::printf("rendezvous %s, %u slots: max load / weighted share %.3f\n", c.name, c.size, worst);
  }
}

// Where the bound does not bind (M/N large), a removal moves exactly the removed
// backend's slots and an addition exactly the slots the new one wins. Where it
// binds (1000 backends in 65537 slots: 65 each), the changed caps move a few
// more; the target is 1.5x the ideal.
TEST_CASE("lookup table: removing or adding one backend moves about 1/N of the slots") {
  struct ChurnCase {
    uint32_t n;
    uint32_t size;
    bool exact;        // the bound does not bind: only the changed backend's slots move
    double max_ratio;  // otherwise, moved / ideal
  };
  const ChurnCase cases[] = {
      {10, 65537, true, 0}, {100, 655373, true, 0}, {100, 65537, false, 1.5}, {1000, 65537, false, 1.5}};
  for (const ChurnCase& c : cases) {
    CAPTURE(c.n);
    const auto base = Backends(c.n, 100);
    const auto before = Keys(BuildLookupTable(base, c.size), base);
    for (uint32_t victim : {0u, c.n / 2, c.n - 1}) {
      CAPTURE(victim);
      auto after_b = base;
      const std::string removed = after_b[victim].key;
      after_b.erase(after_b.begin() + victim);
      const auto after = Keys(BuildLookupTable(after_b, c.size), after_b);
      const Disruption d = Compare(before, after, removed);
      const double had = std::count(before.begin(), before.end(), removed) / double(c.size);
      std::printf("rendezvous %u slots, remove 1 of %u: moved %.5f (ideal %.5f, ratio %.3f)\n",
                  c.size, c.n, d.moved, 1.0 / c.n, d.moved * c.n);
      CHECK(std::count(after.begin(), after.end(), removed) == 0);
      CHECK(d.moved >= had);
      if (c.exact) {
        CHECK(d.others_moved == 0);
      } else {
        CHECK(d.moved <= c.max_ratio / c.n);
      }
    }
    auto grown = base;
    grown.push_back(Backends(1, 100, 5000)[0]);
    const auto after = Keys(BuildLookupTable(grown, c.size), grown);
    const Disruption d = Compare(before, after, grown.back().key);
    std::printf("rendezvous %u slots, add 1 to %u: moved %.5f (ideal %.5f, ratio %.3f)\n",
                c.size, c.n, d.moved, 1.0 / (c.n + 1), d.moved * (c.n + 1));
    if (c.exact) {
      CHECK(d.others_moved == 0);
    } else {
      CHECK(d.moved <= c.max_ratio / (c.n + 1));
    }
  }
}

// A small case spelled out: 4 backends in 251 slots, no bound binding. Removing
// one hands each of its slots to whichever survivor reaches it next; no other
// slot changes.
TEST_CASE("lookup table: a removal moves only the removed backend's slots (small case)") {
  const auto b = Backends(4);
  const auto table = BuildLookupTable(b, 251);
  const std::vector<LookupBackend> three = {b[0], b[1], b[3]};
  const auto after = Keys(BuildLookupTable(three, 251), three);
  const auto before = Keys(table, b);
  uint32_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == b[2].key) {
      ++moved;
    } else {
      CHECK(after[i] == before[i]);
    }
  }
  CHECK(moved > 40);
  CHECK(moved < 85);
}

// Pinned output: a different table here means the hash, the event order or the
// bound changed, which would move live flows to other backends after an upgrade.
TEST_CASE("lookup table: output is stable across builds and platforms") {
  const std::vector<LookupBackend> b = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 2}};
  const auto table = BuildLookupTable(b, 13);
  CHECK(table == ReferenceTable(b, 13));
  const std::vector<uint32_t> expected = {1, 2, 0, 1, 0, 2, 2, 2, 2, 0, 2, 0, 2};
  CHECK(table == expected);
  auto big = Backends(10);
  for (uint32_t i = 0; i < big.size(); ++i) big[i].weight = 1 + i % 3;
  uint64_t digest = 0xcbf29ce484222325ULL;
  for (uint32_t e : BuildLookupTable(big, 65537)) digest = (digest ^ e) * 0x100000001b3ULL;
  CHECK(digest == 0x3a016d1f7fa575a3ULL);
}

TEST_CASE("lookup table: build time (printed, not asserted)") {
  const auto b = Backends(1000);
  auto weighted = b;
  for (uint32_t i = 0; i < weighted.size(); ++i) weighted[i].weight = 1 + i % 10;
  std::printf("rendezvous build 65537 x 1000 equal: %.3f ms\n",
              table_support::MillisToBuild(Build, b, 65537, 5));
  std::printf("rendezvous build 65537 x 1000 weighted 1..10: %.3f ms\n",
              table_support::MillisToBuild(Build, weighted, 65537, 5));
  std::printf("rendezvous build 655373 x 1000 equal: %.3f ms\n",
              table_support::MillisToBuild(Build, b, 655373, 3));
}

namespace {

// Inputs drawn from a seed by splitmix64 and plain modulo (std::
// uniform_int_distribution differs between standard libraries), so every
// platform builds the same cases and the digests below can be committed.
class Draw {
 public:
  explicit Draw(uint64_t seed) : state_(seed) {}
  uint32_t Pick(uint32_t lo, uint32_t hi) {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + static_cast<uint32_t>(z % (uint64_t{hi} - lo + 1));
  }
  uint32_t Prime(uint32_t lo, uint32_t hi) {
    uint32_t n = Pick(lo, hi);
    while (!IsPrime(n)) ++n;
    return n;
  }
  // n backends with weights of one of six kinds: equal, 1..10, distinct with
  // some 0, every scale up to UINT32_MAX, a few heavy, every fifth 0; keys are
  // addresses with random ports.
  std::vector<LookupBackend> Set(uint32_t n) {
    std::vector<LookupBackend> b;
    const uint32_t mode = Pick(0, 5);
    const uint32_t equal = Pick(1, 1000);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t w = equal;
      if (mode == 1) w = 1 + Pick(0, 9);
      if (mode == 2) w = Pick(0, 2000);
      if (mode == 3) w = Pick(1, UINT32_MAX) >> Pick(0, 31);
      if (mode == 4) w = i % 11 == 0 ? Pick(1000, 100000) : Pick(1, 3);
      if (mode == 5) w = i % 5 == 0 ? 0 : equal;
      b.push_back({"10." + std::to_string(Pick(0, 255)) + "." + std::to_string(i / 256) + "." +
                       std::to_string(i % 256) + ":" + std::to_string(Pick(1, 65535)),
                   w});
    }
    return b;
  }

 private:
  uint64_t state_;
};

uint64_t Digest(uint64_t digest, const std::vector<uint32_t>& table) {
  digest = (digest ^ table.size()) * 0x100000001b3ULL;
  for (uint32_t e : table) digest = (digest ^ e) * 0x100000001b3ULL;
  return digest;
}

// What every table must be, whatever its inputs: full (or empty when no weight
// is above 0), each entry a backend with weight, none above its cap.
void CheckProperties(const std::vector<LookupBackend>& b, uint32_t size, const std::vector<uint32_t>& table) {
  REQUIRE(table.size() == size);
  uint64_t total = 0;
  for (const LookupBackend& x : b) total += x.weight;
  if (total == 0) {
    CHECK(std::all_of(table.begin(), table.end(), [](uint32_t e) { return e == kNoBackend; }));
    return;
  }
  const auto counts = Counts(table, b.size());
  for (uint32_t i = 0; i < b.size(); ++i) {
    CAPTURE(i);
    if (b[i].weight == 0) CHECK(counts[i] == 0);
    CHECK(counts[i] <= Cap(size, b[i].weight, total));
  }
}

}  // namespace

// The builder is fast because of its batches, its weight classes and its tail
// computed from the slots; the definition above is none of those. Random sets
// small enough for the definition, with sizes and counts that reach every one
// of those paths (many classes, members that cap and get parked, more backends
// than slots), must build exactly the definition's table.
TEST_CASE("lookup table: matches the definition on random inputs") {
  Draw draw(20261124);
  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    const uint32_t size = round % 3 == 0 ? draw.Prime(2, 300) : draw.Prime(300, 8000);
    const uint32_t n = round % 4 == 0 ? draw.Pick(1, 20) : draw.Pick(1, std::min<uint32_t>(300, 3 * size));
    const auto b = draw.Set(n);
    CAPTURE(size);
    CAPTURE(n);
    const auto table = BuildLookupTable(b, size);
    CheckProperties(b, size, table);
    CHECK(table == ReferenceTable(b, size));
  }
}

// Tables must not change across versions: a table that changes on upgrade
// moves live flows. The digests below pin the tables of the benchmark's sets
// and of 300 random sets of up to 1500 backends and 700000 slots; they were
// taken from tables that matched, slot by slot, those of the builder this one
// replaced, so upgrading across that change moved no flow.
TEST_CASE("lookup table: builds the committed tables for the benchmark's sets") {
  struct Pinned {
    uint32_t n;
    bool weighted;  // weights 1 + i % 10, else 100 each
    uint32_t size;
    uint64_t digest;
  };
  const Pinned pinned[] = {
      {10, false, 65537, 0x1c33637c5deeead7ULL},   {10, true, 65537, 0x053f45a96f4ab18bULL},
      {100, false, 65537, 0x76d4678c82ca15d1ULL},  {100, true, 65537, 0x244fd1a462f14eaaULL},
      {1000, false, 65537, 0x6be5b4e02139d3ecULL}, {1000, true, 65537, 0x0d1dbfa435c8284dULL},
      {1000, false, 655373, 0xed60dd90fdbb2d70ULL},
  };
  for (const Pinned& p : pinned) {
    CAPTURE(p.n);
    CAPTURE(p.weighted);
    CAPTURE(p.size);
    auto b = Backends(p.n, 100);
    if (p.weighted) {
      for (uint32_t i = 0; i < p.n; ++i) b[i].weight = 1 + i % 10;
    }
    const auto table = BuildLookupTable(b, p.size);
    CheckProperties(b, p.size, table);
    CHECK(Digest(0xcbf29ce484222325ULL, table) == p.digest);
  }
}

// Each random table is also checked for the properties every table has and,
// every tenth, for not depending on the order of its backends.
TEST_CASE("lookup table: builds the committed tables for random inputs, each with every property") {
  Draw draw(20261123);
  uint64_t digest = 0xcbf29ce484222325ULL;
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    const uint32_t size = round % 50 == 0 ? draw.Prime(100000, 700000)
                          : round % 3 == 0 ? draw.Prime(2, 300)
                                           : draw.Prime(300, 70000);
    const uint32_t n = round % 4 == 0 ? draw.Pick(1, 20) : draw.Pick(1, std::min<uint32_t>(1500, 3 * size));
    const auto b = draw.Set(n);
    CAPTURE(size);
    CAPTURE(n);
    const auto table = BuildLookupTable(b, size);
    CheckProperties(b, size, table);
    if (round % 10 == 0) {
      auto reversed = b;
      std::reverse(reversed.begin(), reversed.end());
      CHECK(Keys(BuildLookupTable(reversed, size), reversed) == Keys(table, b));
    }
    digest = Digest(digest, table);
  }
  CHECK(digest == 0x29f81e4ee8b658fcULL);
}
