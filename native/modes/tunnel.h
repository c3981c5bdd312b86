// The `tunnel` forwarding mode's encapsulation: an outer IPv4 header (IPv4-in-IPv4,
// protocol 4) or an outer IPv4 + UDP header (GUE variant 1) in front of the
// client's packet, which itself is not changed by a single byte. Pure byte work on
// a frame buffer plus DPDK's inline checksum helpers, so unit tests and fuzzers run
// it without the EAL; the worker does the mbuf part (prepend, trim).
//
// Choices, and why:
// - GUE variant 1 (RFC draft-ietf-intarea-gue, section 4): the inner IP header
//   follows the UDP header directly; its first nibble (4 or 6) tells the receiver
//   the inner family. No GUE header means no bytes beyond UDP's 8 and nothing to
//   keep in step with the receiver; Katran sends the same, and Linux's `fou` module
//   receives it with `ip fou add port 6080 gue` (or `ipproto 4` for IPv4 only).
// - The outer UDP checksum is 0, which RFC 768 allows over IPv4: the inner packet
//   carries its own checksums end to end, and a real outer checksum would mean
//   summing every payload byte per packet. (IPv6 outer headers will need RFC 6935's
//   zero-checksum rules or a computed checksum; that is the IPv6 step's decision.)
// - The outer IPv4 ID comes from a per-lcore counter: no two lcores share state,
//   and with DF copied from the inner packet the ID only matters for the rare
//   non-DF packet, where wrap-around within a reassembly timeout is the same risk
//   any host accepts.
// - The outer TOS byte (DSCP and ECN) is copied from the inner header, so queueing
//   on the path to the backend treats the packet as the client marked it, and ECN
//   marks survive decapsulation (RFC 6040 normal mode).
// - The L2 header, VLAN tags included, is kept as it came in and moved to the new
//   front of the frame; only the MACs are rewritten, as in dsr. The ethertype stays
//   IPv4: the outer header is IPv4 whatever the inner family will be.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

#include "common/config_types.h"
#include "packet/ones_complement.h"

namespace sluice {

constexpr uint32_t kIpipOverhead = sizeof(struct rte_ipv4_hdr);
constexpr uint32_t kGueOverhead = sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr);
constexpr uint32_t kMaxEncapOverhead = kGueOverhead;
constexpr uint8_t kOuterTtl = 64;
constexpr uint16_t kGueDefaultPort = 6080;  // Katran's
// GUE source ports come from the flow hash inside the IANA dynamic range
// (49152-65535, RFC 6335), so the backend's RSS over the UDP ports spreads flows
// and no port is one a service might listen on.
constexpr uint16_t kGueSourcePortBase = 49152;
constexpr uint16_t kGueSourcePortMask = 0x3fff;
static_assert(RTE_PKTMBUF_HEADROOM >= kMaxEncapOverhead, "mbufs need headroom for the outer headers");

// What the data path needs to encapsulate toward one backend, precomputed by the
// snapshot builder so the per-packet work is stores and one checksum.
struct TunnelTarget {
  uint32_t outer_dst;         // the backend's address, network order
  // Outer source = source_base | (flow hash & source_hash_mask), network order:
  // a fixed source has mask 0; a per-flow one takes the host bits of a prefix.
  uint32_t source_base;
  uint32_t source_hash_mask;
  uint16_t udp_dst_port;      // network order; GUE only
  uint16_t max_inner_length;  // egress MTU minus overhead: longer packets get ICMP frag-needed
  uint8_t overhead;           // kIpipOverhead or kGueOverhead
  uint8_t outer_proto;        // IPPROTO_IPIP or IPPROTO_UDP
  // The outer header's fixed 16-bit words (TTL and protocol, destination) summed
  // as they lie in memory: a packet adds only its own fields and folds, rather
  // than storing the header and reading all 20 bytes back.
  uint32_t fixed_sum;
};

// The target for one backend: `backend` is its address, `egress_address` and
// `egress_mtu` belong to the port the packets leave by (addresses network order).
TunnelTarget MakeTunnelTarget(const TunnelConfig& config, uint32_t backend, uint32_t egress_address,
                              uint16_t egress_mtu);

