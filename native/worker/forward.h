// What forwarding does alike for both families (forward_ipv4.cc, forward_ipv6.cc)
// once a packet's flow has a backend.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/egress_check.h"
#include "worker/context.h"
#include "worker/tx_stage.h"

namespace sluice {

// A flow's backend: its global id, and its view in the snapshot (nullptr when
// there is none), looked up once.
struct BackendPick {
  uint32_t id;
  const BackendView* view;
};

inline BackendPick Picked(const Snapshot& snap, uint32_t backend_id) {
  return {backend_id, backend_id == kNoBackend ? nullptr : snap.Backend(backend_id)};
}

// Sends a packet whose flow has its backend: dropped and counted when there is
// none or its next hop is unresolved, else in the service's mode, `tunnel`
// encapsulating it for the tunnel mode. `quoted`: an ICMP error routed to its
// flow's backend, counted as such once forwarded. Inlined: as a call it spilled
// and reloaded a dozen registers per packet.
template <typename Tunnel>
__rte_always_inline void SendToBackend(WorkerContext& w, LcoreCounters& c, TxStage& stage, const ServiceView& service,
                                       BackendPick pick, struct rte_mbuf* m, bool quoted, Tunnel&& tunnel) {
  if (pick.id == kNoBackend) return Drop(w, m, DropReason::kNoBackend);
  const BackendView* b = pick.view;
  if (b == nullptr || !b->mac_known) return Drop(w, m, DropReason::kNeighborUnresolved);
  uint64_t forwarded = c.forwarded;
  if (service.forwarding == static_cast<uint8_t>(Forwarding::kTunnel)) {
    tunnel(*b);
  } else if (ExceedsMtu(m, b->egress_mtu)) {
    Drop(w, m, DropReason::kMtuExceeded);
  } else {
    RewriteDsr(w, stage, *b, pick.id, m);
  }
  if (quoted) c.icmp_errors_routed += c.forwarded - forwarded;
}

// A packet too long to tunnel goes back to the client as the ICMP error that
// `make_reply` builds in its buffer (fragmentation-needed, packet-too-big),
// out of the port it came in by, as long as the lcore's rate limit allows;
// `sent` counts those that go.
template <typename MakeReply>
inline void RefuseTooBig(WorkerContext& w, TxStage& stage, struct rte_mbuf* m, uint16_t ingress_port, uint32_t now_ms,
                         uint64_t& sent, MakeReply make_reply, uint32_t max_inner_length) {
  w.counters->drops[static_cast<uint32_t>(DropReason::kMtuExceeded)]++;
  uint32_t len = rte_pktmbuf_data_len(m);
  uint32_t reply_len = 0;
  if (w.icmp_limiter.Allow(now_ms)) {
    reply_len = make_reply(rte_pktmbuf_mtod(m, uint8_t*), len, len + rte_pktmbuf_tailroom(m), m->l2_len,
                           w.ports[ingress_port].mac.addr_bytes, max_inner_length);
  }
  if (reply_len == 0 || !Resize(m, reply_len)) {
    rte_pktmbuf_free(m);
    return;
  }
  sent++;
  Stage(stage, ingress_port, m);
}

}  // namespace sluice
