#include "tables/fragment_table.h"

#include <new>

namespace sluice {
namespace {

uint32_t EntriesOf(const FragmentLimits& limits) {
  uint32_t n = FragmentTable::kWays;
  while (n < limits.entries && n < (1u << 30)) n <<= 1;
  return n;
}

size_t Aligned(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

}  // namespace

size_t FragmentTable::MemoryBytes(const FragmentLimits& limits) {
  uint32_t n = EntriesOf(limits);
  // As many held slots as entries: a waiting datagram holds one or two
  // fragments on average, and the held bytes bound the rest.
  return Aligned(sizeof(FragmentTable)) + size_t{n} * sizeof(FragmentEntry) + Aligned(size_t{n} * sizeof(HeldSlot));
}

FragmentTable* FragmentTable::Place(void* memory, const FragmentLimits& limits) {
  auto* table = new (memory) FragmentTable();
  uint8_t* p = static_cast<uint8_t*>(memory) + Aligned(sizeof(FragmentTable));
  uint32_t n = EntriesOf(limits);
  table->entries_ = reinterpret_cast<FragmentEntry*>(p);
  for (uint32_t i = 0; i < n; i++) new (&table->entries_[i]) FragmentEntry{};
  table->held_ = reinterpret_cast<HeldSlot*>(p + size_t{n} * sizeof(FragmentEntry));
  for (uint32_t i = 0; i < n; i++) {
    table->held_[i] = HeldSlot{nullptr, i + 1 < n ? static_cast<int32_t>(i + 1) : -1, 0, 0};
  }
  table->free_held_ = 0;
  table->limits_ = limits;
  table->capacity_ = n;
  table->bucket_mask_ = n / kWays - 1;
  table->held_capacity_ = n;
  return table;
}

int32_t FragmentTable::Find(const FragmentKey& key, uint32_t hash, uint32_t now_ms) const {
  const FragmentEntry* bucket = &entries_[(hash & bucket_mask_) * kWays];
  for (uint32_t i = 0; i < kWays; i++) {
    const FragmentEntry& e = bucket[i];
    if (e.state == FragmentState::kFree || Expired(e, now_ms)) continue;
    if (std::memcmp(&e.key, &key, sizeof(key)) == 0) return static_cast<int32_t>(&e - entries_);
  }
  return -1;
}

bool FragmentTable::Hold(int32_t index, void* packet, uint32_t bytes, uint32_t offset) {
  FragmentEntry& e = entries_[index];
  if (free_held_ < 0 || e.held >= kMaxHeldPerDatagram || held_bytes_ + bytes > limits_.held_bytes) return false;
  int32_t i = free_held_;
  HeldSlot& s = held_[i];
  free_held_ = s.next;
  s = HeldSlot{packet, -1, bytes, offset};
  if (e.held_tail >= 0) {
    held_[e.held_tail].next = i;
  } else {
    e.held_head = i;
  }
  e.held_tail = i;
  e.held++;
  held_packets_++;
  held_bytes_ += bytes;
  return true;
}

}  // namespace sluice
