// The flow table's code for both layouts, instantiated for each at the end.
#include "tables/flow_table.h"

#include <new>

#include "tables/flow_table6.h"

namespace sluice {
namespace {

template <typename Table>
uint32_t BucketsFor(uint32_t capacity) {
  uint64_t slots = static_cast<uint64_t>(capacity) * (100 + Table::kSlackPercent) / 100;
  uint64_t buckets = (slots + Table::kWays - 1) / Table::kWays;
  return static_cast<uint32_t>(buckets < 2 ? 2 : buckets);  // two choices need two buckets
}

template <typename Table>
size_t HeaderBytes() { return RTE_ALIGN_CEIL(sizeof(Table), RTE_CACHE_LINE_SIZE); }

// A side array of one `bytes`-long value a slot, rounded up to a cache line.
template <typename Table>
size_t SideBytes(uint32_t buckets, size_t bytes) {
  return RTE_ALIGN_CEIL(size_t{buckets} * Table::kWays * bytes, RTE_CACHE_LINE_SIZE);
}

}  // namespace

template <typename Layout>
size_t FlowTableOf<Layout>::MemoryBytes(uint32_t capacity) {
  uint32_t buckets = BucketsFor<FlowTableOf>(capacity);
  return HeaderBytes<FlowTableOf>() + size_t{buckets} * sizeof(Bucket) +
         SideBytes<FlowTableOf>(buckets, sizeof(uint32_t)) + SideBytes<FlowTableOf>(buckets, sizeof(uint16_t));
}

template <typename Layout>
FlowTableOf<Layout>* FlowTableOf<Layout>::Place(void* memory, uint32_t capacity, const FlowTimeouts& timeouts) {
  auto* table = new (memory) FlowTableOf();
  auto* base = static_cast<uint8_t*>(memory) + HeaderBytes<FlowTableOf>();
  uint32_t buckets = BucketsFor<FlowTableOf>(capacity);
  table->num_buckets_ = buckets;
  table->buckets_ = reinterpret_cast<Bucket*>(base);
  base += size_t{buckets} * sizeof(Bucket);
  table->opened_ms_ = reinterpret_cast<uint32_t*>(base);
  base += SideBytes<FlowTableOf>(buckets, sizeof(uint32_t));
  table->service_ids_ = reinterpret_cast<uint16_t*>(base);
  table->capacity_ = capacity;
  table->SetTimeouts(timeouts);
  return table;
}

// The coarse clock's unit is the smallest power of two of milliseconds in
// which the longest timeout is at most 2^12 - 1 units, half the 13-bit range:
// an idle time is read modulo 2^13 units, so a flow idle for 2^13 units would
// look fresh again, but the sweep removes an expired flow (idle past its
// timeout, under 2^12 units) within a pass over the table, a small fraction of
// a second even when idle (docs/performance-notes.md, "The sweep budget"),
// long before its idle time reaches 2^13 units: a margin of more than 2^12
// units. The defaults (tcp 300 s) give 128 ms units; the config's longest
// timeout, 86400 s, 32768 ms (and up to 2^19 ms units, 2^32 ms is a whole
// number of 2^13 units, so the coarse clock runs on across now_ms's wrap).
// A timeout is rounded up to whole units, and a flow is expired once its idle
// time in units exceeds that, so it lives at least its timeout and less than
// the rounded timeout plus one unit.
template <typename Layout>
void FlowTableOf<Layout>::SetTimeouts(const FlowTimeouts& timeouts) {
  constexpr uint32_t kMostUnits = (1u << (kFlowTimeBits - 1)) - 1;
  uint32_t longest = timeouts.tcp_ms > timeouts.tcp_closing_ms ? timeouts.tcp_ms : timeouts.tcp_closing_ms;
  if (timeouts.udp_ms > longest) longest = timeouts.udp_ms;
  uint32_t shift = 0;
  while ((static_cast<uint64_t>(longest) + (1ull << shift) - 1) >> shift > kMostUnits) shift++;
  unit_shift_ = shift;
  auto units = [&](uint32_t ms) {
    return static_cast<uint32_t>((static_cast<uint64_t>(ms) + (1ull << shift) - 1) >> shift);
  };
  for (uint32_t flags = 0; flags < 8; flags++) {
    timeout_units_[flags] = (flags & kFlowUdp)       ? units(timeouts.udp_ms)
                            : (flags & kFlowClosing) ? units(timeouts.tcp_closing_ms)
                                                     : units(timeouts.tcp_ms);
  }
}

// One bucket's ways as bit masks, and the idle time (in units) of each live,
// unexpired way (0 for the others), in SSE4.1 and without a branch, where a
// loop has three data-dependent branches per way and costs new flows
// measurably more (docs/performance-notes.md, "The flow table"). Lanes past a
// layout's ways hold a zero meta word: never in use.
template <typename Layout>
struct FlowTableOf<Layout>::WayScan {
  uint32_t used;
  uint32_t expired;
  __m128i live_idle;
};

template <typename Layout>
inline typename FlowTableOf<Layout>::WayScan FlowTableOf<Layout>::Scan(uint32_t bucket, uint32_t now_units) const {
  const __m128i meta = _mm_load_si128(reinterpret_cast<const __m128i*>(buckets_[bucket].meta));
  auto has = [&](uint32_t flag) {
    const __m128i bit = _mm_set1_epi32(static_cast<int>(flag << kFlowFlagsShift));
    return _mm_cmpeq_epi32(_mm_and_si128(meta, bit), bit);
  };
  const __m128i used = has(kFlowInUse);
  // Timeouts and idle times are below 2^13: a signed compare is an unsigned one.
  __m128i timeout = _mm_blendv_epi8(_mm_set1_epi32(static_cast<int>(timeout_units_[kFlowInUse])),
                                    _mm_set1_epi32(static_cast<int>(timeout_units_[kFlowInUse | kFlowClosing])),
                                    has(kFlowClosing));
  timeout = _mm_blendv_epi8(timeout, _mm_set1_epi32(static_cast<int>(timeout_units_[kFlowInUse | kFlowUdp])),
                            has(kFlowUdp));
  const __m128i idle = _mm_and_si128(_mm_sub_epi32(_mm_set1_epi32(static_cast<int>(now_units)), meta),
                                     _mm_set1_epi32(static_cast<int>(kFlowTimeMask)));
  const __m128i expired = _mm_and_si128(used, _mm_cmpgt_epi32(idle, timeout));
  return {static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(used))),
          static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(expired))),
          _mm_and_si128(idle, _mm_andnot_si128(expired, used))};
}

