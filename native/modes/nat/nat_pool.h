// forwarding nat: how a port's source pool is split between worker lcores. Each
// lcore owns the pool ports p with p % workers == its worker index, on every pool
// address, so any lcore tells a reply's owner from the destination port alone.
// Pure arithmetic over immutable data: no EAL, shared by all workers.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/config_types.h"

namespace sluice {

// One (port, address, pool port) pair an lcore may hand to a session. Addresses
// and ports in network order. A port's IPv4 and IPv6 pools share its port range
// and the ownership rule, but are numbered apart.
struct NatPair {
  uint16_t port_index;
  uint32_t address;        // IPv4 pairs
  uint32_t address_index;  // in the family's pool of the port
  uint16_t port;
};

class NatPoolLayout {
 public:
  // `pools[i]` is port i's pool, nullptr when it has none.
  NatPoolLayout(const std::vector<const NatPoolConfig*>& pools, uint32_t num_workers);

  bool HasPool(uint16_t port_index) const { return ports_[port_index].num_addresses != 0; }
  // The index of `address` (network order) in the port's pool, or -1.
  int32_t AddressIndex(uint16_t port_index, uint32_t address) const;
  // The same for the port's IPv6 pool.
  int32_t AddressIndex6(uint16_t port_index, const uint8_t* address) const;
  const uint8_t* Address6(uint16_t port_index, uint32_t address_index) const {
    return ports_[port_index].addresses6[address_index].data();
  }
  // The worker index that owns pool port `port` (network order).
  uint32_t Owner(uint16_t port) const;

  // Pairs of port `port_index`'s pool of `family` (4 or 6) owned by worker
  // `worker`, numbered 0..PairsOf()-1 address by address.
  uint32_t PairsOf(uint32_t worker, uint16_t port_index, uint8_t family = 4) const;
  NatPair Pair(uint32_t worker, uint16_t port_index, uint32_t index, uint8_t family = 4) const;
  // The pair's number for its owner, or -1 when the port is not one of its pool ports.
  int64_t IndexOf(uint32_t worker, uint16_t port_index, int32_t address_index, uint16_t port,
                  uint8_t family = 4) const;

  uint32_t num_ports() const { return static_cast<uint32_t>(ports_.size()); }
  uint32_t num_workers() const { return num_workers_; }

 private:
  struct PortPool {
    // (host-order address, index in `addresses`), by address: the lookup by address.
    std::vector<std::pair<uint32_t, uint32_t>> sorted;
    std::vector<uint32_t> addresses;   // network order, in config order
    uint32_t num_addresses = 0;
    std::vector<std::array<uint8_t, 16>> addresses6;  // in config order
    std::vector<std::array<uint8_t, 16>> sorted6;
    uint16_t port_min = 0;
    uint16_t port_max = 0;
  };
  // The first pool port worker `w` owns on a pool and how many it owns per address.
  void Range(const PortPool& p, uint32_t worker, uint8_t family, uint32_t* first, uint32_t* count) const;
  static uint32_t NumAddresses(const PortPool& p, uint8_t family) {
    return family == 6 ? static_cast<uint32_t>(p.addresses6.size()) : p.num_addresses;
  }

  std::vector<PortPool> ports_;
  uint32_t num_workers_;
};

}  // namespace sluice
