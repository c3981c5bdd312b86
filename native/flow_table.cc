#include "flow_table.h"

#include <new>

namespace sluice {
namespace {

uint32_t BucketsFor(uint32_t capacity) {
  uint64_t slots = static_cast<uint64_t>(capacity) * (100 + FlowTable::kSlackPercent) / 100;
  uint64_t buckets = (slots + kFlowWays - 1) / kFlowWays;
  return static_cast<uint32_t>(buckets < 2 ? 2 : buckets);  // two choices need two buckets
}

size_t HeaderBytes() { return RTE_ALIGN_CEIL(sizeof(FlowTable), RTE_CACHE_LINE_SIZE); }

}  // namespace

size_t FlowTable::MemoryBytes(uint32_t capacity) {
  size_t buckets = BucketsFor(capacity);
  return HeaderBytes() + buckets * sizeof(FlowBucket);
}

FlowTable* FlowTable::Place(void* memory, uint32_t capacity, const FlowTimeouts& timeouts) {
  auto* table = new (memory) FlowTable();
  auto* base = static_cast<uint8_t*>(memory) + HeaderBytes();
  table->num_buckets_ = BucketsFor(capacity);
  table->buckets_ = reinterpret_cast<FlowBucket*>(base);
  table->capacity_ = capacity;
  table->timeouts_ = timeouts;
  return table;
}

FlowSlot FlowTable::Choose(const FlowHash& h, uint32_t now_ms, uint64_t active) const {
  const uint32_t buckets[2] = {h.primary, h.secondary};
  int32_t free_pos[2] = {-1, -1};
  uint32_t load[2] = {0, 0};
  int32_t expired = -1, oldest = -1;
  uint32_t oldest_idle = 0;
  for (uint32_t c = 0; c < 2; c++) {
    const FlowBucket& b = buckets_[buckets[c]];
    for (uint32_t way = 0; way < kFlowWays; way++) {
      int32_t pos = static_cast<int32_t>(buckets[c] * kFlowWays + way);
      if (!(b.flags[way] & kFlowInUse)) {
        if (free_pos[c] < 0) free_pos[c] = pos;
        continue;
      }
      load[c]++;
      uint32_t idle = now_ms - b.last_seen_ms[way];
      if (idle > TimeoutMs(b.flags[way])) {
        if (expired < 0) expired = pos;
      } else if (oldest < 0 || idle > oldest_idle) {
        oldest = pos;
        oldest_idle = idle;
      }
    }
  }
  if (active < capacity_) {
    // The primary while it has room to spare, else the less loaded bucket, as
    // two-choice hashing wants; a full one has no free slot.
    if (free_pos[0] >= 0 && (load[0] < kPrimaryPreferred || free_pos[1] < 0 || load[0] <= load[1])) {
      return {free_pos[0], FlowSlot::kNothing};
    }
    if (free_pos[1] >= 0) return {free_pos[1], FlowSlot::kNothing};
  }
  if (expired >= 0) return {expired, FlowSlot::kExpired};
  // An exact LRU would need a list update on every hit, a cache miss per packet;
  // the least recently seen of the 12 candidates is already in cache.
  if (oldest >= 0) return {oldest, FlowSlot::kLive};
  return {-1, FlowSlot::kNothing};
}

void FlowTable::Remove(int32_t pos, LcoreCounters& counters, ServiceCounters* services) {
  FlowBucket& b = buckets_[pos / kFlowWays];
  uint32_t way = pos % kFlowWays;
  services[b.service_id[way]].active_flows--;
  counters.flow_active--;
  b.flags[way] = 0;
}

void FlowTable::Occupy(const FlowSlot& slot, const FlowKey4& key, uint32_t backend_id, uint16_t service_id,
                       bool closing, uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services) {
  int32_t pos = slot.position;
  if (slot.displaces == FlowSlot::kExpired) {
    Remove(pos, counters, services);
    counters.flow_expirations++;
  } else if (slot.displaces == FlowSlot::kLive) {
    Remove(pos, counters, services);
    counters.flow_evictions++;
  }
  FlowBucket& b = buckets_[pos / kFlowWays];
  uint32_t way = pos % kFlowWays;
  FlowKeyWords words = Words(key);
  b.addrs[way] = words.lo;
  b.ports[way] = static_cast<uint32_t>(words.hi);
  b.backend_id[way] = static_cast<uint16_t>(backend_id);
  b.service_id[way] = service_id;
  b.last_seen_ms[way] = now_ms;
  b.flags[way] = static_cast<uint8_t>(kFlowInUse | ProtocolFlag(words) | (closing ? kFlowClosing : 0));
  counters.flow_active++;
  counters.flow_inserts++;
  services[service_id].active_flows++;
}

void FlowTable::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services) {
  uint32_t buckets = budget / kFlowWays > 0 ? budget / kFlowWays : 1;
  for (uint32_t i = 0; i < buckets; i++) {
    uint32_t bucket = sweep_cursor_;
    sweep_cursor_ = bucket + 1 == num_buckets_ ? 0 : bucket + 1;
    const FlowBucket& b = buckets_[bucket];
    for (uint32_t way = 0; way < kFlowWays; way++) {
      if ((b.flags[way] & kFlowInUse) && now_ms - b.last_seen_ms[way] > TimeoutMs(b.flags[way])) {
        Remove(static_cast<int32_t>(bucket * kFlowWays + way), counters, services);
        counters.flow_expirations++;
      }
    }
  }
}

}  // namespace sluice
