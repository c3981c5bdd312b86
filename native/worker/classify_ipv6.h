// Classification of the IPv6 frames Classify (classify.cc) accepted: neighbor
// discovery and echo for our addresses, and services by the snapshot's IPv6
// index, queued for their own flow table and forwarding step (forward_ipv6.cc).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/packet_parse.h"
#include "worker/burst.h"
#include "worker/context.h"

namespace sluice {

// Finishes `m` (reply, drop, nat) or queues it in `pending`.
void ClassifyIpv6(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                  const PacketInfo& info, Pending6* pending, uint32_t& num_pending, uint32_t now_ms);

}  // namespace sluice
