// One worker lcore's connection table: 5-tuple -> backend. Only its own lcore
// reads and writes it, so it needs no locks and no RCU. One implementation,
// FlowTableOf, serves both families through a bucket layout: FlowTable below
// (IPv4, the figures here), FlowTable6 in tables/flow_table6.h (IPv6, whose
// header says why its bucket differs).
//
// Why not rte_hash: it keeps keys, bucket signatures and (for us) the flow state
// in three places, so a hit costs three cache misses, and a new flow in a full
// table costs a lookup, an eviction (key fetch, delete, free-slot ring) and an
// add on top: too slow for the new-flow target. This table is two-choice and
// 4-way set-associative, and a bucket is one cache line holding everything a
// packet needs about its 4 flows:
//
//   FlowBucket (64 B): 4 keys (addresses, ports), and 4 meta words: backend
//   id, flags (in use, closing, UDP) and a 13-bit coarse last-seen time
//
// so a hit or a miss in the primary bucket reads one line, and a new flow's
// victim choice the key's two. What only listings, removals and new flows use
// is kept apart, by position: the service each flow counts for (2 B) and its
// opening time (4 B, written by a streaming store, which fetches no line). The
// packet path never waits for them: a hit asks whether the backend still keeps
// the packet's service's flows, which backend ids being global answers alone.
//
// Times are coarse so that they fit the meta word: units of 2^k ms, k the
// smallest for which the longest timeout is at most 2^12 - 1 units (128 ms at
// the default timeouts), compared modulo 2^13 (SetTimeouts says why that is
// safe). A flow lives at least its timeout, and less than its timeout rounded
// up to a unit plus one unit; a listing's idle time is in whole units. A hit
// writes the line only when the unit changed or the flow starts closing.
//
// Every line is known from the key's hash: the worker prefetches the primary
// while it classifies the burst, the secondary (when the primary does not hold
// the key) before the lookups. A layout of a line of signatures and a separate
// record per flow makes a hit two dependent misses (bucket, then record) and an
// insert write a line nobody fetched.
//
// A new flow goes to its primary bucket while that holds fewer than
// kPrimaryPreferred, else to the less loaded of the two; at capacity it takes
// an expired entry, else the least recently seen of its 8 candidates (or, when
// both buckets are empty, that of the next bucket from the sweep's cursor
// holding any). With kSlackPercent of slack 79% of flows live in their primary
// bucket (a hit needs no second line) and 0.04% of the inserts filling the
// table to capacity find both buckets full and evict early; memory is 37.4
// bytes per flow of capacity. The price of 4 ways: a key's two buckets hold
// about 4.7 live flows, so at capacity a recently seen flow is the oldest
// candidate more often than with 6. The simulations and measurements behind
// these choices: docs/performance-notes.md, "The flow table".
#pragma once

#include <rte_common.h>
#include <rte_prefetch.h>
#include <netinet/in.h>

#include <nmmintrin.h>
#include <smmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/config_types.h"
#include "common/lcore_counters.h"

namespace sluice {

struct FlowKey4 {
  uint32_t src_addr;  // network order
  uint32_t dst_addr;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t proto;
  uint8_t pad[3];     // always zero: keys are compared as two 64-bit words
};
static_assert(sizeof(FlowKey4) == 16, "compared as two 64-bit words");

// A FlowKey4 as the two 64-bit words it is hashed and compared as (little endian).
struct FlowKeyWords {
  uint64_t lo;  // src_addr, dst_addr
  uint64_t hi;  // src_port, dst_port, proto, zero padding
};
static_assert(sizeof(FlowKeyWords) == sizeof(FlowKey4), "same bytes");

inline FlowKeyWords MakeFlowKey4(uint32_t src_addr, uint32_t dst_addr, uint16_t src_port, uint16_t dst_port,
                                 uint8_t proto) {
  return {src_addr | static_cast<uint64_t>(dst_addr) << 32,
          src_port | static_cast<uint64_t>(dst_port) << 16 | static_cast<uint64_t>(proto) << 32};
}

// The same key from the header's address and port pairs as ParseFastIpv4 loads them.
inline FlowKeyWords MakeFlowKey4(uint64_t addrs, uint32_t ports, uint8_t proto) {
  return {addrs, ports | static_cast<uint64_t>(proto) << 32};
}

// CRC32C of a 16-byte key given as two words, as rte_hash_crc computes it, by
// the instruction itself: rte_hash_crc_8byte checks at run time which CRC
// implementation to use, and -march=corei7 already guarantees SSE4.2.
inline uint32_t Crc32cKey(uint64_t lo, uint64_t hi, uint32_t seed) {
  return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(seed, lo), hi));
}

