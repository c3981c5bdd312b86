// forwarding nat: rewriting a parsed IPv4 or IPv6 TCP/UDP packet's addresses and ports in
// place, checksums updated incrementally (RFC 1624: HC' = ~(~HC + ~m + m')), so
// the payload is never read. Pure: no EAL, used by the workers, unit tests and
// fuzzers alike.
#pragma once

#include <cstdint>
#include <cstring>

#include "packet_parse.h"

namespace sluice {

// The new endpoints of a packet; addresses and ports in network order.
struct NatRewrite {
  uint32_t src_addr;
  uint16_t src_port;
  uint32_t dst_addr;
  uint16_t dst_port;
};

// One's-complement sums are the same in either byte order (RFC 1071), so the
// 16-bit words are used as they lie in memory.
inline uint16_t ChecksumAdjust(uint16_t check, uint32_t sum_old, uint32_t sum_new) {
  // ~m summed over the k old words is k * 0xffff - sum_old, and a multiple of
  // 0xffff is zero in one's complement: 0xffff0000 - sum_old stands in for it
  // (sum_old, six words at most, stays far below) without folding sum_old first.
  // The sum is then never zero, so its fold is in [1, 0xffff] and the result is
  // the same one a full recomputation gives.
  uint64_t sum = uint64_t{static_cast<uint16_t>(~check)} + sum_new + (0xffff0000u - sum_old);
  // Under 2^33: three folds take it to 16 bits (0x2fffe, then 0x10001, then 0xffff at most).
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline uint32_t WordsOf(uint32_t v) { return (v & 0xffff) + (v >> 16); }

// The L4 ports and the TCP/UDP checksum, whose pseudo-header takes the address
// change (`addr_old` -> `addr_new`, as word sums) too. `zero_means_none`: a UDP
// checksum of 0 is "none" and stays 0 (IPv4); a computed 0 is sent as 0xffff.
inline void RewriteL4(uint8_t* l4, uint8_t proto, uint32_t addr_old, uint32_t addr_new, uint16_t src_port,
                      uint16_t dst_port) {
  uint16_t old_sport, old_dport;
  std::memcpy(&old_sport, l4, 2);
  std::memcpy(&old_dport, l4 + 2, 2);
  uint32_t l4_old = addr_old + old_sport + old_dport;
  uint32_t l4_new = addr_new + src_port + dst_port;
  bool tcp = proto == parse_detail::kProtoTcp;
  uint32_t check_offset = tcp ? 16 : 6;
  uint16_t l4_check;
  std::memcpy(&l4_check, l4 + check_offset, 2);
  if (!tcp && l4_check == 0) {
    // UDP without a checksum: nothing to update (IPv6 callers refuse these first).
  } else {
    l4_check = ChecksumAdjust(l4_check, l4_old, l4_new);
    if (!tcp && l4_check == 0) l4_check = 0xffff;
    std::memcpy(l4 + check_offset, &l4_check, 2);
  }
  std::memcpy(l4, &src_port, 2);
  std::memcpy(l4 + 2, &dst_port, 2);
}

// Rewrites the IPv4 addresses, the L4 ports and the IPv4 and TCP/UDP checksums.
// `frame` holds at least the L4 header (ParsePacket checked).
inline void ApplyNatRewrite(uint8_t* frame, const PacketInfo& info, const NatRewrite& to) {
  uint8_t* ip = frame + info.l3_offset;
  uint32_t old_src, old_dst;
  std::memcpy(&old_src, ip + 12, 4);
  std::memcpy(&old_dst, ip + 16, 4);
  uint32_t addr_old = WordsOf(old_src) + WordsOf(old_dst);
  uint32_t addr_new = WordsOf(to.src_addr) + WordsOf(to.dst_addr);

  uint16_t ip_check;
  std::memcpy(&ip_check, ip + 10, 2);
  ip_check = ChecksumAdjust(ip_check, addr_old, addr_new);
  std::memcpy(ip + 10, &ip_check, 2);
  std::memcpy(ip + 12, &to.src_addr, 4);
  std::memcpy(ip + 16, &to.dst_addr, 4);
  RewriteL4(frame + info.l4_offset, info.l4_proto, addr_old, addr_new, to.src_port, to.dst_port);
}

// The sum of an IPv6 address's eight 16-bit words, as they lie in memory.
inline uint32_t WordsOf6(const uint8_t* a) {
  uint32_t sum = 0;
  for (int i = 0; i < 16; i += 2) {
    uint16_t w;
    std::memcpy(&w, a + i, 2);
    sum += w;
  }
  return sum;
}

// IPv6: no header checksum, so only the addresses, ports and the L4 checksum.
// The caller refuses UDP without a checksum, which IPv6 forbids (RFC 8200 8.1).
inline void ApplyNatRewrite6(uint8_t* frame, const PacketInfo& info, const uint8_t* src_addr, uint16_t src_port,
                             const uint8_t* dst_addr, uint16_t dst_port) {
  uint8_t* ip = frame + info.l3_offset;
  uint32_t addr_old = WordsOf6(ip + 8) + WordsOf6(ip + 24);
  uint32_t addr_new = WordsOf6(src_addr) + WordsOf6(dst_addr);
  std::memmove(ip + 8, src_addr, 16);
  std::memmove(ip + 24, dst_addr, 16);
  RewriteL4(frame + info.l4_offset, info.l4_proto, addr_old, addr_new, src_port, dst_port);
}

// Whether the packet's L4 checksum is absent: UDP with 0, which IPv6 forbids.
inline bool MissingUdpChecksum(const uint8_t* frame, const PacketInfo& info) {
  if (info.l4_proto != parse_detail::kProtoUdp) return false;
  uint16_t check;
  std::memcpy(&check, frame + info.l4_offset + 6, 2);
  return check == 0;
}

}  // namespace sluice
