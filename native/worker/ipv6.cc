#include "worker/ipv6.h"

#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "packet/egress_check.h"
#include "modes/tunnel6.h"
#include "packet/icmp_error_route.h"
#include "packet/icmpv6_errors.h"
#include "modes/nat/nat_forward.h"
#include "packet/ndp.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

constexpr uint8_t kMulticastPrefix = 0xff;

inline bool IsLinkLocal(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

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

// Whether a neighbor at `address` could be one of our next hops on this port:
// inside its prefix, or link-local (routers usually answer from fe80::/10).
inline bool OnLink6(const PortRuntime& port, const uint8_t* address) {
  return IsLinkLocal(address) || InPrefix6(address, port.address6, port.prefix6);
}

inline bool IsNatPoolAddress6(const WorkerContext& w, uint16_t port_index, const uint8_t* address) {
  return w.nat != nullptr && w.nat->layout->AddressIndex6(port_index, address) >= 0;
}

inline bool IsOurs6(const WorkerContext& w, uint16_t port_index, const Snapshot& snap, const uint8_t* address) {
  const PortRuntime& port = w.ports[port_index];
  return (port.has_address6 && std::memcmp(address, port.address6, 16) == 0) || snap.index6.IsVip(address) ||
         IsNatPoolAddress6(w, port_index, address);
}

void Learn6(WorkerContext& w, uint16_t port_index, const uint8_t* address, const uint8_t* mac) {
  NeighborLearn learn{};
  learn.family = 6;
  std::memcpy(learn.address6, address, 16);
  std::memcpy(learn.mac, mac, 6);
  learn.port_index = port_index;
  if (rte_ring_sp_enqueue_elem(w.learn_ring, &learn, sizeof(learn)) != 0) w.counters->learn_queue_full++;
}

// Makes `m` `new_len` bytes long; false when it cannot grow that far.
inline bool Resize(struct rte_mbuf* m, uint32_t new_len) {
  uint32_t len = rte_pktmbuf_data_len(m);
  if (new_len < len) return rte_pktmbuf_trim(m, static_cast<uint16_t>(len - new_len)) == 0;
  return new_len == len || rte_pktmbuf_append(m, static_cast<uint16_t>(new_len - len)) != nullptr;
}

// Neighbor solicitations for our addresses are answered; advertisements (and the
// source link-layer option of solicitations) from on-link neighbors are learned.
void HandleNdp(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
               const PacketInfo& info, bool to_group) {
  const PortRuntime& port = w.ports[port_index];
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  NdpMessage nd;
  if (!port.has_address6 || !rte_pktmbuf_is_contiguous(m)) return Drop(w, m, DropReason::kNdIgnored);
  if (!ParseNdp(data, len, info, &nd)) return Drop(w, m, DropReason::kBadNd);
  if (nd.type == kIcmpv6NeighborAdvert) {
    if (to_group || !nd.has_link_addr || !OnLink6(port, nd.target)) return Drop(w, m, DropReason::kNdIgnored);
    Learn6(w, port_index, nd.target, nd.link_addr);
    w.counters->arp_learned++;
    rte_pktmbuf_free(m);
    return;
  }
  if (!IsOurs6(w, port_index, snap, nd.target)) return Drop(w, m, DropReason::kNdIgnored);
  if (nd.has_link_addr && OnLink6(port, info.src_addr)) Learn6(w, port_index, info.src_addr, nd.link_addr);
  uint32_t new_len = MakeNeighborAdvert(data, len, len + rte_pktmbuf_tailroom(m), info, port.mac.addr_bytes, nd.target);
  if (new_len == 0 || !Resize(m, new_len)) return Drop(w, m, DropReason::kNdIgnored);
  w.counters->local_replies++;
  Send(w, port_index, m);
}

void HandleIcmpv6Echo(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info) {
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  if (info.icmp_type != parse_detail::kIcmpv6EchoRequest || !rte_pktmbuf_is_contiguous(m)) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  if (!Icmpv6ChecksumValid(data, len, info)) return Drop(w, m, DropReason::kBadIcmpChecksum);
  if (!MakeIcmpv6EchoReply(data, len, info, w.ports[port_index].mac.addr_bytes)) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  w.counters->local_replies++;
  Send(w, port_index, m);
}

void RefuseTooBig6(WorkerContext& w, TxStage& stage, const BackendView& b, struct rte_mbuf* m,
                   uint16_t ingress_port, uint32_t now_ms) {
  w.counters->drops[static_cast<uint32_t>(DropReason::kMtuExceeded)]++;
  uint32_t len = rte_pktmbuf_data_len(m);
  uint32_t reply_len = 0;
  if (w.icmp_limiter.Allow(now_ms)) {
    reply_len = MakeIcmpv6PacketTooBig(rte_pktmbuf_mtod(m, uint8_t*), len, len + rte_pktmbuf_tailroom(m), m->l2_len,
                                       w.ports[ingress_port].mac.addr_bytes, b.tunnel6.max_inner_length);
  }
  if (reply_len == 0 || !Resize(m, reply_len)) {
    rte_pktmbuf_free(m);
    return;
  }
  w.counters->icmp_packet_too_big_sent++;
  Stage(stage, ingress_port, m);
}

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
    return RefuseTooBig6(w, stage, b, m, ingress_port, now_ms);
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

// Where the quoted flow's packets go now, its entry untouched (see BackendOfQuotedFlow
// in worker/loop.cc).
uint32_t QuotedFlowBackend6(WorkerContext& w, const Snapshot& snap, const Pending6& p) {
  const ServiceView& service = *p.service;
  int32_t pos = w.flows6 != nullptr ? w.flows6->Lookup(p.key, p.sig) : -1;
  if (pos >= 0) {
    const FlowRecord6& r = w.flows6->Record(pos);
    const BackendView* b = snap.Backend(r.backend_id);
    if (r.service_id == service.id && KeepsFlowsOf(b, service.id)) {
      return r.backend_id;
    }
  }
  return service.maglev[MaglevSlot(p.sig, service.table_size)];
}

// The flow's backend: remembered, or picked by Maglev and remembered when the
// table has room. kMaglevNoBackend when the service has none.
uint32_t PickBackend6(WorkerContext& w, const Snapshot& snap, const Pending6& p, uint32_t now_ms) {
  const ServiceView& service = *p.service;
  LcoreCounters& c = *w.counters;
  bool closing_now = p.tcp_flags & (kTcpFin | kTcpRst);
  FlowTable6* flows = w.flows6;
  int32_t pos = flows != nullptr ? flows->Lookup(p.key, p.sig) : -1;
  if (pos >= 0) {
    const FlowRecord6& r = flows->Record(pos);
    const BackendView* b = snap.Backend(r.backend_id);
    bool expired = flows->IsExpired(pos, now_ms);
    bool reopened = flows->IsClosing(pos) && (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
    bool usable = r.service_id == service.id && KeepsFlowsOf(b, service.id);
    if (!expired && !reopened && usable) {
      c.flow_hits++;
      flows->Touch(pos, now_ms, closing_now);
      return r.backend_id;
    }
    c.flow_misses++;
    if (expired || reopened) c.flow_expirations++; else c.flow_repicks++;
    uint32_t backend_id = service.maglev[MaglevSlot(p.sig, service.table_size)];
    if (backend_id == kMaglevNoBackend) return backend_id;
    if (r.service_id != service.id) {
      w.service_counters[r.service_id].active_flows--;
      w.service_counters[service.id].active_flows++;
    }
    flows->Reassign(pos, backend_id, static_cast<uint16_t>(service.id), closing_now, now_ms);
    CountNewFlow(w, service.id, backend_id);
    return backend_id;
  }
  c.flow_misses++;
  uint32_t backend_id = service.maglev[MaglevSlot(p.sig, service.table_size)];
  if (backend_id == kMaglevNoBackend) return backend_id;
  if (flows == nullptr || !w.admission.TryAdmit()) {
    if (flows != nullptr) c.flow_admission_refused++;
  } else if (!flows->Insert(p.key, p.sig, backend_id, static_cast<uint16_t>(service.id), closing_now, now_ms, c,
                            w.service_counters)) {
    c.flow_insert_failures++;
  }
  CountNewFlow(w, service.id, backend_id);
  return backend_id;
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
  p.sig = FlowTable6::HashOf(p.key);
  p.tcp_flags = tcp_flags;
  p.quoted = quoted;
  ServiceCounters& sc = w.service_counters[service->id];
  sc.packets++;
  sc.bytes += m->pkt_len;
}

// An ICMPv6 destination-unreachable or packet-too-big to a VIP joins the burst as a
// packet of the flow it quotes, as ClassifyIcmpError in worker/loop.cc does for IPv4.
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
  // nat backends never send as the VIP, as in ClassifyIcmpError (worker/loop.cc).
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

  int32_t s = snap.index6.Find(info.dst_addr, info.dst_port, info.l4_proto);
  if (s >= 0 && snap.services[s].forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    return ForwardNat(w, snap, snap.services[s], m, port_index, info, now_ms);
  }
  if (s >= 0) {
    return QueueForLookup6(w, m, &snap.services[s], info.src_addr, info.dst_addr, info.src_port, info.dst_port,
                           info.l4_proto, info.tcp_flags, false, pending[num_pending++]);
  }
  bool l4 = info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP;
  if (l4 && IsNatPoolAddress6(w, port_index, info.dst_addr)) return ReturnNat(w, m, port_index, info, now_ms);
  if (!IsOurs6(w, port_index, snap, info.dst_addr)) return Drop(w, m, DropReason::kNoService);
  if (info.l4_proto == IPPROTO_ICMPV6) {
    if ((info.icmp_type == kIcmpv6DestUnreachable || info.icmp_type == kIcmpv6PacketTooBig) &&
        snap.index6.IsVip(info.dst_addr)) {
      return ClassifyIcmpv6Error(w, snap, m, info, pending, num_pending);
    }
    return HandleIcmpv6Echo(w, m, port_index, info);
  }
  if (l4) return Drop(w, m, DropReason::kNoService);
  Drop(w, m, DropReason::kUnsupportedL4);
}

void ForwardIpv6(WorkerContext& w, const Snapshot& snap, Pending6* pending, uint32_t n, uint16_t ingress_port,
                 uint32_t now_ms) {
  TxStage stage;
  for (uint32_t i = 0; i < n; i++) {
    Pending6& p = pending[i];
    uint32_t backend_id = p.quoted ? QuotedFlowBackend6(w, snap, p) : PickBackend6(w, snap, p, now_ms);
    if (backend_id == kMaglevNoBackend) {
      Drop(w, p.mbuf, DropReason::kNoBackend);
      continue;
    }
    const BackendView* b = snap.Backend(backend_id);
    if (b == nullptr || !b->mac_known) {
      Drop(w, p.mbuf, DropReason::kNeighborUnresolved);
      continue;
    }
    // No ICMPv6 error is ever sent about an ICMPv6 error (RFC 4443 2.4).
    uint64_t forwarded = w.counters->forwarded;
    if (p.service->forwarding == static_cast<uint8_t>(Forwarding::kTunnel)) {
      EncapsulateTunnel6(w, stage, *b, backend_id, p.mbuf, p.sig, ingress_port, now_ms, !p.quoted);
    } else if (ExceedsMtu(p.mbuf, b->egress_mtu)) {
      Drop(w, p.mbuf, DropReason::kMtuExceeded);
    } else {
      RewriteDsr(w, stage, *b, backend_id, p.mbuf);
    }
    if (p.quoted) w.counters->icmp_errors_routed += w.counters->forwarded - forwarded;
  }
  SendStaged(w, stage);
}

}  // namespace sluice
