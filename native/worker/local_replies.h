// What the worker answers or learns from itself: ARP and neighbor discovery for
// its addresses, ICMP and ICMPv6 echo. Each finishes its mbuf: sent back out of
// the port it came in by, consumed, or dropped and counted. The replies are
// built by packet/local_reply.h and packet/ndp.h.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/packet_parse.h"
#include "worker/context.h"

namespace sluice {

void HandleArp(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
               const PacketInfo& info);
// ICMP addressed to the balancer itself: echo requests are answered in place.
void HandleIcmp(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info);
// `to_group`: sent to the solicited-node group, not to the port's MAC.
void HandleNdp(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
               const PacketInfo& info, bool to_group);
void HandleIcmpv6Echo(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info);

}  // namespace sluice
