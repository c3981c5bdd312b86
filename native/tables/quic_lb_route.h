// A QUIC-LB service's routing as a snapshot holds it: its codec, one copy per
// worker (a codec's cipher contexts are its thread's own: tables/quic_lb.h),
// and its backends' server IDs, each to its backend id. Built on the control
// thread with the snapshot and never changed after, except that worker i
// decodes with codecs_[i] and nobody else touches that copy.
#pragma once

#include <nmmintrin.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tables/quic_lb.h"

namespace sluice {

class QuicLbRoute {
 public:
  // `servers`: each backend's server ID and id, unique server IDs (the config
  // checked); throws CodedError SLUICE_INVALID_ARGUMENT "<where>: ..." for a
  // config QuicLbCodec refuses.
  QuicLbRoute(const QuicLbConfig& config, uint32_t workers,
              const std::vector<std::pair<QuicLbServerId, uint32_t>>& servers, const std::string& where);

  // The short header's connection ID length: servers of this config issue 1 + L octets.
  uint8_t cid_length() const { return cid_length_; }

  // The backend id `dcid` names, or UINT32_MAX when it is of another config or
  // names no server ID this route has. Per packet: no allocation, lock or
  // syscall; `worker` is the caller's own index (below the count it was built for).
  uint32_t BackendOf(uint32_t worker, const uint8_t* dcid, uint32_t length) const {
    QuicLbServerId id;
    if (codecs_[worker].Decode(dcid, length, &id) != QuicLbDecodeStatus::kOk) return kNone;
    for (uint32_t i = Hash(id) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.backend == kNone) return kNone;
      if (std::memcmp(&slot.id, &id, sizeof(id)) == 0) return slot.backend;
    }
  }

  static constexpr uint32_t kNone = UINT32_MAX;

 private:
  struct Slot {
    QuicLbServerId id;
    uint32_t backend;
  };
  static uint32_t Hash(const QuicLbServerId& id) {
    uint64_t words[2];
    std::memcpy(words, &id, sizeof(words));
    return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0, words[0]), words[1]));
  }

  // Mutable: a worker's Decode changes its own codec's cipher state only.
  mutable std::vector<QuicLbCodec> codecs_;
  std::vector<Slot> slots_;  // open addressing, at most half full
  uint32_t mask_ = 0;
  uint8_t cid_length_ = 0;
};

}  // namespace sluice
