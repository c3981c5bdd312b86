// What BuildSnapshot precomputes for the per-packet path: which flows a backend
// keeps, the 12 bytes of a dsr rewrite, the egress MTU, and the service index.
#include "common/snapshot.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "common/coded_error.h"

namespace {

using sluice::BackendConfig;
using sluice::BackendView;
using sluice::IpAddr;
using sluice::ServiceConfig;

IpAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

BackendConfig Backend(uint32_t id, uint8_t host) {
  BackendConfig b{};
  b.id = id;
  b.address = V4(10, 0, 0, host);
  b.port = 80;
  b.weight = 1;
  b.has_static_mac = true;
  b.mac = {0x02, 0, 0, 0, 0, host};
  return b;
}

ServiceConfig Service(uint32_t id, uint8_t vip_host, std::vector<BackendConfig> backends) {
  ServiceConfig s{};
  s.id = id;
  s.name = "s" + std::to_string(id);
  s.vip = V4(192, 0, 2, vip_host);
  s.port = 80;
  s.protocol = IPPROTO_TCP;
  s.lookup_table_size = 251;
  s.backends = std::move(backends);
  return s;
}

struct NoNeighbors : sluice::NeighborLookup {
  bool Lookup(uint32_t, struct rte_ether_addr*) const override { return false; }
};

std::vector<sluice::PortAddressing> OnePort() {
  sluice::PortAddressing port{};
  port.address = htonl(0x0a0000fe);  // 10.0.0.254/24
  port.netmask = htonl(0xffffff00);
  port.mtu = 1400;
  port.mac = {{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}};
  return {port};
}

std::unique_ptr<sluice::Snapshot> Build(const std::vector<ServiceConfig>& services) {
  sluice::LookupTableCache tables;
  return sluice::BuildSnapshot(services, OnePort(), NoNeighbors(), tables, 1);
}

}  // namespace

TEST_CASE("snapshot: a backend keeps its own service's flows only while not disabled and healthy") {
  BackendConfig active = Backend(0, 1);
  BackendConfig draining = Backend(1, 2);
  draining.weight = 0;
  BackendConfig disabled = Backend(2, 3);
  disabled.admin = sluice::AdminState::kDisabled;
  BackendConfig unhealthy = Backend(6, 4);
  unhealthy.healthy = false;
  auto snap = Build({Service(3, 1, {active, draining, disabled, unhealthy})});
  CHECK(sluice::KeepsFlowsOf(snap->Backend(0), 3));
  CHECK(sluice::KeepsFlowsOf(snap->Backend(1), 3));
  CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(2), 3));
  CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(6), 3));
  // Another service's flow never stays on it.
  CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(0), 0));
  CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(0), 4));
  // Ids between configured ones exist in the vector but keep nothing, not even
  // for service 0, whose id a zeroed view would name.
  for (uint32_t id = 3; id < 6; id++) {
    REQUIRE(snap->Backend(id) != nullptr);
    CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(id), 0));
    CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(id), 3));
  }
  // Beyond the vector: no view at all.
  CHECK(snap->Backend(7) == nullptr);
  CHECK_FALSE(sluice::KeepsFlowsOf(snap->Backend(7), 3));
}

