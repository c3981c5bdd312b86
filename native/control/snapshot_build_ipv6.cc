// IPv6 backends in the snapshot: the port whose IPv6 prefix holds the backend,
// else (tunnel and nat) the IPv6 gateway of the first port that has one, the
// same rule as for IPv4 (control/snapshot_build.cc).
#include <arpa/inet.h>

#include <cstring>

#include "common/invariant.h"
#include "common/snapshot.h"
#include "control/snapshot_invariants.h"

namespace sluice {

bool InPrefix6(const uint8_t address[16], const uint8_t prefix[16], uint8_t prefix_len) {
  uint32_t full = prefix_len / 8;
  if (std::memcmp(address, prefix, full) != 0) return false;
  uint32_t rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[full] & mask) == (prefix[full] & mask);
}

bool IsNatPoolAddress6(const std::vector<PortAddressing>& ports, const uint8_t* address) {
  for (const PortAddressing& p : ports) {
    for (const auto& a : p.nat_pool6) {
      if (std::memcmp(a.data(), address, 16) == 0) return true;
    }
  }
  return false;
}

void FillBackend6(BackendView& view, const ServiceConfig& s, const BackendConfig& b,
                  const std::vector<PortAddressing>& ports, const NeighborLookup& neighbors,
                  const std::function<std::string()>& where) {
  const uint8_t* address = b.address.bytes.data();
  int port = -1;
  for (size_t p = 0; p < ports.size() && port < 0; p++) {
    if (ports[p].has_address6 && InPrefix6(address, ports[p].address6, ports[p].prefix6)) port = static_cast<int>(p);
  }
  std::memcpy(view.address6, address, 16);
  std::memcpy(view.next_hop6, address, 16);
  if (port < 0 && s.forwarding != Forwarding::kDsr) {
    for (size_t p = 0; p < ports.size() && port < 0; p++) {
      if (ports[p].has_gateway6) port = static_cast<int>(p);
    }
    CheckInvariant(port >= 0, where, ".address", kInvariantOnLinkOrGateway6);
    std::memcpy(view.next_hop6, ports[port].gateway6, 16);
  }
  CheckInvariant(port >= 0, where, ".address", kInvariantDsrOnLink6);
  if (s.forwarding == Forwarding::kNat) {
    // A nat backend's replies come back to the IPv6 pool of the port the packet left by.
    CheckInvariant(!ports[port].nat_pool6.empty(), where, kInvariantNatPool6);
    CheckInvariant(!IsNatPoolAddress6(ports, address), where, ".address", kInvariantNotPoolAddress);
  }
  view.port_index = static_cast<uint16_t>(port);
  view.egress_mac = ports[port].mac;
  view.egress_mtu = ports[port].mtu;
  view.port = htons(b.port);
  if (s.forwarding == Forwarding::kTunnel) {
    view.tunnel6 = MakeTunnelTarget6(s.tunnel, address, ports[port].address6, ports[port].mtu);
  }
  if (!UseStaticMac(view, b)) ResolveNextHop(view, neighbors);
}

}  // namespace sluice