constexpr uint32_t kFlowWays = 4;
// A bucket's ports and meta words are arrays of 4, loaded as one SSE register
// each, whatever a layout's ways (a layout of fewer leaves the last lanes empty).
constexpr uint32_t kFlowLanes = 4;

enum FlowFlags : uint8_t {
  kFlowInUse = 1,
  kFlowClosing = 2,  // FIN or RST seen: short timeout
  kFlowUdp = 4,      // the key's protocol (TCP otherwise), and the UDP timeout
};

// A flow's 32-bit meta word: everything a hit and a victim choice read besides
// the key. The time is the low bits, so an idle time is one subtraction and one
// mask whatever the bits above it; the backend the high bits, one shift.
constexpr uint32_t kFlowTimeBits = 13;  // coarse last-seen time, in units of 2^k ms (FlowTable::unit_ms)
constexpr uint32_t kFlowTimeMask = (1u << kFlowTimeBits) - 1;
constexpr uint32_t kFlowFlagsShift = kFlowTimeBits;  // FlowFlags, 3 bits
constexpr uint32_t kFlowBackendShift = 16;
static_assert(kFlowFlagsShift + 3 <= kFlowBackendShift, "the flags fit below the backend id");

// Everything a lookup, a hit, an expiry and an eviction read, for 4 flows, in
// one cache line, as arrays so that the 4 ways' ports (and meta words) load as
// one SSE register each.
struct alignas(RTE_CACHE_LINE_SIZE) FlowBucket {
  uint64_t addrs[kFlowWays];  // the key's first word: source and destination address
  uint32_t ports[kFlowWays];  // the key's second word: source and destination port
  uint32_t meta[kFlowWays];   // backend id << 16 | FlowFlags << 13 | coarse last-seen time
};
static_assert(sizeof(FlowBucket) == RTE_CACHE_LINE_SIZE, "a bucket is one cache line");
static_assert(kMaxBackendIds <= 65536 && kMaxServices <= 65536, "ids are stored in 16 bits");

struct FlowTimeouts {
  uint32_t tcp_ms;
  uint32_t tcp_closing_ms;
  uint32_t udp_ms;
};

// A key's hash and the two buckets it may live in; computed once per packet.
struct FlowHash {
  uint32_t sig;  // CRC32 of the key; also seeds the lookup table slot
  uint32_t primary;
  uint32_t secondary;
};

// Where a new flow will go, and what it displaces.
struct FlowSlot {
  // kElsewhere: the slot is free but the table is at capacity and neither of
  // the key's buckets holds a flow to give way, so the least recently seen flow
  // of another bucket (the next one from the sweep's cursor holding any) goes.
  enum Displaces : uint8_t { kNothing, kExpired, kLive, kElsewhere };
  int32_t position;  // -1: nowhere (a table of capacity 0)
  Displaces displaces;
};

// What a bucket layout names: its key, the key as the words it is hashed and
// compared as (the same bytes; `hi` is the ports, then the protocol, as
// FlowKeyWords::hi), and its bucket, with `ports` and `meta` arrays of
// kFlowLanes. A layout adds its ways, hash seed, slack and placement, and
// compares, stores and loads a way's addresses.
template <typename KeyType, typename WordsType, typename BucketType>
struct FlowLayoutOf {
  using Key = KeyType;
  using Words = WordsType;
  using Bucket = BucketType;
  static_assert(sizeof(Key) == sizeof(Words), "the same bytes");

  static Words WordsOf(const Key& key) {
    Words words;
    std::memcpy(&words, &key, sizeof(words));
    return words;
  }
};

