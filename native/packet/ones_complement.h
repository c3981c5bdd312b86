// Big-endian stores and the RFC 1071 fold, shared by the pure frame builders
// (packet/local_reply.cc, packet/ndp.cc) and nat's checksum deltas (modes/nat/nat_translate.h), which
// must build without the EAL's rte_ip.h helpers.
#pragma once

#include <cstdint>

namespace sluice {

inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// A 32-bit ones' complement sum folded to 16 bits (not complemented).
inline uint16_t FoldSum(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace sluice
