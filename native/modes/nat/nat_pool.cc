#include "modes/nat/nat_pool.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sluice {

NatPoolLayout::NatPoolLayout(const std::vector<const NatPoolConfig*>& pools, uint32_t num_workers)
    : ports_(pools.size()), num_workers_(num_workers == 0 ? 1 : num_workers) {
  for (size_t i = 0; i < pools.size(); i++) {
    if (pools[i] == nullptr) continue;
    PortPool& p = ports_[i];
    p.addresses = pools[i]->addresses;
    for (uint32_t i = 0; i < p.addresses.size(); i++) p.sorted.emplace_back(ntohl(p.addresses[i]), i);
    std::sort(p.sorted.begin(), p.sorted.end());
    p.num_addresses = static_cast<uint32_t>(p.addresses.size());
    p.addresses6 = pools[i]->addresses6;
    p.sorted6 = p.addresses6;
    std::sort(p.sorted6.begin(), p.sorted6.end());
    p.port_min = pools[i]->port_min;
    p.port_max = pools[i]->port_max;
  }
}

int32_t NatPoolLayout::AddressIndex(uint16_t port_index, uint32_t address) const {
  if (port_index >= ports_.size()) return -1;
  const PortPool& p = ports_[port_index];
  if (p.num_addresses == 0) return -1;
  uint32_t host = ntohl(address);
  auto it = std::lower_bound(p.sorted.begin(), p.sorted.end(), host,
                             [](const std::pair<uint32_t, uint32_t>& e, uint32_t a) { return e.first < a; });
  if (it == p.sorted.end() || it->first != host) return -1;
  return static_cast<int32_t>(it->second);
}

int32_t NatPoolLayout::AddressIndex6(uint16_t port_index, const uint8_t* address) const {
  if (port_index >= ports_.size()) return -1;
  const PortPool& p = ports_[port_index];
  if (p.sorted6.empty()) return -1;
  std::array<uint8_t, 16> key;
  std::memcpy(key.data(), address, 16);
  if (!std::binary_search(p.sorted6.begin(), p.sorted6.end(), key)) return -1;
  return static_cast<int32_t>(std::find(p.addresses6.begin(), p.addresses6.end(), key) - p.addresses6.begin());
}

uint32_t NatPoolLayout::Owner(uint16_t port) const { return ntohs(port) % num_workers_; }

void NatPoolLayout::Range(const PortPool& p, uint32_t worker, uint8_t family, uint32_t* first,
                          uint32_t* count) const {
  uint32_t f = p.port_min + (worker + num_workers_ - p.port_min % num_workers_) % num_workers_;
  *first = f;
  *count = (NumAddresses(p, family) == 0 || f > p.port_max) ? 0 : (p.port_max - f) / num_workers_ + 1;
}

uint32_t NatPoolLayout::PairsOf(uint32_t worker, uint16_t port_index, uint8_t family) const {
  if (port_index >= ports_.size()) return 0;
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, family, &first, &count);
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{count} * NumAddresses(p, family), UINT32_MAX));
}

NatPair NatPoolLayout::Pair(uint32_t worker, uint16_t port_index, uint32_t index, uint8_t family) const {
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, family, &first, &count);
  uint32_t port = first + (index % count) * num_workers_;
  uint32_t address_index = index / count;
  return NatPair{port_index, family == 6 ? 0 : p.addresses[address_index], address_index,
                 htons(static_cast<uint16_t>(port))};
}

int64_t NatPoolLayout::IndexOf(uint32_t worker, uint16_t port_index, int32_t address_index, uint16_t port,
                               uint8_t family) const {
  if (port_index >= ports_.size() || address_index < 0) return -1;
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, family, &first, &count);
  uint32_t host_port = ntohs(port);
  if (count == 0 || host_port < first || host_port > p.port_max || (host_port - first) % num_workers_ != 0) return -1;
  return static_cast<int64_t>(uint64_t{static_cast<uint32_t>(address_index)} * count + (host_port - first) / num_workers_);
}

}  // namespace sluice
