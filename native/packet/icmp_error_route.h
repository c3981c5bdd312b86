// ICMP and ICMPv6 errors addressed to a VIP. In dsr and tunnel modes a backend
// answers its clients with the VIP as source, so a router that cannot deliver
// one of those replies (destination unreachable, fragmentation needed, packet
// too big) reports it to the VIP.
// The packet it quotes, read backwards, names the client's flow; the error is
// forwarded to the backend that owns that flow, whose stack then lowers its path
// MTU or aborts the connection. Without this, path MTU discovery through the
// balancer fails and large responses stall.
//
// Pure, like packet/packet_parse.h: unit tests and fuzzers use it without the EAL.
#pragma once

#include <cstdint>
#include <cstring>

#include "packet/packet_parse.h"

namespace sluice {

constexpr uint8_t kIcmpDestUnreachable = 3;

// The client's flow, in the direction the client sends it. Network order.
struct QuotedFlow {
  uint32_t client;
  uint32_t vip;
  uint16_t client_port;
  uint16_t vip_port;
  uint8_t proto;
};

// True when `frame` holds an IPv4 ICMP destination-unreachable message (as parsed
// into `info`) quoting the start of a TCP or UDP packet: at least the quoted IPv4
// header and the 4 bytes of ports that RFC 792 guarantees, all within the outer
// packet and within `len`, the bytes of this buffer. The quoted packet must be a
// first fragment, which is the only one that carries ports.
inline bool QuotedIpv4Flow(const uint8_t* frame, uint32_t len, const PacketInfo& info, QuotedFlow* out) {
  using namespace parse_detail;
  if (info.ip_version != 4 || info.l4_proto != kProtoIcmp || info.icmp_type != kIcmpDestUnreachable) return false;
  const uint32_t ip_end = uint32_t{info.l3_offset} + info.l3_length;
  const uint32_t end = ip_end < len ? ip_end : len;
  const uint32_t inner = uint32_t{info.l4_offset} + 8;  // type, code, checksum, unused/next-hop MTU
  if (inner + kIpv4MinHeaderLen > end) return false;
  const uint8_t* ip = frame + inner;
  if ((ip[0] >> 4) != 4) return false;
  const uint32_t header_len = (ip[0] & 0x0f) * 4u;
  if (header_len < kIpv4MinHeaderLen || inner + header_len + 4 > end) return false;
  if ((Be16(ip + 6) & 0x1fff) != 0) return false;  // not a first fragment: no ports
  const uint8_t proto = ip[9];
  if (proto != kProtoTcp && proto != kProtoUdp) return false;
  const uint8_t* l4 = ip + header_len;
  // The quoted packet went from the VIP to the client.
  std::memcpy(&out->vip, ip + 12, 4);
  std::memcpy(&out->client, ip + 16, 4);
  std::memcpy(&out->vip_port, l4, 2);
  std::memcpy(&out->client_port, l4 + 2, 2);
  out->proto = proto;
  return true;
}

constexpr uint8_t kIcmpv6DestUnreachable = 1;
constexpr uint8_t kIcmpv6PacketTooBig = 2;

// The same for IPv6. Network order.
struct QuotedFlow6 {
  uint8_t client[16];
  uint8_t vip[16];
  uint16_t client_port;
  uint16_t vip_port;
  uint8_t proto;
};

// True when `frame` holds an ICMPv6 destination-unreachable (1) or packet-too-big
// (2) message (as parsed into `info`) quoting the start of a TCP or UDP packet:
// the quoted IPv6 header, any hop-by-hop, routing and destination-options headers,
// and the 4 bytes of ports, all within the outer packet and within `len`. A quoted
// fragment header ends the walk (false): only a first fragment has ports, and
// nothing here sends fragments.
inline bool QuotedIpv6Flow(const uint8_t* frame, uint32_t len, const PacketInfo& info, QuotedFlow6* out) {
  using namespace parse_detail;
  if (info.ip_version != 6 || info.l4_proto != kProtoIcmpv6) return false;
  if (info.icmp_type != kIcmpv6DestUnreachable && info.icmp_type != kIcmpv6PacketTooBig) return false;
  const uint32_t ip_end = uint32_t{info.l3_offset} + info.l3_length;
  const uint32_t end = ip_end < len ? ip_end : len;
  const uint32_t inner = uint32_t{info.l4_offset} + 8;  // type, code, checksum, unused or MTU
  if (inner + kIpv6HeaderLen > end) return false;
  const uint8_t* ip = frame + inner;
  if ((ip[0] >> 4) != 6) return false;
  uint8_t next = ip[6];
  uint32_t off = inner + kIpv6HeaderLen;
  // Each header advances at least 8 bytes, so the walk ends within the message.
  while (next == kProtoHopByHop || next == kProtoRouting || next == kProtoDstOpts) {
    if (off + kIpv6ExtMinLen > end) return false;
    const uint32_t ext_len = (frame[off + 1] + 1u) * 8u;
    next = frame[off];
    off += ext_len;
  }
  if ((next != kProtoTcp && next != kProtoUdp) || off + 4 > end) return false;
  // The quoted packet went from the VIP to the client.
  std::memcpy(out->vip, ip + 8, 16);
  std::memcpy(out->client, ip + 24, 16);
  std::memcpy(&out->vip_port, frame + off, 2);
  std::memcpy(&out->client_port, frame + off + 2, 2);
  out->proto = next;
  return true;
}

}  // namespace sluice