inline uint32_t OuterSource(const TunnelTarget& t, uint32_t flow_hash) {
  return t.source_base | (rte_cpu_to_be_32(flow_hash) & t.source_hash_mask);
}

inline uint16_t GueSourcePort(uint32_t flow_hash) {
  // The high half is folded in: the low bits of the hash also pick the flow
  // table bucket, and the port should not repeat that pattern.
  uint32_t h = flow_hash ^ (flow_hash >> 16);
  return rte_cpu_to_be_16(static_cast<uint16_t>(kGueSourcePortBase | (h & kGueSourcePortMask)));
}

// Moves the L2 header (l2_len bytes, VLAN tags included) from `overhead` bytes
// in to the new front of the frame and sets its MACs.
inline void MoveL2Header(uint8_t* frame, uint32_t l2_len, uint32_t overhead, const struct rte_ether_addr& dst_mac,
                         const struct rte_ether_addr& src_mac) {
  // The MACs are written below, so only what follows them moves: the ethertype,
  // and VLAN tags if any. Untagged, that is one fixed 2-byte copy, not a call.
  constexpr uint32_t kMacs = 2 * RTE_ETHER_ADDR_LEN;
  if (l2_len == RTE_ETHER_HDR_LEN) {
    std::memcpy(frame + kMacs, frame + overhead + kMacs, 2);
  } else {
    std::memmove(frame + kMacs, frame + overhead + kMacs, l2_len - kMacs);
  }
  auto* eth = reinterpret_cast<struct rte_ether_hdr*>(frame);
  rte_ether_addr_copy(&dst_mac, &eth->dst_addr);
  rte_ether_addr_copy(&src_mac, &eth->src_addr);
}

// The GUE variant 1 UDP header in front of an inner packet of inner_length bytes;
// the checksum is left 0.
inline void WriteGueUdp(struct rte_udp_hdr* udp, uint16_t dst_port, uint16_t inner_length, uint32_t flow_hash) {
  udp->src_port = GueSourcePort(flow_hash);
  udp->dst_port = dst_port;
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(inner_length + sizeof(struct rte_udp_hdr)));
  udp->dgram_cksum = 0;
}

// `frame` is the new start of the frame, t.overhead bytes before the old one (the
// caller made the room): moves the L2 header (l2_len bytes) to the front, writes
// the outer header(s) after it, and sets the MACs. The inner IPv4 packet of
// inner_length bytes at frame + l2_len + overhead is read (TOS, DF), never written.
inline void Encapsulate(uint8_t* frame, uint32_t l2_len, uint16_t inner_length, const TunnelTarget& t,
                        uint32_t flow_hash, uint16_t ip_id, const struct rte_ether_addr& dst_mac,
                        const struct rte_ether_addr& src_mac) {
  MoveL2Header(frame, l2_len, t.overhead, dst_mac, src_mac);

  auto* outer = reinterpret_cast<struct rte_ipv4_hdr*>(frame + l2_len);
  const auto* inner = reinterpret_cast<const struct rte_ipv4_hdr*>(frame + l2_len + t.overhead);
  outer->version_ihl = RTE_IPV4_VHL_DEF;
  outer->type_of_service = inner->type_of_service;
  outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_length + t.overhead));
  outer->packet_id = rte_cpu_to_be_16(ip_id);
  outer->fragment_offset = inner->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
  outer->time_to_live = kOuterTtl;
  outer->next_proto_id = t.outer_proto;
  const uint32_t src = OuterSource(t, flow_hash);
  outer->src_addr = src;
  outer->dst_addr = t.outer_dst;
  uint16_t version_tos;  // the first word as stored, whatever the byte order
  std::memcpy(&version_tos, outer, 2);
  uint32_t sum = t.fixed_sum + version_tos + outer->total_length + outer->packet_id + outer->fragment_offset +
                 (src & 0xffffu) + (src >> 16);
  outer->hdr_checksum = static_cast<uint16_t>(~FoldSum(sum));
  if (t.outer_proto == IPPROTO_UDP) {
    WriteGueUdp(reinterpret_cast<struct rte_udp_hdr*>(outer + 1), t.udp_dst_port, inner_length, flow_hash);
  }
}

}  // namespace sluice
