// The first 16 bytes of the common frame checked in one masked compare: the
// destination MAC is the port's, the source MAC is no group address, the
// ethertype is IPv4 and the IPv4 header has no options (0x45). Byte by byte
// these were a dozen loads, compares and branches per packet.
#pragma once

#include <rte_ether.h>

#include <emmintrin.h>

#include <cstdint>
#include <cstring>

namespace sluice {

class FrameHead {
 public:
  explicit FrameHead(const struct rte_ether_addr& port_mac) {
    alignas(16) uint8_t want[16] = {};
    alignas(16) uint8_t mask[16] = {};
    std::memcpy(want, port_mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    std::memset(mask, 0xff, RTE_ETHER_ADDR_LEN);
    mask[6] = 0x01;  // the source's group bit, wanted clear
    want[12] = 0x08, want[13] = 0x00, want[14] = 0x45;
    mask[12] = mask[13] = mask[14] = 0xff;
    want_ = _mm_load_si128(reinterpret_cast<const __m128i*>(want));
    mask_ = _mm_load_si128(reinterpret_cast<const __m128i*>(mask));
  }

  // `frame` has at least 16 bytes.
  bool Matches(const uint8_t* frame) const {
    __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(frame));
    return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(head, mask_), want_)) == 0xffff;
  }

 private:
  __m128i want_;
  __m128i mask_;
};

}  // namespace sluice