template <typename Layout>
FlowSlot FlowTableOf<Layout>::Choose(const FlowHash& h, uint32_t now_ms, uint64_t active) const {
  const uint32_t now_units = Coarse(now_ms);
  const WayScan primary = Scan(h.primary, now_units);
  const WayScan secondary = Scan(h.secondary, now_units);
  auto position = [&](uint32_t way_bits) {  // bits 0-3 the primary's lanes, 4-7 the secondary's
    uint32_t bit = static_cast<uint32_t>(__builtin_ctz(way_bits));
    uint32_t bucket = bit < kFlowLanes ? h.primary : h.secondary;
    return PositionOf(bucket, bit % kFlowLanes);
  };
  uint32_t free0 = ~primary.used & kWayMask, free1 = ~secondary.used & kWayMask;
  if (active < capacity_) {
    // The primary while it has room to spare, else the less loaded bucket, as
    // two-choice hashing wants; a full one has no free slot.
    uint32_t load0 = static_cast<uint32_t>(__builtin_popcount(primary.used));
    uint32_t load1 = static_cast<uint32_t>(__builtin_popcount(secondary.used));
    if (free0 != 0 && (load0 < kPrimaryPreferred || free1 == 0 || load0 <= load1)) {
      return {position(free0), FlowSlot::kNothing};
    }
    if (free1 != 0) return {position(free1 << kFlowLanes), FlowSlot::kNothing};
  }
  uint32_t expired = primary.expired | secondary.expired << kFlowLanes;
  if (expired != 0) return {position(expired), FlowSlot::kExpired};
  // An exact LRU would need a list update on every hit, a cache miss per packet;
  // the least recently seen of the candidates (8 for IPv4) is already in cache. Times are
  // coarse: of candidates last seen in the same unit, the first goes.
  uint32_t live = (primary.used & ~primary.expired) | (secondary.used & ~secondary.expired) << kFlowLanes;
  if (live == 0) {
    // At capacity with both buckets empty: rare, as flows fill buckets evenly.
    if (capacity_ == 0) return {-1, FlowSlot::kNothing};
    return {position(free0 | free1 << kFlowLanes), FlowSlot::kElsewhere};
  }
  __m128i most = _mm_max_epu32(primary.live_idle, secondary.live_idle);
  most = _mm_max_epu32(most, _mm_shuffle_epi32(most, _MM_SHUFFLE(1, 0, 3, 2)));
  most = _mm_max_epu32(most, _mm_shuffle_epi32(most, _MM_SHUFFLE(2, 3, 0, 1)));
  auto oldest_in = [&](const WayScan& scan) {
    return static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(scan.live_idle, most))));
  };
  uint32_t oldest = (oldest_in(primary) | oldest_in(secondary) << kFlowLanes) & live;
  return {position(oldest), FlowSlot::kLive};
}

