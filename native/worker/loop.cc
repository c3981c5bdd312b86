#include "worker/context.h"

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include <cstring>

#include "packet/egress_check.h"
#include "modes/tunnel.h"
#include "packet/frame_head.h"
#include "packet/icmp_error_route.h"
#include "packet/icmp_errors.h"
#include "packet/ipv4_checksum.h"
#include "packet/local_reply.h"
#include "modes/nat/nat_forward.h"
#include "modes/nat/nat_verdicts.h"
#include "packet/ndp.h"
#include "packet/packet_parse.h"
#include "worker/ipv6.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

constexpr uint32_t kPrefetchOffset = 3;
// Slots swept per loop iteration. Busy, one bucket: at 400k iterations a second
// a 1M-flow table is still swept several times a second, far more often than
// any timeout, and sweeping 8 buckets per burst measured 5% of the worker.
constexpr uint32_t kSweepBudgetBusy = 8;
constexpr uint32_t kSweepBudgetIdle = 1024;
constexpr uint32_t kIdleSpinIterations = 512;  // empty polls before the first sleep
static_assert(kPrefetchOffset < kRxBurst, "prefetch distance must fit in a burst");

// A service packet waiting for the bulk flow-table lookup.
struct Pending {
  struct rte_mbuf* mbuf;
  const ServiceView* service;
  FlowKey4 key;
  FlowHash hash;
  FlowTable::PrimaryProbe probe;  // filled in by Forward's first pass
  uint8_t tcp_flags;
  // An ICMP error quoting one of the flow's packets: sent where the flow goes,
  // but it neither creates, refreshes nor re-picks the flow's entry.
  bool quoted;
};

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

inline bool IsNatPoolAddress(const WorkerContext& w, uint16_t port_index, uint32_t address) {
  return w.nat != nullptr && w.nat->layout->AddressIndex(port_index, address) >= 0;
}

void HandleArp(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
               const PacketInfo& info) {
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  const PortRuntime& port = w.ports[port_index];
  uint32_t target = 0;
  bool request = ArpRequestTarget(data, len, info, &target);
  bool for_us = request && (target == port.address || snap.index.IsVip(target) || IsNatPoolAddress(w, port_index, target));
  NeighborLearn learn{};
  if ((for_us || !request) && ArpSender(data, len, info, &learn.address, learn.mac) &&
      (learn.address & port.netmask) == (port.address & port.netmask)) {
    learn.port_index = port_index;
    if (rte_ring_sp_enqueue_elem(w.learn_ring, &learn, sizeof(learn)) != 0) w.counters->learn_queue_full++;
  }
  if (for_us) {
    MakeArpReply(data, len, info, port.mac.addr_bytes);
    w.counters->local_replies++;
    Send(w, port_index, m);
  } else if (!request && learn.address != 0) {
    w.counters->arp_learned++;
    rte_pktmbuf_free(m);
  } else {
    Drop(w, m, DropReason::kArpIgnored);
  }
}

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

// ICMP addressed to the balancer itself: echo requests are answered in place.
inline void HandleIcmp(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info) {
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  // A segmented echo request would need its payload gathered to be answered.
  if (info.icmp_type != parse_detail::kIcmpEchoRequest || !rte_pktmbuf_is_contiguous(m)) return Drop(w, m, DropReason::kIcmpIgnored);
  // Answering a corrupt request would send a reply with a corrupt checksum.
  if (!IcmpChecksumValid(data, len, info)) return Drop(w, m, DropReason::kBadIcmpChecksum);
  if (!MakeIcmpEchoReply(data, len, info, w.ports[port_index].mac.addr_bytes)) {
    return Drop(w, m, DropReason::kIcmpIgnored);
  }
  w.counters->local_replies++;
  Send(w, port_index, m);
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
  // Neighbor solicitations come to the solicited-node group; worker/ipv6.cc takes only those from it.
  bool nd_group = info.ether_type == RTE_ETHER_TYPE_IPV6 && IsSolicitedNodeMac(eth->dst_addr.addr_bytes);
  if (!to_us && !nd_group && !(arp && rte_is_broadcast_ether_addr(&eth->dst_addr))) {
    return Drop(w, m, DropReason::kNotForUs);
  }
  // No station sends from a group address; answering one would reply to a group.
  if (rte_is_multicast_ether_addr(&eth->src_addr)) return Drop(w, m, DropReason::kBadSource);
  if (status == ParseStatus::kArp) return HandleArp(w, snap, m, port_index, info);
  if (status != ParseStatus::kOk) return Drop(w, m, DropFor(status));
  if (info.ip_version == 6) return ClassifyIpv6(w, snap, m, port_index, info, pending6, num_pending6, now_ms);
  if (!Ipv4ChecksumOk(m, data + info.l3_offset)) return Drop(w, m, DropReason::kBadIpChecksum);
  if (IsMartianIpv4Source(info.src_addr)) return Drop(w, m, DropReason::kBadSource);
  m->l2_len = info.l3_offset;  // for ExceedsMtu and the tunnel encapsulation at egress

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
  if (info.l4_proto == IPPROTO_ICMP) {
    if (info.icmp_type == kIcmpDestUnreachable && dst != port.address) {
      return ClassifyIcmpError(w, snap, m, dst, info, pending, num_pending);
    }
    return HandleIcmp(w, m, port_index, info);
  }
  if (info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP) return Drop(w, m, DropReason::kNoService);
  Drop(w, m, DropReason::kUnsupportedL4);
}

