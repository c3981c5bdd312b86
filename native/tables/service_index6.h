// The IPv6 half of the snapshot's service lookup: (vip6, port, proto) -> service
// and "is this one of our IPv6 VIPs" (for neighbor solicitations and echo), by
// open addressing as ServiceIndex does for IPv4. Immutable once built.
#pragma once

#include <rte_common.h>
#include <rte_hash_crc.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sluice {

struct ServiceView;

class ServiceIndex6 {
 public:
  // `services` are the snapshot's; only those with family 6 are indexed.
  // Returns the place of the first service whose (vip6, port, proto) an
  // earlier one has, that one's in `*earlier`; -1 when each has its own.
  template <typename Services>
  int64_t Build(const Services& services, size_t* earlier) {
    uint32_t count = 0;
    for (const auto& s : services) count += s.family == 6;
    uint32_t size = rte_align32pow2(std::max<uint32_t>(4, 2 * count));
    slots_.assign(size, Slot{});
    vips_.assign(size, VipSlot{});
    mask_ = size - 1;
    for (uint32_t i = 0; i < services.size(); i++) {
      const auto& s = services[i];
      if (s.family != 6) continue;
      uint32_t h = Hash(s.vip6, s.port, s.proto) & mask_;
      for (; slots_[h].service != kEmpty; h = (h + 1) & mask_) {
        const Slot& other = slots_[h];
        if (other.port == s.port && other.proto == s.proto && std::memcmp(other.vip, s.vip6, 16) == 0) {
          *earlier = other.service;
          return i;
        }
      }
      Slot& slot = slots_[h];
      std::memcpy(slot.vip, s.vip6, 16);
      slot.port = s.port;
      slot.proto = s.proto;
      slot.service = i;
      uint32_t v = HashVip(s.vip6) & mask_;
      while (vips_[v].used && std::memcmp(vips_[v].vip, s.vip6, 16) != 0) v = (v + 1) & mask_;
      vips_[v].used = true;
      std::memcpy(vips_[v].vip, s.vip6, 16);
    }
    return -1;
  }

  // The service's position in the snapshot's list, or -1.
  int32_t Find(const uint8_t vip[16], uint16_t port, uint8_t proto) const {
    if (slots_.empty()) return -1;
    for (uint32_t i = Hash(vip, port, proto) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.service == kEmpty) return -1;
      if (slot.port == port && slot.proto == proto && std::memcmp(slot.vip, vip, 16) == 0) {
        return static_cast<int32_t>(slot.service);
      }
    }
  }
  bool IsVip(const uint8_t vip[16]) const {
    if (vips_.empty()) return false;
    for (uint32_t i = HashVip(vip) & mask_;; i = (i + 1) & mask_) {
      if (!vips_[i].used) return false;
      if (std::memcmp(vips_[i].vip, vip, 16) == 0) return true;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint8_t vip[16] = {};
    uint16_t port = 0;
    uint8_t proto = 0;
    uint32_t service = kEmpty;
  };
  struct VipSlot {
    uint8_t vip[16] = {};
    bool used = false;
  };
  // Addresses come from packet bytes at any alignment: read as words by memcpy.
  static uint32_t HashVip(const uint8_t vip[16]) {
    uint64_t w[2];
    std::memcpy(w, vip, 16);
    return rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], 0));
  }
  static uint32_t Hash(const uint8_t vip[16], uint16_t port, uint8_t proto) {
    return rte_hash_crc_4byte(static_cast<uint32_t>(port) << 8 | proto, HashVip(vip));
  }
  std::vector<Slot> slots_;
  std::vector<VipSlot> vips_;
  uint32_t mask_ = 0;
};

}  // namespace sluice
