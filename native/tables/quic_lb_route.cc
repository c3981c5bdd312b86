#include "tables/quic_lb_route.h"

#include <rte_common.h>

#include <algorithm>

namespace sluice {

QuicLbRoute::QuicLbRoute(const QuicLbConfig& config, uint32_t workers,
                         const std::vector<std::pair<QuicLbServerId, uint32_t>>& servers, const std::string& where) {
  QuicLbCodec codec(config, where);
  cid_length_ = static_cast<uint8_t>(codec.cid_length());
  codecs_.reserve(std::max<uint32_t>(1, workers));
  for (uint32_t i = 0; i < std::max<uint32_t>(1, workers); i++) codecs_.push_back(codec);
  const uint32_t size = rte_align32pow2(std::max<uint32_t>(4, 2 * static_cast<uint32_t>(servers.size())));
  slots_.assign(size, Slot{{}, kNone});
  mask_ = size - 1;
  for (const auto& [id, backend] : servers) {
    uint32_t i = Hash(id) & mask_;
    while (slots_[i].backend != kNone) i = (i + 1) & mask_;
    slots_[i] = Slot{id, backend};
  }
}

}  // namespace sluice
