// Backend sets and table views shared by the lookup table's and classic Maglev's tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tables/lookup_table.h"

namespace table_support {

// The 64-bit finaliser both reference tables derive a backend's permutation
// from (offset and skip), written out here independently of tables/permutations.cc.
inline uint64_t ReferenceMix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline std::vector<sluice::LookupBackend> Backends(uint32_t n, uint32_t weight = 1,
                                                   uint32_t first = 0) {
  std::vector<sluice::LookupBackend> v;
  for (uint32_t i = first; i < first + n; ++i) {
    v.push_back({"10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1:8080",
                 weight});
  }
  return v;
}

// Slots per backend index; every slot must hold a valid index.
inline std::vector<uint32_t> Counts(const std::vector<uint32_t>& table, size_t n) {
  std::vector<uint32_t> c(n, 0);
  for (uint32_t e : table) {
    REQUIRE(e < n);
    ++c[e];
  }
  return c;
}

// The table as backend keys, so tables built from different vectors compare.
inline std::vector<std::string> Keys(const std::vector<uint32_t>& table,
                                     const std::vector<sluice::LookupBackend>& backends) {
  std::vector<std::string> keys;
  keys.reserve(table.size());
  for (uint32_t e : table) keys.push_back(e == sluice::kNoBackend ? "" : backends[e].key);
  return keys;
}

// A backend set by count, table size and a weight per position.
struct WeightCase {
  const char* name;
  uint32_t n;
  uint32_t size;
  uint32_t (*weight)(uint32_t i);

  std::vector<sluice::LookupBackend> Set() const {
    auto b = Backends(n);
    for (uint32_t i = 0; i < n; ++i) b[i].weight = weight(i);
    return b;
  }
};

// Weight sets at the edges, which every table must build exactly as its definition does.
inline const WeightCase kEdgeWeightCases[] = {
    {"extreme weights", 30, 251,
     [](uint32_t i) { return i == 0 ? UINT32_MAX : (i % 2 ? 1u : UINT32_MAX / 7); }},
    {"more backends than slots", 400, 251, [](uint32_t i) { return 1 + i % 3; }},
    {"single slot pair", 5, 2, [](uint32_t i) { return i + 1; }},
};

// `build` equals `reference` (a slow, literal definition) for `cases` and the edge cases.
template <typename Build, typename Reference, size_t N>
void CheckAgainstReference(Build build, Reference reference, const WeightCase (&cases)[N]) {
  auto check = [&](const WeightCase& c) {
    CAPTURE(c.name);
    const auto b = c.Set();
    CHECK(build(b, c.size) == reference(b, c.size));
  };
  for (const WeightCase& c : cases) check(c);
  for (const WeightCase& c : kEdgeWeightCases) check(c);
}

// `build` gives the same table, by keys, for n backends of weights 1..4 in
// their order, shuffled and reversed.
template <typename Build>
void CheckKeyedNotOrdered(Build build, uint32_t n, uint32_t size) {
  auto b = Backends(n);
  for (uint32_t i = 0; i < b.size(); ++i) b[i].weight = 1 + i % 4;
  const auto keys = Keys(build(b, size), b);
  CHECK(Keys(build(b, size), b) == keys);
  auto shuffled = b;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  REQUIRE(shuffled[0].key != b[0].key);
  CHECK(Keys(build(shuffled, size), shuffled) == keys);
  std::reverse(shuffled.begin(), shuffled.end());
  CHECK(Keys(build(shuffled, size), shuffled) == keys);
}

// The best of `reps` builds, in ms: printed by the tests, never asserted.
template <typename Build>
double MillisToBuild(Build build, const std::vector<sluice::LookupBackend>& b, uint32_t size,
                     int reps) {
  double best = 1e9;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<uint32_t> t = build(b, size);
    const auto t1 = std::chrono::steady_clock::now();
    REQUIRE(t.size() == size);
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

}  // namespace table_support
