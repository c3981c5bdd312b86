#include "worker/local_replies.h"

#include <rte_ring.h>

#include <cstring>

#include "packet/icmp_errors.h"
#include "packet/local_reply.h"
#include "packet/ndp.h"
#include "worker/addresses.h"
#include "worker/kernel_handoff.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// Tells the control thread (its neighbor resolver) what was seen.
inline void Learn(WorkerContext& w, NeighborLearn& learn) {
  if (rte_ring_sp_enqueue_elem(w.learn_ring, &learn, sizeof(learn)) != 0) w.counters->learn_queue_full++;
}

inline bool IsLinkLocal(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

// Whether a neighbor at `address` could be one of our next hops on this port:
// inside its prefix, or link-local (routers usually answer from fe80::/10).
inline bool OnLink6(const PortRuntime& port, const uint8_t* address) {
  return IsLinkLocal(address) || InPrefix6(address, port.address6, port.prefix6);
}

void Learn6(WorkerContext& w, uint16_t port_index, const uint8_t* address, const uint8_t* mac) {
  NeighborLearn learn{};
  learn.family = 6;
  std::memcpy(learn.address6, address, 16);
  std::memcpy(learn.mac, mac, 6);
  learn.port_index = port_index;
  Learn(w, learn);
}

}  // namespace

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
    Learn(w, learn);
  }
  if (for_us) {
    MakeArpReply(data, len, info, port.mac.addr_bytes);
    w.counters->local_replies++;
    Send(w, port_index, m);
  } else if (!request && learn.address != 0) {
    // The kernel interface resolves its own neighbors: a reply to the port's
    // MAC may answer its request. Refused, it is still learned here.
    DropReason refused;
    const auto* eth = reinterpret_cast<const struct rte_ether_hdr*>(data);
    if (rte_is_same_ether_addr(&eth->dst_addr, &port.mac) && TryHandToKernel(w, m, port_index, &refused)) return;
    w.counters->arp_learned++;
    rte_pktmbuf_free(m);
  } else {
    Drop(w, m, DropReason::kArpIgnored);
  }
}

void HandleIcmp(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info) {
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
    DropReason refused;  // as for ARP replies: learned here all the same
    if (TryHandToKernel(w, m, port_index, &refused)) return;
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

}  // namespace sluice