// The IPv4 bucket layout: a key's first word (its addresses) in the line, its
// second (ports and protocol) as the ports and the meta word's UDP flag.
struct FlowLayout4 : FlowLayoutOf<FlowKey4, FlowKeyWords, FlowBucket> {
  static constexpr uint32_t kWays = kFlowWays;
  static constexpr uint32_t kHashSeed = 0x5d1ce0;
  // Buckets are sized this much above the flow limit: see the figures at the
  // top for how often an insert then finds both buckets full.
  static constexpr uint32_t kSlackPercent = 70;
  // A new flow goes to its primary bucket while that holds fewer flows than
  // this, else to the less loaded of its two (see the figures at the top).
  static constexpr uint32_t kPrimaryPreferred = 2;

  static uint32_t Crc(const Words& key, uint32_t seed) { return Crc32cKey(key.lo, key.hi, seed); }
  static bool SameAddresses(const Bucket& b, uint32_t way, const Words& key) { return b.addrs[way] == key.lo; }
  static void StoreAddresses(Bucket& b, uint32_t way, const Words& key) { b.addrs[way] = key.lo; }
  static void LoadAddresses(const Bucket& b, uint32_t way, Key& key) {
    key.src_addr = static_cast<uint32_t>(b.addrs[way]);
    key.dst_addr = static_cast<uint32_t>(b.addrs[way] >> 32);
  }
};

// One table for any FlowLayoutOf.
template <typename Layout>
class FlowTableOf {
 public:
  using Key = typename Layout::Key;
  using Words = typename Layout::Words;
  using Bucket = typename Layout::Bucket;
  static constexpr uint32_t kWays = Layout::kWays;
  static constexpr uint32_t kSlackPercent = Layout::kSlackPercent;
  static_assert(kWays <= kFlowLanes, "a way is a lane of the ports and meta arrays");

  // Returns nullptr with rte_errno set when the EAL cannot provide the memory.
  static FlowTableOf* Create(const char* name, uint32_t capacity, int socket, const FlowTimeouts& timeouts);
  static void Destroy(FlowTableOf* table);

  // For callers without the EAL (unit tests, fuzzers): the table lives in
  // `memory`, which is MemoryBytes(capacity) long, cache-line aligned and zeroed.
  static size_t MemoryBytes(uint32_t capacity);
  static FlowTableOf* Place(void* memory, uint32_t capacity, const FlowTimeouts& timeouts);

  FlowHash HashOf(const Key& key) const { return HashOf(WordsOf(key)); }

  // The same CRC32C as rte_hash_crc over the key's bytes.
  FlowHash HashOf(const Words& key) const {
    uint32_t sig = Layout::Crc(key, Layout::kHashSeed);
    uint64_t mixed = Mix(sig);
    uint32_t primary = Reduce(static_cast<uint32_t>(mixed >> 32));
    uint32_t secondary = Reduce(static_cast<uint32_t>(mixed));
    if (secondary == primary) secondary = primary + 1 == num_buckets_ ? 0 : primary + 1;
    return {sig, primary, secondary};
  }
  // HashOf's sig alone, for callers without a table that pick a backend as a
  // remembered flow of the key would (nat, a worker without the table).
  static uint32_t SigOf(const Key& key) { return Layout::Crc(WordsOf(key), Layout::kHashSeed); }

  // The lookup is staged so that a burst's cache misses overlap: the primary
  // bucket first (most flows live there, see Choose); once it is in, the
  // secondary bucket when the primary does not hold the key.
  void PrefetchPrimary(const FlowHash& h) const { PrefetchBucket(h.primary); }

  // What the primary bucket said about a key, kept for the lookup proper: while
  // no flow has been added or removed since (the same burst, all hits), the
  // lookup need not search the primary again.
  struct PrimaryProbe {
    int32_t position;  // the key's position in its primary bucket, or -1
    uint32_t changes;  // changes_ when the primary was searched
  };

  // Searches the primary bucket, which is in cache by now, and when the key is
  // not there fetches the secondary for the lookup that follows.
  PrimaryProbe ProbePrimary(const Key& key, const FlowHash& h) const {
    int32_t pos = FindIn(h.primary, WordsOf(key));
    if (pos < 0) PrefetchBucket(h.secondary);
    return {pos, changes_};
  }

