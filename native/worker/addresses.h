// Whether an address on a port is the balancer's own: the port's, a VIP's, or
// one of the port's nat pool addresses.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/snapshot.h"
#include "modes/nat/nat_forward.h"
#include "worker/context.h"

namespace sluice {

inline bool IsNatPoolAddress(const WorkerContext& w, uint16_t port_index, uint32_t address) {
  return w.nat != nullptr && w.nat->layout->AddressIndex(port_index, address) >= 0;
}

inline bool IsNatPoolAddress6(const WorkerContext& w, uint16_t port_index, const uint8_t* address) {
  return w.nat != nullptr && w.nat->layout->AddressIndex6(port_index, address) >= 0;
}

inline bool IsPortAddress6(const PortRuntime& port, const uint8_t* address) {
  return port.has_address6 && std::memcmp(address, port.address6, 16) == 0;
}

inline bool IsOurs6(const WorkerContext& w, uint16_t port_index, const Snapshot& snap, const uint8_t* address) {
  return IsPortAddress6(w.ports[port_index], address) || snap.index6.IsVip(address) ||
         IsNatPoolAddress6(w, port_index, address);
}

}  // namespace sluice
