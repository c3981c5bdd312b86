// Flow tables in plain memory, and keys for them: what the flow tables' tests
// and the connection listing's share, for both families.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "tables/flow_table.h"
#include "tables/flow_table6.h"

namespace flow_support {

using sluice::BackendCounters;
using sluice::FlowHash;
using sluice::FlowKey4;
using sluice::FlowKey6;
using sluice::FlowSlot;
using sluice::FlowTable;
using sluice::FlowTable6;
using sluice::FlowTimeouts;
using sluice::LcoreCounters;
using sluice::ServiceCounters;

inline constexpr FlowTimeouts kTimeouts{300000, 10000, 30000};

// A table in plain memory, as the unit tests and fuzzers use it.
template <typename Table>
struct TestTableOf {
  using Key = typename Table::Key;
  explicit TestTableOf(uint32_t capacity, const FlowTimeouts& timeouts = kTimeouts)
      : memory(std::aligned_alloc(64, (Table::MemoryBytes(capacity) + 63) / 64 * 64), std::free) {
    std::memset(memory.get(), 0, Table::MemoryBytes(capacity));
    table = Table::Place(memory.get(), capacity, timeouts);
  }
  std::unique_ptr<void, decltype(&std::free)> memory;
  Table* table;
  LcoreCounters counters{};
  ServiceCounters services[4]{};
  BackendCounters backends[8]{};

  // Returns the slot's verdict, or -1 when it was not stored.
  int Add(const Key& key, uint32_t backend, uint32_t now_ms, uint16_t service = 0) {
    FlowHash h = table->HashOf(key);
    FlowSlot slot = table->Choose(h, now_ms, counters.flow_active);
    if (slot.position < 0) return -1;
    table->Occupy(slot, key, backend, service, false, now_ms, counters, services, backends);
    return slot.displaces;
  }
  int32_t Find(const Key& key) const { return table->Lookup(key, table->HashOf(key)); }
  // The first time at which a flow last seen at `seen_ms` is expired by a
  // timeout of `timeout_ms`: idle more than the timeout rounded up to whole
  // units of the coarse clock, in whole units (FlowTableOf::SetTimeouts).
  uint32_t ExpiresAt(uint32_t seen_ms, uint32_t timeout_ms) const {
    uint32_t unit = table->unit_ms();
    return (seen_ms / unit + (timeout_ms + unit - 1) / unit + 1) * unit;
  }
};
using TestTable = TestTableOf<FlowTable>;
using TestTable6 = TestTableOf<FlowTable6>;

// A client's address from a random word: IPv4 the word, IPv6 2001:db8::/32 with
// the word in the last 32 bits and more random bits in between.
inline void SetClient(FlowKey4& k, std::mt19937& rng) { k.src_addr = rng(); }
inline void SetClient(FlowKey6& k, std::mt19937& rng) {
  const uint8_t prefix[4] = {0x20, 0x01, 0x0d, 0xb8};
  std::memcpy(k.src_addr, prefix, 4);
  for (uint32_t i = 4; i < 16; i += 4) {
    uint32_t r = rng();
    std::memcpy(k.src_addr + i, &r, 4);
  }
}
// The VIP: 10.99.0.100, fd00:99::100.
inline void SetVip(FlowKey4& k) { k.dst_addr = 0x6400630a; }
inline void SetVip(FlowKey6& k) {
  const uint8_t vip[16] = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
  std::memcpy(k.dst_addr, vip, 16);
}

// Clients' flows to the VIP's port 80, from random addresses and ports.
template <typename Key = FlowKey4>
std::vector<Key> Keys(uint32_t n, uint32_t seed, uint8_t proto = IPPROTO_TCP) {
  std::mt19937 rng(seed);
  std::vector<Key> keys(n);
  for (Key& k : keys) {
    k = {};
    SetClient(k, rng);
    SetVip(k);
    k.src_port = static_cast<uint16_t>(rng());
    k.dst_port = 0x5000;
    k.proto = proto;
  }
  return keys;
}

// The key's addresses as bytes, source then destination: 8 for IPv4, 32 for IPv6.
template <typename Key>
uint8_t* AddressBytes(Key& k) { return reinterpret_cast<uint8_t*>(&k.src_addr); }
template <typename Key>
constexpr size_t kAddressBytes = offsetof(Key, src_port);

}  // namespace flow_support
