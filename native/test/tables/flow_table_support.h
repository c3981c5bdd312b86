// A flow table in plain memory, and keys for it: what the flow table's tests
// and the connection listing's share.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "tables/flow_table.h"

namespace flow_support {

using sluice::BackendCounters;
using sluice::FlowHash;
using sluice::FlowKey4;
using sluice::FlowSlot;
using sluice::FlowTable;
using sluice::FlowTimeouts;
using sluice::LcoreCounters;
using sluice::ServiceCounters;

inline constexpr FlowTimeouts kTimeouts{300000, 10000, 30000};

// A table in plain memory, as the unit tests and fuzzers use it.
struct TestTable {
  explicit TestTable(uint32_t capacity, const FlowTimeouts& timeouts = kTimeouts)
      : memory(std::aligned_alloc(64, (FlowTable::MemoryBytes(capacity) + 63) / 64 * 64), std::free) {
    std::memset(memory.get(), 0, FlowTable::MemoryBytes(capacity));
    table = FlowTable::Place(memory.get(), capacity, timeouts);
  }
  std::unique_ptr<void, decltype(&std::free)> memory;
  FlowTable* table;
  LcoreCounters counters{};
  ServiceCounters services[4]{};
  BackendCounters backends[8]{};

  // Returns the slot's verdict, or -1 when it was not stored.
  int Add(const FlowKey4& key, uint32_t backend, uint32_t now_ms, uint16_t service = 0) {
    FlowHash h = table->HashOf(key);
    FlowSlot slot = table->Choose(h, now_ms, counters.flow_active);
    if (slot.position < 0) return -1;
    table->Occupy(slot, key, backend, service, false, now_ms, counters, services, backends);
    return slot.displaces;
  }
  int32_t Find(const FlowKey4& key) const { return table->Lookup(key, table->HashOf(key)); }
  // The first time at which a flow last seen at `seen_ms` is expired by a
  // timeout of `timeout_ms`: idle more than the timeout rounded up to whole
  // units of the coarse clock, in whole units (FlowTable::SetTimeouts).
  uint32_t ExpiresAt(uint32_t seen_ms, uint32_t timeout_ms) const {
    uint32_t unit = table->unit_ms();
    return (seen_ms / unit + (timeout_ms + unit - 1) / unit + 1) * unit;
  }
};

inline std::vector<FlowKey4> Keys(uint32_t n, uint32_t seed, uint8_t proto = IPPROTO_TCP) {
  std::mt19937 rng(seed);
  std::vector<FlowKey4> keys(n);
  for (FlowKey4& k : keys) {
    k = {};
    k.src_addr = rng();
    k.dst_addr = 0x6400630a;  // 10.99.0.100
    k.src_port = static_cast<uint16_t>(rng());
    k.dst_port = 0x5000;
    k.proto = proto;
  }
  return keys;
}

}  // namespace flow_support
