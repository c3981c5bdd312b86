// The worker's IPv6 path, called from Classify (worker/loop.cc) for every IPv6 frame
// it accepted: neighbor discovery and echo for our addresses, and services by
// the snapshot's IPv6 index, with their own flow table and forwarding step.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "tables/flow_table6.h"
#include "packet/packet_parse.h"
#include "common/snapshot.h"
#include "worker/context.h"

namespace sluice {

// An IPv6 service packet waiting for its flow lookup.
struct Pending6 {
  struct rte_mbuf* mbuf;
  const ServiceView* service;
  FlowKey6 key;
  uint32_t sig;
  uint8_t tcp_flags;
  bool quoted;  // an ICMPv6 error quoting the flow (packet/icmp_error_route.h), as Pending in worker/loop.cc
};

// Finishes `m` (reply, drop, nat) or queues it in `pending`.
void ClassifyIpv6(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                  const PacketInfo& info, Pending6* pending, uint32_t& num_pending, uint32_t now_ms);

// nat, both families (worker/loop.cc): a client's packet to a nat service, and a
// backend's reply to a pool address.
void ForwardNat(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                uint16_t port_index, const PacketInfo& info, uint32_t now_ms);
void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms);

// Flow lookup -> backend -> dsr or tunnel (IPv6-in-IPv6, GUE) -> tx buffer.
void ForwardIpv6(WorkerContext& w, const Snapshot& snap, Pending6* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms);

}  // namespace sluice
