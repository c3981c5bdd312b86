// Answers for traffic addressed to the balancer itself (ARP for the port address
// and VIPs, ICMP echo), and the ARP requests that resolve next hops. Pure byte
// manipulation on a frame buffer, so unit tests and fuzzers run it without the EAL.
// INTERFACE CONTRACT:
// - ArpRequestTarget(frame, len, info): for a frame ParsePacket called kArp, returns
//   true and the target protocol address (network order) when it is a well-formed
//   Ethernet/IPv4 ARP request (htype 1, ptype 0x0800, hlen 6, plen 4, op 1).
// - ArpSender(frame, len, info, ip, mac): true when it is a well-formed ARP request
//   or reply; copies the sender's protocol and hardware address (for learning).
// - MakeArpReply(frame, len, info, our_mac): rewrites a request in place into the
//   reply for its target address: Ethernet dst = requester MAC, src = our_mac, any
//   VLAN tags kept, op 2, sha = our_mac, spa = the asked address, tha = requester
//   sha, tpa = requester spa. Length unchanged.
// - MakeIcmpEchoReply(frame, len, info, our_mac): rewrites an IPv4 ICMP echo request
//   (info from ParsePacket, icmp_type 8) in place into the echo reply: MACs swapped
//   (src = our_mac), IP src/dst swapped, TTL 64, IP checksum recomputed, ICMP type 0
//   and checksum updated; identifier, sequence and payload unchanged. Returns false
//   (frame untouched) if the ICMP message is shorter than 8 bytes.
// - IcmpChecksumValid(frame, len, info): for an IPv4 ICMP message ParsePacket
//   reported (kOk, l4_proto 1), true when its checksum over the whole message (up
//   to the IP total length) is right. False too when the message does not lie
//   inside the `len` bytes given.
// - BuildArpRequest(buf, cap, our_mac, our_ip, target_ip): writes a broadcast ARP
//   request (60 bytes incl. padding, no VLAN); returns the length, 0 if cap < 60.
// All addresses in network byte order.
#pragma once

#include <cstdint>

#include "packet/packet_parse.h"

namespace sluice {

bool ArpRequestTarget(const uint8_t* frame, uint32_t len, const PacketInfo& info,
                      uint32_t* target_ip);
bool ArpSender(const uint8_t* frame, uint32_t len, const PacketInfo& info,
               uint32_t* sender_ip, uint8_t sender_mac[6]);
void MakeArpReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                  const uint8_t our_mac[6]);
bool MakeIcmpEchoReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                       const uint8_t our_mac[6]);
bool IcmpChecksumValid(const uint8_t* frame, uint32_t len, const PacketInfo& info);
uint32_t BuildArpRequest(uint8_t* buf, uint32_t cap, const uint8_t our_mac[6],
                         uint32_t our_ip, uint32_t target_ip);

}  // namespace sluice
