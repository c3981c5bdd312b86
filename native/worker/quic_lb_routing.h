// QUIC-LB on the packet path, for both families (forward_ipv4.cc,
// forward_ipv6.cc): the backend a datagram's destination connection ID names,
// when that backend keeps the service's flows (active or draining, healthy).
#pragma once

#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/quic_header.h"
#include "worker/context.h"
#include "worker/forward.h"

namespace sluice {

// `payload`: the UDP payload's first `len` octets in the mbuf's first segment.
// Counts the datagram as routed (a backend, its pick set) or unrouted
// (kNoBackend: the caller balances it as a flow). The worker's index is its
// RCU thread id: one codec each (tables/quic_lb_route.h).
inline uint32_t BackendOfConnectionId(WorkerContext& w, const Snapshot& snap, const ServiceView& service,
                                      const uint8_t* payload, uint32_t len) {
  const QuicLbRoute& route = *service.quic_lb;
  QuicDcid dcid;
  QuicHeaderStatus status = ParseQuicDcid(payload, len, route.cid_length(), &dcid);
  if (status == QuicHeaderStatus::kLong || status == QuicHeaderStatus::kShort) {
    uint32_t backend_id = route.BackendOf(w.rcu_thread_id, dcid.data, dcid.length);
    const BackendView* b = backend_id == QuicLbRoute::kNone ? nullptr : snap.Backend(backend_id);
    if (KeepsFlowsOf(b, service.id)) {
      w.counters->quic_lb_routed++;
      return backend_id;
    }
  }
  w.counters->quic_lb_unrouted++;
  return kNoBackend;
}

// The same for the UDP datagram in `m` whose UDP header is at `l4_offset`.
inline uint32_t BackendOfConnectionId(WorkerContext& w, const Snapshot& snap, const ServiceView& service,
                                      const struct rte_mbuf* m, uint32_t l4_offset) {
  const uint32_t payload = l4_offset + static_cast<uint32_t>(sizeof(struct rte_udp_hdr));
  const uint32_t len = rte_pktmbuf_data_len(m);
  return BackendOfConnectionId(w, snap, service, rte_pktmbuf_mtod(m, const uint8_t*) + payload,
                               len > payload ? len - payload : 0);
}

}  // namespace sluice
