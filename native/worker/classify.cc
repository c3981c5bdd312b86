// Classification, the first stage of a burst: each received frame is decided
// here. The common IPv4 TCP or UDP packet to a service is recognised from its
// first bytes (ClassifyCommon); everything else is parsed in full (Classify),
// IPv6 going on to classify_ipv6.cc. Service and nat packets are queued in the
// burst with their table lines prefetched; the rest is finished here.
#include <rte_ip.h>
#include <rte_prefetch.h>

#include <cstring>

#include "modes/nat/nat_forward.h"
#include "packet/frame_head.h"
#include "packet/icmp_error_route.h"
#include "packet/icmp_errors.h"
#include "packet/ipv4_checksum.h"
#include "packet/local_reply.h"
#include "packet/ndp.h"
#include "packet/packet_parse.h"
#include "worker/addresses.h"
#include "worker/burst.h"
#include "worker/classify_ipv6.h"
#include "worker/fragments.h"
#include "worker/kernel_handoff.h"
#include "worker/local_replies.h"
#include "worker/nat.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

constexpr uint32_t kPrefetchOffset = 3;
static_assert(kPrefetchOffset < kRxBurst, "prefetch distance must fit in a burst");

// The NIC's verdict on the IPv4 header checksum when it gave one; checked here
// only when it did not (UNKNOWN: ring, pcap and af_packet ports), so ports with rx
// checksum offload pay nothing. `no_options`: the header is known to be 20 bytes.
inline bool Ipv4ChecksumOk(const struct rte_mbuf* m, const uint8_t* ip, bool no_options = false) {
  switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_BAD: return false;
    case RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN:
      return no_options ? Ipv4OptionlessHeaderChecksumValid(ip) : Ipv4HeaderChecksumValid(ip);
    default: return true;  // GOOD, or NONE: the header is intact, only its checksum field is not filled in
  }
}

inline void QueueForLookup(WorkerContext& w, struct rte_mbuf* m, const ServiceView* service, FlowKeyWords words,
                           uint8_t tcp_flags, bool quoted, Pending& p) {
  p.mbuf = m;
  p.service = service;
  std::memcpy(&p.key, &words, sizeof(p.key));
  p.tcp_flags = tcp_flags;
  p.quoted = quoted;
  p.hash = w.flows->HashOf(words);
  // Forward reads this bucket line after the rest of the burst is classified.
  w.flows->PrefetchPrimary(p.hash);
  ServiceCounters& sc = w.service_counters[service->id];
  sc.packets++;
  sc.bytes += m->pkt_len;
}

