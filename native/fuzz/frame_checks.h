// Checks on frames the data path produced, shared by the harnesses. The checksum
// comes from the native tests' frame builders, which share nothing with the code
// under test.
#pragma once

#include <cstdint>

#include "test/frames.h"

namespace sluice_fuzz {

inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// RFC 1071: a region that carries its own checksum sums to 0xffff.
inline bool ChecksumValid(const uint8_t* p, uint32_t n) { return sluice_test::OnesSum(p, n) == 0xffff; }

// The IPv4 header at `ip`, whose IHL the parser has already checked.
inline bool Ipv4HeaderChecksumValid(const uint8_t* ip) { return ChecksumValid(ip, (ip[0] & 0x0fu) * 4u); }

// The ICMP message of the IPv4 packet at `ip`, whose lengths the parser has
// already checked: from the end of the IP header to total_length.
inline bool IcmpChecksumValid(const uint8_t* ip) {
  const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
  return ChecksumValid(ip + header_len, Get16(ip + 2) - header_len);
}

// The upper-layer message of the IPv6 packet at `ip` from `l4` (header and
// extension headers before it) to the payload end, with its RFC 8200 8.1
// pseudo header (next header `proto`): the sum of a valid message is 0xffff.
inline bool Ipv6UpperChecksumValid(const uint8_t* ip, const uint8_t* l4, uint8_t proto) {
  const uint32_t end = 40u + Get16(ip + 4);
  const uint32_t n = end - static_cast<uint32_t>(l4 - ip);
  sluice_test::Bytes pseudo(ip + 8, ip + 40);
  sluice_test::Put32(pseudo, n);
  sluice_test::Put32(pseudo, proto);
  pseudo.insert(pseudo.end(), l4, l4 + n);
  return ChecksumValid(pseudo.data(), static_cast<uint32_t>(pseudo.size()));
}

}  // namespace sluice_fuzz
