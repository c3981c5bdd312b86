#include "worker/classify_ipv6.h"

#include <cstring>

#include "packet/icmp_error_route.h"
#include "packet/icmpv6_errors.h"
#include "packet/ndp.h"
#include "tables/flow_table6.h"
#include "worker/addresses.h"
#include "worker/fragments.h"
#include "worker/kernel_handoff.h"
#include "worker/local_replies.h"
#include "worker/nat.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

constexpr uint8_t kMulticastPrefix = 0xff;

// :: (0) and ::1 (1), or neither (-1).
inline int UnspecifiedOrLoopback(const uint8_t* a) {
  for (int i = 0; i < 15; i++) {
    if (a[i] != 0) return -1;
  }
  return a[15] <= 1 ? a[15] : -1;
}

// A source no host sends from (RFC 4291 2.5.2, 2.5.3, 2.7): a group, loopback,
// or the unspecified address, which only duplicate-address probes (an NS) use.
inline bool IsMartianIpv6Source(const uint8_t* a, bool solicitation) {
  if (a[0] == kMulticastPrefix) return true;
  int special = UnspecifiedOrLoopback(a);
  return special == 1 || (special == 0 && !solicitation);
}

void QueueForLookup6(WorkerContext& w, struct rte_mbuf* m, const ServiceView* service, const uint8_t* src,
                     const uint8_t* dst, uint16_t src_port, uint16_t dst_port, uint8_t proto, uint8_t tcp_flags,
                     bool quoted, Pending6& p) {
  p.mbuf = m;
  p.service = service;
  std::memcpy(p.key.src_addr, src, 16);
  std::memcpy(p.key.dst_addr, dst, 16);
  p.key.src_port = src_port;
  p.key.dst_port = dst_port;
  p.key.proto = proto;
  std::memset(p.key.pad, 0, sizeof(p.key.pad));
  p.hash = FlowHash6(w, p.key);
  if (w.flows6 != nullptr) w.flows6->PrefetchPrimary(p.hash);
  p.tcp_flags = tcp_flags;
  p.quoted = quoted;
  ServiceCounters& sc = w.service_counters[service->id];
  sc.packets++;
  sc.bytes += m->pkt_len;
}

// An ICMPv6 destination-unreachable or packet-too-big to a VIP joins the burst as a
// packet of the flow it quotes, as ClassifyIcmpError in worker/classify.cc does for IPv4.
void ClassifyIcmpv6Error(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, const PacketInfo& info,
                         Pending6* pending, uint32_t& num_pending) {
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  if (!rte_pktmbuf_is_contiguous(m)) return Drop(w, m, DropReason::kIcmpIgnored);
  if (!Icmpv6ChecksumValid(data, len, info)) return Drop(w, m, DropReason::kBadIcmpChecksum);
  QuotedFlow6 q;
  if (!QuotedIpv6Flow(data, len, info, &q) || std::memcmp(q.vip, info.dst_addr, 16) != 0) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  int32_t s = snap.index6.Find(q.vip, q.vip_port, q.proto);
  // nat backends never send as the VIP, as in ClassifyIcmpError (worker/classify.cc).
  if (s < 0 || snap.services[s].forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  QueueForLookup6(w, m, &snap.services[s], q.client, q.vip, q.client_port, q.vip_port, q.proto, 0, true,
                  pending[num_pending++]);
}

}  // namespace

void ClassifyIpv6(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                  const PacketInfo& info, Pending6* pending, uint32_t& num_pending, uint32_t now_ms) {
  const auto* eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr*);
  bool to_group = IsSolicitedNodeMac(eth->dst_addr.addr_bytes);
  bool ndp = info.l4_proto == IPPROTO_ICMPV6 &&
             (info.icmp_type == kIcmpv6NeighborSolicit || info.icmp_type == kIcmpv6NeighborAdvert);
  if (to_group && !(ndp && info.icmp_type == kIcmpv6NeighborSolicit)) return Drop(w, m, DropReason::kNotForUs);
  if (IsMartianIpv6Source(info.src_addr, ndp && info.icmp_type == kIcmpv6NeighborSolicit)) {
    return Drop(w, m, DropReason::kBadSource);
  }
  if (ndp) return HandleNdp(w, snap, m, port_index, info, to_group);
  m->l2_len = info.l3_offset;  // for ExceedsMtu and the tunnel encapsulation at egress
  // ParsePacket stops at a fragment header, and only there, with l4_proto 44.
  if (info.l4_proto == parse_detail::kProtoFragment) return ClassifyFragment(w, snap, m, port_index, info, now_ms);

  int32_t s = snap.index6.Find(info.dst_addr, info.dst_port, info.l4_proto);
  if (s >= 0 && snap.services[s].forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    return ForwardNat(w, snap, snap.services[s], m, port_index, info, now_ms);
  }
  if (s >= 0) {
    Pending6& p = pending[num_pending++];
    QueueForLookup6(w, m, &snap.services[s], info.src_addr, info.dst_addr, info.src_port, info.dst_port,
                    info.l4_proto, info.tcp_flags, false, p);
    p.l4_offset = info.l4_offset;
    return;
  }
  bool l4 = info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP;
  if (l4 && IsNatPoolAddress6(w, port_index, info.dst_addr)) return ReturnNat(w, m, port_index, info, now_ms);
  if (!IsOurs6(w, port_index, snap, info.dst_addr)) return Drop(w, m, DropReason::kNoService);
  if (info.l4_proto == IPPROTO_ICMPV6) {
    if ((info.icmp_type == kIcmpv6DestUnreachable || info.icmp_type == kIcmpv6PacketTooBig) &&
        snap.index6.IsVip(info.dst_addr)) {
      return ClassifyIcmpv6Error(w, snap, m, info, pending, num_pending);
    }
    // Echo requests to the node are answered here; the rest to its own address is the kernel's.
    if (info.icmp_type != parse_detail::kIcmpv6EchoRequest && IsPortAddress6(w.ports[port_index], info.dst_addr)) {
      return HandToKernel(w, m, port_index, DropReason::kIcmpIgnored);
    }
    return HandleIcmpv6Echo(w, m, port_index, info);
  }
  DropReason otherwise = l4 ? DropReason::kNoService : DropReason::kUnsupportedL4;
  if (IsPortAddress6(w.ports[port_index], info.dst_addr)) return HandToKernel(w, m, port_index, otherwise);
  Drop(w, m, otherwise);
}

}  // namespace sluice
