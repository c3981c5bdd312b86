// IPv4 header checksums: verifying a received header where the NIC did not
// (net_pcap, net_ring, net_af_packet).
// rte_ipv4_cksum sums 16 bits at a time; summed as five 32-bit words in a
// 64-bit register the header takes a fraction of its instructions, and the
// checksum is a visible share of the per-packet path (docs/performance-notes.md,
// "The per-packet path"). The one's-complement sum does not depend on the
// order the 16-bit words are added in or on byte order, so a header is valid
// exactly when its words fold to 0xffff (RFC 1071).
//
// Pure, no EAL: unit tests compare it with a byte-by-byte reference.
#pragma once

#include <cstdint>
#include <cstring>

namespace sluice {

// The sum of the 20 bytes every IPv4 header has, unfolded (see below), as two
// 64-bit loads and one 32-bit one: no loop, no carries lost (each half-sum
// stays under 2^34).
inline uint64_t Ipv4FixedHeaderWideSum(const uint8_t* ip) {
  uint64_t a, b;
  uint32_t c;
  std::memcpy(&a, ip, 8);
  std::memcpy(&b, ip + 8, 8);
  std::memcpy(&c, ip + 16, 4);
  return (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) + c;
}

// The one's-complement sum of an IPv4 header, folded to 16 bits, in memory byte
// order (as the checksum field holds it). `ip` holds at least (ip[0] & 0x0f) * 4
// bytes, as ParsePacket guarantees for received headers.
// Unfolded: under 2^36, congruent to the one's-complement sum modulo 0xffff.
inline uint64_t Ipv4HeaderWideSum(const uint8_t* ip) {
  const uint32_t words = ip[0] & 0x0fu;  // 32-bit words, 5 to 15
  uint64_t sum = Ipv4FixedHeaderWideSum(ip);
  for (uint32_t i = 5; i < words; i++) {  // options
    uint32_t w;
    std::memcpy(&w, ip + 4 * i, 4);
    sum += w;
  }
  return sum;
}

inline uint16_t Ipv4HeaderSum(const uint8_t* ip) {
  uint64_t sum = Ipv4HeaderWideSum(ip);
  sum = (sum & 0xffffffffu) + (sum >> 32);  // at most 15 * 2^32: two folds to 32 bits
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Folding keeps a value's residue modulo 0xffff and never turns a non-zero sum
// into 0, so the fold is 0xffff exactly when the wide sum is a non-zero multiple
// of 0xffff: one multiply and one compare instead of four folds.
inline bool WideSumValid(uint64_t sum) { return sum % 0xffffu == 0 && sum != 0; }

inline bool Ipv4HeaderChecksumValid(const uint8_t* ip) { return WideSumValid(Ipv4HeaderWideSum(ip)); }

// The same for a header known to have no options (IHL 5), without reading its length.
inline bool Ipv4OptionlessHeaderChecksumValid(const uint8_t* ip) { return WideSumValid(Ipv4FixedHeaderWideSum(ip)); }

// The value for the checksum field of a header whose checksum field is zero.
inline uint16_t Ipv4HeaderChecksum(const uint8_t* ip) { return static_cast<uint16_t>(~Ipv4HeaderSum(ip)); }

}  // namespace sluice
