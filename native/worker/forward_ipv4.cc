// Forwarding of a burst's IPv4 service packets: the flow table's lookup, the
// backend (remembered, or picked from the service's lookup table and
// remembered), the mode's rewrite, and the staged sends.
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "modes/tunnel.h"
#include "packet/icmp_errors.h"
#include "packet/tcp_flags.h"
#include "worker/burst.h"
#include "worker/flow_pick.h"
#include "worker/forward.h"
#include "worker/fragments.h"
#include "worker/quic_lb_routing.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// tunnel: the client's packet, unchanged, inside an outer IPv4 (and for GUE, UDP)
// header to the backend, sent to the next hop; Ethernet padding is cut off first.
// Always inlined, as BackendOfFlow (worker/flow_pick.h) is: once the fragment
// path (SendFragment4) called them too, the compiler stopped inlining them into
// ForwardIpv4, and a dsr packet cost 35 instructions more.
__rte_always_inline void EncapsulateTunnel(WorkerContext& w, TxStage& stage, const BackendView& b, uint32_t backend_id,
                              struct rte_mbuf* m, uint32_t flow_hash, uint16_t ingress_port, uint32_t now_ms,
                              bool answer_too_big) {
  const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t l2_len = m->l2_len;
  uint16_t inner_length = rte_be_to_cpu_16(
      reinterpret_cast<const struct rte_ipv4_hdr*>(frame + l2_len)->total_length);
  if (inner_length > b.tunnel.max_inner_length) {
    if (!answer_too_big) return Drop(w, m, DropReason::kMtuExceeded);
    return RefuseTooBig(w, stage, m, ingress_port, now_ms, w.counters->icmp_frag_needed_sent, MakeIcmpFragNeeded,
                        b.tunnel.max_inner_length);
  }
  if (rte_pktmbuf_pkt_len(m) > l2_len + inner_length) TrimTo(m, l2_len + inner_length);
  auto* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, b.tunnel.overhead));
  if (start == nullptr) return Drop(w, m, DropReason::kNoHeadroom);
  Encapsulate(start, l2_len, inner_length, b.tunnel, flow_hash, w.ip_id++, b.mac, b.egress_mac);
  StageToBackend(w, stage, b, backend_id, m);
}

// QUIC-LB (worker/quic_lb_routing.h): true, and `pick` set, when the datagram's
// connection ID names a backend that keeps the service's flows; it goes there
// and nothing is remembered (the connection ID, not the 5-tuple, is the
// connection, so a client that moves keeps its server). Anything else is a
// flow like any other. Out of line and cold, so every other service pays one
// test of quic_lb per packet and BackendOfFlow stays inlined in its one caller.
[[gnu::noinline, gnu::cold]] bool RoutedByConnectionId(WorkerContext& w, const Snapshot& snap, const Pending& p,
                                                       BackendPick* pick) {
  const struct rte_mbuf* m = p.mbuf;
  const uint8_t ihl = rte_pktmbuf_mtod_offset(m, const uint8_t*, m->l2_len)[0] & 0x0f;
  uint32_t backend_id = BackendOfConnectionId(w, snap, *p.service, m, m->l2_len + ihl * 4u);
  if (backend_id == kNoBackend) return false;
  *pick = Picked(snap, backend_id);
  return true;
}

}  // namespace

BackendPick FirstFragmentPick4(WorkerContext& w, const Snapshot& snap, Pending& p, uint32_t now_ms) {
  p.probe = w.flows->ProbePrimary(p.key, p.hash);
  return BackendOfFlow<FlowTable>(w, snap, p, now_ms);
}

void SendFragment4(WorkerContext& w, TxStage& stage, uint8_t forwarding, BackendPick pick, struct rte_mbuf* m,
                   uint32_t sig, uint16_t ingress_port, uint32_t now_ms) {
  // SendToBackend reads only the mode of the service; the fragment's service
  // may have left the snapshot since its first fragment was balanced.
  ServiceView mode{};
  mode.forwarding = forwarding;
  // A fragment never has DF set, so no fragmentation-needed answers it: it is dropped.
  SendToBackend(w, *w.counters, stage, mode, pick, m, false, [&](const BackendView& b) {
    EncapsulateTunnel(w, stage, b, pick.id, m, sig, ingress_port, now_ms, false);
  });
}

void ForwardIpv4(WorkerContext& w, const Snapshot& snap, Pending* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms) {
  FlowTable& flows = *w.flows;
  // Primary buckets were prefetched in Classify; this pass searches them and
  // fetches the secondary buckets the lookups below will read (tables/flow_table.h),
  // all of a burst's at once.
  for (uint32_t i = 0; i < n; i++) pending[i].probe = flows.ProbePrimary(pending[i].key, pending[i].hash);
  LcoreCounters& c = *w.counters;
  TxStage stage;

  for (uint32_t i = 0; i < n; i++) {
    Pending& p = pending[i];
    BackendPick pick;
    if (p.quoted) {
      pick = BackendOfQuotedFlow<FlowTable>(w, snap, p);
    } else if (__builtin_expect(p.service->quic_lb == nullptr, 1) || !RoutedByConnectionId(w, snap, p, &pick)) {
      pick = BackendOfFlow<FlowTable>(w, snap, p, now_ms);
    }
    // No ICMP error is ever sent about an ICMP error (RFC 1122 3.2.2).
    SendToBackend(w, c, stage, *p.service, pick, p.mbuf, p.quoted, [&](const BackendView& b) {
      EncapsulateTunnel(w, stage, b, pick.id, p.mbuf, p.hash.sig, ingress_port, now_ms, !p.quoted);
    });
  }
  SendStaged(w, stage);
}

}  // namespace sluice
