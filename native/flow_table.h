// One worker lcore's connection table: 5-tuple -> backend. Only its own lcore
// reads and writes it, so it needs no locks and no RCU. rte_hash stores the keys;
// the per-flow state lives in a side array indexed by the position rte_hash
// returns, which keeps the hot entry at 16 bytes and lets the expiry sweep walk
// memory linearly.
#pragma once

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <netinet/in.h>

#include <cstdint>

#include "config_types.h"
#include "lcore_stats.h"

namespace sluice {

struct FlowKey4 {
  uint32_t src_addr;  // network order
  uint32_t dst_addr;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t proto;
  uint8_t pad[3];     // always zero: rte_hash compares all 16 bytes
};
static_assert(sizeof(FlowKey4) == 16, "rte_hash has a vectorised compare for 16-byte keys");

enum FlowFlags : uint8_t {
  kFlowInUse = 1,
  kFlowClosing = 2,  // FIN or RST seen: short timeout
};

struct FlowEntry {
  uint32_t backend_id;
  uint32_t last_seen_ms;  // wraps after 49 days; only differences are used
  uint16_t service_id;
  uint8_t proto;
  uint8_t flags;
  uint32_t reserved;
};
static_assert(sizeof(FlowEntry) == 16, "four entries per cache line");

struct FlowTimeouts {
  uint32_t tcp_ms;
  uint32_t tcp_closing_ms;
  uint32_t udp_ms;
};

class FlowTable {
 public:
  // Returns nullptr with rte_errno set when the EAL cannot provide the memory.
  static FlowTable* Create(const char* name, uint32_t capacity, int socket,
                           const FlowTimeouts& timeouts);
  static void Destroy(FlowTable* table);

  static hash_sig_t Hash(const FlowKey4& key) {
    return rte_hash_crc(&key, sizeof(key), kHashSeed);
  }

  // positions[i] >= 0 for a hit, negative for a miss.
  void LookupBulk(const void** keys, hash_sig_t* sigs, uint32_t n, int32_t* positions) const {
    rte_hash_lookup_with_hash_bulk(hash_, keys, sigs, n, positions);
  }

  FlowEntry& At(int32_t position) { return entries_[position]; }

  bool IsExpired(const FlowEntry& entry, uint32_t now_ms) const {
    return now_ms - entry.last_seen_ms > TimeoutMs(entry);
  }

  // Adds the key, evicting an expired or else the least recently used of a few
  // sampled entries when full. Returns the position, or -1 when even that failed
  // (the caller still forwards the packet; the flow is simply not remembered).
  // A key added earlier in the same burst comes back at its position with
  // kFlowInUse already set: the caller treats that as a hit.
  int32_t Insert(const FlowKey4& key, hash_sig_t sig, uint32_t now_ms, LcoreCounters& counters,
                 ServiceCounters* services);

  // Removes up to `budget` positions' worth of expired entries, resuming where
  // the last call stopped; called once per loop iteration, never per packet.
  void Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services);

  uint32_t capacity() const { return capacity_; }

  // rte_hash is a cuckoo table: near 100% load an insert can fail with free
  // slots left elsewhere. It is sized this much above the flow limit, and the
  // limit is enforced here, so inserts below the limit practically never fail.
  static constexpr uint32_t kSlackPercent = 25;

 private:
  static constexpr uint32_t kHashSeed = 0x5d1ce0;
  static constexpr uint32_t kEvictionSamples = 8;

  uint32_t TimeoutMs(const FlowEntry& entry) const {
    if (entry.proto == IPPROTO_UDP) return timeouts_.udp_ms;
    return (entry.flags & kFlowClosing) ? timeouts_.tcp_closing_ms : timeouts_.tcp_ms;
  }
  void Remove(int32_t position, ServiceCounters* services, LcoreCounters& counters);
  bool EvictOne(uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services);

  struct rte_hash* hash_ = nullptr;
  FlowEntry* entries_ = nullptr;
  uint32_t capacity_ = 0;     // most flows held at once
  uint32_t positions_ = 0;    // positions rte_hash may return: [0, positions_)
  uint32_t sweep_cursor_ = 0;
  uint32_t evict_cursor_ = 0;
  FlowTimeouts timeouts_{};
};

}  // namespace sluice
