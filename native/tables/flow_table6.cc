#include "tables/flow_table6.h"

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring_elem.h>

#include <new>

namespace sluice {

FlowTable6* FlowTable6::Create(const char* name, uint32_t capacity, int socket, const FlowTimeouts& timeouts) {
  struct rte_hash_parameters params {};
  params.name = name;
  params.entries = capacity;
  params.key_len = sizeof(FlowKey6);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = kHashSeed;
  params.socket_id = socket;
  struct rte_hash* hash = rte_hash_create(&params);
  if (hash == nullptr) return nullptr;
  // rte_hash can hold a few more keys than asked for; positions index the records.
  uint32_t slots = static_cast<uint32_t>(rte_hash_max_key_id(hash)) + 1;
  void* records = rte_zmalloc_socket(name, sizeof(FlowRecord6) * slots, RTE_CACHE_LINE_SIZE, socket);
  void* self = rte_zmalloc_socket(name, sizeof(FlowTable6), RTE_CACHE_LINE_SIZE, socket);
  if (records == nullptr || self == nullptr) {
    rte_free(records);
    rte_free(self);
    rte_hash_free(hash);
    rte_errno = ENOMEM;
    return nullptr;
  }
  auto* table = new (self) FlowTable6();
  table->hash_ = hash;
  table->records_ = static_cast<FlowRecord6*>(records);
  table->timeouts_ = timeouts;
  table->slots_ = slots;
  return table;
}

size_t FlowTable6::MemoryBytes(uint32_t capacity) {
  // As rte_hash_create (DPDK 22.11) sizes them without extra flags: entries + 1
  // key slots (slot 0 a dummy) of the key rounded up to 16 bytes after an
  // 8-byte pointer; a bucket of 8 per entry rounded up to a power of two; a ring
  // of 4-byte free-slot indices, a power of two above the key slots.
  constexpr size_t kKeySlotBytes = (8 + sizeof(FlowKey6) + 15) / 16 * 16;
  constexpr size_t kBucketBytes = 64;
  const size_t key_slots = size_t{capacity} + 1;
  const size_t buckets = rte_align32pow2(capacity) / 8;
  const auto ring = static_cast<size_t>(rte_ring_get_memsize_elem(sizeof(uint32_t), rte_align32pow2(capacity + 1)));
  return kKeySlotBytes * key_slots + kBucketBytes * buckets + ring + sizeof(FlowRecord6) * key_slots +
         sizeof(FlowTable6);
}

void FlowTable6::Destroy(FlowTable6* table) {
  if (table == nullptr) return;
  rte_hash_free(table->hash_);
  rte_free(table->records_);
  table->~FlowTable6();
  rte_free(table);
}

bool FlowTable6::Insert(const FlowKey6& key, uint32_t sig, uint32_t backend_id, uint16_t service_id, bool closing,
                        uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services,
                        BackendCounters* backends) {
  int32_t pos = rte_hash_add_key_with_hash(hash_, &key, sig);
  if (pos < 0) return false;
  records_[pos] = FlowRecord6{backend_id, now_ms, service_id,
                              static_cast<uint8_t>(kFlowInUse | (key.proto == IPPROTO_UDP ? kFlowUdp : 0) |
                                                   (closing ? kFlowClosing : 0)),
                              now_ms};
  active_++;
  counters.flow_inserts++;
  counters.flow_active++;
  services[service_id].active_flows++;
  backends[backend_id].active_flows++;
  return true;
}

void FlowTable6::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services,
                       BackendCounters* backends) {
  // rte_hash_iterate would skip empty slots without bound; the record array is
  // walked instead, `budget` positions a call.
  if (active_ == 0) return;
  for (uint32_t i = 0; i < budget; i++) {
    uint32_t pos = sweep_cursor_;
    sweep_cursor_ = sweep_cursor_ + 1 == slots_ ? 0 : sweep_cursor_ + 1;
    FlowRecord6& r = records_[pos];
    if (!(r.flags & kFlowInUse) || !IsExpired(static_cast<int32_t>(pos), now_ms)) continue;
    void* key;
    if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &key) != 0) continue;
    services[r.service_id].active_flows--;
    backends[r.backend_id].active_flows--;
    counters.flow_active--;
    counters.flow_expirations++;
    r.flags = 0;
    active_--;
    rte_hash_del_key(hash_, key);
  }
}

}  // namespace sluice
