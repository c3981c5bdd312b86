#include "control/neighbor_resolver.h"

#include <cstring>

namespace sluice {

void NeighborResolver::SetTargets(const std::vector<NeighborTarget>& targets) {
  for (auto& [address, entry] : entries_) entry.wanted = false;
  for (const NeighborTarget& t : targets) {
    Entry& e = entries_[t.address];
    e.wanted = true;
    e.port_index = t.port_index;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = (!it->second.wanted && !it->second.resolved) ? entries_.erase(it) : std::next(it);
  }
}

bool NeighborResolver::Learn(const NeighborLearn& learn, uint64_t now_ms) {
  const IpAddr address = learn.family == 6 ? MakeIpv6(learn.address6) : MakeIpv4(learn.address);
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxUnwanted) return false;
    it = entries_.emplace(address, Entry{}).first;
    it->second.port_index = learn.port_index;
  }
  Entry& e = it->second;
  bool changed = !e.resolved || std::memcmp(e.mac.addr_bytes, learn.mac, 6) != 0;
  // Wanted or not: Lookup answers for both.
  if (changed) version_++;
  std::memcpy(e.mac.addr_bytes, learn.mac, 6);
  e.resolved = true;
  e.last_reply_ms = now_ms;
  return changed && e.wanted;
}

void NeighborResolver::Tick(uint64_t now_ms, const SendRequest& send) {
  uint32_t sent = 0;
  for (auto& [address, e] : entries_) {
    if (!e.wanted || sent >= kMaxRequestsPerTick) continue;
    if (e.resolved && now_ms - e.last_reply_ms < refresh_ms_) continue;
    if (e.requested && now_ms - e.last_request_ms < kRetryMs) continue;
    if (send(e.port_index, address)) {
      e.requested = true;
      e.last_request_ms = now_ms;
      e.requests_sent++;
      sent++;
    }
  }
}

bool NeighborResolver::Lookup(uint32_t address, struct rte_ether_addr* mac) const {
  return Find(MakeIpv4(address), mac);
}

bool NeighborResolver::Lookup6(const uint8_t address[16], struct rte_ether_addr* mac) const {
  return Find(MakeIpv6(address), mac);
}

bool NeighborResolver::Find(const IpAddr& address, struct rte_ether_addr* mac) const {
  auto it = entries_.find(address);
  if (it == entries_.end() || !it->second.resolved) return false;
  *mac = it->second.mac;
  return true;
}

std::vector<NeighborInfo> NeighborResolver::List(uint64_t now_ms) const {
  std::vector<NeighborInfo> out;
  for (const auto& [address, e] : entries_) {
    out.push_back(NeighborInfo{address, e.port_index, e.resolved, e.wanted, e.mac,
                               e.resolved ? static_cast<double>(now_ms - e.last_reply_ms) / 1000.0 : -1.0,
                               e.requests_sent});
  }
  return out;
}

}  // namespace sluice
