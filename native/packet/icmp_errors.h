// ICMP errors the balancer sends back to a client about the client's own packet,
// built in place in that packet's buffer like the echo reply (packet/local_reply.h). Pure
// byte work plus DPDK's inline checksum helpers, so unit tests and fuzzers run it
// without the EAL.
// INTERFACE CONTRACT:
// - MakeIcmpFragNeeded(frame, len, room, l2_len, our_mac, next_hop_mtu): the IPv4
//   packet at frame + l2_len (the frame is `len` bytes; `room` bytes may be written
//   from `frame`) becomes ICMP destination unreachable, fragmentation needed (type 3
//   code 4, RFC 792 and RFC 1191) back to its sender. Ethernet dst = the original
//   source MAC, src = our_mac, VLAN tags kept. IP: version 4, IHL 5, TOS 0, ID 0, no
//   flags, TTL 64, protocol 1, source = the original destination (the VIP the
//   client used: the balancer's port address may not be routable from the client),
//   destination = the original source, header checksum valid. ICMP: next-hop MTU in
//   bytes 6-7, then as much of the original datagram (header first) as keeps the
//   reply's IP datagram within 576 bytes (RFC 1812 4.3.2.3), checksum valid.
//   Returns the new frame length, or 0 (frame untouched) when the packet is not a
//   well-formed IPv4 header with a total length inside the frame, or the reply does
//   not fit `room`.
// - IcmpRateLimiter: a token bucket per worker lcore; Allow(now_ms) takes a token.
//   A zeroed limiter is full, so it needs no set-up in a zeroed worker context.
#pragma once

#include <cstdint>

namespace sluice {

constexpr uint32_t kIcmpErrorMaxDatagram = 576;
constexpr uint8_t kIcmpTypeUnreachable = 3;
constexpr uint8_t kIcmpCodeFragNeeded = 4;

// Linux's defaults for the whole host (net.ipv4.icmp_msgs_per_sec and
// icmp_msgs_burst), here per worker lcore: enough for every client to learn its
// path MTU, too little for oversized packets to turn the balancer into a flood
// source toward spoofed addresses.
constexpr uint32_t kIcmpErrorsPerSec = 1000;
constexpr uint32_t kIcmpErrorBurst = 50;

uint32_t MakeIcmpFragNeeded(uint8_t* frame, uint32_t len, uint32_t room, uint32_t l2_len,
                            const uint8_t our_mac[6], uint16_t next_hop_mtu);

struct IcmpRateLimiter {
  uint64_t deficit_milli;  // thousandths of a token missing from a full bucket
  uint32_t last_ms;

  bool Allow(uint32_t now_ms) {
    uint64_t refill = uint64_t{now_ms - last_ms} * kIcmpErrorsPerSec;
    last_ms = now_ms;
    deficit_milli = refill >= deficit_milli ? 0 : deficit_milli - refill;
    if (deficit_milli + 1000 > uint64_t{kIcmpErrorBurst} * 1000) return false;
    deficit_milli += 1000;
    return true;
  }
};

}  // namespace sluice
