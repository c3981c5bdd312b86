// The worker's forwarding nat, both families: a burst's queued packets through
// their sessions (modes/nat/nat_verdicts.h decides, this sends), the single
// packets classification hands over directly, and the housekeeping of the
// lcore's sessions and hand-offs.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/packet_parse.h"
#include "worker/burst.h"
#include "worker/context.h"

namespace sluice {

// A burst's clients' packets through their sessions and replies back to their
// clients, in arrival order.
void ForwardNatBurst(WorkerContext& w, const Snapshot& snap, NatBurst& nat, uint16_t ingress_port, uint32_t now_ms);

// The client's packet to the backend, through its session (modes/nat/nat_forward.h).
void ForwardNat(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                uint16_t port_index, const PacketInfo& info, uint32_t now_ms);
// A reply to a pool address, translated here or handed to the lcore that owns its pool port.
void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms);

// Replies other lcores received for this lcore's pool ports, and expired sessions.
void NatHousekeeping(WorkerContext& w, uint32_t now_ms, uint32_t sweep_budget);

}  // namespace sluice
