// A snapshot built from the one before (SnapshotBase) holds what a build from
// nothing holds: every view, table and index answer, over random changes to
// random sets of dsr, tunnel and nat services of both families; a copied view
// takes a MAC learned since; and a set refused that way names what a build
// from nothing names, keeping no table it made.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/coded_error.h"
#include "common/snapshot.h"

namespace {

using sluice::BackendConfig;
using sluice::BackendView;
using sluice::Forwarding;
using sluice::ServiceConfig;
using sluice::Snapshot;
using sluice::Unchanged;

// The port: 10.0.0.254/16 with gateway 10.0.0.1, fd00::fe/64 with a gateway6,
// and a nat pool of one address of each family.
std::vector<sluice::PortAddressing> Port() {
  sluice::PortAddressing port{};
  port.address = htonl(0x0a0000fe);
  port.netmask = htonl(0xffff0000);
  port.gateway = htonl(0x0a000001);
  port.mtu = 1500;
  port.nat_pool = {htonl(0x0a0000fa)};
  port.nat_pool6 = {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfa}};
  port.has_address6 = true;
  port.address6[0] = 0xfd;
  port.address6[15] = 0xfe;
  port.prefix6 = 64;
  port.has_gateway6 = true;
  port.gateway6[0] = 0xfd;
  port.gateway6[15] = 0x01;
  port.mac = {{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}};
  return {port};
}

// MACs by address; `version` counts changes, as NeighborResolver::version().
struct Neighbors : sluice::NeighborLookup {
  std::map<std::array<uint8_t, 16>, uint8_t> known;
  static std::array<uint8_t, 16> Key(const uint8_t* bytes, size_t n) {
    std::array<uint8_t, 16> k{};
    std::memcpy(k.data(), bytes, n);
    k[15] ^= n == 4 ? 0x40 : 0;
    return k;
  }
  bool Answer(const std::array<uint8_t, 16>& key, struct rte_ether_addr* mac) const {
    auto it = known.find(key);
    if (it == known.end()) return false;
    *mac = {{0x02, 0x11, 0, 0, 0, it->second}};
    return true;
  }
  bool Lookup(uint32_t address, struct rte_ether_addr* mac) const override {
    return Answer(Key(reinterpret_cast<const uint8_t*>(&address), 4), mac);
  }
  bool Lookup6(const uint8_t address[16], struct rte_ether_addr* mac) const override {
    return Answer(Key(address, 16), mac);
  }
};