// A packet too long to tunnel goes back to the client as ICMP fragmentation-needed,
// out of the port it came in by, as long as the lcore's rate limit allows.
inline void RefuseTooBig(WorkerContext& w, TxStage& stage, const BackendView& b, struct rte_mbuf* m,
                         uint32_t l2_len, uint16_t ingress_port, uint32_t now_ms) {
  w.counters->drops[static_cast<uint32_t>(DropReason::kMtuExceeded)]++;
  uint32_t len = rte_pktmbuf_data_len(m);
  uint32_t reply_len = 0;
  if (w.icmp_limiter.Allow(now_ms)) {
    reply_len = MakeIcmpFragNeeded(rte_pktmbuf_mtod(m, uint8_t*), len, len + rte_pktmbuf_tailroom(m), l2_len,
                                   w.ports[ingress_port].mac.addr_bytes, b.tunnel.max_inner_length);
  }
  if (reply_len == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  if (reply_len < len) {
    rte_pktmbuf_trim(m, static_cast<uint16_t>(len - reply_len));
  } else {
    rte_pktmbuf_append(m, static_cast<uint16_t>(reply_len - len));
  }
  w.counters->icmp_frag_needed_sent++;
  Stage(stage, ingress_port, m);
}

// tunnel: the client's packet, unchanged, inside an outer IPv4 (and for GUE, UDP)
// header to the backend, sent to the next hop; Ethernet padding is cut off first.
inline void EncapsulateTunnel(WorkerContext& w, TxStage& stage, const BackendView& b, uint32_t backend_id,
                              struct rte_mbuf* m, uint32_t flow_hash, uint16_t ingress_port, uint32_t now_ms,
                              bool answer_too_big) {
  const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t l2_len = m->l2_len;
  uint16_t inner_length = rte_be_to_cpu_16(
      reinterpret_cast<const struct rte_ipv4_hdr*>(frame + l2_len)->total_length);
  if (inner_length > b.tunnel.max_inner_length) {
    if (!answer_too_big) return Drop(w, m, DropReason::kMtuExceeded);
    return RefuseTooBig(w, stage, b, m, l2_len, ingress_port, now_ms);
  }
  if (rte_pktmbuf_pkt_len(m) > l2_len + inner_length) TrimTo(m, l2_len + inner_length);
  auto* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, b.tunnel.overhead));
  if (start == nullptr) return Drop(w, m, DropReason::kNoHeadroom);
  Encapsulate(start, l2_len, inner_length, b.tunnel, flow_hash, w.ip_id++, b.mac, b.egress_mac);
  StageToBackend(w, stage, b, backend_id, m);
}

// Stores a new flow in the table if admission allows; forwarding does not depend
// on it (see tables/admission.h).
inline void Remember(WorkerContext& w, const Pending& p, uint32_t backend_id, bool closing, uint32_t now_ms) {
  LcoreCounters& c = *w.counters;
  FlowTable& flows = *w.flows;
  FlowSlot slot = flows.Choose(p.hash, now_ms, c.flow_active);
  if (!w.admission.TryAdmit()) {
    c.flow_admission_refused++;
    if (slot.displaces == FlowSlot::kLive) c.flow_admission_protected++;
    return;
  }
  if (slot.position < 0) {
    c.flow_insert_failures++;
    return;
  }
  flows.Occupy(slot, p.key, backend_id, static_cast<uint16_t>(p.service->id), closing, now_ms, c,
               w.service_counters);
}

