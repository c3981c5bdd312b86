// Forwarding of a burst's IPv6 service packets, as forward_ipv4.cc does for
// IPv4, through the IPv6 flow table and the same staged lookups
// (worker/flow_pick.h); tunnels are IPv6-in-IPv6 or GUE over IPv6.
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "modes/tunnel6.h"
#include "packet/icmpv6_errors.h"
#include "tables/flow_table6.h"
#include "worker/burst.h"
#include "worker/flow_pick.h"
#include "worker/forward.h"
#include "worker/fragments.h"
#include "worker/quic_lb_routing.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// The outer UDP checksum over the pseudo header, UDP header and inner packet,
// segments included (DPDK's mbuf variant of rte_ipv6_udptcp_cksum is still
// experimental in 22.11).
inline uint16_t Gue6Checksum(const struct rte_mbuf* m, const struct rte_ipv6_hdr* outer, uint32_t l2_len) {
  uint16_t raw = 0;
  uint32_t l4_len = rte_be_to_cpu_16(outer->payload_len);
  rte_raw_cksum_mbuf(m, l2_len + sizeof(*outer), l4_len, &raw);
  uint32_t sum = uint32_t{raw} + rte_ipv6_phdr_cksum(outer, 0);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  uint16_t cksum = static_cast<uint16_t>(~sum);
  return cksum == 0 ? 0xffff : cksum;  // 0 would mean "no checksum", which IPv6 forbids
}

void EncapsulateTunnel6(WorkerContext& w, TxStage& stage, const BackendView& b, uint32_t backend_id,
                        struct rte_mbuf* m, uint32_t flow_hash, uint16_t ingress_port, uint32_t now_ms,
                        bool answer_too_big) {
  uint32_t l2_len = m->l2_len;
  const auto* inner = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr*, l2_len);
  uint32_t inner_length = rte_be_to_cpu_16(inner->payload_len) + sizeof(struct rte_ipv6_hdr);
  if (inner_length > b.tunnel6.max_inner_length) {
    if (!answer_too_big) return Drop(w, m, DropReason::kMtuExceeded);
    return RefuseTooBig(w, stage, m, ingress_port, now_ms, w.counters->icmp_packet_too_big_sent,
                        MakeIcmpv6PacketTooBig, b.tunnel6.max_inner_length);
  }
  if (rte_pktmbuf_pkt_len(m) > l2_len + inner_length) TrimTo(m, l2_len + inner_length);
  auto* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, b.tunnel6.overhead));
  if (start == nullptr) return Drop(w, m, DropReason::kNoHeadroom);
  Encapsulate6(start, l2_len, static_cast<uint16_t>(inner_length), b.tunnel6, flow_hash, b.mac, b.egress_mac);
  if (b.tunnel6.outer_proto == IPPROTO_UDP) {
    auto* outer = reinterpret_cast<struct rte_ipv6_hdr*>(start + l2_len);
    auto* udp = reinterpret_cast<struct rte_udp_hdr*>(outer + 1);
    udp->dgram_cksum = Gue6Checksum(m, outer, l2_len);
  }
  StageToBackend(w, stage, b, backend_id, m);
}

// The flow's backend: BackendOfFlow through the IPv6 table, or without one
// (no port has an IPv6 address) the lookup table's pick, unremembered.
__rte_always_inline BackendPick PickBackend6(WorkerContext& w, const Snapshot& snap, const Pending6& p,
                                             uint32_t now_ms) {
  if (__builtin_expect(w.flows6 != nullptr, 1)) return BackendOfFlow<FlowTable6>(w, snap, p, now_ms);
  w.counters->flow_misses++;
  uint32_t backend_id = p.service->LookupPick(p.hash.sig);
  if (backend_id != kNoBackend) CountNewFlow(w, p.service->id, backend_id);
  return Picked(snap, backend_id);
}

// QUIC-LB, as RoutedByConnectionId in forward_ipv4.cc: the backend the
// datagram's connection ID names, or kNoBackend for a flow like any other.
[[gnu::noinline, gnu::cold]] uint32_t BackendOfConnectionId6(WorkerContext& w, const Snapshot& snap,
                                                             const Pending6& p) {
  return BackendOfConnectionId(w, snap, *p.service, p.mbuf, p.l4_offset);
}

}  // namespace

uint32_t FirstFragmentPick6(WorkerContext& w, const Snapshot& snap, Pending6& p, uint32_t now_ms) {
  if (w.flows6 != nullptr) p.probe = w.flows6->ProbePrimary(p.key, p.hash);
  return PickBackend6(w, snap, p, now_ms).id;
}

void SendFragment6(WorkerContext& w, TxStage& stage, uint8_t forwarding, BackendPick pick, struct rte_mbuf* m,
                   uint32_t sig, uint16_t ingress_port, uint32_t now_ms) {
  ServiceView mode{};  // as in SendFragment4
  mode.forwarding = forwarding;
  SendToBackend(w, *w.counters, stage, mode, pick, m, false, [&](const BackendView& b) {
    EncapsulateTunnel6(w, stage, b, pick.id, m, sig, ingress_port, now_ms, false);
  });
}

void ForwardIpv6(WorkerContext& w, const Snapshot& snap, Pending6* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms) {
  const FlowTable6* flows = w.flows6;
  // As in ForwardIpv4: the primary buckets, prefetched in ClassifyIpv6, are
  // searched at once, and the secondaries the lookups need fetched.
  if (flows != nullptr) {
    for (uint32_t i = 0; i < n; i++) pending[i].probe = flows->ProbePrimary(pending[i].key, pending[i].hash);
  }
  TxStage stage;
  LcoreCounters& c = *w.counters;
  for (uint32_t i = 0; i < n; i++) {
    Pending6& p = pending[i];
    BackendPick pick;
    uint32_t by_connection_id;
    if (p.quoted) {
      pick = flows != nullptr ? BackendOfQuotedFlow<FlowTable6>(w, snap, p)
                              : Picked(snap, p.service->LookupPick(p.hash.sig));
    } else if (__builtin_expect(p.service->quic_lb == nullptr, 1) ||
               (by_connection_id = BackendOfConnectionId6(w, snap, p)) == kNoBackend) {
      pick = PickBackend6(w, snap, p, now_ms);
    } else {
      pick = Picked(snap, by_connection_id);
    }
    // No ICMPv6 error is ever sent about an ICMPv6 error (RFC 4443 2.4).
    SendToBackend(w, c, stage, *p.service, pick, p.mbuf, p.quoted, [&](const BackendView& b) {
      EncapsulateTunnel6(w, stage, b, pick.id, p.mbuf, p.hash.sig, ingress_port, now_ms, !p.quoted);
    });
  }
  SendStaged(w, stage);
}

}  // namespace sluice
