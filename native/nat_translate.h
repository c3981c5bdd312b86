// forwarding nat: rewriting a parsed IPv4 TCP/UDP packet's addresses and ports in
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
  uint32_t sum = static_cast<uint16_t>(~check);
  sum += sum_new;
  // ~m for every old word: adding the one's complement of the old words' sum.
  sum_old = (sum_old & 0xffff) + (sum_old >> 16);
  sum_old = (sum_old & 0xffff) + (sum_old >> 16);
  sum += static_cast<uint16_t>(~sum_old);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline uint32_t WordsOf(uint32_t v) { return (v & 0xffff) + (v >> 16); }

// Rewrites the IPv4 addresses, the L4 ports and the IPv4 and TCP/UDP checksums.
// `frame` holds at least the L4 header (ParsePacket checked); a UDP checksum of 0
// (none) stays 0, and a computed 0 is sent as 0xffff.
inline void ApplyNatRewrite(uint8_t* frame, const PacketInfo& info, const NatRewrite& to) {
  uint8_t* ip = frame + info.l3_offset;
  uint8_t* l4 = frame + info.l4_offset;
  uint32_t old_src, old_dst;
  uint16_t old_sport, old_dport;
  std::memcpy(&old_src, ip + 12, 4);
  std::memcpy(&old_dst, ip + 16, 4);
  std::memcpy(&old_sport, l4, 2);
  std::memcpy(&old_dport, l4 + 2, 2);
  uint32_t addr_old = WordsOf(old_src) + WordsOf(old_dst);
  uint32_t addr_new = WordsOf(to.src_addr) + WordsOf(to.dst_addr);

  uint16_t ip_check;
  std::memcpy(&ip_check, ip + 10, 2);
  ip_check = ChecksumAdjust(ip_check, addr_old, addr_new);
  std::memcpy(ip + 10, &ip_check, 2);
  std::memcpy(ip + 12, &to.src_addr, 4);
  std::memcpy(ip + 16, &to.dst_addr, 4);

  // The pseudo-header covers the addresses, so the L4 checksum takes both changes.
  uint32_t l4_old = addr_old + old_sport + old_dport;
  uint32_t l4_new = addr_new + to.src_port + to.dst_port;
  uint32_t check_offset = info.l4_proto == parse_detail::kProtoTcp ? 16 : 6;
  uint16_t l4_check;
  std::memcpy(&l4_check, l4 + check_offset, 2);
  if (info.l4_proto != parse_detail::kProtoTcp && l4_check == 0) {
    // UDP without a checksum: nothing to update.
  } else {
    l4_check = ChecksumAdjust(l4_check, l4_old, l4_new);
    if (info.l4_proto != parse_detail::kProtoTcp && l4_check == 0) l4_check = 0xffff;
    std::memcpy(l4 + check_offset, &l4_check, 2);
  }
  std::memcpy(l4, &to.src_port, 2);
  std::memcpy(l4 + 2, &to.dst_port, 2);
}

}  // namespace sluice