inline uint32_t MaglevPick(const ServiceView& service, const FlowHash& hash) {
  return service.maglev[MaglevSlot(hash.sig, service.table_size)];
}

// A flow's backend: its global id, and its view in the snapshot (nullptr when
// there is none), looked up once.
struct BackendPick {
  uint32_t id;
  const BackendView* view;
};

inline BackendPick Picked(const Snapshot& snap, uint32_t backend_id) {
  return {backend_id, backend_id == kMaglevNoBackend ? nullptr : snap.Backend(backend_id)};
}

// The flow's remembered backend while it is live and still usable, else a fresh
// Maglev pick, remembered. id kMaglevNoBackend when the service has none.
inline BackendPick BackendOfFlow(WorkerContext& w, const Snapshot& snap, const Pending& p, uint32_t now_ms) {
  FlowTable& flows = *w.flows;
  LcoreCounters& c = *w.counters;
  const ServiceView& service = *p.service;
  bool closing_now = p.tcp_flags & (kTcpFin | kTcpRst);
  // Looked up one at a time, after the previous packet's insert: two packets
  // of one new flow in the same burst then share one entry.
  int32_t pos = flows.Lookup(p.key, p.hash, p.probe);
  if (pos < 0) {
    c.flow_misses++;
    uint32_t backend_id = MaglevPick(service, p.hash);
    if (backend_id == kMaglevNoBackend) return {backend_id, nullptr};
    Remember(w, p, backend_id, closing_now, now_ms);
    CountNewFlow(w, service.id, backend_id);
    return Picked(snap, backend_id);
  }
  uint32_t remembered = flows.BackendId(pos);
  uint16_t service_id = flows.ServiceId(pos);
  const BackendView* b = snap.Backend(remembered);
  bool expired = flows.IsExpired(pos, now_ms);
  bool reopened = flows.IsClosing(pos) && (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
  bool usable = service_id == service.id && KeepsFlowsOf(b, service.id);
  if (!expired && !reopened && usable) {
    c.flow_hits++;
    flows.Touch(pos, now_ms, closing_now);
    return {remembered, b};
  }
  c.flow_misses++;
  if (expired || reopened) c.flow_expirations++; else c.flow_repicks++;
  uint32_t backend_id = MaglevPick(service, p.hash);
  if (backend_id == kMaglevNoBackend) return {backend_id, nullptr};
  if (service_id != service.id) {
    w.service_counters[service_id].active_flows--;
    w.service_counters[service.id].active_flows++;
  }
  flows.Reassign(pos, backend_id, static_cast<uint16_t>(service.id), closing_now, now_ms);
  CountNewFlow(w, service.id, backend_id);
  return Picked(snap, backend_id);
}

// Where the quoted flow's packets go now, without touching its entry: an error
// must not keep a flow alive, and a flow it names may not exist on this lcore.
inline BackendPick BackendOfQuotedFlow(WorkerContext& w, const Snapshot& snap, const Pending& p) {
  FlowTable& flows = *w.flows;
  const ServiceView& service = *p.service;
  int32_t pos = flows.Lookup(p.key, p.hash, p.probe);
  if (pos >= 0) {
    uint32_t remembered = flows.BackendId(pos);
    const BackendView* b = snap.Backend(remembered);
    if (flows.ServiceId(pos) == service.id && KeepsFlowsOf(b, service.id)) {
      return {remembered, b};
    }
  }
  return Picked(snap, MaglevPick(service, p.hash));
}

// Inlined: as a call it spilled and reloaded a dozen registers per packet.
__rte_always_inline void SendInMode(WorkerContext& w, const ServiceView& service, const BackendView& b,
                                    uint32_t backend_id, const Pending& p, uint16_t ingress_port, uint32_t now_ms,
                                    bool answer_too_big, TxStage& stage) {
  if (service.forwarding == static_cast<uint8_t>(Forwarding::kTunnel)) {
    EncapsulateTunnel(w, stage, b, backend_id, p.mbuf, p.hash.sig, ingress_port, now_ms, answer_too_big);
  } else if (ExceedsMtu(p.mbuf, b.egress_mtu)) {
    Drop(w, p.mbuf, DropReason::kMtuExceeded);
  } else {
    RewriteDsr(w, stage, b, backend_id, p.mbuf);
  }
}

// Flow lookup -> backend (remembered, or picked by Maglev) -> per-mode rewrite -> tx buffer.
void Forward(WorkerContext& w, const Snapshot& snap, Pending* pending, uint32_t n, uint16_t ingress_port,
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
    const ServiceView& service = *p.service;
    BackendPick pick = p.quoted ? BackendOfQuotedFlow(w, snap, p) : BackendOfFlow(w, snap, p, now_ms);
    uint32_t backend_id = pick.id;
    if (backend_id == kMaglevNoBackend) {
      Drop(w, p.mbuf, DropReason::kNoBackend);
      continue;
    }
    const BackendView* b = pick.view;
    if (b == nullptr || !b->mac_known) {
      Drop(w, p.mbuf, DropReason::kNeighborUnresolved);
      continue;
    }
    uint64_t forwarded = c.forwarded;
    // No ICMP error is ever sent about an ICMP error (RFC 1122 3.2.2).
    SendInMode(w, service, *b, backend_id, p, ingress_port, now_ms, !p.quoted, stage);
    if (p.quoted) c.icmp_errors_routed += c.forwarded - forwarded;
  }
  SendStaged(w, stage);
}

}  // namespace

