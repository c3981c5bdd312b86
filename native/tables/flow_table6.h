// One worker lcore's IPv6 connection table: 5-tuple -> backend, single-writer
// like FlowTable (tables/flow_table.h), kept apart so the IPv4 table keeps its 16-byte
// keys and its measured speed. IPv6 keys are 40 bytes and IPv6 service traffic
// is the smaller share, so this one is rte_hash (positions index a record array
// of backend, service and timeout state) rather than a second hand-tuned table.
// Expiry is checked on lookup and swept a few positions per loop iteration.
#pragma once

#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <cstdint>
#include <cstring>

#include "tables/flow_table.h"
#include "common/lcore_counters.h"

namespace sluice {

struct alignas(8) FlowKey6 {
  uint8_t src_addr[16];
  uint8_t dst_addr[16];
  uint16_t src_port;  // network order
  uint16_t dst_port;
  uint8_t proto;
  uint8_t pad[3];     // always zero
};
static_assert(sizeof(FlowKey6) == 40, "hashed as 40 bytes");

struct FlowRecord6 {
  uint32_t backend_id;
  uint32_t last_seen_ms;
  uint16_t service_id;
  uint8_t flags;      // FlowFlags
  uint32_t opened_ms;
};

class FlowTable6 {
 public:
  // Returns nullptr with rte_errno set when the EAL cannot provide the memory.
  static FlowTable6* Create(const char* name, uint32_t capacity, int socket, const FlowTimeouts& timeouts);
  static void Destroy(FlowTable6* table);
  // The bytes Create(capacity) allocates: rte_hash's key store (a 48-byte slot
  // per entry and one spare), buckets (64 bytes per 8 entries, rounded to a power
  // of two) and free-slot ring, the record array, and the table itself. rte_hash's
  // own header (about 1 KiB) is left out. src/config/memory.ts computes the same.
  static size_t MemoryBytes(uint32_t capacity);

  static uint32_t HashOf(const FlowKey6& key) { return rte_hash_crc(&key, sizeof(key), kHashSeed); }

  // The key's position, or -1.
  int32_t Lookup(const FlowKey6& key, uint32_t sig) const {
    int32_t pos = rte_hash_lookup_with_hash(hash_, &key, sig);
    return pos < 0 ? -1 : pos;
  }
  const FlowRecord6& Record(int32_t pos) const { return records_[pos]; }
  bool IsExpired(int32_t pos, uint32_t now_ms) const {
    return now_ms - records_[pos].last_seen_ms > TimeoutMs(records_[pos].flags);
  }
  bool IsClosing(int32_t pos) const { return records_[pos].flags & kFlowClosing; }
  void Touch(int32_t pos, uint32_t now_ms, bool closing) {
    records_[pos].last_seen_ms = now_ms;
    if (closing) records_[pos].flags |= kFlowClosing;
  }
  void Reassign(int32_t pos, uint32_t backend_id, uint16_t service_id, bool closing, uint32_t now_ms) {
    FlowRecord6& r = records_[pos];
    r.backend_id = backend_id;
    r.service_id = service_id;
    r.last_seen_ms = now_ms;
    r.flags = static_cast<uint8_t>(kFlowInUse | (r.flags & kFlowUdp) | (closing ? kFlowClosing : 0));
    r.opened_ms = now_ms;
  }
  // False when the table is full: the flow is then forwarded unremembered.
  bool Insert(const FlowKey6& key, uint32_t sig, uint32_t backend_id, uint16_t service_id, bool closing,
              uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services, BackendCounters* backends);
  // Removes expired entries among up to `budget` positions, resuming where the
  // last call stopped; called once per loop iteration, never per packet.
  void Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services,
             BackendCounters* backends);

  uint32_t capacity() const { return slots_; }  // most flows held at once
  uint32_t positions() const { return slots_; }

  // Calls `visit(key, record, idle_ms)` with each live, unexpired flow of
  // positions [first, end) and returns `end`, at most positions(). For
  // listings, never per packet.
  template <typename Visit>
  uint32_t VisitPositions(uint32_t first, uint32_t end, uint32_t now_ms, Visit&& visit) const {
    if (end > slots_) end = slots_;
    for (uint32_t pos = first; pos < end && active_ > 0; pos++) {
      const FlowRecord6& r = records_[pos];
      if (!(r.flags & kFlowInUse) || IsExpired(static_cast<int32_t>(pos), now_ms)) continue;
      void* key;
      if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &key) != 0) continue;
      visit(*static_cast<const FlowKey6*>(key), r, now_ms - r.last_seen_ms);
    }
    return end;
  }

 private:
  static constexpr uint32_t kHashSeed = 0x5d1ce6;
  uint32_t TimeoutMs(uint8_t flags) const {
    if (flags & kFlowUdp) return timeouts_.udp_ms;
    return (flags & kFlowClosing) ? timeouts_.tcp_closing_ms : timeouts_.tcp_ms;
  }

  struct rte_hash* hash_ = nullptr;
  FlowRecord6* records_ = nullptr;  // by rte_hash position
  uint32_t sweep_cursor_ = 0;
  uint32_t slots_ = 0;
  uint32_t active_ = 0;
  FlowTimeouts timeouts_{};
};

}  // namespace sluice