  // The key's position, or -1. Keys are TCP or UDP (services are), so the
  // protocol is compared as the UDP flag.
  int32_t Lookup(const Key& key, const FlowHash& h) const {
    Words words = WordsOf(key);
    int32_t pos = FindIn(h.primary, words);
    return pos >= 0 ? pos : FindIn(h.secondary, words);
  }
  int32_t Lookup(const Key& key, const FlowHash& h, const PrimaryProbe& probe) const {
    if (probe.changes != changes_) return Lookup(key, h);
    return probe.position >= 0 ? probe.position : FindIn(h.secondary, WordsOf(key));
  }

  uint32_t BackendId(int32_t pos) const { return Meta(pos) >> kFlowBackendShift; }
  // The service whose counts the flow is in: the one it was inserted or last
  // reassigned for. Kept beside the buckets, so the packet path does not read
  // it: a hit asks only whether the backend keeps the packet's service's flows
  // (worker/flow_pick.h).
  uint16_t ServiceId(int32_t pos) const { return service_ids_[Side(pos)]; }
  // Whether the flow has been idle longer than its timeout, in whole units: a
  // flow lives at least its timeout and expires less than its timeout rounded
  // up to a unit, plus one unit, after it was last seen (see SetTimeouts).
  bool IsExpired(int32_t pos, uint32_t now_ms) const {
    uint32_t meta = Meta(pos);
    return IdleUnits(meta, Coarse(now_ms)) > TimeoutUnits(meta);
  }
  bool IsClosing(int32_t pos) const { return Meta(pos) & kFlowClosing << kFlowFlagsShift; }

  // A packet of the flow was seen. The line is written only when the coarse
  // time or the closing flag changes, not on every packet of a busy flow.
  // The test is the idle time IsExpired computed just before, so inlined
  // after it, it costs a hit two tests.
  void Touch(int32_t pos, uint32_t now_ms, bool closing) {
    uint32_t& meta = buckets_[BucketOf(pos)].meta[WayOf(pos)];
    uint32_t now_units = Coarse(now_ms);
    if (IdleUnits(meta, now_units) == 0 && !closing) return;
    static_assert(kFlowClosing == 2, "closing is the flags' second bit");
    meta = (meta & ~kFlowTimeMask) | (now_units & kFlowTimeMask) |
           static_cast<uint32_t>(closing) << (kFlowFlagsShift + 1);
  }

  // The flow at `pos` starts over on another backend (expired, reopened, or its
  // backend left); the caller moves the per-service and per-backend counts.
  // Out of line: it is rare, and inlined it costs every hit a few instructions.
  void Reassign(int32_t pos, uint32_t backend_id, uint16_t service_id, bool closing, uint32_t now_ms);

  // Where a new key would go. Changes nothing, so a caller that decides not to
  // remember the flow (admission refused) can still see what it would have cost.
  FlowSlot Choose(const FlowHash& h, uint32_t now_ms, uint64_t active) const;

  // Stores the key in the chosen slot, expiring or evicting its occupant, and
  // keeps the active counts: the lcore's and each service's and backend's.
  void Occupy(const FlowSlot& slot, const Key& key, uint32_t backend_id, uint16_t service_id, bool closing,
              uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services, BackendCounters* backends);