template <typename Layout>
void FlowTableOf<Layout>::Reassign(int32_t pos, uint32_t backend_id, uint16_t service_id, bool closing,
                                   uint32_t now_ms) {
  uint32_t& meta = buckets_[BucketOf(pos)].meta[WayOf(pos)];
  uint32_t flags = (FlagsOf(meta) & (kFlowInUse | kFlowUdp)) | (closing ? kFlowClosing : 0);
  meta = MetaOf(backend_id, flags, now_ms);
  service_ids_[Side(pos)] = service_id;
  MarkOpened(pos, now_ms);
}

template <typename Layout>
void FlowTableOf<Layout>::Remove(int32_t pos, LcoreCounters& counters, ServiceCounters* services,
                                 BackendCounters* backends) {
  uint32_t& meta = buckets_[BucketOf(pos)].meta[WayOf(pos)];
  services[service_ids_[Side(pos)]].active_flows--;
  backends[meta >> kFlowBackendShift].active_flows--;
  counters.flow_active--;
  meta = 0;
  changes_++;
}

// Evicts the least recently seen flow of the first bucket from the sweep's
// cursor on that holds one (an expired one, if any, is an expiry), and moves
// the cursor past it. Only when a new flow at capacity finds both its buckets
// empty: the table then holds `capacity_` flows elsewhere, so a bucket with
// one is found.
template <typename Layout>
void FlowTableOf<Layout>::RemoveElsewhere(LcoreCounters& counters, ServiceCounters* services,
                                          BackendCounters* backends, uint32_t now_ms) {
  const uint32_t now_units = Coarse(now_ms);
  for (uint32_t i = 0; i < num_buckets_; i++) {
    uint32_t bucket = sweep_cursor_;
    sweep_cursor_ = bucket + 1 == num_buckets_ ? 0 : bucket + 1;
    const WayScan scan = Scan(bucket, now_units);
    if (scan.used == 0) continue;
    uint32_t way;
    if (scan.expired != 0) {
      way = static_cast<uint32_t>(__builtin_ctz(scan.expired));
      counters.flow_expirations++;
    } else {
      alignas(16) uint32_t idle[kFlowLanes];
      _mm_store_si128(reinterpret_cast<__m128i*>(idle), scan.live_idle);
      way = static_cast<uint32_t>(__builtin_ctz(scan.used));
      for (uint32_t w = way + 1; w < kWays; w++) {
        if ((scan.used >> w & 1) && idle[w] > idle[way]) way = w;
      }
      counters.flow_evictions++;
    }
    Remove(PositionOf(bucket, way), counters, services, backends);
    return;
  }
}

template <typename Layout>
void FlowTableOf<Layout>::Occupy(const FlowSlot& slot, const Key& key, uint32_t backend_id, uint16_t service_id,
                                 bool closing, uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services,
                                 BackendCounters* backends) {
  int32_t pos = slot.position;
  if (slot.displaces == FlowSlot::kExpired) {
    Remove(pos, counters, services, backends);
    counters.flow_expirations++;
  } else if (slot.displaces == FlowSlot::kLive) {
    Remove(pos, counters, services, backends);
    counters.flow_evictions++;
  } else if (slot.displaces == FlowSlot::kElsewhere) {
    RemoveElsewhere(counters, services, backends, now_ms);
  }
  Bucket& b = buckets_[BucketOf(pos)];
  uint32_t way = WayOf(pos);
  Words words = WordsOf(key);
  Layout::StoreAddresses(b, way, words);
  b.ports[way] = static_cast<uint32_t>(words.hi);
  b.meta[way] = MetaOf(backend_id, kFlowInUse | ProtocolFlag(words) | (closing ? kFlowClosing : 0), now_ms);
  service_ids_[Side(pos)] = service_id;
  MarkOpened(pos, now_ms);
  counters.flow_active++;
  counters.flow_inserts++;
  changes_++;
  services[service_id].active_flows++;
  backends[backend_id].active_flows++;
}

template <typename Layout>
void FlowTableOf<Layout>::Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters,
                                ServiceCounters* services, BackendCounters* backends) {
  const uint32_t now_units = Coarse(now_ms);
  uint32_t buckets = budget / kWays > 0 ? budget / kWays : 1;
  for (uint32_t i = 0; i < buckets; i++) {
    uint32_t bucket = sweep_cursor_;
    sweep_cursor_ = bucket + 1 == num_buckets_ ? 0 : bucket + 1;
    for (uint32_t expired = Scan(bucket, now_units).expired; expired != 0; expired &= expired - 1) {
      Remove(PositionOf(bucket, static_cast<uint32_t>(__builtin_ctz(expired))), counters, services, backends);
      counters.flow_expirations++;
    }
  }
}

template class FlowTableOf<FlowLayout4>;
template class FlowTableOf<FlowLayout6>;

}  // namespace sluice