// Random services and changes to them, with what ServicesFromJs would say is
// unchanged: a service not touched, and a backend copied as it was into the
// service of the same id.
class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {}

  ServiceConfig NewService() {
    ServiceConfig s{};
    s.id = FreeServiceId();
    s.name = "s" + std::to_string(s.id);
    s.vip.family = Pick(4) == 0 ? 6 : 4;
    SetVip(s, next_vip_++);
    s.port = 80;
    s.protocol = Pick(2) == 0 ? IPPROTO_TCP : IPPROTO_UDP;
    s.forwarding = static_cast<Forwarding>(Pick(3));
    if (s.forwarding == Forwarding::kTunnel) {
      s.tunnel.encapsulation = Pick(2) == 0 ? sluice::Encapsulation::kIpip : sluice::Encapsulation::kGue;
      s.tunnel.source_network.family = s.vip.family;
      s.tunnel.source_prefix_len = s.vip.family == 6 ? 112 : 16;
      s.tunnel.source_network.bytes[0] = s.vip.family == 6 ? 0xfd : 172;
    }
    s.lookup_table_size = 251;
    const uint32_t n = Pick(5);
    for (uint32_t j = 0; j < n; j++) s.backends.push_back(NewBackend(s));
    return s;
  }

  BackendConfig NewBackend(const ServiceConfig& s) {
    BackendConfig b{};
    b.id = next_backend_id_++;
    b.address.family = s.vip.family;
    const uint32_t host = next_host_++;
    // dsr backends on-link; tunnel and nat ones on-link or behind the gateway.
    const bool off_link = s.forwarding != Forwarding::kDsr && Pick(2) == 0;
    if (s.vip.family == 6) {
      b.address.bytes[0] = 0xfd;
      b.address.bytes[1] = off_link ? 9 : 0;
      b.address.bytes[13] = 1;  // never the nat pool's fd00::fa
      b.address.bytes[14] = static_cast<uint8_t>(host >> 8);
      b.address.bytes[15] = static_cast<uint8_t>(host);
    } else {
      b.address.bytes = {10, static_cast<uint8_t>(off_link ? 9 : 0), static_cast<uint8_t>(1 + (host >> 8)),
                         static_cast<uint8_t>(host)};
    }
    b.port = s.forwarding == Forwarding::kNat ? static_cast<uint16_t>(8000 + Pick(3)) : s.port;
    b.weight = 1 + Pick(4);
    b.healthy = Pick(5) != 0;
    b.admin = static_cast<sluice::AdminState>(Pick(6) < 4 ? 0 : Pick(3));
    if (Pick(3) == 0) {
      b.has_static_mac = true;
      b.mac = {0x02, 0x22, 0, 0, static_cast<uint8_t>(host >> 8), static_cast<uint8_t>(host)};
    }
    return b;
  }

  // A change of `from`: what ServicesFromJs would give, with `unchanged` filled.
  std::vector<ServiceConfig> Change(const std::vector<ServiceConfig>& from, Unchanged* unchanged) {
    std::vector<ServiceConfig> next = from;
    std::vector<bool> touched(next.size(), false);
    const uint32_t changes = 1 + Pick(3);
    for (uint32_t c = 0; c < changes && !next.empty(); c++) {
      const size_t i = Pick(static_cast<uint32_t>(next.size()));
      ServiceConfig& s = next[i];
      switch (Pick(9)) {
        case 0:  // a weight, or health, or state
          if (!s.backends.empty()) {
            BackendConfig& b = s.backends[Pick(static_cast<uint32_t>(s.backends.size()))];
            b.weight = 1 + Pick(9);
            b.healthy = Pick(4) != 0;
          }
          break;
        case 1:
          s.backends.push_back(NewBackend(s));
          break;
        case 2:
          if (!s.backends.empty()) s.backends.erase(s.backends.begin() + Pick(static_cast<uint32_t>(s.backends.size())));
          break;
        case 3:  // the service's port: every backend's view is made again
          s.port = static_cast<uint16_t>(s.port == 80 ? 81 : 80);
          for (BackendConfig& b : s.backends) {
            if (s.forwarding != Forwarding::kNat) b.port = s.port;
          }
          break;
        case 4:
          if (s.forwarding == Forwarding::kTunnel) s.tunnel.gue_port = static_cast<uint16_t>(s.tunnel.gue_port + 1);
          break;
        case 5:  // a new backend in place of one, at another id
          if (!s.backends.empty()) {
            const size_t j = Pick(static_cast<uint32_t>(s.backends.size()));
            s.backends[j] = NewBackend(s);
          }
          break;
        case 6: {  // removed
          next.erase(next.begin() + static_cast<std::ptrdiff_t>(i));
          touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        case 7:
          next.push_back(NewService());
          touched.push_back(true);
          break;
        default: {  // moved to the end, unchanged
          ServiceConfig moved = next[i];
          const bool was = touched[i];
          next.erase(next.begin() + static_cast<std::ptrdiff_t>(i));
          touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(i));
          next.push_back(moved);
          touched.push_back(was);
          continue;
        }
      }
      touched[i] = true;
    }
    Mark(from, next, touched, unchanged);
    return next;
  }

  // What ServicesFromJs marks: a service untouched, and each backend equal to
  // the one at its id in the running service of the same id.
  static void Mark(const std::vector<ServiceConfig>& from, const std::vector<ServiceConfig>& next,
                   const std::vector<bool>& touched, Unchanged* unchanged) {
    unchanged->services.assign(next.size(), false);
    unchanged->backends.assign(sluice::kMaxBackendIds, false);
    std::map<uint32_t, const ServiceConfig*> by_id;
    for (const ServiceConfig& s : from) by_id[s.id] = &s;
    for (size_t i = 0; i < next.size(); i++) {
      unchanged->services[i] = !touched[i] && by_id.count(next[i].id) != 0;
      auto was = by_id.find(next[i].id);
      if (was == by_id.end()) continue;
      for (const BackendConfig& b : next[i].backends) {
        for (const BackendConfig& a : was->second->backends) {
          if (a.id == b.id && std::memcmp(&a, &b, sizeof(a)) == 0) unchanged->backends[b.id] = true;
        }
      }
    }
  }

  uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }

  void Forget(const std::vector<ServiceConfig>& services) {
    used_.assign(sluice::kMaxServices, false);
    for (const ServiceConfig& s : services) used_[s.id] = true;
  }

 private:
  uint32_t FreeServiceId() {
    used_.resize(sluice::kMaxServices, false);
    for (uint32_t id = 0;; id++) {
      if (!used_[id]) {
        used_[id] = true;
        return id;
      }
    }
  }
  static void SetVip(ServiceConfig& s, uint32_t n) {
    if (s.vip.family == 6) {
      s.vip.bytes[0] = 0x20;
      s.vip.bytes[1] = 0x01;
      s.vip.bytes[15] = static_cast<uint8_t>(n);
      s.vip.bytes[14] = static_cast<uint8_t>(n >> 8);
    } else {
      s.vip.bytes = {192, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    }
  }
  std::mt19937 rng_;
  std::vector<bool> used_;
  uint32_t next_vip_ = 1;
  uint32_t next_backend_id_ = 0;
  uint32_t next_host_ = 1;
};

