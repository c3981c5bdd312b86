// The lookup tables' memory limit (LookupTableCache::SetLimit): BuildSnapshot
// never makes a table that would take the tables alive at once (the cache's,
// every snapshot's still held, and the build's own) beyond the limit; it asks
// for room once, then refuses with SLUICE_LIMIT_EXCEEDED before allocating.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/coded_error.h"
#include "common/snapshot.h"

namespace {

using sluice::BackendConfig;
using sluice::ServiceConfig;

constexpr uint64_t kTable = 251 * 4;  // bytes of a 251-slot table

BackendConfig Backend(uint32_t id, uint8_t host, uint32_t weight = 1) {
  BackendConfig b{};
  b.id = id;
  b.address.bytes = {10, 0, 0, host};
  b.port = 80;
  b.weight = weight;
  b.has_static_mac = true;
  b.mac = {0x02, 0, 0, 0, 0, host};
  return b;
}

ServiceConfig Service(uint32_t id, uint32_t weight = 1, uint32_t slots = 251) {
  ServiceConfig s{};
  s.id = id;
  s.name = "s" + std::to_string(id);
  s.vip.bytes = {192, 0, 2, static_cast<uint8_t>(id + 1)};
  s.port = 80;
  s.protocol = IPPROTO_TCP;
  s.lookup_table_size = slots;
  s.backends = {Backend(id, static_cast<uint8_t>(id + 1), weight)};
  return s;
}

struct NoNeighbors : sluice::NeighborLookup {
  bool Lookup(uint32_t, struct rte_ether_addr*) const override { return false; }
};

std::vector<sluice::PortAddressing> OnePort() {
  sluice::PortAddressing port{};
  port.address = htonl(0x0a0000fe);  // 10.0.0.254/24
  port.netmask = htonl(0xffffff00);
  port.mtu = 1500;
  return {port};
}

std::unique_ptr<sluice::Snapshot> Build(const std::vector<ServiceConfig>& services, sluice::LookupTableCache& tables) {
  return sluice::BuildSnapshot(services, OnePort(), NoNeighbors(), tables, 1);
}

// The error's code and message, or "(built)".
std::string Refusal(const std::vector<ServiceConfig>& services, sluice::LookupTableCache& tables) {
  try {
    Build(services, tables);
  } catch (const sluice::CodedError& e) {
    return std::string(e.code()) + " " + e.what();
  }
  return "(built)";
}

}  // namespace

TEST_CASE("lookup budget: a table beyond the limit is refused before it is built, naming the field and the limit") {
  sluice::LookupTableCache tables;
  tables.SetLimit(kTable, nullptr);
  CHECK(Refusal({Service(0, 1, 16777259)}, tables) ==
        "SLUICE_LIMIT_EXCEEDED services[0].lookupTableSize: a table of 16777259 slots (67109036 bytes) would take "
        "the lookup tables alive to 67109036 bytes, beyond their limit of 1004 bytes (limits.lookupTablesMb)");
  CHECK(tables.builds() == 0);
  CHECK(tables.live_bytes() == 0);
  auto snap = Build({Service(0)}, tables);
  CHECK(tables.live_bytes() == kTable);
  CHECK(snap->services[0].table_size == 251);
}

TEST_CASE("lookup budget: a refused set keeps none of the tables it built") {
  sluice::LookupTableCache tables;
  tables.SetLimit(2 * kTable, nullptr);
  auto first = Build({Service(0)}, tables);
  // Service 1's table fits; service 2's does not: both are dropped with the set.
  CHECK(Refusal({Service(0), Service(1), Service(2)}, tables).rfind("SLUICE_LIMIT_EXCEEDED services[2].lookupTableSize", 0) == 0);
  CHECK(tables.builds() == 2);
  CHECK(tables.live_bytes() == kTable);
  // ...so the set that fits can still be built.
  auto second = Build({Service(0), Service(1)}, tables);
  CHECK(tables.live_bytes() == 2 * kTable);
  CHECK(tables.builds() == 3);
}

TEST_CASE("lookup budget: tables of snapshots still held count; the build asks for room once before refusing") {
  sluice::LookupTableCache tables;
  std::vector<std::unique_ptr<sluice::Snapshot>> held;  // published or retired, not yet reclaimed
  int asked = 0;
  bool reclaim = false;
  tables.SetLimit(2 * kTable, [&] {
    asked++;
    if (reclaim) held.erase(held.begin(), held.end() - 1);  // all but the published one
  });
  held.push_back(Build({Service(0, 1)}, tables));
  // A rebuild while the published snapshot still holds the old table: the two
  // together are the limit.
  held.push_back(Build({Service(0, 2)}, tables));
  CHECK(tables.live_bytes() == 2 * kTable);
  CHECK(asked == 0);
  // A third table while both are held is refused, after asking for room...
  CHECK(Refusal({Service(0, 3)}, tables).rfind("SLUICE_LIMIT_EXCEEDED services[0].lookupTableSize", 0) == 0);
  CHECK(asked == 1);
  CHECK(tables.live_bytes() == 2 * kTable);
  // ...and built once the retired snapshot is freed to make room.
  reclaim = true;
  held.push_back(Build({Service(0, 3)}, tables));
  CHECK(asked == 2);
  CHECK(held.size() == 2);
  CHECK(tables.live_bytes() == 2 * kTable);
  // An unchanged set builds nothing and so needs no room.
  held.push_back(Build({Service(0, 3)}, tables));
  CHECK(asked == 2);
  CHECK(tables.builds() == 3);
  held.clear();
  Build({}, tables);
  CHECK(tables.live_bytes() == 0);
}