  // Removes expired entries from up to `budget` slots, resuming where the last
  // call stopped; called once per loop iteration, never per packet.
  void Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters, ServiceCounters* services,
             BackendCounters* backends);

  uint32_t capacity() const { return capacity_; }
  uint32_t slots() const { return num_buckets_ * kWays; }
  uint32_t buckets() const { return num_buckets_; }
  // The coarse clock's unit: last-seen times, timeouts and listed idle times
  // are whole multiples of it.
  uint32_t unit_ms() const { return 1u << unit_shift_; }

  // A live flow as a listing sees it.
  struct Listed {
    Key key;
    uint32_t backend_id;
    uint16_t service_id;
    uint8_t flags;
    uint32_t idle_ms;  // whole units of the coarse clock (unit_ms), at most age_ms
    uint32_t age_ms;
  };
  // Calls `visit` with each live, unexpired flow of buckets [first, end) and
  // returns `end`, at most buckets(). For listings, never per packet.
  template <typename Visit>
  uint32_t VisitBuckets(uint32_t first, uint32_t end, uint32_t now_ms, Visit&& visit) const {
    if (end > num_buckets_) end = num_buckets_;
    for (uint32_t bucket = first; bucket < end; bucket++) {
      const Bucket& b = buckets_[bucket];
      for (uint32_t way = 0; way < kWays; way++) {
        uint32_t meta = b.meta[way];
        uint32_t idle = IdleUnits(meta, Coarse(now_ms));
        if (!(meta & kFlowInUse << kFlowFlagsShift) || idle > TimeoutUnits(meta)) continue;
        uint32_t side = Side(PositionOf(bucket, way));
        Listed flow{};
        Layout::LoadAddresses(b, way, flow.key);
        flow.key.src_port = static_cast<uint16_t>(b.ports[way]);
        flow.key.dst_port = static_cast<uint16_t>(b.ports[way] >> 16);
        flow.flags = FlagsOf(meta);
        flow.key.proto = (flow.flags & kFlowUdp) ? IPPROTO_UDP : IPPROTO_TCP;
        flow.backend_id = meta >> kFlowBackendShift;
        flow.service_id = service_ids_[side];
        flow.age_ms = now_ms - opened_ms_[side];
        // Whole units can count up to one unit more than the time since the
        // flow opened: never more idle than old.
        flow.idle_ms = std::min(idle << unit_shift_, flow.age_ms);
        visit(flow);
      }
    }
    return end;
  }

 private:
  static constexpr uint32_t kPrimaryPreferred = Layout::kPrimaryPreferred;
  static constexpr uint32_t kWayBits = 2;
  static_assert(kFlowLanes == 1u << kWayBits, "a position's way bits name a lane");
  static constexpr uint32_t kWayMask = (1u << kWays) - 1;

  // A position is a bucket and a way in its own bits. The config's limit,
  // 2^26 flows, is under 2^25 buckets at 70% slack: positions fit an int32_t.
  static int32_t PositionOf(uint32_t bucket, uint32_t way) { return static_cast<int32_t>(bucket << kWayBits | way); }
  static uint32_t BucketOf(int32_t pos) { return static_cast<uint32_t>(pos) >> kWayBits; }
  static uint32_t WayOf(int32_t pos) { return static_cast<uint32_t>(pos) & ((1u << kWayBits) - 1); }
  // A slot's index in the side arrays: the position itself with 4 ways; with
  // fewer, packed, so that no lane left empty costs side-array bytes.
  static uint32_t Side(int32_t pos) {
    if constexpr (kWays == kFlowLanes) return static_cast<uint32_t>(pos);
    return BucketOf(pos) * kWays + WayOf(pos);
  }
  uint32_t Meta(int32_t pos) const { return buckets_[BucketOf(pos)].meta[WayOf(pos)]; }

  static Words WordsOf(const Key& key) { return Layout::WordsOf(key); }
  static uint8_t ProtocolFlag(const Words& key) {
    return static_cast<uint8_t>(key.hi >> 32) == IPPROTO_UDP ? kFlowUdp : 0;
  }
  static uint8_t FlagsOf(uint32_t meta) { return static_cast<uint8_t>(meta >> kFlowFlagsShift & 7); }
  // CRC32C is linear: the keys of one client's sequential ports differ in a few
  // bits, and so do their CRCs, which then fill some buckets and skip others
  // (bucketing on the CRC's own bits evicts many flows early: see
  // docs/performance-notes.md, "The flow table").
  // MurmurHash3's finaliser spreads every bit over both halves, one per bucket.
  static uint64_t Mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }
  // Lemire's multiply-shift: any bucket count, no modulo, uses the high bits.
  uint32_t Reduce(uint32_t h) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(h) * num_buckets_) >> 32);
  }
  void PrefetchBucket(uint32_t bucket) const {
    const auto* line = reinterpret_cast<const uint8_t*>(&buckets_[bucket]);
    for (uint32_t i = 0; i < sizeof(Bucket); i += RTE_CACHE_LINE_SIZE) rte_prefetch0(line + i);
  }

  // The ports compared in SSE2 first: a way whose ports differ is no match, and
  // few ways share a key's ports, so the addresses are compared rarely.
  int32_t FindIn(uint32_t bucket, const Words& key) const {
    const Bucket& b = buckets_[bucket];
    __m128i want = _mm_set1_epi32(static_cast<int>(static_cast<uint32_t>(key.hi)));
    __m128i same = _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(b.ports)), want);
    uint32_t mask = static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(same)));
    if constexpr (kWays < kFlowLanes) mask &= kWayMask;
    constexpr uint32_t kKeyFlags = (kFlowInUse | kFlowUdp) << kFlowFlagsShift;
    // The protocol's bit 4 is the UDP flag (keys are TCP or UDP): a shift and a
    // mask, where ProtocolFlag's compare costs every lookup a few instructions more.
    static_assert((IPPROTO_UDP & 0x10) && !(IPPROTO_TCP & 0x10) && kFlowUdp << kFlowFlagsShift == 1u << 15,
                  "bit 36 of the key's ports word is bit 15 of the meta word");
    uint32_t flags = (static_cast<uint32_t>(key.hi >> 21) & kFlowUdp << kFlowFlagsShift) | kFlowInUse << kFlowFlagsShift;
    for (; mask != 0; mask &= mask - 1) {
      uint32_t way = static_cast<uint32_t>(__builtin_ctz(mask));
      if (Layout::SameAddresses(b, way, key) && (b.meta[way] & kKeyFlags) == flags) return PositionOf(bucket, way);
    }
    return -1;
  }

  // The coarse clock: milliseconds in units of 2^unit_shift_, compared modulo
  // 2^13. `now_ms` wraps at 2^32, a multiple of 2^13 units, so the coarse time
  // runs on across that wrap.
  uint32_t Coarse(uint32_t now_ms) const { return now_ms >> unit_shift_; }
  static uint32_t IdleUnits(uint32_t meta, uint32_t now_units) { return (now_units - meta) & kFlowTimeMask; }
  // A load, not two branches: a hit checks its flow's timeout per packet.
  uint32_t TimeoutUnits(uint32_t meta) const { return timeout_units_[FlagsOf(meta)]; }
  void SetTimeouts(const FlowTimeouts& timeouts);
  uint32_t MetaOf(uint32_t backend_id, uint32_t flags, uint32_t now_ms) const {
    return backend_id << kFlowBackendShift | flags << kFlowFlagsShift | (Coarse(now_ms) & kFlowTimeMask);
  }
  // A streaming store: the line is not fetched, as nothing on the packet path reads it.
  void MarkOpened(int32_t pos, uint32_t now_ms) {
    _mm_stream_si32(reinterpret_cast<int*>(&opened_ms_[Side(pos)]), static_cast<int>(now_ms));
  }
  void Remove(int32_t pos, LcoreCounters& counters, ServiceCounters* services, BackendCounters* backends);
  void RemoveElsewhere(LcoreCounters& counters, ServiceCounters* services, BackendCounters* backends,
                       uint32_t now_ms);
  struct WayScan;
  WayScan Scan(uint32_t bucket, uint32_t now_units) const;

  Bucket* buckets_ = nullptr;
  uint32_t num_buckets_ = 0;
  uint32_t changes_ = 0;           // flows added or removed, ever: see PrimaryProbe
  uint32_t capacity_ = 0;          // most flows held at once
  uint32_t unit_shift_ = 0;        // the coarse clock's unit is 2^unit_shift_ ms: see SetTimeouts
  uint32_t timeout_units_[8] = {};  // by FlowFlags, in units: see SetTimeouts
  uint32_t sweep_cursor_ = 0;      // a bucket index
  bool owns_memory_ = false;
  // By Side(position); last, as only listings, removals and new flows use them.
  uint16_t* service_ids_ = nullptr;
  uint32_t* opened_ms_ = nullptr;
};

// Instantiated in tables/flow_table.cc, as FlowTable6 is.
using FlowTable = FlowTableOf<FlowLayout4>;

}  // namespace sluice