void CheckSameView(const BackendView& a, const BackendView& b, uint32_t id) {
  INFO("backend id " << id);
  CHECK(a.service_id == b.service_id);
  CHECK(a.keeps_flows_of == b.keeps_flows_of);
  CHECK(a.address == b.address);
  CHECK(a.next_hop == b.next_hop);
  CHECK(std::memcmp(&a.mac, &b.mac, 6) == 0);
  CHECK(std::memcmp(&a.egress_mac, &b.egress_mac, 6) == 0);
  CHECK(a.egress_mtu == b.egress_mtu);
  CHECK(a.port_index == b.port_index);
  CHECK(a.port == b.port);
  CHECK(a.mac_known == b.mac_known);
  CHECK(a.tunnel.outer_dst == b.tunnel.outer_dst);
  CHECK(a.tunnel.source_base == b.tunnel.source_base);
  CHECK(a.tunnel.source_hash_mask == b.tunnel.source_hash_mask);
  CHECK(a.tunnel.udp_dst_port == b.tunnel.udp_dst_port);
  CHECK(a.tunnel.max_inner_length == b.tunnel.max_inner_length);
  CHECK(a.tunnel.overhead == b.tunnel.overhead);
  CHECK(a.tunnel.outer_proto == b.tunnel.outer_proto);
  CHECK(a.tunnel.fixed_sum == b.tunnel.fixed_sum);
  CHECK(a.family == b.family);
  CHECK(std::memcmp(a.address6, b.address6, 16) == 0);
  CHECK(std::memcmp(a.next_hop6, b.next_hop6, 16) == 0);
  CHECK(std::memcmp(a.tunnel6.outer_dst, b.tunnel6.outer_dst, 16) == 0);
  CHECK(std::memcmp(a.tunnel6.source_base, b.tunnel6.source_base, 16) == 0);
  CHECK(a.tunnel6.source_hash_mask == b.tunnel6.source_hash_mask);
  CHECK(a.tunnel6.udp_dst_port == b.tunnel6.udp_dst_port);
  CHECK(a.tunnel6.max_inner_length == b.tunnel6.max_inner_length);
  CHECK(a.tunnel6.overhead == b.tunnel6.overhead);
  CHECK(a.tunnel6.outer_proto == b.tunnel6.outer_proto);
}

