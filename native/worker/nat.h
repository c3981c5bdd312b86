// The worker's forwarding nat, both families: a burst's queued packets through
// their sessions (modes/nat/nat_verdicts.h decides, this sends), the single
// packets classification hands over directly, and the housekeeping of the
// lcore's sessions and hand-offs.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>

#include "common/snapshot.h"
#include "modes/nat/nat_forward.h"
#include "packet/packet_parse.h"
#include "worker/burst.h"
#include "worker/context.h"
#include "worker/tx_stage.h"

namespace sluice {

// A burst's clients' packets through their sessions and replies back to their
// clients, in arrival order.
void ForwardNatBurst(WorkerContext& w, const Snapshot& snap, NatBurst& nat, uint16_t ingress_port, uint32_t now_ms);

// The client's packet to the backend, through its session (modes/nat/nat_forward.h).
void ForwardNat(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                uint16_t port_index, const PacketInfo& info, uint32_t now_ms);
// A reply to a pool address, translated here or handed to the lcore that owns its pool port.
void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms);

// A reply to the lcore that owns its pool port `owner`, as the mbuf, through
// that lcore's hand-off ring (nat_handoff_full when it is full).
inline void HandOffNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, uint32_t owner) {
  m->port = port_index;
  if (rte_ring_mp_enqueue(w.nat->inboxes[owner], m) != 0) return Drop(w, m, DropReason::kNatHandoffFull);
  w.counters->nat_handoff_sent++;
}

// Replies other lcores received for this lcore's pool ports (fragmented ones
// through the fragment path), and expired sessions.
void NatHousekeeping(WorkerContext& w, const Snapshot& snap, uint32_t now_ms, uint32_t sweep_budget);

}  // namespace sluice
