// Checks made where the egress port is known, just before a packet is handed to
// its tx queue. Inline and branch-light: they run once per forwarded packet.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace sluice {

// True when the packet's L3 part (everything after the L2 header whose length
// Classify stored in l2_len, VLAN tags included) is longer than `mtu`. Ingress
// does not bound it: a port with a larger MTU, or a NIC that scatters into
// chained mbufs, can hand over a packet the egress port cannot carry.
inline bool ExceedsMtu(const struct rte_mbuf* m, uint16_t mtu) {
  return rte_pktmbuf_pkt_len(m) - m->l2_len > mtu;
}

}  // namespace sluice
