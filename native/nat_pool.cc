#include "nat_pool.h"

#include <arpa/inet.h>

#include <algorithm>

namespace sluice {

NatPoolLayout::NatPoolLayout(const std::vector<const NatPoolConfig*>& pools, uint32_t num_workers)
    : ports_(pools.size()), num_workers_(num_workers == 0 ? 1 : num_workers) {
  for (size_t i = 0; i < pools.size(); i++) {
    if (pools[i] == nullptr) continue;
    PortPool& p = ports_[i];
    p.addresses = pools[i]->addresses;
    for (uint32_t a : p.addresses) p.sorted.push_back(ntohl(a));
    std::sort(p.sorted.begin(), p.sorted.end());
    p.num_addresses = static_cast<uint32_t>(p.addresses.size());
    p.port_min = pools[i]->port_min;
    p.port_max = pools[i]->port_max;
  }
}

int32_t NatPoolLayout::AddressIndex(uint16_t port_index, uint32_t address) const {
  if (port_index >= ports_.size()) return -1;
  const PortPool& p = ports_[port_index];
  if (p.num_addresses == 0) return -1;
  uint32_t host = ntohl(address);
  if (!std::binary_search(p.sorted.begin(), p.sorted.end(), host)) return -1;
  // Only on a hit: pools are short, and most packets that get here are misses.
  return static_cast<int32_t>(std::find(p.addresses.begin(), p.addresses.end(), address) - p.addresses.begin());
}

uint32_t NatPoolLayout::Owner(uint16_t port) const { return ntohs(port) % num_workers_; }

void NatPoolLayout::Range(const PortPool& p, uint32_t worker, uint32_t* first, uint32_t* count) const {
  uint32_t f = p.port_min + (worker + num_workers_ - p.port_min % num_workers_) % num_workers_;
  *first = f;
  *count = (p.num_addresses == 0 || f > p.port_max) ? 0 : (p.port_max - f) / num_workers_ + 1;
}

uint32_t NatPoolLayout::PairsOf(uint32_t worker, uint16_t port_index) const {
  if (port_index >= ports_.size()) return 0;
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, &first, &count);
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{count} * p.num_addresses, UINT32_MAX));
}

NatPair NatPoolLayout::Pair(uint32_t worker, uint16_t port_index, uint32_t index) const {
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, &first, &count);
  uint32_t port = first + (index % count) * num_workers_;
  return NatPair{port_index, p.addresses[index / count], htons(static_cast<uint16_t>(port))};
}

int64_t NatPoolLayout::IndexOf(uint32_t worker, uint16_t port_index, int32_t address_index, uint16_t port) const {
  if (port_index >= ports_.size() || address_index < 0) return -1;
  const PortPool& p = ports_[port_index];
  uint32_t first, count;
  Range(p, worker, &first, &count);
  uint32_t host_port = ntohs(port);
  if (count == 0 || host_port < first || host_port > p.port_max || (host_port - first) % num_workers_ != 0) return -1;
  return static_cast<int64_t>(uint64_t{static_cast<uint32_t>(address_index)} * count + (host_port - first) / num_workers_);
}

}  // namespace sluice
