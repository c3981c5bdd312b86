#include "modes/nat/nat_sessions.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace sluice {
namespace {

// What differs between the families: the client key of a session, and a pool address.
FlowKey4 KeyOf(const NatSession& s) {
  FlowKeyWords words = MakeFlowKey4(s.client_addr, s.vip, s.client_port, s.vip_port, s.proto);
  FlowKey4 key;
  std::memcpy(&key, &words, sizeof(key));
  return key;
}

FlowKey6 KeyOf(const NatSession6& s) {
  FlowKey6 key{};
  std::memcpy(key.src_addr, s.client_addr.bytes, 16);
  std::memcpy(key.dst_addr, s.vip.bytes, 16);
  key.src_port = s.client_port;
  key.dst_port = s.vip_port;
  key.proto = s.proto;
  return key;
}

void SetClient(NatSession& s, const FlowKey4& key) {
  s.client_addr = key.src_addr;
  s.vip = key.dst_addr;
}

void SetClient(NatSession6& s, const FlowKey6& key) {
  std::memcpy(s.client_addr.bytes, key.src_addr, 16);
  std::memcpy(s.vip.bytes, key.dst_addr, 16);
}

void SetPoolAddress(NatSession& s, const NatPoolLayout&, const NatPair& pair) { s.pool_addr = pair.address; }

void SetPoolAddress(NatSession6& s, const NatPoolLayout& layout, const NatPair& pair) {
  std::memcpy(s.pool_addr.bytes, layout.Address6(pair.port_index, pair.address_index), 16);
}

}  // namespace

template <typename F>

NatSessionTable<F>* NatSessionTable<F>::Create(const char* name, const NatPoolLayout& layout, uint32_t owner,
                                               uint32_t max_sessions, int socket, const FlowTimeouts& timeouts) {
  auto* t = static_cast<NatSessionTable*>(
      rte_zmalloc_socket(name, sizeof(NatSessionTable), RTE_CACHE_LINE_SIZE, socket));
  if (t == nullptr) return nullptr;
  new (t) NatSessionTable();
  t->layout_ = &layout;
  t->owner_ = owner;
  t->timeouts_ = timeouts;
  uint32_t total = 0;
  for (uint16_t p = 0; p < layout.num_ports() && p < kMaxPorts; p++) {
    t->base_[p] = total;
    t->per_port_[p] = std::min(layout.PairsOf(owner, p, F::kFamily), max_sessions);
    total += t->per_port_[p];
  }
  t->capacity_ = total;
  uint32_t entries = std::max<uint32_t>(total, 1);
  t->sessions_ = static_cast<Session*>(
      rte_zmalloc_socket("sluice_nat_sessions", sizeof(Session) * entries, RTE_CACHE_LINE_SIZE, socket));
  t->free_memory_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("sluice_nat_free", sizeof(uint32_t) * entries, RTE_CACHE_LINE_SIZE, socket));
  t->index_memory_ = rte_zmalloc_socket("sluice_nat_index", NatSessionIndex::MemoryBytes(total), RTE_CACHE_LINE_SIZE,
                                        socket);
  t->by_client_ = NatSessionIndex(t->index_memory_, total);
  if (t->sessions_ == nullptr || t->free_memory_ == nullptr || t->index_memory_ == nullptr) {
    Destroy(t);
    return nullptr;
  }
  for (uint16_t p = 0; p < layout.num_ports() && p < kMaxPorts; p++) {
    FreeList& f = t->free_[p];
    f.slots = t->free_memory_ + t->base_[p];
    f.size = t->per_port_[p];
    f.count = f.size;
    for (uint32_t i = 0; i < f.size; i++) {
      uint32_t index = t->base_[p] + i;
      f.slots[i] = index;
      NatPair pair = layout.Pair(owner, p, i, F::kFamily);
      SetPoolAddress(t->sessions_[index], layout, pair);
      t->sessions_[index].pool_port = pair.port;
    }
  }
  return t;
}

template <typename F>
uint32_t NatSessionTable<F>::CapacityOf(const NatPoolLayout& layout, uint32_t owner, uint32_t max_sessions) {
  uint64_t total = 0;
  for (uint16_t p = 0; p < layout.num_ports() && p < kMaxPorts; p++) {
    total += std::min(layout.PairsOf(owner, p, F::kFamily), max_sessions);
  }
  return static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
}

template <typename F>
void NatSessionTable<F>::Destroy(NatSessionTable* t) {
  if (t == nullptr) return;
  rte_free(t->index_memory_);
  rte_free(t->sessions_);
  rte_free(t->free_memory_);
  rte_free(t);
}

template <typename F>
size_t NatSessionTable<F>::MemoryBytes(uint32_t capacity) {
  return sizeof(NatSessionTable) + (sizeof(Session) + sizeof(uint32_t)) * std::max<uint32_t>(capacity, 1) +
         NatSessionIndex::MemoryBytes(capacity);
}

template <typename F>
int32_t NatSessionTable<F>::Open(const Key& key, const NatIndexHash& h, uint16_t egress_port,
                                 LcoreCounters& counters) {
  if (egress_port >= kMaxPorts) return -1;
  FreeList& f = free_[egress_port];
  if (f.count == 0) return -1;
  uint32_t index = f.slots[f.head];
  // Practically never fails (tables/nat_session_index.h); if it does, the pool port stays free.
  if (!by_client_.Insert(h, index, [&](uint32_t other) { return HashOf(KeyOf(sessions_[other])); })) return -1;
  f.head = f.head + 1 == f.size ? 0 : f.head + 1;
  f.count--;
  Session& s = sessions_[index];
  SetClient(s, key);
  s.client_port = key.src_port;
  s.vip_port = key.dst_port;
  s.proto = key.proto;
  counters.nat_sessions_created++;
  counters.nat_sessions_active++;
  return static_cast<int32_t>(index);
}

template <typename F>
void NatSessionTable<F>::Close(int32_t index, LcoreCounters& counters) {
  Session& s = sessions_[index];
  by_client_.Erase(HashOf(KeyOf(s)), static_cast<uint32_t>(index));
  s.state = NatState::kFree;
  uint16_t port = 0;
  while (static_cast<uint32_t>(index) >= base_[port] + per_port_[port]) port++;
  FreeList& f = free_[port];
  uint32_t tail = f.head + f.count;
  if (tail >= f.size) tail -= f.size;
  f.slots[tail] = static_cast<uint32_t>(index);
  f.count++;
  counters.nat_sessions_active--;
}

template <typename F>
void NatSessionTable<F>::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters) {
  if (capacity_ == 0) return;
  for (uint32_t i = 0; i < budget; i++) {
    uint32_t index = sweep_cursor_;
    sweep_cursor_ = sweep_cursor_ + 1 == capacity_ ? 0 : sweep_cursor_ + 1;
    Session& s = sessions_[index];
    if (s.state != NatState::kFree && IsExpired(s, now_ms)) {
      Close(static_cast<int32_t>(index), counters);
      counters.nat_sessions_expired++;
    }
  }
}

template class NatSessionTable<Nat4>;
template class NatSessionTable<Nat6>;

}  // namespace sluice
