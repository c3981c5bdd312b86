#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <unordered_set>
#include <vector>

#include "tables/nat_session_index.h"

namespace {

using sluice::NatIndexHash;
using sluice::NatSessionIndex;

// An index in plain memory over sessions whose keys are their hashes' signatures:
// `sigs[i]` is session i's, and two sessions are the same key when their sigs are.
struct TestIndex {
  explicit TestIndex(uint32_t capacity)
      : memory(std::aligned_alloc(64, NatSessionIndex::MemoryBytes(capacity)), std::free) {
    std::memset(memory.get(), 0, NatSessionIndex::MemoryBytes(capacity));
    index = NatSessionIndex(memory.get(), capacity);
  }
  std::unique_ptr<void, decltype(&std::free)> memory;
  NatSessionIndex index;
  std::vector<uint32_t> sigs;

  bool Add(uint32_t sig) {
    uint32_t session = static_cast<uint32_t>(sigs.size());
    sigs.push_back(sig);
    return index.Insert(index.HashOf(sig), session, [&](uint32_t s) { return index.HashOf(sigs[s]); });
  }
  int32_t Find(uint32_t sig) const {
    return index.Find(index.HashOf(sig), [&](uint32_t s) { return sigs[s] == sig; });
  }
  // A signature whose buckets are `primary` and `secondary`, and distinct from all so far.
  uint32_t SigFor(uint32_t primary, uint32_t secondary, uint32_t& next) const {
    for (;; next++) {
      NatIndexHash h = index.HashOf(next);
      if (h.primary == primary && h.secondary == secondary) return next++;
    }
  }
};

}  // namespace

TEST_CASE("nat session index: every session up to capacity is found, absent keys are not") {
  constexpr uint32_t kCapacity = 1 << 16;
  TestIndex t(kCapacity);
  std::mt19937 rng(7);
  std::vector<uint32_t> sigs;
  while (sigs.size() < kCapacity) {
    uint32_t sig = rng();
    if (t.Find(sig) >= 0) continue;  // a repeated key is not a new session
    REQUIRE(t.Add(sig));
    sigs.push_back(sig);
  }
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < kCapacity; i++) wrong += t.Find(sigs[i]) != static_cast<int32_t>(i);
  CHECK(wrong == 0);
  std::unordered_set<uint32_t> known(sigs.begin(), sigs.end());
  uint32_t found = 0;
  for (uint32_t checked = 0; checked < 10000;) {
    uint32_t sig = rng();
    if (known.count(sig) != 0) continue;
    found += t.Find(sig) >= 0;
    checked++;
  }
  CHECK(found == 0);
}

TEST_CASE("nat session index: an erased session is gone, the others stay, and its room is reused") {
  constexpr uint32_t kCapacity = 6000;
  TestIndex t(kCapacity);
  std::mt19937 rng(11);  // signatures are CRCs: uniform
  for (uint32_t i = 0; i < kCapacity; i++) REQUIRE(t.Add(rng()));
  for (uint32_t i = 0; i < kCapacity; i += 2) t.index.Erase(t.index.HashOf(t.sigs[i]), i);
  for (uint32_t i = 0; i < kCapacity; i++) {
    CHECK(t.Find(t.sigs[i]) == (i % 2 == 0 ? -1 : static_cast<int32_t>(i)));
  }
  // Session numbers are reused as the pool pairs are: erase session 1 and index it again under a new key.
  t.index.Erase(t.index.HashOf(t.sigs[1]), 1);
  uint32_t old_sig = t.sigs[1];
  t.sigs[1] = 0xabcdef12u;
  REQUIRE(t.index.Insert(t.index.HashOf(t.sigs[1]), 1, [&](uint32_t s) { return t.index.HashOf(t.sigs[s]); }));
  CHECK(t.Find(0xabcdef12u) == 1);
  CHECK(t.Find(old_sig) == -1);
  for (uint32_t i = 0; i < kCapacity / 2; i++) REQUIRE(t.Add(rng()));
}

TEST_CASE("nat session index: with both buckets full an occupant moves to its other bucket") {
  TestIndex t(18);  // 3 buckets
  REQUIRE(t.index.num_buckets() == 3);
  uint32_t next = 0;
  // Bucket 0 full of keys that may also live in 2, bucket 1 full of keys that may live only in 0 or 1.
  for (int i = 0; i < 8; i++) REQUIRE(t.Add(t.SigFor(0, 2, next)));
  uint32_t next1 = 0;
  for (int i = 0; i < 8; i++) REQUIRE(t.Add(t.SigFor(1, 0, next1)));
  uint32_t next2 = 0;
  REQUIRE(t.Add(t.SigFor(0, 1, next2)));
  for (uint32_t i = 0; i < t.sigs.size(); i++) CHECK(t.Find(t.sigs[i]) == static_cast<int32_t>(i));
  // Nothing is left to move: buckets 0 and 1 hold only keys of 0 and 1 once bucket 2 is full.
  uint32_t next3 = 0;
  for (int i = 0; i < 7; i++) REQUIRE(t.Add(t.SigFor(2, 1, next3)));
  uint32_t last = t.SigFor(0, 1, next2);
  CHECK_FALSE(t.Add(last));
  t.sigs.pop_back();
  CHECK(t.Find(last) == -1);
  for (uint32_t i = 0; i < t.sigs.size(); i++) CHECK(t.Find(t.sigs[i]) == static_cast<int32_t>(i));
}

TEST_CASE("nat session index: a pool of no or few pairs still gets one bucket") {
  for (uint32_t capacity : {0u, 1u, 6u}) {
    TestIndex t(capacity);
    CHECK(t.index.num_buckets() == 1);
    for (uint32_t i = 0; i < 8; i++) REQUIRE(t.Add(i + 1));
    CHECK_FALSE(t.Add(100));
    t.sigs.pop_back();
    for (uint32_t i = 0; i < 8; i++) CHECK(t.Find(i + 1) == static_cast<int32_t>(i));
  }
}
