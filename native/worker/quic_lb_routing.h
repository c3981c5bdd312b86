// QUIC-LB on the packet path, for both families (forward_ipv4.cc,
// forward_ipv6.cc): the backend a datagram's destination connection ID names,
// when that backend keeps the service's flows (active or draining, healthy).
#pragma once

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

}  // namespace sluice
