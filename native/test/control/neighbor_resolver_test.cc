#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "control/neighbor_resolver.h"

namespace {

using sluice::IpAddr;
using sluice::NeighborLearn;
using sluice::NeighborResolver;

const uint8_t kGateway6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t kBackend6[16] = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
const uint8_t kMac6[6] = {0x02, 0, 0, 0, 0x06, 0x01};
const uint8_t kMac4[6] = {0x02, 0, 0, 0, 0x04, 0x01};
constexpr uint32_t kGateway4 = 0x0100630a;  // 10.99.0.1 in network order on a little-endian host

NeighborLearn Learn6(const uint8_t address[16], const uint8_t mac[6]) {
  NeighborLearn l{};
  l.family = 6;
  std::memcpy(l.address6, address, 16);
  std::memcpy(l.mac, mac, 6);
  return l;
}

TEST_CASE("neighbors: IPv4 and IPv6 next hops side by side, asked for and learned by family") {
  NeighborResolver r(30);
  r.SetTargets({{sluice::MakeIpv4(kGateway4), 0}, {sluice::MakeIpv6(kGateway6), 0}, {sluice::MakeIpv6(kBackend6), 0}});
  std::vector<IpAddr> asked;
  r.Tick(1000, [&](uint16_t, const IpAddr& target) {
    asked.push_back(target);
    return true;
  });
  REQUIRE(asked.size() == 3);
  int v6 = 0;
  for (const IpAddr& a : asked) v6 += a.family == 6;
  CHECK(v6 == 2);

  struct rte_ether_addr mac;
  CHECK_FALSE(r.Lookup6(kGateway6, &mac));
  CHECK(r.Learn(Learn6(kGateway6, kMac6), 1500));
  CHECK_FALSE(r.Learn(Learn6(kGateway6, kMac6), 1600));  // same MAC again: nothing changed
  REQUIRE(r.Lookup6(kGateway6, &mac));
  CHECK(std::memcmp(mac.addr_bytes, kMac6, 6) == 0);
  CHECK_FALSE(r.Lookup6(kBackend6, &mac));
  CHECK_FALSE(r.Lookup(kGateway4, &mac));
  // The first four bytes of an IPv6 address are not an IPv4 address.
  uint32_t prefix;
  std::memcpy(&prefix, kGateway6, 4);
  CHECK_FALSE(r.Lookup(prefix, &mac));

  NeighborLearn l4{};
  l4.address = kGateway4;
  std::memcpy(l4.mac, kMac4, 6);
  CHECK(r.Learn(l4, 1700));
  REQUIRE(r.Lookup(kGateway4, &mac));
  CHECK(std::memcmp(mac.addr_bytes, kMac4, 6) == 0);

  // Resolved ones are not asked again before the refresh; the unresolved one is, after a second.
  asked.clear();
  r.Tick(2100, [&](uint16_t, const IpAddr& target) {
    asked.push_back(target);
    return true;
  });
  REQUIRE(asked.size() == 1);
  CHECK(asked[0] == sluice::MakeIpv6(kBackend6));
  CHECK(r.List(2100).size() == 3);
}

}  // namespace
