#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "tables/fragment_table.h"

namespace {

using sluice::FragmentEntry;
using sluice::FragmentKey;
using sluice::FragmentLimits;
using sluice::FragmentRoute;
using sluice::FragmentState;
using sluice::FragmentTable;

// A table in plain memory, as a unit test or fuzzer places it without the EAL.
struct TestTable {
  explicit TestTable(FragmentLimits limits)
      : memory(static_cast<uint8_t*>(std::aligned_alloc(64, RoundUp(FragmentTable::MemoryBytes(limits))))) {
    std::memset(memory.get(), 0, RoundUp(FragmentTable::MemoryBytes(limits)));
    table = FragmentTable::Place(memory.get(), limits);
  }
  static size_t RoundUp(size_t n) { return (n + 63) & ~size_t{63}; }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> memory;
  FragmentTable* table;
};

FragmentKey Key(uint32_t id, uint8_t family = 4) {
  FragmentKey k{};
  k.src_addr[0] = 192;
  k.src_addr[3] = 1;
  k.dst_addr[0] = 10;
  k.dst_addr[3] = 100;
  k.id = id;
  k.proto = 17;
  k.family = family;
  return k;
}

// Packets are opaque to the table: these stand for them.
void* Packet(uintptr_t n) { return reinterpret_cast<void*>(n); }

// Keys that all land in one bucket of `t`.
std::vector<FragmentKey> SameBucket(const FragmentTable& t, uint32_t n) {
  std::vector<FragmentKey> keys;
  uint32_t buckets = t.capacity() / FragmentTable::kWays;
  uint32_t want = FragmentTable::HashOf(Key(0)) & (buckets - 1);
  for (uint32_t id = 0; keys.size() < n; id++) {
    if ((FragmentTable::HashOf(Key(id)) & (buckets - 1)) == want) keys.push_back(Key(id));
  }
  return keys;
}

TEST_CASE("fragment table: sized to a power of two of at least one bucket") {
  CHECK(TestTable({1, 10, 1000}).table->capacity() == FragmentTable::kWays);
  CHECK(TestTable({100, 10, 1000}).table->capacity() == 128);
  CHECK(TestTable({4096, 10, 1000}).table->capacity() == 4096);
  CHECK(FragmentTable::MemoryBytes({4096, 10, 1000}) >= 4096 * sizeof(FragmentEntry));
}

TEST_CASE("fragment table: a claimed key is found until it expires; others are not") {
  TestTable t({64, 10, 1 << 20});
  FragmentTable& table = *t.table;
  const FragmentKey k = Key(7);
  const uint32_t h = FragmentTable::HashOf(k);
  CHECK(table.Find(k, h, 100) == -1);
  int32_t i = table.Claim(k, h, 100, [](void*) { FAIL("nothing to release"); });
  REQUIRE(i >= 0);
  CHECK(table.At(i).state == FragmentState::kWaiting);
  CHECK(table.Find(k, h, 105) == i);
  CHECK(table.Find(Key(8), FragmentTable::HashOf(Key(8)), 105) == -1);
  CHECK(table.Find(Key(7, 6), FragmentTable::HashOf(Key(7, 6)), 105) == -1);  // the family is part of the key
  CHECK(table.Find(k, h, 110) == -1);  // hold_ms after the claim
  CHECK(table.active() == 1);
}

TEST_CASE("fragment table: held packets come out in arrival order when the entry is routed") {
  TestTable t({64, 10, 1 << 20});
  FragmentTable& table = *t.table;
  const FragmentKey k = Key(9);
  const uint32_t h = FragmentTable::HashOf(k);
  int32_t i = table.Claim(k, h, 0, [](void*) {});
  REQUIRE(table.Hold(i, Packet(3), 100, 1480));
  REQUIRE(table.Hold(i, Packet(1), 200, 2960));
  REQUIRE(table.Hold(i, Packet(2), 300, 4440));
  CHECK(table.held_packets() == 3);
  CHECK(table.held_bytes() == 600);
  std::vector<uintptr_t> order;
  std::vector<uint32_t> offsets;
  FragmentRoute route{};
  route.backend_id = 42;
  table.Route(i, route, 5, [&](void* p, uint32_t offset) {
    order.push_back(reinterpret_cast<uintptr_t>(p));
    offsets.push_back(offset);
  });
  CHECK(order == std::vector<uintptr_t>{3, 1, 2});
  CHECK(offsets == std::vector<uint32_t>{1480, 2960, 4440});
  CHECK(table.held_packets() == 0);
  CHECK(table.held_bytes() == 0);
  CHECK(table.At(i).state == FragmentState::kRouted);
  CHECK(table.At(i).route.backend_id == 42);
  // A routed entry lives hold_ms past its latest fragment.
  CHECK(table.Find(k, h, 14) == i);
  table.Touch(i, 14);
  CHECK(table.Find(k, h, 23) == i);
  CHECK(table.Find(k, h, 24) == -1);
}

TEST_CASE("fragment table: held bytes, held slots and a datagram's share are bounded") {
  SUBCASE("bytes") {
    TestTable t({64, 10, 1000});
    FragmentTable& table = *t.table;
    int32_t i = table.Claim(Key(1), FragmentTable::HashOf(Key(1)), 0, [](void*) {});
    CHECK(table.Hold(i, Packet(1), 600, 8));
    CHECK_FALSE(table.Hold(i, Packet(2), 401, 16));
    CHECK(table.Hold(i, Packet(3), 400, 16));
    CHECK(table.held_bytes() == 1000);
  }
  SUBCASE("one datagram") {
    TestTable t({4096, 10, 1 << 30});
    FragmentTable& table = *t.table;
    int32_t i = table.Claim(Key(1), FragmentTable::HashOf(Key(1)), 0, [](void*) {});
    for (uint32_t n = 0; n < FragmentTable::kMaxHeldPerDatagram; n++) CHECK(table.Hold(i, Packet(n + 1), 60, 8));
    CHECK_FALSE(table.Hold(i, Packet(999), 60, 8));
  }
  SUBCASE("slots: as many as entries") {
    TestTable t({8, 10, 1 << 30});
    FragmentTable& table = *t.table;
    uint32_t held = 0;
    for (const FragmentKey& k : SameBucket(table, 8)) {
      int32_t i = table.Claim(k, FragmentTable::HashOf(k), 0, [](void*) {});
      REQUIRE(i >= 0);
      while (table.Hold(i, Packet(held + 1), 60, 8)) held++;
      if (held == table.held_capacity()) break;
    }
    CHECK(held == table.held_capacity());
  }
}

TEST_CASE("fragment table: a full bucket refuses a new datagram and evicts no live one") {
  TestTable t({64, 10, 1 << 20});
  FragmentTable& table = *t.table;
  auto keys = SameBucket(table, FragmentTable::kWays + 1);
  for (uint32_t n = 0; n < FragmentTable::kWays; n++) {
    CHECK(table.Claim(keys[n], FragmentTable::HashOf(keys[n]), 0, [](void*) {}) >= 0);
  }
  const FragmentKey& extra = keys[FragmentTable::kWays];
  CHECK(table.Claim(extra, FragmentTable::HashOf(extra), 5, [](void*) {}) == -1);
  for (uint32_t n = 0; n < FragmentTable::kWays; n++) CHECK(table.Find(keys[n], FragmentTable::HashOf(keys[n]), 5) >= 0);
  // Once they have expired, their slots are reused and what they held released.
  int32_t first = table.Find(keys[0], FragmentTable::HashOf(keys[0]), 5);
  REQUIRE(table.Hold(first, Packet(77), 100, 8));
  std::vector<uintptr_t> released;
  int32_t i = table.Claim(extra, FragmentTable::HashOf(extra), 10, [&](void* p) {
    released.push_back(reinterpret_cast<uintptr_t>(p));
  });
  CHECK(i >= 0);
  CHECK(released == std::vector<uintptr_t>{77});
  CHECK(table.held_packets() == 0);
}

TEST_CASE("fragment table: the sweep releases what expired entries held, and frees them") {
  TestTable t({64, 10, 1 << 20});
  FragmentTable& table = *t.table;
  std::set<uintptr_t> held;
  // Claimed at 0 and at 5, expiring at 10 and 15.
  for (uint32_t id = 0; id < 20; id++) {
    int32_t i = table.Claim(Key(id), FragmentTable::HashOf(Key(id)), id < 10 ? 0 : 5, [](void*) { FAIL("none expired"); });
    REQUIRE(i >= 0);
    REQUIRE(table.Hold(i, Packet(id + 1), 100, 8));
  }
  std::set<uintptr_t> released;
  auto release = [&](void* p) { released.insert(reinterpret_cast<uintptr_t>(p)); };
  table.Sweep(12, 8, release);  // a budget: at most 8 entries looked at
  CHECK(released.size() <= 8);
  table.Sweep(12, table.capacity(), release);
  CHECK(released.size() == 10);
  for (uintptr_t p = 1; p <= 10; p++) CHECK(released.count(p) == 1);
  CHECK(table.active() == 10);
  CHECK(table.held_packets() == 10);
  table.Sweep(100, table.capacity(), release);
  CHECK(released.size() == 20);
  CHECK(table.active() == 0);
  CHECK(table.held_bytes() == 0);
}

TEST_CASE("fragment table: the clock may wrap") {
  TestTable t({64, 10, 1 << 20});
  FragmentTable& table = *t.table;
  const uint32_t now = UINT32_MAX - 3;
  int32_t i = table.Claim(Key(5), FragmentTable::HashOf(Key(5)), now, [](void*) {});
  REQUIRE(i >= 0);
  CHECK(table.Find(Key(5), FragmentTable::HashOf(Key(5)), now + 5) == i);
  CHECK(table.Find(Key(5), FragmentTable::HashOf(Key(5)), now + 10) == -1);
}

}  // namespace
