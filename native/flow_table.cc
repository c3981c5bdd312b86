#include "flow_table.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <cstring>

namespace sluice {

FlowTable* FlowTable::Create(const char* name, uint32_t capacity, int socket,
                             const FlowTimeouts& timeouts) {
  struct rte_hash_parameters params = {};
  params.name = name;
  uint32_t positions = capacity + capacity / 100 * kSlackPercent;
  params.entries = positions;
  params.key_len = sizeof(FlowKey4);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = kHashSeed;
  params.socket_id = socket;
  // No concurrency flags: the owning lcore is the only reader and writer, and
  // the lock-free variants cost a memory barrier per lookup.
  params.extra_flag = 0;

  auto* table = static_cast<FlowTable*>(
      rte_zmalloc_socket(name, sizeof(FlowTable), RTE_CACHE_LINE_SIZE, socket));
  if (table == nullptr) return nullptr;
  new (table) FlowTable();
  table->hash_ = rte_hash_create(&params);
  table->entries_ = static_cast<FlowEntry*>(
      rte_zmalloc_socket(name, sizeof(FlowEntry) * static_cast<size_t>(positions),
                         RTE_CACHE_LINE_SIZE, socket));
  if (table->hash_ == nullptr || table->entries_ == nullptr) {
    int saved = rte_errno != 0 ? rte_errno : ENOMEM;
    Destroy(table);
    rte_errno = saved;
    return nullptr;
  }
  table->capacity_ = capacity;
  table->positions_ = positions;
  table->timeouts_ = timeouts;
  return table;
}

void FlowTable::Destroy(FlowTable* table) {
  if (table == nullptr) return;
  rte_hash_free(table->hash_);
  rte_free(table->entries_);
  table->~FlowTable();
  rte_free(table);
}

void FlowTable::Remove(int32_t position, ServiceCounters* services, LcoreCounters& counters) {
  void* stored_key = nullptr;
  if (rte_hash_get_key_with_position(hash_, position, &stored_key) == 0) {
    FlowKey4 key;
    std::memcpy(&key, stored_key, sizeof(key));
    rte_hash_del_key_with_hash(hash_, &key, Hash(key));
  }
  FlowEntry& entry = entries_[position];
  if (entry.flags & kFlowInUse) {
    counters.flow_active--;
    services[entry.service_id].active_flows--;
  }
  entry.flags = 0;
}

bool FlowTable::EvictOne(uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services) {
  // Sampled LRU: look at a few consecutive positions past a moving cursor and
  // take the first expired entry, else the one idle the longest. Exact LRU would
  // need a list update on every hit, a cache miss per packet.
  int32_t victim = -1;
  uint32_t victim_idle = 0;
  uint32_t seen = 0;
  for (uint32_t step = 0; step < positions_ && seen < kEvictionSamples; step++) {
    uint32_t pos = evict_cursor_;
    evict_cursor_ = (evict_cursor_ + 1 == positions_) ? 0 : evict_cursor_ + 1;
    const FlowEntry& entry = entries_[pos];
    if (!(entry.flags & kFlowInUse)) continue;
    seen++;
    if (IsExpired(entry, now_ms)) {
      Remove(static_cast<int32_t>(pos), services, counters);
      counters.flow_expirations++;
      return true;
    }
    uint32_t idle = now_ms - entry.last_seen_ms;
    if (victim < 0 || idle > victim_idle) {
      victim = static_cast<int32_t>(pos);
      victim_idle = idle;
    }
  }
  if (victim < 0) return false;
  Remove(victim, services, counters);
  counters.flow_evictions++;
  return true;
}

int32_t FlowTable::Insert(const FlowKey4& key, hash_sig_t sig, uint32_t now_ms,
                          LcoreCounters& counters, ServiceCounters* services) {
  // A key already present (added earlier in this burst) needs no room.
  if (counters.flow_active >= capacity_ && rte_hash_lookup_with_hash(hash_, &key, sig) < 0) {
    EvictOne(now_ms, counters, services);
  }
  int32_t pos = rte_hash_add_key_with_hash(hash_, &key, sig);
  if (pos == -ENOSPC && EvictOne(now_ms, counters, services)) {
    pos = rte_hash_add_key_with_hash(hash_, &key, sig);
  }
  if (pos < 0) {
    counters.flow_insert_failures++;
    return -1;
  }
  return pos;
}

void FlowTable::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters,
                      ServiceCounters* services) {
  for (uint32_t i = 0; i < budget; i++) {
    uint32_t pos = sweep_cursor_;
    sweep_cursor_ = (sweep_cursor_ + 1 == positions_) ? 0 : sweep_cursor_ + 1;
    const FlowEntry& entry = entries_[pos];
    if ((entry.flags & kFlowInUse) && IsExpired(entry, now_ms)) {
      Remove(static_cast<int32_t>(pos), services, counters);
      counters.flow_expirations++;
    }
  }
}

}  // namespace sluice
