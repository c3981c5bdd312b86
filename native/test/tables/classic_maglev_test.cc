// Classic Maglev (tables/classic_maglev.h): not the data path's table, kept to
// compare it with; its own definition, shares, churn and pinned output.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/coded_error.h"
#include "tables/classic_maglev.h"
#include "test/tables/table_test_support.h"

namespace {

using sluice::BuildClassicMaglevTable;
using sluice::kNoBackend;
using sluice::LookupBackend;

using table_support::Backends;
using table_support::Counts;
using table_support::Keys;
using table_support::MillisToBuild;
using table_support::WeightCase;

// BuildClassicMaglevTable with its default `where`, as a function the helpers can call.
std::vector<uint32_t> BuildClassic(const std::vector<LookupBackend>& b, uint32_t size) { return BuildClassicMaglevTable(b, size); }

struct Disruption {
  double moved;            // fraction of all slots whose backend changed
  double others_moved;     // fraction of slots moved although their backend stayed
  double ideal;            // fraction that must move
};

Disruption Compare(const std::vector<std::string>& before, const std::vector<std::string>& after,
                   const std::string& changed_key) {
  size_t moved = 0, others = 0, must = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    const bool involves = before[i] == changed_key || after[i] == changed_key;
    must += involves;
    if (before[i] != after[i]) {
      ++moved;
      others += !involves;
    }
  }
  const double m = static_cast<double>(before.size());
  return {moved / m, others / m, must / m};
}


// The algorithm written the obvious, slow way: lazy permutations indexed as
// (offset + next * skip) % M, one credit round at a time over every backend,
// sorted by key. The constants are the ones the implementation pins forever.
std::vector<uint32_t> ReferenceTable(const std::vector<LookupBackend>& backends, uint32_t m) {
  struct Ref {
    uint32_t index;
    uint64_t offset, skip, next, credit;
  };
  std::vector<Ref> refs;
  uint32_t max_weight = 0;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0) continue;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char ch : backends[i].key) h = (h ^ ch) * 0x100000001b3ULL;
    refs.push_back({i, table_support::ReferenceMix(h ^ 0x6a09e667f3bcc908ULL) % m,
                    table_support::ReferenceMix(h ^ 0xbb67ae8584caa73bULL) % (m - 1) + 1, 0, 0});
    max_weight = std::max(max_weight, backends[i].weight);
  }
  std::vector<uint32_t> table(m, kNoBackend);
  if (refs.empty()) return table;
  std::sort(refs.begin(), refs.end(), [&](const Ref& a, const Ref& b) {
    const auto& x = backends[a.index];
    const auto& y = backends[b.index];
    if (x.key != y.key) return x.key < y.key;
    if (x.weight != y.weight) return x.weight < y.weight;
    return a.index < b.index;
  });
  uint32_t filled = 0;
  for (;;) {
    for (Ref& r : refs) {
      r.credit += backends[r.index].weight;
      if (r.credit < max_weight) continue;
      r.credit -= max_weight;
      uint64_t slot;
      do {
        slot = (r.offset + r.next * r.skip) % m;
        ++r.next;
      } while (table[slot] != kNoBackend);
      table[slot] = r.index;
      if (++filled == m) return table;
    }
  }
}

}  // namespace

TEST_CASE("classic maglev: non-prime or too small sizes throw") {
  const auto b = Backends(3);
  for (uint32_t size : {0u, 1u, 4u, 100u, 65536u, 65535u}) {
    CAPTURE(size);
    CHECK_THROWS_AS(BuildClassicMaglevTable(b, size), sluice::CodedError);
  }
  CHECK_THROWS_AS(BuildClassicMaglevTable({}, 1000), sluice::CodedError);
  CHECK(BuildClassicMaglevTable(b, 2).size() == 2);
  CHECK(BuildClassicMaglevTable(b, 3).size() == 3);
}

TEST_CASE("classic maglev: every slot is filled with a valid index, for several prime sizes") {
  for (uint32_t size : {251u, 65537u, 655373u}) {
    for (uint32_t n : {1u, 7u, 100u}) {
      CAPTURE(size);
      CAPTURE(n);
      const auto b = Backends(n);
      const auto table = BuildClassicMaglevTable(b, size);
      REQUIRE(table.size() == size);
      const auto c = Counts(table, n);
      const double share = static_cast<double>(size) / n;
      for (uint32_t x : c) CHECK(std::fabs(x - share) <= std::max(2.0, share * 0.01));
    }
  }
}

