// A received burst between its stages: classification (classify.cc, and
// classify_ipv6.cc for IPv6 frames) finishes what it can and queues service and
// nat packets, prefetching what their lookups will read; forwarding
// (forward_ipv4.cc, forward_ipv6.cc, nat.cc) then looks them up, rewrites them
// and stages them for tx. The loop (loop.cc) runs the stages a burst apart.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "modes/nat/nat_forward.h"
#include "tables/flow_table.h"
#include "tables/flow_table6.h"
#include "worker/context.h"

namespace sluice {

// A service packet waiting for the bulk flow-table lookup.
struct Pending {
  struct rte_mbuf* mbuf;
  const ServiceView* service;
  FlowKey4 key;
  FlowHash hash;
  FlowTable::PrimaryProbe probe;  // filled in by ForwardIpv4's first pass
  uint8_t tcp_flags;
  // An ICMP error quoting one of the flow's packets: sent where the flow goes,
  // but it neither creates, refreshes nor re-picks the flow's entry.
  bool quoted;
};

// An IPv6 service packet waiting for its flow lookup, as Pending.
struct Pending6 {
  struct rte_mbuf* mbuf;
  const ServiceView* service;
  FlowKey6 key;
  FlowHash hash;
  FlowTable6::PrimaryProbe probe;  // filled in by ForwardIpv6's first pass
  uint8_t tcp_flags;
  bool quoted;  // an ICMPv6 error quoting the flow (packet/icmp_error_route.h), as in Pending
  uint16_t l4_offset;  // from the frame's start, past any extension headers: QUIC-LB reads the UDP payload
};

// The key's hash in the lcore's IPv6 flow table; without one (no port has an
// IPv6 address), its sig alone: the flow is forwarded unremembered.
inline FlowHash FlowHash6(const WorkerContext& w, const FlowKey6& key) {
  return w.flows6 != nullptr ? w.flows6->HashOf(key) : FlowHash{FlowTable6::SigOf(key), 0, 0};
}

// nat packets waiting for their burst's session lookups: clients' packets to a
// nat VIP (service set) and backends' replies to a pool address (service nullptr).
struct PendingNat {
  struct rte_mbuf* mbuf;
  const ServiceView* service;
  FlowKey4 key;        // the packet's 5-tuple: for a client's packet, its session key
  NatIndexHash hash;   // clients' packets: the key's
  NatHeaders headers;  // not a whole PacketInfo: modes/nat/nat_translate.h says why
  uint32_t owner;      // replies: the worker index owning the pool port,
  int32_t slot;        // and when that is this lcore, the pool pair's session slot
};
struct NatBurst {
  PendingNat pending[kRxBurst];
  uint32_t n;
};
// A NatBurst as Classify fills it. The count is ClassifyBurst's local: as the
// burst's field, behind a pointer that every counter store might alias, it was
// reloaded and stored per packet, and the next pending slot's address waited
// for the reload.
struct NatQueue {
  PendingNat* pending;
  uint32_t n;
};

// A received burst, classified, waiting for its forwarding.
struct ClassifiedBurst {
  Pending pending[kRxBurst];
  uint32_t num_pending;
  Pending6 pending6[kRxBurst];
  uint32_t num_pending6;
  NatBurst nat;
  uint16_t port_index;
};

// Classifies `n` received mbufs into `b`: every mbuf is finished (sent, replied
// to, dropped and counted) or queued in `b` for its lookup.
void ClassifyBurst(WorkerContext& w, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n, uint16_t port_index,
                   uint32_t now_ms, ClassifiedBurst& b);

// Flow lookup -> backend -> per-mode rewrite -> staged tx, per family.
void ForwardIpv4(WorkerContext& w, const Snapshot& snap, Pending* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms);
void ForwardIpv6(WorkerContext& w, const Snapshot& snap, Pending6* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms);

}  // namespace sluice
