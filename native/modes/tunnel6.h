// The `tunnel` forwarding mode for IPv6 services: the client's IPv6 packet,
// unchanged, inside an outer IPv6 header (IPv6-in-IPv6, next header 41, RFC 2473)
// or an outer IPv6 + UDP header (GUE variant 1, as modes/tunnel.h does for IPv4).
//
// Choices, and why (see modes/tunnel.h for those shared with IPv4):
// - The outer UDP checksum is computed: RFC 8200 8.1 makes it mandatory over
//   IPv6, and RFC 6935's zero-checksum exception needs the receiver configured
//   for it. It covers the inner packet, so the worker sums the mbuf after the
//   headers are written (rte_ipv6_udptcp_cksum_mbuf), segments included.
// - The outer flow label comes from the flow hash (RFC 6438), so ECMP paths and
//   the backend's RSS see one value per flow; the traffic class is copied from
//   the inner header (DSCP and ECN, RFC 6040 normal mode).
// - Per-flow outer sources take up to 32 host bits of an IPv6 prefix, the flow
//   hash being 32 bits wide.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

#include "common/config_types.h"
#include "modes/tunnel.h"

namespace sluice {

constexpr uint32_t kIp6ip6Overhead = sizeof(struct rte_ipv6_hdr);
constexpr uint32_t kGue6Overhead = sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_udp_hdr);
constexpr uint8_t kIpprotoIpv6 = 41;
static_assert(RTE_PKTMBUF_HEADROOM >= kGue6Overhead, "mbufs need headroom for the outer headers");

struct TunnelTarget6 {
  uint8_t outer_dst[16];      // the backend's address
  // Outer source = source_base with its last four bytes ORed with
  // (flow hash & source_hash_mask), network order; a fixed source has mask 0.
  uint8_t source_base[16];
  uint32_t source_hash_mask;
  uint16_t udp_dst_port;      // network order; GUE only
  uint16_t max_inner_length;  // egress MTU minus overhead: longer packets get packet-too-big
  uint8_t overhead;           // kIp6ip6Overhead or kGue6Overhead
  uint8_t outer_proto;        // kIpprotoIpv6 or IPPROTO_UDP
};

// `backend` and `egress_address` are 16-byte IPv6 addresses; `egress_mtu` is the
// egress port's.
TunnelTarget6 MakeTunnelTarget6(const TunnelConfig& config, const uint8_t backend[16],
                                const uint8_t egress_address[16], uint16_t egress_mtu);

// As Encapsulate (modes/tunnel.h) for an IPv6 inner packet of inner_length bytes. The
// UDP checksum of a GUE packet is left 0 for the caller to fill in.
inline void Encapsulate6(uint8_t* frame, uint32_t l2_len, uint16_t inner_length, const TunnelTarget6& t,
                         uint32_t flow_hash, const struct rte_ether_addr& dst_mac,
                         const struct rte_ether_addr& src_mac) {
  MoveL2Header(frame, l2_len, t.overhead, dst_mac, src_mac);

  auto* outer = reinterpret_cast<struct rte_ipv6_hdr*>(frame + l2_len);
  const auto* inner = reinterpret_cast<const struct rte_ipv6_hdr*>(frame + l2_len + t.overhead);
  const uint32_t traffic_class = rte_be_to_cpu_32(inner->vtc_flow) & RTE_IPV6_HDR_TC_MASK;
  const uint32_t flow_label = (flow_hash ^ (flow_hash >> 20)) & RTE_IPV6_HDR_FL_MASK;
  outer->vtc_flow = rte_cpu_to_be_32((6u << 28) | traffic_class | flow_label);
  outer->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(inner_length + t.overhead - kIp6ip6Overhead));
  outer->proto = t.outer_proto;
  outer->hop_limits = kOuterTtl;
  std::memcpy(outer->src_addr, t.source_base, 12);
  uint32_t low;
  std::memcpy(&low, t.source_base + 12, 4);
  low |= rte_cpu_to_be_32(flow_hash) & t.source_hash_mask;
  std::memcpy(outer->src_addr + 12, &low, 4);
  std::memcpy(outer->dst_addr, t.outer_dst, 16);
  if (t.outer_proto == IPPROTO_UDP) {
    WriteGueUdp(reinterpret_cast<struct rte_udp_hdr*>(outer + 1), t.udp_dst_port, inner_length, flow_hash);
  }
}

}  // namespace sluice