TEST_CASE("classic maglev: equal weights share equally") {
  const uint32_t size = 65537;
  for (uint32_t n : {3u, 10u, 100u}) {
    CAPTURE(n);
    const auto c = Counts(BuildClassicMaglevTable(Backends(n), size), n);
    const double share = static_cast<double>(size) / n;
    const uint32_t lo = *std::min_element(c.begin(), c.end());
    const uint32_t hi = *std::max_element(c.begin(), c.end());
    CAPTURE(lo);
    CAPTURE(hi);
    CHECK(lo >= share - std::max(3.0, share * 0.01));
    CHECK(hi <= share + std::max(3.0, share * 0.01));
  }
}

TEST_CASE("classic maglev: weights set the share") {
  const uint32_t size = 65537;
  {
    auto b = Backends(3);
    b[0].weight = 1;
    b[1].weight = 2;
    b[2].weight = 1;
    const auto c = Counts(BuildClassicMaglevTable(b, size), 3);
    CHECK(std::fabs(c[0] / double(size) - 0.25) <= 0.005);
    CHECK(std::fabs(c[1] / double(size) - 0.50) <= 0.005);
    CHECK(std::fabs(c[2] / double(size) - 0.25) <= 0.005);
  }
  {
    // Uneven weights, each within a few slots of its exact share.
    auto b = Backends(10);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < 10; ++i) sum += b[i].weight = (i + 1) * 7;
    const auto c = Counts(BuildClassicMaglevTable(b, size), 10);
    for (uint32_t i = 0; i < 10; ++i) {
      CAPTURE(i);
      CHECK(std::fabs(c[i] - double(size) * b[i].weight / sum) <= 3.0);
    }
  }
  {
    // Large weights must not overflow the credit arithmetic.
    auto b = Backends(2);
    b[0].weight = UINT32_MAX;
    b[1].weight = UINT32_MAX / 3;
    const auto c = Counts(BuildClassicMaglevTable(b, size), 2);
    CHECK(std::fabs(c[0] / double(size) - 0.75) <= 0.005);
  }
}

TEST_CASE("classic maglev: weight 0 and empty sets") {
  const uint32_t size = 251;
  auto b = Backends(4);
  b[2].weight = 0;
  const auto c = Counts(BuildClassicMaglevTable(b, size), 4);
  CHECK(c[2] == 0);
  CHECK(c[0] + c[1] + c[3] == size);
  for (uint32_t i : {0u, 1u, 3u}) CHECK(std::abs(int(c[i]) - int(size / 3)) <= 2);

  for (auto& x : b) x.weight = 0;
  const auto zero = BuildClassicMaglevTable(b, size);
  CHECK(zero.size() == size);
  CHECK(std::all_of(zero.begin(), zero.end(), [](uint32_t e) { return e == kNoBackend; }));

  const auto none = BuildClassicMaglevTable({}, 65537);
  CHECK(none.size() == 65537);
  CHECK(std::all_of(none.begin(), none.end(), [](uint32_t e) { return e == kNoBackend; }));
}

TEST_CASE("classic maglev: the table depends on keys, not on vector order") {
  table_support::CheckKeyedNotOrdered(BuildClassic, 50, 65537);
}

// Covers both fill schedules: near-equal weights take the round-robin one,
// skewed weights the event-driven one; both must match the plain algorithm.
TEST_CASE("classic maglev: matches the reference algorithm for any weights") {
  const WeightCase cases[] = {
      {"equal", 50, 65537, [](uint32_t) { return 1u; }},
      {"1..10", 37, 65537, [](uint32_t i) { return 1 + i % 10; }},
      {"one heavy (event-driven)", 1000, 65537, [](uint32_t i) { return i == 3 ? 1000u : 1u; }},
      {"some zero, some heavy", 200, 65537,
       [](uint32_t i) { return i % 7 == 0 ? 0u : (i == 1 ? 5000u : 3u); }},
      {"extreme weights, event-driven", 300, 251,
       [](uint32_t i) { return i == 0 ? UINT32_MAX : 1u + i % 2; }},
  };
  table_support::CheckAgainstReference(BuildClassic, ReferenceTable, cases);
}

TEST_CASE("classic maglev: skewed weights still build quickly") {
  auto b = Backends(1000);
  b[0].weight = UINT32_MAX;
  std::printf("maglev build 65537 x 1000, one backend at UINT32_MAX, rest 1: %.3f ms\n",
              MillisToBuild(BuildClassic, b, 65537, 3));
  const auto table = BuildClassicMaglevTable(b, 65537);
  CHECK(Counts(table, 1000)[0] >= 65537 - 1000);
  CHECK(table == ReferenceTable(b, 65537));
}

