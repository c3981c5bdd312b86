// forwarding nat: rewriting a parsed IPv4 or IPv6 TCP/UDP packet's addresses
// and ports in place, checksums updated incrementally (RFC 1624: HC' = ~(~HC +
// ~m + m')) by deltas its session computes once, so the payload is never read.
// Pure: no EAL, used by the workers, unit tests and fuzzers alike.
#pragma once

#include <cstdint>
#include <cstring>

#include "packet/ones_complement.h"
#include "packet/packet_parse.h"

namespace sluice {

// One's-complement sums are the same in either byte order (RFC 1071), so the
// 16-bit words are used as they lie in memory.
inline uint32_t WordsOf(uint32_t v) { return (v & 0xffff) + (v >> 16); }

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

// What a session's translation adds to the checksums it rewrites: its old and
// new endpoints are fixed for its life, so the RFC 1624 term ~m + m' summed over
// them is computed once, when it opens, not per packet. Each is the fold of a
// positive sum, in [1, 0xffff].
struct NatChecksumDeltas {
  uint16_t ip;  // the address words: the IPv4 header checksum (unused for IPv6)
  uint16_t l4;  // addresses and ports: the TCP/UDP checksum, whose pseudo-header has the addresses
};

// `*_old` and `*_new`: word sums of the source and destination addresses, and
// of the two ports, before and after.
inline NatChecksumDeltas NatDeltasOf(uint32_t addrs_old, uint32_t addrs_new, uint32_t ports_old,
                                     uint32_t ports_new) {
  // ~m summed over the k old words is k * 0xffff - sum_old: a multiple of 0xffff
  // is zero in one's complement, so 32 * 0xffff - sum_old (sum_old is 18 words
  // at most) stands in for it. The sum is then positive and under 2^22, so its
  // fold is in [1, 0xffff].
  constexpr uint32_t kZero = 32 * 0xffffu;
  return {FoldSum(kZero - addrs_old + addrs_new), FoldSum(kZero - addrs_old - ports_old + addrs_new + ports_new)};
}

// The delta of the way back (a reply: the new endpoints become the old ones):
// the negation, kept in [1, 0xffff] as every delta is (0xffff is zero).
inline uint16_t ReverseDelta(uint16_t delta) {
  uint16_t negated = static_cast<uint16_t>(0xffff - delta);
  return negated == 0 ? 0xffff : negated;
}

// HC' = ~(~HC + delta) (RFC 1624). `delta` is in [1, 0xffff], so the sum is in
// [1, 0x1fffe] and one fold takes it to [1, 0xffff]: the same value the update
// term by term, and a full recomputation, give.
inline uint16_t ChecksumApply(uint16_t check, uint16_t delta) {
  uint32_t sum = static_cast<uint16_t>(~check) + uint32_t{delta};
  return static_cast<uint16_t>(~((sum & 0xffff) + (sum >> 16)));
}

// What the rewrite, and a session's checks, need of a parsed packet: where its
// headers are, its protocol and its TCP flags; its addresses and ports are in
// its key. The burst path queues this with each nat packet rather than a whole
// PacketInfo, which is zeroed and filled field by field on the fast path
// (measured with ChecksumApply's single fold: docs/performance-notes.md, "nat").
struct NatHeaders {
  uint16_t l3_offset;
  uint16_t l4_offset;
  uint8_t l4_proto;
  uint8_t tcp_flags;
};

inline NatHeaders NatHeadersOf(const PacketInfo& info) {
  return {info.l3_offset, info.l4_offset, info.l4_proto, info.tcp_flags};
}

// The L4 ports and the TCP/UDP checksum. A UDP checksum of 0 is "none" and stays
// 0 (IPv4; IPv6 callers refuse these first); a computed 0 is sent as 0xffff.
inline void RewriteL4(uint8_t* l4, uint8_t proto, uint16_t src_port, uint16_t dst_port, uint16_t l4_delta) {
  bool tcp = proto == parse_detail::kProtoTcp;
  uint32_t check_offset = tcp ? 16 : 6;
  uint16_t l4_check;
  std::memcpy(&l4_check, l4 + check_offset, 2);
  if (tcp || l4_check != 0) {
    l4_check = ChecksumApply(l4_check, l4_delta);
    if (!tcp && l4_check == 0) l4_check = 0xffff;
    std::memcpy(l4 + check_offset, &l4_check, 2);
  }
  std::memcpy(l4, &src_port, 2);
  std::memcpy(l4 + 2, &dst_port, 2);
}

// Rewrites a parsed IPv4 packet's addresses and ports (network order) and its
// IPv4 and TCP/UDP checksums by the deltas of that change. `frame` holds at
// least the L4 header (ParsePacket checked).
inline void ApplyNatRewrite(uint8_t* frame, const NatHeaders& h, uint32_t src_addr, uint16_t src_port,
                            uint32_t dst_addr, uint16_t dst_port, uint16_t ip_delta, uint16_t l4_delta) {
  uint8_t* ip = frame + h.l3_offset;
  uint16_t ip_check;
  std::memcpy(&ip_check, ip + 10, 2);
  ip_check = ChecksumApply(ip_check, ip_delta);
  std::memcpy(ip + 10, &ip_check, 2);
  std::memcpy(ip + 12, &src_addr, 4);
  std::memcpy(ip + 16, &dst_addr, 4);
  RewriteL4(frame + h.l4_offset, h.l4_proto, src_port, dst_port, l4_delta);
}

// IPv6: no header checksum, so only the addresses, ports and the L4 checksum.
// The caller refuses UDP without a checksum, which IPv6 forbids (RFC 8200 8.1).
inline void ApplyNatRewrite6(uint8_t* frame, const NatHeaders& h, const uint8_t* src_addr, uint16_t src_port,
                             const uint8_t* dst_addr, uint16_t dst_port, uint16_t l4_delta) {
  uint8_t* ip = frame + h.l3_offset;
  std::memmove(ip + 8, src_addr, 16);
  std::memmove(ip + 24, dst_addr, 16);
  RewriteL4(frame + h.l4_offset, h.l4_proto, src_port, dst_port, l4_delta);
}

// Whether the packet's L4 checksum is absent: UDP with 0, which IPv6 forbids.
inline bool MissingUdpChecksum(const uint8_t* frame, const PacketInfo& info) {
  if (info.l4_proto != parse_detail::kProtoUdp) return false;
  uint16_t check;
  std::memcpy(&check, frame + info.l4_offset + 6, 2);
  return check == 0;
}

}  // namespace sluice