namespace {

// nat: what becomes of a client's packet once its session is decided.
inline void SendNatToBackend(WorkerContext& w, TxStage& stage, const ServiceView& service, struct rte_mbuf* m,
                             const NatVerdict& v) {
  if (v.action == NatAction::kDrop) return Drop(w, m, v.reason);
  if (v.new_session) CountNewFlow(w, service.id, v.backend_id);
  const BackendView& b = *v.backend;
  if (ExceedsMtu(m, b.egress_mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  StageToBackend(w, stage, b, v.backend_id, m);
}

// nat: what becomes of a backend's reply once its session, or its owner, is known.
inline void SendNatToClient(WorkerContext& w, TxStage& stage, struct rte_mbuf* m, uint16_t port_index,
                            const NatVerdict& v) {
  if (v.action == NatAction::kDrop) return Drop(w, m, v.reason);
  if (v.action == NatAction::kHandOff) {
    m->port = port_index;
    if (rte_ring_mp_enqueue(w.nat->inboxes[v.owner], m) != 0) return Drop(w, m, DropReason::kNatHandoffFull);
    w.counters->nat_handoff_sent++;
    return;
  }
  if (ExceedsMtu(m, w.ports[v.port_index].mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  w.counters->forwarded++;
  Stage(stage, v.port_index, m);
}

}  // namespace

// nat: the client's packet to the backend, through its session (modes/nat/nat_forward.h).
void ForwardNat(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                uint16_t port_index, const PacketInfo& info, uint32_t now_ms) {
  w.service_counters[service.id].packets++;
  w.service_counters[service.id].bytes += m->pkt_len;
  if (w.nat == nullptr) return Drop(w, m, DropReason::kNatPoolExhausted);
  uint32_t sig;
  if (info.ip_version == 6) {
    sig = FlowTable6::HashOf(NatClientKey6(info));  // as an IPv6 dsr or tunnel flow hashes
  } else {
    uint32_t src;
    std::memcpy(&src, info.src_addr, 4);
    sig = w.flows->HashOf(MakeFlowKey4(src, service.vip, info.src_port, info.dst_port, info.l4_proto)).sig;
  }
  NatVerdict v = NatFromClient(*w.nat, snap, service, rte_pktmbuf_mtod(m, uint8_t*), info, port_index, sig,
                               w.ports, now_ms, *w.counters);
  TxStage stage;
  SendNatToBackend(w, stage, service, m, v);
  SendStaged(w, stage);
}

// nat: a reply to a pool address, translated here or handed to the lcore that owns its pool port.
void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms) {
  NatVerdict v = NatFromBackend(*w.nat, rte_pktmbuf_mtod(m, uint8_t*), info, port_index, w.ports, now_ms);
  TxStage stage;
  SendNatToClient(w, stage, m, port_index, v);
  SendStaged(w, stage);
}

namespace {

// nat: a burst's clients' packets through their sessions and replies back to
// their clients, in arrival order. The client lookups are staged as Forward's
// are (modes/nat/nat_sessions.h): primary buckets were prefetched in Classify, the next
// two passes fetch what each lookup will read; the lookups themselves run one
// at a time, so two packets of one new flow in a burst share one session.
void ForwardNatBurst(WorkerContext& w, const Snapshot& snap, NatBurst& nat, uint16_t ingress_port,
                     uint32_t now_ms) {
  const NatSessions& sessions = *w.nat->sessions;
  uint32_t second[kRxBurst];
  uint32_t num_second = 0;
  for (uint32_t i = 0; i < nat.n; i++) {
    const PendingNat& p = nat.pending[i];
    if (p.service != nullptr && sessions.PrefetchAfterPrimary(p.hash)) second[num_second++] = i;
  }
  for (uint32_t j = 0; j < num_second; j++) sessions.PrefetchAfterSecondary(nat.pending[second[j]].hash);
  TxStage stage;
  for (uint32_t i = 0; i < nat.n; i++) {
    PendingNat& p = nat.pending[i];
    if (p.service == nullptr) {
      NatVerdict v{};
      if (p.owner != w.nat->worker_index) {
        v.action = NatAction::kHandOff;
        v.owner = p.owner;
      } else {
        v = NatFromBackend4(*w.nat, p.slot, rte_pktmbuf_mtod(p.mbuf, uint8_t*), p.headers, p.key, w.ports, now_ms);
      }
      SendNatToClient(w, stage, p.mbuf, ingress_port, v);
      continue;
    }
    NatVerdict v = NatFromClient4(*w.nat, snap, *p.service, rte_pktmbuf_mtod(p.mbuf, uint8_t*), p.headers, p.key,
                                  p.hash, ingress_port, *w.flows, w.ports, now_ms, *w.counters);
    SendNatToBackend(w, stage, *p.service, p.mbuf, v);
  }
  SendStaged(w, stage);
}

// Replies other lcores received for this lcore's pool ports, and expired sessions.
void NatHousekeeping(WorkerContext& w, uint32_t now_ms, uint32_t sweep_budget) {
  struct rte_mbuf* mbufs[kRxBurst];
  unsigned n = rte_ring_sc_dequeue_burst(w.nat->inboxes[w.nat->worker_index], reinterpret_cast<void**>(mbufs),
                                         kRxBurst, nullptr);
  w.counters->nat_handoff_received += n;
  for (unsigned i = 0; i < n; i++) {
    struct rte_mbuf* m = mbufs[i];
    PacketInfo info;
    // Parsed and checked on the lcore that received it; parsed again for the offsets.
    ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &info);
    ReturnNat(w, m, m->port, info, now_ms);
  }
  w.nat->sessions->Sweep(now_ms, sweep_budget, *w.counters);
  w.nat->sessions6->Sweep(now_ms, sweep_budget, *w.counters);
}

void SendControlPackets(WorkerContext& w) {
  struct rte_mbuf* mbufs[kRxBurst];
  unsigned n = rte_ring_sc_dequeue_burst(w.send_ring, reinterpret_cast<void**>(mbufs), kRxBurst, nullptr);
  for (unsigned i = 0; i < n; i++) {
    uint16_t port_index = mbufs[i]->port;
    if (port_index < w.num_ports) {
      Send(w, port_index, mbufs[i]);
    } else {
      rte_pktmbuf_free(mbufs[i]);
    }
  }
}

// A received burst between its classification, which finished what it could
// and prefetched what the lookups will read, and its forwarding.
struct ClassifiedBurst {
  Pending pending[kRxBurst];
  uint32_t num_pending;
  Pending6 pending6[kRxBurst];
  uint32_t num_pending6;
  NatBurst nat;
  uint16_t port_index;
};

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

void ForwardBurst(WorkerContext& w, const Snapshot& snap, ClassifiedBurst& b, uint32_t now_ms) {
  if (b.num_pending > 0) Forward(w, snap, b.pending, b.num_pending, b.port_index, now_ms);
  if (b.num_pending6 > 0) ForwardIpv6(w, snap, b.pending6, b.num_pending6, b.port_index, now_ms);
  if (b.nat.n > 0) ForwardNatBurst(w, snap, b.nat, b.port_index, now_ms);
}

}  // namespace

void ProcessBurst(WorkerContext& w, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n,
                  uint16_t port_index, uint32_t now_ms) {
  ClassifiedBurst b;
  ClassifyBurst(w, snap, mbufs, n, port_index, now_ms, b);
  ForwardBurst(w, snap, b, now_ms);
}

void CountUnsentPackets(struct rte_mbuf** unsent, uint16_t count, void* arg) {
  auto* counters = static_cast<LcoreCounters*>(arg);
  for (uint16_t i = 0; i < count; i++) {
    counters->drops[static_cast<uint32_t>(DropReason::kTxFull)]++;
    counters->tx_unsent_bytes += unsent[i]->pkt_len;
    rte_pktmbuf_free(unsent[i]);
  }
}

int WorkerMain(void* arg) {
  WorkerContext& w = *static_cast<WorkerContext*>(arg);
  LcoreCounters& c = *w.counters;
  rte_rcu_qsbr_thread_register(w.rcu, w.rcu_thread_id);
  rte_rcu_qsbr_thread_online(w.rcu, w.rcu_thread_id);
  uint32_t idle_iterations = 0;
  struct rte_mbuf* mbufs[kRxBurst];
  ClassifiedBurst bursts[2];

  while (!w.stop->load(std::memory_order_relaxed)) {
    uint64_t start = rte_rdtsc();
    uint32_t now_ms = static_cast<uint32_t>((start - w.tsc_base) / w.tsc_per_ms);
    const Snapshot& snap = *w.snapshot->load(std::memory_order_acquire);
    w.admission.Refill(start);
    uint32_t received = 0;
    // Every queue is polled twice an iteration, and a burst is forwarded only
    // after the next one is classified: its flow-table buckets then have a
    // whole burst's work to arrive in, not just the rest of its own
    // classification, and the flush, sweep and quiescent state below are paid
    // once per two bursts. Both stay within the iteration, so no snapshot
    // pointer outlives the quiescent point below. The clock is read after each
    // receive call that returned packets and after the work that followed it,
    // per burst, never per packet, to tell the PMD's share of the lcore from
    // Sluice's own.
    uint64_t mark = start;
    ClassifiedBurst* waiting = nullptr;
    for (uint32_t poll = 0; poll < 2u * w.num_rx; poll++) {
      const RxQueueRuntime& rxq = w.rx[poll < w.num_rx ? poll : poll - w.num_rx];
      uint16_t n = rte_eth_rx_burst(rxq.port_id, rxq.queue, mbufs, kRxBurst);
      if (n == 0) continue;
      uint64_t received_at = rte_rdtsc();
      c.receive_cycles += received_at - mark;
      received += n;
      ClassifiedBurst& next = waiting == &bursts[0] ? bursts[1] : bursts[0];
      ClassifyBurst(w, snap, mbufs, n, rxq.port_index, now_ms, next);
      if (waiting != nullptr) ForwardBurst(w, snap, *waiting, now_ms);
      waiting = &next;
      mark = rte_rdtsc();
      c.process_cycles += mark - received_at;
    }
    if (waiting != nullptr) {
      ForwardBurst(w, snap, *waiting, now_ms);
      c.process_cycles += rte_rdtsc() - mark;
    }
    // Before the flush, so a reply handed over by another lcore leaves in this iteration.
    if (w.nat != nullptr) NatHousekeeping(w, now_ms, received ? kSweepBudgetBusy : kSweepBudgetIdle);
    SendControlPackets(w);
    for (uint16_t p = 0; p < w.num_ports; p++) {
      rte_eth_tx_buffer_flush(w.ports[p].port_id, w.tx_queue, w.tx[p]);
    }
    w.flows->Sweep(now_ms, received ? kSweepBudgetBusy : kSweepBudgetIdle, c, w.service_counters);
    if (w.flows6 != nullptr) w.flows6->Sweep(now_ms, received ? kSweepBudgetBusy : kSweepBudgetIdle, c, w.service_counters);
    // Nothing read from `snap` is used past this point.
    rte_rcu_qsbr_quiescent(w.rcu, w.rcu_thread_id);
    c.iterations++;

    if (received > 0) {
      idle_iterations = 0;
      c.busy_cycles += rte_rdtsc() - start;
      continue;
    }
    if (w.idle_sleep_max_us > 0 && ++idle_iterations > kIdleSpinIterations) {
      uint32_t shift = idle_iterations - kIdleSpinIterations;
      uint32_t sleep_us = shift >= 20 ? w.idle_sleep_max_us : RTE_MIN(w.idle_sleep_max_us, 1u << shift);
      rte_delay_us_sleep(sleep_us);
    }
    c.idle_cycles += rte_rdtsc() - start;
  }

  for (uint16_t p = 0; p < w.num_ports; p++) {
    rte_eth_tx_buffer_flush(w.ports[p].port_id, w.tx_queue, w.tx[p]);
  }
  rte_rcu_qsbr_thread_offline(w.rcu, w.rcu_thread_id);
  rte_rcu_qsbr_thread_unregister(w.rcu, w.rcu_thread_id);
  return 0;
}

}  // namespace sluice
