#include "tables/flow_table.h"

#include <new>

namespace sluice {
namespace {

uint32_t BucketsFor(uint32_t capacity) {
  uint64_t slots = static_cast<uint64_t>(capacity) * (100 + FlowTable::kSlackPercent) / 100;
  uint64_t buckets = (slots + kFlowWays - 1) / kFlowWays;
  return static_cast<uint32_t>(buckets < 2 ? 2 : buckets);  // two choices need two buckets
}

size_t HeaderBytes() { return RTE_ALIGN_CEIL(sizeof(FlowTable), RTE_CACHE_LINE_SIZE); }

size_t OpenedBytes(uint32_t buckets) {
  return RTE_ALIGN_CEIL(size_t{buckets} * kFlowWays * sizeof(uint32_t), RTE_CACHE_LINE_SIZE);
}

}  // namespace

size_t FlowTable::MemoryBytes(uint32_t capacity) {
  size_t buckets = BucketsFor(capacity);
  return HeaderBytes() + buckets * sizeof(FlowBucket) + OpenedBytes(static_cast<uint32_t>(buckets));
}

FlowTable* FlowTable::Place(void* memory, uint32_t capacity, const FlowTimeouts& timeouts) {
  auto* table = new (memory) FlowTable();
  auto* base = static_cast<uint8_t*>(memory) + HeaderBytes();
  table->num_buckets_ = BucketsFor(capacity);
  table->buckets_ = reinterpret_cast<FlowBucket*>(base);
  table->opened_ms_ = reinterpret_cast<uint32_t*>(base + size_t{table->num_buckets_} * sizeof(FlowBucket));
  table->capacity_ = capacity;
  table->SetTimeouts(timeouts);
  return table;
}

void FlowTable::SetTimeouts(const FlowTimeouts& timeouts) {
  timeouts_ = timeouts;
  for (uint32_t flags = 0; flags <= kTimeoutFlags; flags++) {
    timeout_by_flags_[flags] = (flags & kFlowUdp)       ? timeouts.udp_ms
                               : (flags & kFlowClosing) ? timeouts.tcp_closing_ms
                                                        : timeouts.tcp_ms;
  }
}

// One bucket's ways as bit masks, and the idle time of each live, unexpired
// way (0 for the others): 6 ways at once in SSE4.1 and without a branch, where
// a loop has three data-dependent branches per way and costs new flows
// measurably more (docs/performance-notes.md, "The flow table").
struct FlowTable::WayScan {
  uint32_t used;
  uint32_t expired;
  __m128i live_idle[2];  // ways 0-3, 4-5
};

inline FlowTable::WayScan FlowTable::Scan(uint32_t bucket, uint32_t now_ms) const {
  const FlowBucket& b = buckets_[bucket];
  const __m128i flags = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.flags));
  const __m128i last_seen[2] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.last_seen_ms)),
                                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.last_seen_ms + 4))};
  const __m128i sign = _mm_set1_epi32(INT32_MIN);  // unsigned compare as signed
  WayScan scan{0, 0, {}};
  for (uint32_t half = 0; half < 2; half++) {
    __m128i f = _mm_cvtepu8_epi32(half == 0 ? flags : _mm_srli_si128(flags, 4));
    __m128i used = _mm_cmpeq_epi32(_mm_and_si128(f, _mm_set1_epi32(kFlowInUse)), _mm_set1_epi32(kFlowInUse));
    __m128i udp = _mm_cmpeq_epi32(_mm_and_si128(f, _mm_set1_epi32(kFlowUdp)), _mm_set1_epi32(kFlowUdp));
    __m128i closing = _mm_cmpeq_epi32(_mm_and_si128(f, _mm_set1_epi32(kFlowClosing)), _mm_set1_epi32(kFlowClosing));
    __m128i timeout = _mm_blendv_epi8(_mm_set1_epi32(static_cast<int>(timeouts_.tcp_ms)),
                                      _mm_set1_epi32(static_cast<int>(timeouts_.tcp_closing_ms)), closing);
    timeout = _mm_blendv_epi8(timeout, _mm_set1_epi32(static_cast<int>(timeouts_.udp_ms)), udp);
    __m128i idle = _mm_sub_epi32(_mm_set1_epi32(static_cast<int>(now_ms)), last_seen[half]);
    __m128i expired = _mm_and_si128(used, _mm_cmpgt_epi32(_mm_xor_si128(idle, sign), _mm_xor_si128(timeout, sign)));
    scan.live_idle[half] = _mm_and_si128(idle, _mm_andnot_si128(expired, used));
    uint32_t shift = half * 4;
    scan.used |= static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(used))) << shift;
    scan.expired |= static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(expired))) << shift;
  }
  constexpr uint32_t kWays = (1u << kFlowWays) - 1;
  scan.used &= kWays;
  scan.expired &= kWays;
  return scan;
}