// Everything a worker reads, compared: views by id, services in order with
// their tables' contents, and the indexes' answers.
void CheckSameSnapshot(const Snapshot& a, const Snapshot& b) {
  REQUIRE(a.backends.size() == b.backends.size());
  for (uint32_t id = 0; id < a.backends.size(); id++) CheckSameView(a.backends[id], b.backends[id], id);
  REQUIRE(a.services.size() == b.services.size());
  REQUIRE(a.tables.size() == b.tables.size());
  for (size_t i = 0; i < a.services.size(); i++) {
    const sluice::ServiceView& x = a.services[i];
    const sluice::ServiceView& y = b.services[i];
    INFO("service " << i);
    CHECK(x.id == y.id);
    CHECK(x.vip == y.vip);
    CHECK(x.port == y.port);
    CHECK(x.proto == y.proto);
    CHECK(x.forwarding == y.forwarding);
    CHECK(x.family == y.family);
    CHECK(std::memcmp(x.vip6, y.vip6, 16) == 0);
    REQUIRE(x.table_size == y.table_size);
    CHECK(x.lookup == a.tables[i]->data());
    CHECK(std::memcmp(x.lookup, y.lookup, x.table_size * sizeof(uint32_t)) == 0);
    if (x.family == 6) {
      CHECK(a.index6.Find(x.vip6, x.port, x.proto) == static_cast<int32_t>(i));
      CHECK(b.index6.Find(y.vip6, y.port, y.proto) == static_cast<int32_t>(i));
      CHECK(a.index6.IsVip(x.vip6));
    } else {
      CHECK(a.index.Find(x.vip, x.port, x.proto) == &x);
      CHECK(b.index.Find(y.vip, y.port, y.proto) == &y);
      CHECK(a.index.IsVip(x.vip));
    }
  }
}

std::string Refusal(const std::function<void()>& build) {
  try {
    build();
  } catch (const sluice::CodedError& e) {
    return std::string(e.code()) + " " + e.what();
  }
  return "(built)";
}

}  // namespace

TEST_CASE("snapshot base: a build from the snapshot before holds what a build from nothing holds") {
  const auto ports = Port();
  for (uint32_t seed = 1; seed <= 20; seed++) {
    World world(seed);
    Neighbors neighbors;
    std::vector<ServiceConfig> services;
    for (int i = 0; i < 12; i++) services.push_back(world.NewService());
    sluice::LookupTableCache tables;
    std::unique_ptr<Snapshot> running = sluice::BuildSnapshot(services, ports, neighbors, tables, 1);
    for (uint64_t round = 2; round < 60; round++) {
      INFO("seed " << seed << " round " << round);
      bool neighbors_same = true;
      if (world.Pick(4) == 0) {
        // A MAC learned for some next hop, as a worker reports one: the gateways' or a backend's.
        const uint8_t gateway4[4] = {10, 0, 0, 1};
        std::array<uint8_t, 16> key = Neighbors::Key(gateway4, 4);
        if (world.Pick(2) == 0 && !services.empty() && !services[0].backends.empty()) {
          const sluice::IpAddr& a = services[0].backends[0].address;
          key = Neighbors::Key(a.bytes.data(), a.family == 6 ? 16 : 4);
        }
        neighbors.known[key] = static_cast<uint8_t>(round);
        neighbors_same = false;
      }
      Unchanged unchanged;
      std::vector<ServiceConfig> next = world.Change(services, &unchanged);
      const sluice::SnapshotBase base{running.get(), &services, &unchanged, neighbors_same};
      auto from_base = sluice::BuildSnapshot(next, ports, neighbors, tables, round, 1, &base);
      sluice::LookupTableCache fresh_tables;
      auto from_nothing = sluice::BuildSnapshot(next, ports, neighbors, fresh_tables, round);
      CheckSameSnapshot(*from_base, *from_nothing);
      services = std::move(next);
      running = std::move(from_base);
      world.Forget(services);
    }
  }
}