TEST_CASE("snapshot: a dsr rewrite's 12 bytes are the backend's MAC, then the egress port's") {
  auto snap = Build({Service(0, 1, {Backend(4, 9)})});
  const BackendView* b = snap->Backend(4);
  REQUIRE(b != nullptr);
  const uint8_t expected[12] = {0x02, 0, 0, 0, 0, 9, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  CHECK(std::memcmp(sluice::DsrMacs(*b), expected, sizeof(expected)) == 0);
  CHECK(b->egress_mtu == 1400);
  CHECK(b->mac_known == 1);
}

TEST_CASE("snapshot: the service index finds each service by VIP, port and protocol, and nothing else") {
  std::vector<ServiceConfig> services;
  for (uint32_t id = 0; id < 40; id++) services.push_back(Service(id, static_cast<uint8_t>(id + 1), {Backend(id, 1)}));
  ServiceConfig udp = Service(40, 1, {Backend(40, 1)});
  udp.protocol = IPPROTO_UDP;
  services.push_back(udp);
  auto snap = Build(services);
  for (uint32_t id = 0; id < 40; id++) {
    const sluice::ServiceView* s = snap->index.Find(htonl(0xc0000200 | (id + 1)), htons(80), IPPROTO_TCP);
    REQUIRE(s != nullptr);
    CHECK(s->id == id);
    CHECK(s == &snap->services[id]);
  }
  const sluice::ServiceView* s = snap->index.Find(htonl(0xc0000201), htons(80), IPPROTO_UDP);
  REQUIRE(s != nullptr);
  CHECK(s->id == 40);
  CHECK(snap->index.Find(htonl(0xc0000201), htons(81), IPPROTO_TCP) == nullptr);
  CHECK(snap->index.Find(htonl(0xc0000200 | 41), htons(80), IPPROTO_TCP) == nullptr);
  CHECK(snap->index.Find(htonl(0xc0000201), htons(80), IPPROTO_ICMP) == nullptr);
}

// The invariants BuildSnapshot checks (control/snapshot_invariants.h): each
// broken one refuses the whole set with SLUICE_INVALID_ARGUMENT, naming the
// field by its path in the services list.
TEST_CASE("snapshot: a set that breaks an invariant is refused, naming the field") {
  const auto refused = [](const std::vector<ServiceConfig>& services) -> std::string {
    try {
      Build(services);
    } catch (const sluice::CodedError& e) {
      CHECK(std::string(e.code()) == "SLUICE_INVALID_ARGUMENT");
      return e.what();
    }
    return "(built)";
  };
  ServiceConfig big_id = Service(1024, 1, {Backend(0, 1)});
  CHECK(refused({big_id}) == "services[0].id: must be below 1024 and not used by another service");
  CHECK(refused({Service(3, 1, {Backend(0, 1)}), Service(3, 2, {Backend(1, 2)})}) ==
        "services[1].id: must be below 1024 and not used by another service");
  CHECK(refused({Service(0, 1, {Backend(65536, 1)})}) == "services[0].backends[0].id: must be below 65536");
  CHECK(refused({Service(0, 1, {Backend(4, 1)}), Service(1, 2, {Backend(4, 2)})}) ==
        "services[1].backends[0].id: backend id used twice");
  BackendConfig v6 = Backend(0, 1);
  v6.address.family = 6;
  CHECK(refused({Service(0, 1, {Backend(1, 2), v6})}) == "services[0].backends[1].address: must be IPv4, as the VIP");
  BackendConfig other_port = Backend(0, 1);
  other_port.port = 8080;
  CHECK(refused({Service(0, 1, {other_port})}) ==
        "services[0].backends[0].port: dsr forwards without rewriting ports, so the backend port must be 80");
  BackendConfig off_link = Backend(0, 1);
  off_link.address = V4(192, 168, 0, 1);
  CHECK(refused({Service(0, 1, {off_link})}) ==
        "services[0].backends[0].address: not inside any port's subnet; dsr needs the backend on-link");
  ServiceConfig not_prime = Service(0, 1, {Backend(0, 1)});
  not_prime.lookup_table_size = 250;
  CHECK(refused({not_prime}) == "services[0].lookupTableSize: must be prime, from 2 to 16777259; got 250");
  CHECK(refused({Service(0, 1, {Backend(0, 1)}), Service(1, 1, {Backend(1, 2)})}) ==
        "services[1]: same VIP, port and protocol as services[0] (s0)");
  CHECK(refused({Service(0, 1, {Backend(0, 1)}), Service(1, 2, {Backend(1, 2)})}) == "(built)");
}

// Every lookup table is keyed by this text (tables/lookup_table.h): written
// without inet_ntop for IPv4, it must stay what inet_ntop writes.
TEST_CASE("snapshot: an address and a lookup key are written as inet_ntop and printf write them") {
  const auto reference = [](const IpAddr& ip, uint16_t port) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip.family == 6 ? AF_INET6 : AF_INET, ip.bytes.data(), text, sizeof(text));
    return std::string(text) + ":" + std::to_string(port);
  };
  uint64_t state = 12345;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  for (uint32_t round = 0; round < 20000; round++) {
    IpAddr ip = V4(0, 0, 0, 0);
    // Every value of every byte, then random addresses of both families.
    if (round < 1024) {
      ip.bytes[round / 256] = static_cast<uint8_t>(round % 256);
    } else {
      ip.family = round % 4 == 0 ? 6 : 4;
      for (uint8_t& b : ip.bytes) b = static_cast<uint8_t>(next() % (round % 3 == 0 ? 3 : 256));
      if (ip.family == 4) std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
    }
    const uint16_t port = round < 1024 ? static_cast<uint16_t>(round * 64 + round % 64) : static_cast<uint16_t>(next());
    CAPTURE(round);
    CHECK(sluice::LookupKey(ip, port) == reference(ip, port));
    CHECK(sluice::FormatIp(ip) + ":" + std::to_string(port) == reference(ip, port));
  }
}
