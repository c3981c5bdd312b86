// The worker's side of a connection listing over the IPv4 flow table: what it
// copies out, what it filters, how much it scans per call, when it answers.
// (The IPv6 table and nat sessions need the EAL's memory: test/dataplane/flows-listing.test.ts.)
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <vector>

#include "common/flow_query.h"
#include "test/tables/flow_table_support.h"
#include "worker/flow_listing.h"

namespace {

using flow_support::Keys;
using flow_support::TestTable;
using flow_support::TestTable6;
using sluice::ContinueFlowQuery;
using sluice::FlowEntry;
using sluice::FlowEntryState;
using sluice::FlowKey4;
using sluice::FlowQuery;
using sluice::ListedTables;

struct Asked {
  explicit Asked(uint32_t limit) : room(limit) {
    q.limit = limit;
    q.entries = room.data();
    q.state.store(FlowQuery::kAsked);
  }
  std::vector<FlowEntry> room;
  FlowQuery q;
  bool answered() const { return q.state.load() == FlowQuery::kAnswered; }
};

// Calls ContinueFlowQuery until it answers; returns how many calls it took.
uint32_t Answer(Asked& a, const TestTable& t, uint32_t now_ms, uint32_t budget) {
  ListedTables tables{t.table, nullptr, nullptr};
  uint32_t calls = 0;
  while (!a.answered() && calls < 1000000) {
    ContinueFlowQuery(a.q, tables, now_ms, budget);
    calls++;
  }
  return calls;
}

uint32_t Addr(const uint8_t* bytes) {
  uint32_t a;
  std::memcpy(&a, bytes, 4);
  return a;
}

}  // namespace

TEST_CASE("flow listing: every live flow once, with its 5-tuple, ids, age, idle and state") {
  TestTable t(1024);
  auto keys = Keys(300, 7);
  for (uint32_t i = 0; i < keys.size(); i++) REQUIRE(t.Add(keys[i], i % 5, 1000 + i, static_cast<uint16_t>(i % 3)) == 0);
  Asked a(1000);
  Answer(a, t, 5000, 96);
  REQUIRE(a.q.count == 300);
  CHECK_FALSE(a.q.truncated);
  std::set<uint32_t> seen;
  for (uint32_t n = 0; n < a.q.count; n++) {
    const FlowEntry& e = a.room[n];
    uint32_t i = 0;
    while (i < keys.size() && !(keys[i].src_addr == Addr(e.client) && htons(e.client_port) == keys[i].src_port)) i++;
    REQUIRE(i < keys.size());
    CHECK(seen.insert(i).second);
    CHECK(e.family == 4);
    CHECK(e.proto == IPPROTO_TCP);
    CHECK(Addr(e.vip) == keys[i].dst_addr);
    CHECK(e.vip_port == ntohs(keys[i].dst_port));
    CHECK(e.backend_id == i % 5);
    CHECK(e.service_id == i % 3);
    CHECK(e.age_ms == 5000 - (1000 + i));
    // Idle times are counted in whole units of the table's coarse clock, and
    // are never more than the age.
    const uint32_t unit = t.table->unit_ms();
    CHECK(e.idle_ms == std::min((5000 / unit - (1000 + i) / unit) * unit, e.age_ms));
    CHECK(e.state == FlowEntryState::kOpen);
    CHECK(e.nat == 0);
  }
}

TEST_CASE("flow listing: a packet restarts idle, not age; closing and expired flows") {
  TestTable t(64);
  auto keys = Keys(3, 9);
  for (const auto& k : keys) REQUIRE(t.Add(k, 1, 1000) == 0);
  t.table->Touch(t.Find(keys[0]), 4000, false);
  t.table->Touch(t.Find(keys[1]), 4000, true);
  // keys[2] idle past the closing timeout (10 s) but not the TCP one (300 s): still listed.
  Asked a(10);
  Answer(a, t, 12000, 6);
  REQUIRE(a.q.count == 3);
  // Idle 8 and 11 s, counted in whole units of the coarse clock (128 ms here),
  // at most the age (11 s).
  const uint32_t unit = t.table->unit_ms();
  auto idle = [&](uint32_t seen_ms) { return std::min((12000 / unit - seen_ms / unit) * unit, 11000u); };
  for (uint32_t n = 0; n < 3; n++) {
    const FlowEntry& e = a.room[n];
    CHECK(e.age_ms == 11000);
    if (Addr(e.client) == keys[0].src_addr) CHECK((e.idle_ms == idle(4000) && e.state == FlowEntryState::kOpen));
    if (Addr(e.client) == keys[1].src_addr) CHECK(e.state == FlowEntryState::kClosing);
    if (Addr(e.client) == keys[2].src_addr) CHECK(e.idle_ms == idle(1000));
  }
  // At 15 s the closing flow has expired (idle 11 s > 10 s): not listed, though not swept yet.
  Asked b(10);
  Answer(b, t, 15000, 6);
  CHECK(b.q.count == 2);
}

TEST_CASE("flow listing: a flow reassigned to another backend starts its age again") {
  TestTable t(64);
  auto keys = Keys(1, 3);
  REQUIRE(t.Add(keys[0], 1, 1000) == 0);
  t.table->Reassign(t.Find(keys[0]), 2, 0, false, 7000);
  Asked a(4);
  Answer(a, t, 9000, 1000);
  REQUIRE(a.q.count == 1);
  CHECK(a.room[0].backend_id == 2);
  CHECK(a.room[0].age_ms == 2000);
}

