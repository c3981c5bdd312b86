// IPv6 neighbor discovery (RFC 4861) and ICMPv6 echo for the balancer's own
// addresses: the IPv6 counterpart of packet/local_reply.h. Pure byte work on a frame
// buffer, so unit tests and fuzzers run it without the EAL.
// INTERFACE CONTRACT (frames as ParsePacket reported them: kOk, ip_version 6,
// l4_proto 58; every offset in `info` is re-checked, not trusted):
// - Icmpv6ChecksumValid(frame, len, info): the ICMPv6 checksum over the pseudo
//   header (addresses, upper-layer length, next header 58) and the message up to
//   the IPv6 payload end is right, and the message lies inside `len`.
// - ParseNdp(frame, len, info, out): true for a valid Neighbor Solicitation (135)
//   or Advertisement (136): hop limit 255, code 0, at least 24 bytes, checksum
//   valid, target not multicast; an NS from the unspecified address carries no
//   source link-layer option (RFC 4861 7.1.1). `out` gets the type, the target,
//   and the link-layer address option when there is one (source LL in an NS,
//   target LL in an NA). Malformed options (length 0, past the end) make it false.
// - MakeNeighborAdvert(frame, len, room, info, our_mac, target): rewrites an NS
//   in place into the solicited NA for `target`: Ethernet dst = the NS's source
//   MAC, src = our_mac, VLAN tags kept; IPv6 src = target, dst = the NS source
//   (all-nodes ff02::1 when that was ::, with S clear), hop limit 255, no
//   extension headers; ICMPv6 136 with Solicited and Override set and a target
//   link-layer option with our_mac. Returns the new frame length (l2 + 72), or 0
//   when `room` is too small.
// - BuildNeighborSolicit(buf, cap, our_mac, our_ip6, target): a multicast NS to
//   target's solicited-node group (33:33:ff:xx:xx:xx, ff02::1:ffxx:xxxx) from
//   our_ip6 with a source link-layer option; returns 86, or 0 if cap < 86.
// - MakeIcmpv6EchoReply(frame, len, info, our_mac): an echo request (128) becomes
//   the reply (129) in place: MACs swapped (src = our_mac), addresses swapped, hop
//   limit 64, checksum updated incrementally. Returns false (frame untouched) for
//   anything else.
// - IsSolicitedNodeMac(mac): 33:33:ff:xx:xx:xx.
#pragma once

#include <cstdint>

#include "packet/packet_parse.h"

namespace sluice {

constexpr uint8_t kIcmpv6NeighborSolicit = 135;
constexpr uint8_t kIcmpv6NeighborAdvert = 136;
constexpr uint8_t kNdpHopLimit = 255;
constexpr uint32_t kNeighborSolicitFrameLen = 86;  // Ethernet + IPv6 + NS + SLLA option

struct NdpMessage {
  uint8_t type;            // kIcmpv6NeighborSolicit or kIcmpv6NeighborAdvert
  bool has_link_addr;
  uint8_t target[16];
  uint8_t link_addr[6];    // source LL (NS) or target LL (NA)
};

bool Icmpv6ChecksumValid(const uint8_t* frame, uint32_t len, const PacketInfo& info);
bool ParseNdp(const uint8_t* frame, uint32_t len, const PacketInfo& info, NdpMessage* out);
uint32_t MakeNeighborAdvert(uint8_t* frame, uint32_t len, uint32_t room, const PacketInfo& info,
                            const uint8_t our_mac[6], const uint8_t target[16]);
uint32_t BuildNeighborSolicit(uint8_t* buf, uint32_t cap, const uint8_t our_mac[6],
                              const uint8_t our_ip6[16], const uint8_t target[16]);
bool MakeIcmpv6EchoReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                         const uint8_t our_mac[6]);

inline bool IsSolicitedNodeMac(const uint8_t mac[6]) {
  return mac[0] == 0x33 && mac[1] == 0x33 && mac[2] == 0xff;
}

// The ones' complement sum of the IPv6 pseudo header (RFC 8200 8.1), not folded.
uint32_t Ipv6PseudoHeaderSum(const uint8_t src[16], const uint8_t dst[16], uint32_t upper_len,
                             uint8_t next_header);
// Folds a 32-bit ones' complement sum and adds it to the sum of `n` bytes at `p`.
uint16_t OnesComplementSum(const uint8_t* p, uint32_t n, uint32_t initial);

}  // namespace sluice