// Pinned output: a different table here means the hash or the turn order
// changed, which would move live flows to other backends after an upgrade.
TEST_CASE("classic maglev: output is stable across builds and platforms") {
  const std::vector<LookupBackend> b = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 2}};
  const auto table = BuildClassicMaglevTable(b, 13);
  const std::vector<uint32_t> expected = {1, 2, 0, 1, 0, 2, 2, 2, 2, 2, 2, 0, 1};
  CHECK(table == expected);

  auto big = Backends(10);
  for (uint32_t i = 0; i < big.size(); ++i) big[i].weight = 1 + i % 3;
  uint64_t digest = 0xcbf29ce484222325ULL;
  for (uint32_t e : BuildClassicMaglevTable(big, 65537)) digest = (digest ^ e) * 0x100000001b3ULL;
  CHECK(digest == 0x1717011baebeaf96ULL);
}

// Maglev's excess disruption comes from the fill cascade, and it grows as slots
// per backend shrink: the paper's own pseudocode with random permutations gives
// the same ~1.57x ideal at 100 backends in 65537 slots. So the 1.5x bound is
// asserted where M/N is in the thousands, and the default-size case gets a bound
// that still catches a broken hash or turn order (those move far more).
struct ChurnCase {
  uint32_t n;
  uint32_t size;
  double max_ratio;   // moved / ideal
  double max_others;  // moved between survivors, in units of 1/N
};
const ChurnCase kChurnCases[] = {
    {10, 65537, 1.5, 0.5},
    {100, 655373, 1.5, 0.5},
    {100, 65537, 1.75, 0.75},
};

TEST_CASE("classic maglev: removing a backend moves about 1/N of the slots") {
  for (const ChurnCase& c : kChurnCases) {
    CAPTURE(c.n);
    CAPTURE(c.size);
    const auto before_b = Backends(c.n);
    const auto before = Keys(BuildClassicMaglevTable(before_b, c.size), before_b);
    double worst = 0;
    for (uint32_t victim : {0u, c.n / 2, c.n - 1}) {
      CAPTURE(victim);
      auto after_b = before_b;
      const std::string removed = after_b[victim].key;
      after_b.erase(after_b.begin() + victim);
      const auto after = Keys(BuildClassicMaglevTable(after_b, c.size), after_b);
      const Disruption d = Compare(before, after, removed);
      worst = std::max(worst, d.moved * c.n);
      std::printf("maglev %u slots, remove 1 of %u: moved %.4f (ideal %.4f, ratio %.3f), "
                  "between survivors %.4f (%.3f/N)\n",
                  c.size, c.n, d.moved, 1.0 / c.n, d.moved * c.n, d.others_moved,
                  d.others_moved * c.n);
      CHECK(std::count(after.begin(), after.end(), removed) == 0);
      CHECK(d.moved >= d.ideal);
      CHECK(d.moved >= 0.99 / c.n);
      CHECK(d.moved <= c.max_ratio / c.n);
      CHECK(d.others_moved <= c.max_others / c.n);
    }
  }
}

TEST_CASE("classic maglev: adding a backend moves about 1/(N+1) of the slots") {
  for (const ChurnCase& c : kChurnCases) {
    CAPTURE(c.n);
    CAPTURE(c.size);
    const uint32_t n1 = c.n + 1;
    const auto before_b = Backends(c.n);
    const auto before = Keys(BuildClassicMaglevTable(before_b, c.size), before_b);
    auto after_b = before_b;
    after_b.push_back(Backends(1, 1, 1000)[0]);
    const auto after = Keys(BuildClassicMaglevTable(after_b, c.size), after_b);
    const Disruption d = Compare(before, after, after_b.back().key);
    std::printf("maglev %u slots, add 1 to %u: moved %.4f (ideal %.4f, ratio %.3f), "
                "between survivors %.4f (%.3f/N)\n",
                c.size, c.n, d.moved, 1.0 / n1, d.moved * n1, d.others_moved,
                d.others_moved * n1);
    CHECK(d.moved >= 0.99 / n1);
    CHECK(d.moved <= c.max_ratio / n1);
    CHECK(d.others_moved <= c.max_others / n1);
  }
}

TEST_CASE("classic maglev: build time (printed, not asserted)") {
  const auto b = Backends(1000);
  auto weighted = b;
  for (uint32_t i = 0; i < weighted.size(); ++i) weighted[i].weight = 1 + i % 10;
  std::printf("maglev build 65537 x 1000 equal: %.3f ms\n", MillisToBuild(BuildClassic, b, 65537, 5));
  std::printf("maglev build 65537 x 1000 weighted 1..10: %.3f ms\n",
              MillisToBuild(BuildClassic, weighted, 65537, 5));
  std::printf("maglev build 655373 x 1000 equal: %.3f ms\n", MillisToBuild(BuildClassic, b, 655373, 3));
}