TEST_CASE("snapshot base: a view copied from the snapshot before takes the MAC learned since") {
  const auto ports = Port();
  World world(7);
  ServiceConfig s = world.NewService();
  s.forwarding = Forwarding::kTunnel;
  s.vip.family = 4;
  s.vip.bytes = {192, 0, 2, 1};
  s.tunnel = {};
  BackendConfig b{};
  b.id = 3;
  b.address.bytes = {10, 9, 0, 7};  // behind the gateway
  b.port = s.port;
  b.weight = 1;
  b.healthy = true;
  s.backends = {b};
  std::vector<ServiceConfig> services{s};
  Neighbors neighbors;
  sluice::LookupTableCache tables;
  auto running = sluice::BuildSnapshot(services, ports, neighbors, tables, 1);
  REQUIRE(running->backends[3].mac_known == 0);

  const uint8_t gateway4[4] = {10, 0, 0, 1};
  neighbors.known[Neighbors::Key(gateway4, 4)] = 0x42;
  Unchanged unchanged{{true}, std::vector<bool>(sluice::kMaxBackendIds, false)};
  // As Dataplane::Republish builds after a MAC is learned: everything unchanged but the neighbours.
  sluice::SnapshotBase base{running.get(), &services, &unchanged, false};
  auto republished = sluice::BuildSnapshot(services, ports, neighbors, tables, 2, 1, &base);
  CHECK(republished->backends[3].mac_known == 1);
  CHECK(republished->backends[3].mac.addr_bytes[5] == 0x42);
  // The table is the one the snapshot before held, not one built again.
  CHECK(republished->tables[0].get() == running->tables[0].get());
  CHECK(tables.builds() == 1);

  // A change of another service keeps this one's view, MAC included.
  ServiceConfig other = world.NewService();
  other.vip.family = 4;
  other.vip.bytes = {192, 0, 2, 2};
  other.backends.clear();
  std::vector<ServiceConfig> next{s, other};
  Unchanged same_neighbors{{true, false}, std::vector<bool>(sluice::kMaxBackendIds, false)};
  sluice::SnapshotBase after{republished.get(), &services, &same_neighbors, true};
  auto changed = sluice::BuildSnapshot(next, ports, neighbors, tables, 3, 1, &after);
  CHECK(changed->backends[3].mac_known == 1);
  CHECK(changed->backends[3].mac.addr_bytes[5] == 0x42);
}