FlowSlot FlowTable::Choose(const FlowHash& h, uint32_t now_ms, uint64_t active) const {
  constexpr uint32_t kWays = (1u << kFlowWays) - 1;
  const WayScan primary = Scan(h.primary, now_ms);
  const WayScan secondary = Scan(h.secondary, now_ms);
  auto position = [&](uint32_t way_bits) {  // bits 0-7 the primary's ways, 8-15 the secondary's
    uint32_t bit = static_cast<uint32_t>(__builtin_ctz(way_bits));
    uint32_t bucket = bit < 8 ? h.primary : h.secondary;
    return PositionOf(bucket, bit % 8);
  };
  if (active < capacity_) {
    // The primary while it has room to spare, else the less loaded bucket, as
    // two-choice hashing wants; a full one has no free slot.
    uint32_t free0 = ~primary.used & kWays, free1 = ~secondary.used & kWays;
    uint32_t load0 = static_cast<uint32_t>(__builtin_popcount(primary.used));
    uint32_t load1 = static_cast<uint32_t>(__builtin_popcount(secondary.used));
    if (free0 != 0 && (load0 < kPrimaryPreferred || free1 == 0 || load0 <= load1)) {
      return {position(free0), FlowSlot::kNothing};
    }
    if (free1 != 0) return {position(free1 << 8), FlowSlot::kNothing};
  }
  uint32_t expired = primary.expired | secondary.expired << 8;
  if (expired != 0) return {position(expired), FlowSlot::kExpired};
  // An exact LRU would need a list update on every hit, a cache miss per packet;
  // the least recently seen of the 12 candidates is already in cache.
  uint32_t live = (primary.used & ~primary.expired) | (secondary.used & ~secondary.expired) << 8;
  if (live == 0) return {-1, FlowSlot::kNothing};
  __m128i most = _mm_max_epu32(_mm_max_epu32(primary.live_idle[0], primary.live_idle[1]),
                               _mm_max_epu32(secondary.live_idle[0], secondary.live_idle[1]));
  most = _mm_max_epu32(most, _mm_shuffle_epi32(most, _MM_SHUFFLE(1, 0, 3, 2)));
  most = _mm_max_epu32(most, _mm_shuffle_epi32(most, _MM_SHUFFLE(2, 3, 0, 1)));
  auto oldest_in = [&](const WayScan& scan) {
    uint32_t lo = static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(scan.live_idle[0], most))));
    uint32_t hi = static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(scan.live_idle[1], most))));
    return (lo | hi << 4) & kWays;
  };
  uint32_t oldest = (oldest_in(primary) | oldest_in(secondary) << 8) & live;
  return {position(oldest), FlowSlot::kLive};
}

void FlowTable::Reassign(int32_t pos, uint32_t backend_id, uint16_t service_id, bool closing, uint32_t now_ms) {
  FlowBucket& b = buckets_[BucketOf(pos)];
  uint32_t way = WayOf(pos);
  b.backend_id[way] = static_cast<uint16_t>(backend_id);
  b.service_id[way] = service_id;
  b.last_seen_ms[way] = now_ms;
  b.flags[way] = static_cast<uint8_t>((b.flags[way] & (kFlowInUse | kFlowUdp)) | (closing ? kFlowClosing : 0));
  MarkOpened(pos, now_ms);
}

void FlowTable::Remove(int32_t pos, LcoreCounters& counters, ServiceCounters* services, BackendCounters* backends) {
  FlowBucket& b = buckets_[BucketOf(pos)];
  uint32_t way = WayOf(pos);
  services[b.service_id[way]].active_flows--;
  backends[b.backend_id[way]].active_flows--;
  counters.flow_active--;
  b.flags[way] = 0;
  changes_++;
}

void FlowTable::Occupy(const FlowSlot& slot, const FlowKey4& key, uint32_t backend_id, uint16_t service_id,
                       bool closing, uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services,
                       BackendCounters* backends) {
  int32_t pos = slot.position;
  if (slot.displaces == FlowSlot::kExpired) {
    Remove(pos, counters, services, backends);
    counters.flow_expirations++;
  } else if (slot.displaces == FlowSlot::kLive) {
    Remove(pos, counters, services, backends);
    counters.flow_evictions++;
  }
  FlowBucket& b = buckets_[BucketOf(pos)];
  uint32_t way = WayOf(pos);
  FlowKeyWords words = Words(key);
  b.addrs[way] = words.lo;
  b.ports[way] = static_cast<uint32_t>(words.hi);
  b.backend_id[way] = static_cast<uint16_t>(backend_id);
  b.service_id[way] = service_id;
  b.last_seen_ms[way] = now_ms;
  b.flags[way] = static_cast<uint8_t>(kFlowInUse | ProtocolFlag(words) | (closing ? kFlowClosing : 0));
  MarkOpened(pos, now_ms);
  counters.flow_active++;
  counters.flow_inserts++;
  changes_++;
  services[service_id].active_flows++;
  backends[backend_id].active_flows++;
}

void FlowTable::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services,
                      BackendCounters* backends) {
  uint32_t buckets = budget / kFlowWays > 0 ? budget / kFlowWays : 1;
  for (uint32_t i = 0; i < buckets; i++) {
    uint32_t bucket = sweep_cursor_;
    sweep_cursor_ = bucket + 1 == num_buckets_ ? 0 : bucket + 1;
    const FlowBucket& b = buckets_[bucket];
    for (uint32_t way = 0; way < kFlowWays; way++) {
      if ((b.flags[way] & kFlowInUse) && now_ms - b.last_seen_ms[way] > TimeoutMs(b.flags[way])) {
        Remove(PositionOf(bucket, way), counters, services, backends);
        counters.flow_expirations++;
      }
    }
  }
}

}  // namespace sluice
