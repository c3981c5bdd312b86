// Next-hop MAC resolution by ARP (IPv4) and neighbor discovery (IPv6), on the control thread. Workers only report
// what they see (NeighborLearn messages); this class decides which addresses are
// wanted, asks for them at a bounded rate, and feeds the snapshot builder.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/snapshot.h"
#include "common/worker_channel.h"

namespace sluice {

inline IpAddr MakeIpv4(uint32_t address) {
  IpAddr ip;
  std::memcpy(ip.bytes.data(), &address, 4);
  return ip;
}

inline IpAddr MakeIpv6(const uint8_t address[16]) {
  IpAddr ip;
  ip.family = 6;
  std::memcpy(ip.bytes.data(), address, 16);
  return ip;
}

struct NeighborTarget {
  IpAddr address;
  uint16_t port_index;
};

struct NeighborInfo {
  IpAddr address;
  uint16_t port_index;
  bool resolved;
  bool wanted;
  struct rte_ether_addr mac;
  double age_sec;  // since the last reply; -1 when never resolved
  uint32_t requests_sent;
};

class NeighborResolver : public NeighborLookup {
 public:
  using SendRequest = std::function<bool(uint16_t port_index, const IpAddr& target)>;

  explicit NeighborResolver(uint32_t refresh_sec) : refresh_ms_(uint64_t{refresh_sec} * 1000) {}

  void SetTargets(const std::vector<NeighborTarget>& targets);
  // Returns true when a wanted address got a new or different MAC.
  bool Learn(const NeighborLearn& learn, uint64_t now_ms);
  // Sends requests that are due: unresolved targets once a second, resolved ones
  // every refresh interval; at most kMaxRequestsPerTick per call.
  void Tick(uint64_t now_ms, const SendRequest& send);
  bool Lookup(uint32_t address, struct rte_ether_addr* mac) const override;
  bool Lookup6(const uint8_t address[16], struct rte_ether_addr* mac) const override;
  // Changes whenever a lookup's answer may have: a snapshot built at the same
  // version can keep the MACs of the one before (SnapshotBase::neighbors_same).
  uint64_t version() const { return version_; }
  std::vector<NeighborInfo> List(uint64_t now_ms) const;

 private:
  static constexpr uint64_t kRetryMs = 1000;
  static constexpr uint32_t kMaxRequestsPerTick = 64;
  static constexpr size_t kMaxUnwanted = 4096;  // learned but not needed: bounded
  struct Entry {
    uint16_t port_index = 0;
    bool wanted = false;
    bool resolved = false;
    struct rte_ether_addr mac{};
    uint64_t last_reply_ms = 0;
    uint64_t last_request_ms = 0;
    bool requested = false;
    uint32_t requests_sent = 0;
  };
  struct AddressHash {
    size_t operator()(const IpAddr& ip) const {
      return std::hash<std::string_view>()(
          std::string_view(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size())) ^ ip.family;
    }
  };
  bool Find(const IpAddr& address, struct rte_ether_addr* mac) const;
  std::unordered_map<IpAddr, Entry, AddressHash> entries_;
  uint64_t refresh_ms_;
  uint64_t version_ = 0;
};

}  // namespace sluice
