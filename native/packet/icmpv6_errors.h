// ICMPv6 packet-too-big (RFC 4443 3.2) back to a client whose packet would not
// fit the egress MTU once encapsulated: the IPv6 counterpart of
// MakeIcmpFragNeeded (packet/icmp_errors.h), built in place in the client's buffer and
// rate-limited by the same per-lcore IcmpRateLimiter.
// INTERFACE CONTRACT:
// - MakeIcmpv6PacketTooBig(frame, len, room, l2_len, our_mac, mtu): the IPv6
//   packet at frame + l2_len becomes packet-too-big (type 2, code 0) to its
//   source. Ethernet dst = the original source MAC, src = our_mac, VLAN tags kept.
//   IPv6: traffic class and flow label 0, next header 58, hop limit 64, source =
//   the original destination (the VIP), destination = the original source. ICMPv6:
//   the MTU in bytes 4-7, then as much of the original packet as keeps the reply
//   within the IPv6 minimum MTU of 1280 bytes, checksum valid. Returns the new
//   frame length, or 0 (frame untouched) when the packet is not an IPv6 header
//   with its payload inside the frame, or the reply does not fit `room`.
#pragma once

#include <cstdint>

namespace sluice {

constexpr uint32_t kIpv6MinMtu = 1280;
constexpr uint8_t kIcmpv6TypePacketTooBig = 2;

uint32_t MakeIcmpv6PacketTooBig(uint8_t* frame, uint32_t len, uint32_t room, uint32_t l2_len,
                                const uint8_t our_mac[6], uint32_t mtu);

}  // namespace sluice