// A destination-unreachable message to a VIP joins the pending burst as a packet of
// the flow it quotes (packet/icmp_error_route.h). Errors quoting anything else are not
// ours to act on.
inline void ClassifyIcmpError(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint32_t vip,
                              const PacketInfo& info, Pending* pending, uint32_t& num_pending) {
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  // The checksum covers the whole message, so it is checked only in one segment.
  if (!rte_pktmbuf_is_contiguous(m)) return Drop(w, m, DropReason::kIcmpIgnored);
  if (!IcmpChecksumValid(data, len, info)) return Drop(w, m, DropReason::kBadIcmpChecksum);
  QuotedFlow q;
  if (!QuotedIpv4Flow(data, len, info, &q) || q.vip != vip) return Drop(w, m, DropReason::kIcmpIgnored);
  const ServiceView* service = snap.index.Find(q.vip, q.vip_port, q.proto);
  // nat backends never send as the VIP: an error quoting the VIP concerns the
  // balancer's own translated reply, which is not followed up yet.
  if (service == nullptr || service->forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  QueueForLookup(w, m, service, MakeFlowKey4(q.client, q.vip, q.client_port, q.vip_port, q.proto), 0, true,
                 pending[num_pending++]);
}

// nat: a client's packet queued for its session lookup, whose first line is
// fetched while the rest of the burst is classified. `words` is its client key.
inline void QueueNat(WorkerContext& w, struct rte_mbuf* m, const ServiceView& service, FlowKeyWords words,
                     const NatHeaders& headers, NatQueue& nat) {
  PendingNat& p = nat.pending[nat.n++];
  p.mbuf = m;
  p.service = &service;
  std::memcpy(&p.key, &words, sizeof(p.key));
  p.headers = headers;
  p.hash = w.nat->sessions->HashOf(p.key);
  w.nat->sessions->PrefetchPrimary(p.hash);
  ServiceCounters& sc = w.service_counters[service.id];
  sc.packets++;
  sc.bytes += m->pkt_len;
}

// nat: a backend's TCP or UDP reply (`words`: its 5-tuple), queued when it is
// addressed to a pool of the port (false: it is not). Its session (the pool
// pair's) is fetched now when this lcore owns it.
inline bool QueueNatReply(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, FlowKeyWords words,
                          const NatHeaders& headers, NatQueue& nat) {
  const NatLcore& l = *w.nat;
  uint32_t dst = static_cast<uint32_t>(words.lo >> 32);
  uint16_t dst_port = static_cast<uint16_t>(words.hi >> 16);
  int32_t address_index = l.layout->AddressIndex(port_index, dst);
  if (address_index < 0) return false;
  PendingNat& p = nat.pending[nat.n++];
  p.mbuf = m;
  p.service = nullptr;
  std::memcpy(&p.key, &words, sizeof(p.key));
  p.headers = headers;
  p.owner = l.layout->Owner(dst_port);
  p.slot = -1;
  if (p.owner == l.worker_index) {
    p.slot = l.sessions->PoolSlotAt(port_index, address_index, dst_port);
    if (p.slot >= 0) l.sessions->PrefetchSession(p.slot);
  }
  return true;
}

// The common case, decided without ParsePacket: an untagged IPv4 TCP or UDP packet
// to our MAC and to a service or a nat pool address, with a good header checksum
// and a sane source. False leaves the frame untouched for Classify's general
// path, which then decides (and counts) everything else, the same way it would have.
inline bool ClassifyCommon(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                           const FrameHead& head, Pending* pending, uint32_t& num_pending, NatQueue& nat) {
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  FastIpv4 f;
  if (len < kFastIpv4MinLen || !head.Matches(data)) return false;
  if (!ParseFastIpv4(data, len, rte_pktmbuf_pkt_len(m), &f)) return false;
  if (!Ipv4ChecksumOk(m, data + RTE_ETHER_HDR_LEN, /*no_options=*/true)) return false;
  if (IsMartianIpv4Source(reinterpret_cast<const uint8_t*>(&f.addrs))) return false;
  const ServiceView* service = snap.index.Find(f.dst_addr(), f.dst_port(), f.l4_proto);
  bool nat_service = service != nullptr && service->forwarding == static_cast<uint8_t>(Forwarding::kNat);
  if (service == nullptr || nat_service) {
    // Without a nat lcore the general path drops these and counts why.
    if (w.nat == nullptr) return false;
    constexpr uint16_t kL4Offset = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr);
    const NatHeaders headers{RTE_ETHER_HDR_LEN, kL4Offset, f.l4_proto, f.tcp_flags};
    const FlowKeyWords words = MakeFlowKey4(f.addrs, f.ports, f.l4_proto);
    if (service == nullptr && !QueueNatReply(w, m, port_index, words, headers, nat)) return false;
    m->l2_len = RTE_ETHER_HDR_LEN;
    if (nat_service) QueueNat(w, m, *service, words, headers, nat);
    return true;
  }
  m->l2_len = RTE_ETHER_HDR_LEN;
  QueueForLookup(w, m, service, MakeFlowKey4(f.addrs, f.ports, f.l4_proto),
                 f.tcp_flags, false, pending[num_pending++]);
  return true;
}

