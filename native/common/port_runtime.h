// A port as the workers and the nat paths see it: its DPDK id, MAC, addresses
// and MTU. Filled in at start; immutable afterwards.
#pragma once

#include <rte_ether.h>

#include <cstdint>

namespace sluice {

// Immutable after start; shared by all workers.
struct PortRuntime {
  uint16_t port_id;
  struct rte_ether_addr mac;
  uint32_t address;  // network order
  uint32_t netmask;  // network order
  uint16_t mtu;      // largest L3 packet the port transmits
  bool has_address6;
  uint8_t address6[16];
  uint8_t prefix6;
  bool kernel_interface;  // frames for the node itself go to its TAP (worker/kernel_handoff.h)
};

}  // namespace sluice