TEST_CASE("snapshot base: a set refused from the snapshot before names what a build from nothing names") {
  const auto ports = Port();
  World world(11);
  std::vector<ServiceConfig> services;
  for (int i = 0; i < 6; i++) {
    ServiceConfig s = world.NewService();
    s.vip.family = 4;
    s.vip.bytes = {192, 0, 2, static_cast<uint8_t>(i + 1)};
    s.forwarding = Forwarding::kTunnel;
    s.tunnel = {};
    s.protocol = IPPROTO_TCP;
    for (BackendConfig& b : s.backends) {
      b.address.family = 4;
      b.address.bytes = {10, 0, 7, static_cast<uint8_t>(b.id)};
      b.port = s.port;
    }
    s.backends.push_back(world.NewBackend(s));
    for (BackendConfig& b : s.backends) {
      b.healthy = true;
      b.admin = sluice::AdminState::kActive;
    }
    services.push_back(s);
  }
  Neighbors neighbors;
  sluice::LookupTableCache tables;
  auto running = sluice::BuildSnapshot(services, ports, neighbors, tables, 1);
  const uint64_t live = tables.live_bytes();

  const auto refusals = [&](std::vector<ServiceConfig> next, const std::vector<bool>& touched) {
    Unchanged unchanged;
    World::Mark(services, next, touched, &unchanged);
    const sluice::SnapshotBase base{running.get(), &services, &unchanged, true};
    const std::string from_base =
        Refusal([&] { sluice::BuildSnapshot(next, ports, neighbors, tables, 2, 1, &base); });
    sluice::LookupTableCache fresh;
    const std::string from_nothing = Refusal([&] { sluice::BuildSnapshot(next, ports, neighbors, fresh, 2); });
    CHECK(from_base == from_nothing);
    // Nothing of the refused set stays in the cache.
    CHECK(tables.live_bytes() == live);
    return from_base;
  };
  const std::vector<bool> third(services.size(), false);
  std::vector<bool> touched = third;
  touched[4] = true;

  // The changed service (4) takes the VIP of an unchanged one after it (5): a
  // build that checked only what changed would blame 4; in order it is 5.
  std::vector<ServiceConfig> next = services;
  next[4].vip = services[5].vip;
  next[4].backends[0].weight = 9;
  CHECK(refusals(next, touched) == "SLUICE_INVALID_ARGUMENT services[5]: same VIP, port and protocol as services[4] (" +
                                       services[4].name + ")");
  // A backend id of an unchanged service after it.
  next = services;
  next[4].backends.push_back(services[5].backends[0]);
  CHECK(refusals(next, touched) == "SLUICE_INVALID_ARGUMENT services[5].backends[0].id: backend id used twice");
  // A broken backend of the changed service, ahead of an id used twice after it.
  next = services;
  next[4].backends[0].port = 9;
  next[5].backends.push_back(services[0].backends[0]);
  touched[5] = true;
  CHECK(refusals(next, touched) ==
        "SLUICE_INVALID_ARGUMENT services[4].backends[0].port: tunnel forwards without rewriting ports, so the "
        "backend port must be 80");
  // A table that cannot be built.
  next = services;
  next[4].lookup_table_size = 250;
  next[4].backends[0].weight = 7;
  CHECK(refusals(next, touched) == "SLUICE_INVALID_ARGUMENT services[4].lookupTableSize: must be prime, from 2 to "
                                   "16777259; got 250");

  // The running snapshot still serves as a base afterwards.
  next = services;
  next[4].backends[0].weight = 5;
  touched = third;
  touched[4] = true;
  Unchanged unchanged;
  World::Mark(services, next, touched, &unchanged);
  const sluice::SnapshotBase base{running.get(), &services, &unchanged, true};
  const uint64_t builds_before = tables.builds();
  auto built = sluice::BuildSnapshot(next, ports, neighbors, tables, 3, 1, &base);
  sluice::LookupTableCache fresh;
  CheckSameSnapshot(*built, *sluice::BuildSnapshot(next, ports, neighbors, fresh, 3));
  CHECK(tables.builds() == builds_before + 1);
}

TEST_CASE("snapshot base: IPv6 services with the same VIP, port and protocol are refused as IPv4 ones are") {
  const auto ports = Port();
  World world(3);
  ServiceConfig a = world.NewService();
  a.vip.family = 6;
  a.vip.bytes = {0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  a.backends.clear();
  ServiceConfig v4 = world.NewService();
  v4.vip.family = 4;
  v4.vip.bytes = {192, 0, 2, 1};
  v4.backends.clear();
  ServiceConfig b = a;
  b.id = a.id + 10;
  b.name = "b";
  ServiceConfig v4_twice = v4;
  v4_twice.id = v4.id + 10;
  Neighbors neighbors;
  sluice::LookupTableCache tables;
  CHECK(Refusal([&] { sluice::BuildSnapshot({a, v4, b}, ports, neighbors, tables, 1); }) ==
        "SLUICE_INVALID_ARGUMENT services[2]: same VIP, port and protocol as services[0] (" + a.name + ")");
  // The first refused in order, whichever family.
  CHECK(Refusal([&] { sluice::BuildSnapshot({a, v4, v4_twice, b}, ports, neighbors, tables, 1); }) ==
        "SLUICE_INVALID_ARGUMENT services[2]: same VIP, port and protocol as services[1] (" + v4.name + ")");
  b.port = 81;
  CHECK(Refusal([&] { sluice::BuildSnapshot({a, v4, b}, ports, neighbors, tables, 1); }) == "(built)");
}