// Decides what to do with one received frame. Service packets are queued in
// `pending` for the bulk flow lookup; everything else is finished here.
inline void Classify(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                     const FrameHead& head, Pending* pending, uint32_t& num_pending, Pending6* pending6,
                     uint32_t& num_pending6, NatQueue& nat, uint32_t now_ms) {
  if (ClassifyCommon(w, snap, m, port_index, head, pending, num_pending, nat)) return;
  const PortRuntime& port = w.ports[port_index];
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  if (len < RTE_ETHER_HDR_LEN) return Drop(w, m, DropReason::kTruncated);

  PacketInfo info;
  ParseStatus status = ParsePacket(data, len, rte_pktmbuf_pkt_len(m), &info);
  const auto* eth = reinterpret_cast<const struct rte_ether_hdr*>(data);
  bool to_us = rte_is_same_ether_addr(&eth->dst_addr, &port.mac);
  // Broadcast ARP is ours to look at even when malformed, so it is counted for what is wrong with it.
  bool arp = info.ether_type == RTE_ETHER_TYPE_ARP;
  // Neighbor solicitations come to the solicited-node group; worker/classify_ipv6.cc takes only those from it.
  bool nd_group = info.ether_type == RTE_ETHER_TYPE_IPV6 && IsSolicitedNodeMac(eth->dst_addr.addr_bytes);
  if (!to_us && !nd_group && !(arp && rte_is_broadcast_ether_addr(&eth->dst_addr))) {
    return Drop(w, m, DropReason::kNotForUs);
  }
  // No station sends from a group address; answering one would reply to a group.
  if (rte_is_multicast_ether_addr(&eth->src_addr)) return Drop(w, m, DropReason::kBadSource);
  if (status == ParseStatus::kArp) return HandleArp(w, snap, m, port_index, info);
  // Fragments get the checks every packet gets first; ClassifyFragment
  // (worker/fragments.cc) then takes them, the IPv6 ones from ClassifyIpv6.
  if (status != ParseStatus::kOk && status != ParseStatus::kIpFragment) return Drop(w, m, DropFor(status));
  if (info.ip_version == 6) return ClassifyIpv6(w, snap, m, port_index, info, pending6, num_pending6, now_ms);
  if (!Ipv4ChecksumOk(m, data + info.l3_offset)) return Drop(w, m, DropReason::kBadIpChecksum);
  if (IsMartianIpv4Source(info.src_addr)) return Drop(w, m, DropReason::kBadSource);
  m->l2_len = info.l3_offset;  // for ExceedsMtu and the tunnel encapsulation at egress
  if (status == ParseStatus::kIpFragment) return ClassifyFragment(w, snap, m, port_index, info, now_ms);

  uint32_t src, dst;
  std::memcpy(&src, info.src_addr, 4);
  std::memcpy(&dst, info.dst_addr, 4);
  // Built and hashed as two registers: stored field by field and then read
  // back as 64-bit words, the key stalled on store forwarding.
  const FlowKeyWords words = MakeFlowKey4(src, dst, info.src_port, info.dst_port, info.l4_proto);
  const ServiceView* service = snap.index.Find(dst, info.dst_port, info.l4_proto);
  // nat packets join the burst's others, so that a flow's packets reach its
  // session in the order they arrived, whichever path classified them.
  if (service != nullptr && service->forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    if (w.nat == nullptr) return ForwardNat(w, snap, *service, m, port_index, info, now_ms);
    return QueueNat(w, m, *service, words, NatHeadersOf(info), nat);
  }
  if (service != nullptr) {
    QueueForLookup(w, m, service, words, info.tcp_flags, false, pending[num_pending++]);
    return;
  }
  if ((info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP) && w.nat != nullptr &&
      QueueNatReply(w, m, port_index, words, NatHeadersOf(info), nat)) {
    return;
  }
  if (dst != port.address && !snap.index.IsVip(dst)) return Drop(w, m, DropReason::kNoService);
  bool l4 = info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP;
  if (info.l4_proto == IPPROTO_ICMP) {
    if (dst != port.address) {
      if (info.icmp_type == kIcmpDestUnreachable) return ClassifyIcmpError(w, snap, m, dst, info, pending, num_pending);
      return HandleIcmp(w, m, port_index, info);
    }
    // Echo requests to the node are answered here; the rest is the kernel's.
    if (info.icmp_type == parse_detail::kIcmpEchoRequest || !port.kernel_interface) return HandleIcmp(w, m, port_index, info);
    return HandToKernel(w, m, port_index, DropReason::kIcmpIgnored);
  }
  if (dst == port.address) return HandToKernel(w, m, port_index, l4 ? DropReason::kNoService : DropReason::kUnsupportedL4);
  Drop(w, m, l4 ? DropReason::kNoService : DropReason::kUnsupportedL4);
}

}  // namespace

void ClassifyBurst(WorkerContext& w, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n, uint16_t port_index,
                   uint32_t now_ms, ClassifiedBurst& b) {
  b.port_index = port_index;
  for (uint32_t i = 0; i < n && i < kPrefetchOffset; i++) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i], void*));
  // Summed here and stored once: Classify's stores through w.counters would
  // otherwise make the compiler reload and store the counter per packet.
  // The counts likewise live in registers until the burst is classified.
  uint64_t rx_bytes = 0;
  uint32_t num_pending = 0;
  uint32_t num_pending6 = 0;
  NatQueue nat{b.nat.pending, 0};
  const FrameHead head(w.ports[port_index].mac);
  for (uint32_t i = 0; i < n; i++) {
    if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + kPrefetchOffset], void*));
    rx_bytes += mbufs[i]->pkt_len;
    Classify(w, snap, mbufs[i], port_index, head, b.pending, num_pending, b.pending6, num_pending6, nat, now_ms);
  }
  b.nat.n = nat.n;
  b.num_pending = num_pending;
  b.num_pending6 = num_pending6;
  w.counters->rx_packets += n;
  w.counters->rx_bytes += rx_bytes;
}

}  // namespace sluice