TEST_CASE("flow listing: filters by service, backend and client, together") {
  TestTable t(1024);
  auto keys = Keys(200, 11);
  for (uint32_t i = 0; i < keys.size(); i++) REQUIRE(t.Add(keys[i], i % 4, 1, static_cast<uint16_t>(i % 2)) == 0);
  auto count = [&](int32_t service, int32_t backend, const FlowKey4* client) {
    Asked a(1000);
    a.q.filter.service_id = service;
    a.q.filter.backend_id = backend;
    if (client != nullptr) {
      a.q.filter.client_family = 4;
      std::memcpy(a.q.filter.client, &client->src_addr, 4);
    }
    Answer(a, t, 2, 96);
    for (uint32_t n = 0; n < a.q.count; n++) {
      if (service >= 0) CHECK(a.room[n].service_id == static_cast<uint32_t>(service));
      if (backend >= 0) CHECK(a.room[n].backend_id == static_cast<uint32_t>(backend));
      if (client != nullptr) CHECK(Addr(a.room[n].client) == client->src_addr);
    }
    return a.q.count;
  };
  CHECK(count(-1, -1, nullptr) == 200);
  CHECK(count(1, -1, nullptr) == 100);
  CHECK(count(-1, 3, nullptr) == 50);
  CHECK(count(1, 3, nullptr) == 50);   // backends 1 and 3 are service 1's (i % 4 odd)
  CHECK(count(0, 3, nullptr) == 0);
  CHECK(count(-1, -1, &keys[17]) == 1);
  CHECK(count(0, -1, &keys[17]) == 0);  // client 17 is in service 1
  Asked six(10);
  six.q.filter.client_family = 6;  // an IPv6 client has no IPv4 flows
  Answer(six, t, 2, 96);
  CHECK(six.q.count == 0);
}

TEST_CASE("flow listing: at most `limit`, and truncated once one more matched") {
  TestTable t(1024);
  auto keys = Keys(50, 13);
  for (const auto& k : keys) REQUIRE(t.Add(k, 0, 1) == 0);
  Asked exact(50);
  Answer(exact, t, 2, 96);
  CHECK(exact.q.count == 50);
  CHECK_FALSE(exact.q.truncated);
  Asked fewer(49);
  Answer(fewer, t, 2, 96);
  CHECK(fewer.q.count == 49);
  CHECK(fewer.q.truncated);
}

TEST_CASE("flow listing: each call scans at most its budget, and answers only when done") {
  TestTable t(6000);  // 10,200 slots: 2,550 buckets
  const uint32_t buckets = t.table->buckets();
  Asked a(10);
  ListedTables tables{t.table, nullptr, nullptr};
  ContinueFlowQuery(a.q, tables, 1, 96);  // 24 buckets of 4
  CHECK_FALSE(a.answered());
  CHECK(a.q.cursor == 96 / sluice::kFlowWays);
  // The IPv4 table in buckets / 24 calls; then one call for each of the other three (absent) tables.
  uint32_t calls = 1 + Answer(a, t, 1, 96);
  CHECK(calls == (buckets + 23) / 24 + 3);
  CHECK(a.q.stage == sluice::FlowQueryStage::kDone);
}

TEST_CASE("flow listing: IPv6 flows with their addresses, ports and ids, a budget of buckets of 3") {
  TestTable6 t(1024);
  auto keys = Keys<sluice::FlowKey6>(300, 17);
  for (uint32_t i = 0; i < keys.size(); i++) {
    REQUIRE(t.Add(keys[i], i % 5, 1000 + i, static_cast<uint16_t>(i % 3)) != -1);
  }
  REQUIRE(t.counters.flow_active == 300);
  t.table->Touch(t.Find(keys[7]), 2000, true);
  Asked a(1000);
  ListedTables tables{nullptr, t.table, nullptr};
  ContinueFlowQuery(a.q, tables, 5000, 96);  // the absent IPv4 table
  ContinueFlowQuery(a.q, tables, 5000, 96);
  CHECK(a.q.stage == sluice::FlowQueryStage::kFlows6);
  CHECK(a.q.cursor == 96 / sluice::FlowTable6::kWays);  // 32 buckets of 3
  uint32_t calls = 2;
  while (!a.answered() && calls < 100000) {
    ContinueFlowQuery(a.q, tables, 5000, 96);
    calls++;
  }
  // The IPv6 table in buckets / 32 calls, after one for the IPv4 table and
  // before one for each of the two nat tables, all absent.
  CHECK(calls == 1 + (t.table->buckets() + 31) / 32 + 2);
  REQUIRE(a.q.count == 300);
  std::set<uint32_t> seen;
  for (uint32_t n = 0; n < a.q.count; n++) {
    const FlowEntry& e = a.room[n];
    uint32_t i = 0;
    while (i < keys.size() && std::memcmp(e.client, keys[i].src_addr, 16) != 0) i++;
    REQUIRE(i < keys.size());
    CHECK(seen.insert(i).second);
    CHECK(e.family == 6);
    CHECK(e.proto == IPPROTO_TCP);
    CHECK(std::memcmp(e.vip, keys[i].dst_addr, 16) == 0);
    CHECK(e.client_port == ntohs(keys[i].src_port));
    CHECK(e.vip_port == ntohs(keys[i].dst_port));
    CHECK(e.backend_id == i % 5);
    CHECK(e.service_id == i % 3);
    CHECK(e.age_ms == 5000 - (1000 + i));
    CHECK(e.state == (i == 7 ? FlowEntryState::kClosing : FlowEntryState::kOpen));
  }
}
