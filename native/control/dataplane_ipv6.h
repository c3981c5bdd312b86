// The data plane's IPv6 set-up: port addressing for the snapshot builder and
// the workers, and the size of the per-lcore IPv6 flow table.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/config_types.h"
#include "common/snapshot.h"
#include "worker/context.h"

namespace sluice {

// IPv6 flows get a quarter of the IPv4 table's entries: rte_hash keeps 40-byte
// keys, and the IPv4 table's size is what the memory budget was set for.
inline uint32_t Ipv6FlowCapacity(uint32_t ipv4_entries) { return std::max<uint32_t>(1024, ipv4_entries / 4); }

inline bool AnyIpv6Port(const std::vector<PortConfig>& ports) {
  return std::any_of(ports.begin(), ports.end(), [](const PortConfig& p) { return p.has_address6; });
}

inline void SetIpv6Addressing(const PortConfig& config, PortRuntime* runtime, PortAddressing* addressing) {
  if (!config.has_address6) return;
  runtime->has_address6 = true;
  std::memcpy(runtime->address6, config.address6.bytes.data(), 16);
  runtime->prefix6 = config.prefix6_len;
  addressing->has_address6 = true;
  std::memcpy(addressing->address6, config.address6.bytes.data(), 16);
  addressing->prefix6 = config.prefix6_len;
  if (config.has_gateway6) {
    addressing->has_gateway6 = true;
    std::memcpy(addressing->gateway6, config.gateway6.bytes.data(), 16);
  }
}

}  // namespace sluice
