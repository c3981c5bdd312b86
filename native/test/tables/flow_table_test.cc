#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include <rte_hash_crc.h>

#include "tables/flow_table.h"
#include "test/tables/flow_table_support.h"

namespace {

// The table's types, its test table and keys.
using namespace flow_support;  // NOLINT(build/namespaces)

TEST_CASE("flow table: every stored flow is found with its backend; others are not") {
  TestTable t(4096);
  auto keys = Keys(4096, 1);
  for (uint32_t i = 0; i < keys.size(); i++) CHECK(t.Add(keys[i], i % 7, 1) != -1);
  CHECK(t.counters.flow_inserts == 4096);
  CHECK(t.counters.flow_active == 4096 - t.counters.flow_evictions);
  CHECK(t.services[0].active_flows == static_cast<int64_t>(t.counters.flow_active));
  int64_t per_backend = 0;
  for (const BackendCounters& b : t.backends) per_backend += b.active_flows;
  CHECK(per_backend == static_cast<int64_t>(t.counters.flow_active));
  uint32_t found = 0;
  for (uint32_t i = 0; i < keys.size(); i++) {
    int32_t pos = t.Find(keys[i]);
    if (pos >= 0 && t.table->BackendId(pos) == i % 7) found++;
  }
  // Full and below capacity, a few inserts found both buckets full and evicted.
  CHECK(found + t.counters.flow_evictions == 4096);
  CHECK(t.counters.flow_evictions <= 4);
  for (const FlowKey4& k : Keys(1000, 2)) CHECK(t.Find(k) < 0);
}

TEST_CASE("flow table: never holds more than its capacity; a new flow evicts the least recently seen") {
  TestTable t(2048);
  auto old_keys = Keys(2048, 3);
  for (uint32_t i = 0; i < old_keys.size(); i++) t.Add(old_keys[i], 1, 1000);
  // Half the flows are seen again later: they are the ones to keep.
  for (uint32_t i = 0; i < old_keys.size(); i += 2) {
    int32_t pos = t.Find(old_keys[i]);
    if (pos >= 0) t.table->Touch(pos, 5000, false);
  }
  auto new_keys = Keys(300, 4);
  uint64_t active_before = t.counters.flow_active;  // a fill eviction or two may have left free slots
  uint64_t evictions_before = t.counters.flow_evictions;
  for (const FlowKey4& k : new_keys) CHECK(t.Add(k, 2, 6000) != -1);
  CHECK(t.counters.flow_active == 2048);
  CHECK(t.counters.flow_evictions - evictions_before == 300 - (2048 - active_before));
  uint32_t recent_lost = 0, idle_lost = 0;
  for (uint32_t i = 0; i < old_keys.size(); i++) {
    if (t.Find(old_keys[i]) >= 0) continue;
    if (i % 2 == 0) recent_lost++; else idle_lost++;
  }
  // Each eviction takes the oldest of up to 12 candidates: a recently seen flow
  // goes only when all its live bucket-mates are newer still. At 50% slack a
  // key's two buckets hold about 8 flows, so that happens in about 1 eviction
  // in 20.
  MESSAGE("300 new flows in a full table of 2048: evicted " << idle_lost << " idle, " << recent_lost << " recent");
  CHECK(recent_lost <= 300 / 20);
}

TEST_CASE("flow table: expiry by protocol and state, and the sweep") {
  TestTable t(1024);
  auto tcp = Keys(100, 5, IPPROTO_TCP);
  auto udp = Keys(100, 6, IPPROTO_UDP);
  for (const FlowKey4& k : tcp) t.Add(k, 1, 0);
  for (const FlowKey4& k : udp) t.Add(k, 1, 0);
  // Closing TCP flows get the short timeout.
  for (uint32_t i = 0; i < 50; i++) t.table->Touch(t.Find(tcp[i]), 0, true);
  CHECK(t.table->IsClosing(t.Find(tcp[0])));
  CHECK(!t.table->IsClosing(t.Find(tcp[99])));

  uint32_t now = kTimeouts.tcp_closing_ms + 1;
  CHECK(t.table->IsExpired(t.Find(tcp[0]), now));
  CHECK(!t.table->IsExpired(t.Find(tcp[99]), now));
  CHECK(!t.table->IsExpired(t.Find(udp[0]), now));
  t.table->Sweep(now, t.table->slots(), t.counters, t.services, t.backends);
  CHECK(t.counters.flow_expirations == 50);
  CHECK(t.counters.flow_active == 150);

  now = kTimeouts.udp_ms + 1;
  t.table->Sweep(now, t.table->slots(), t.counters, t.services, t.backends);
  CHECK(t.counters.flow_active == 50);
  for (const FlowKey4& k : udp) CHECK(t.Find(k) < 0);
  now = kTimeouts.tcp_ms + 1;
  t.table->Sweep(now, t.table->slots(), t.counters, t.services, t.backends);
  CHECK(t.counters.flow_active == 0);
  CHECK(t.services[0].active_flows == 0);
  for (const BackendCounters& b : t.backends) CHECK(b.active_flows == 0);
}

TEST_CASE("flow table: at capacity an expired entry is reused before a live one is evicted") {
  TestTable t(1024);
  auto keys = Keys(1024, 7);
  for (const FlowKey4& k : keys) t.Add(k, 1, 0);
  uint64_t free_slots = 1024 - t.counters.flow_active;  // a fill eviction or two leave room below capacity
  uint64_t fill_evictions = t.counters.flow_evictions;
  CHECK(free_slots <= 2);
  uint32_t now = kTimeouts.tcp_ms + 1;
  // Nothing has been swept, so the candidates are expired rather than live,
  // unless new flows have already taken every expired one in both buckets.
  uint32_t reused = 0;
  for (const FlowKey4& k : Keys(200, 8)) reused += t.Add(k, 2, now) == FlowSlot::kExpired;
  uint64_t evicted = t.counters.flow_evictions - fill_evictions;
  CHECK(evicted <= 1);
  CHECK(reused + evicted + free_slots == 200);
  CHECK(t.counters.flow_expirations == reused);
}

TEST_CASE("flow table: a reassigned flow keeps its slot and takes the new backend and service") {
  TestTable t(1024);
  FlowKey4 k = Keys(1, 9)[0];
  t.Add(k, 3, 10, 1);
  int32_t pos = t.Find(k);
  REQUIRE(pos >= 0);
  t.table->Reassign(pos, 4, 2, true, 20);
  CHECK(t.Find(k) == pos);
  CHECK(t.table->BackendId(pos) == 4);
  CHECK(t.table->ServiceId(pos) == 2);
  CHECK(t.table->IsClosing(pos));
}

TEST_CASE("flow table: a primary probe is used while nothing changed, and not once a flow was added or evicted") {
  TestTable t(1024);
  auto keys = Keys(4096, 11);
  for (uint32_t i = 0; i < 1024; i++) t.Add(keys[i], i % 7, 10);
  // Every key: its probe agrees with a plain lookup while the table is unchanged.
  uint32_t in_primary = 0;
  for (uint32_t i = 0; i < 1024; i++) {
    FlowHash h = t.table->HashOf(keys[i]);
    FlowTable::PrimaryProbe probe = t.table->ProbePrimary(keys[i], h);
    if (probe.position >= 0) in_primary++;
    CHECK(t.table->Lookup(keys[i], h, probe) == t.Find(keys[i]));
  }
  CHECK(in_primary > 512);
  // Probes taken, then the table filled past capacity so that the probed flows
  // are evicted and their slots reused: a stale probe must not answer.
  std::vector<FlowTable::PrimaryProbe> probes(1024);
  for (uint32_t i = 0; i < 1024; i++) probes[i] = t.table->ProbePrimary(keys[i], t.table->HashOf(keys[i]));
  for (uint32_t i = 1024; i < 4096; i++) t.Add(keys[i], 1, 20);
  uint32_t gone = 0;
  for (uint32_t i = 0; i < 1024; i++) {
    FlowHash h = t.table->HashOf(keys[i]);
    int32_t pos = t.table->Lookup(keys[i], h, probes[i]);
    CHECK(pos == t.Find(keys[i]));
    if (pos < 0) gone++;
  }
  CHECK(gone > 900);
}

TEST_CASE("flow table: sized load, two choices of 6 ways: inserts practically never evict early") {
  const uint32_t capacity = 1 << 16;
  TestTable t(capacity);
  auto keys = Keys(capacity, 10);
  for (uint32_t i = 0; i < capacity; i++) t.Add(keys[i], 1, i);
  MESSAGE("premature evictions filling " << capacity << " flows: " << t.counters.flow_evictions);
  CHECK(t.counters.flow_evictions < capacity / 1000);
  CHECK(t.counters.flow_active == capacity - t.counters.flow_evictions);
}

TEST_CASE("flow table: flows of a few clients on sequential ports spread as evenly as random ones") {
  // CRC32C is linear in the key, so these keys' hashes differ in few bits; the
  // buckets are picked from the mixed hash, else a fill like this one evicts early.
  const uint32_t capacity = 1 << 16;
  TestTable t(capacity);
  for (uint32_t i = 0; i < capacity; i++) {
    FlowKey4 k{};
    k.src_addr = htonl(0xc6120000 + (i >> 14));
    k.dst_addr = 0x6400630a;
    k.src_port = htons(static_cast<uint16_t>(1024 + (i & 0x3fff)));
    k.dst_port = htons(80);
    k.proto = IPPROTO_TCP;
    t.Add(k, 1, i);
  }
  MESSAGE("premature evictions filling " << capacity << " sequential flows: " << t.counters.flow_evictions);
  CHECK(t.counters.flow_evictions < capacity / 1000);
}

}  // namespace

namespace {

TEST_CASE("flow table: the key built as two words is the struct's bytes, hashed as rte_hash_crc hashes them") {
  TestTable t(1024);
  FlowKey4 k{};
  k.src_addr = 0x0a0b0c0d;
  k.dst_addr = 0x6400630a;
  k.src_port = 0x1234;
  k.dst_port = 0x5000;
  k.proto = IPPROTO_UDP;
  sluice::FlowKeyWords w = sluice::MakeFlowKey4(k.src_addr, k.dst_addr, k.src_port, k.dst_port, k.proto);
  CHECK(std::memcmp(&w, &k, sizeof(k)) == 0);
  CHECK(t.table->HashOf(w).sig == rte_hash_crc(&k, sizeof(k), 0x5d1ce0));
  CHECK(t.table->HashOf(w).primary == t.table->HashOf(k).primary);
}

}  // namespace
