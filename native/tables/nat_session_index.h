// forwarding nat: one session table's index from a client's 5-tuple to its
// session, laid out like tables/flow_table.h: two-choice, 8-way buckets of one cache
// line, each holding 8 signature tags and 8 session indices. The key itself is
// the session's own client tuple, so a hit reads one bucket line and the
// session, and both are known from the key's hash: the worker prefetches them a
// burst ahead (modes/nat/nat_sessions.h), which is where the time goes at 1M sessions.
//
// Why not rte_hash: a hit there reads the bucket, the key store and then the
// session, three dependent misses, and even its bulk lookup only overlaps them
// within one call, after classification. Side by side this index takes far
// fewer instructions and a multiple of the rate at 1M sessions
// (docs/performance-notes.md, "nat").
//
// Unlike the flow table this index never evicts: a session holds a pool port
// and is only removed by Close. Sized at 6 sessions per 8 ways, an insert whose
// two buckets are full moves one occupant to its other bucket; only when all 16
// occupants' other buckets are full too does it fail (the pool port then stays
// free and the packet is dropped as nat_pool_exhausted); the unit test fills a
// table of 65536 to capacity without one. Pure: no EAL, unit-tested in plain memory.
#pragma once

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include <emmintrin.h>

#include <cstddef>
#include <cstdint>

namespace sluice {

// A key's hash and the two buckets it may live in; computed once per packet.
struct NatIndexHash {
  uint32_t sig;
  uint32_t primary;
  uint32_t secondary;
};

constexpr uint32_t kNatIndexWays = 8;

struct alignas(RTE_CACHE_LINE_SIZE) NatIndexBucket {
  uint16_t tag[kNatIndexWays];      // low 16 bits of the key's hash
  uint32_t session[kNatIndexWays];  // the session table's index
  uint8_t used;                     // bit i: way i holds a session
  uint8_t reserved[15];
};
static_assert(sizeof(NatIndexBucket) == RTE_CACHE_LINE_SIZE, "a bucket is one cache line");

class NatSessionIndex {
 public:
  // Bytes of bucket memory for `capacity` sessions: cache-line aligned, zeroed.
  static size_t MemoryBytes(uint32_t capacity) { return size_t{BucketsFor(capacity)} * sizeof(NatIndexBucket); }

  NatSessionIndex() = default;
  NatSessionIndex(void* memory, uint32_t capacity)
      : buckets_(static_cast<NatIndexBucket*>(memory)), num_buckets_(BucketsFor(capacity)) {}

  NatIndexHash HashOf(uint32_t sig) const {
    uint32_t primary = Reduce(sig);
    uint32_t secondary = Reduce(Remix(sig));
    if (secondary == primary) secondary = primary + 1 == num_buckets_ ? 0 : primary + 1;
    return {sig, primary, secondary};
  }

  void PrefetchBucket(uint32_t bucket) const { rte_prefetch0(&buckets_[bucket]); }

  // Bit i set: way i of `bucket` holds a session whose tag is the hash's.
  uint32_t Matches(uint32_t bucket, const NatIndexHash& h) const {
    const NatIndexBucket& b = buckets_[bucket];
    __m128i tags = _mm_load_si128(reinterpret_cast<const __m128i*>(b.tag));
    __m128i same = _mm_cmpeq_epi16(tags, _mm_set1_epi16(static_cast<short>(Tag(h))));
    uint32_t tagged = static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(same, _mm_setzero_si128())));
    return tagged & b.used;
  }
  uint32_t SessionAt(uint32_t bucket, uint32_t way) const { return buckets_[bucket].session[way]; }

  // The session whose key is the hash's, or -1. `same(session)` compares the
  // session's key with the one looked up.
  template <typename Same>
  int32_t Find(const NatIndexHash& h, Same&& same) const {
    int32_t s = FindIn(h.primary, h, same);
    return s >= 0 ? s : FindIn(h.secondary, h, same);
  }

  // Adds `session` under `h`. `hash_of(session)` gives an indexed session's
  // NatIndexHash, for moving it to its other bucket. False when no way is free.
  template <typename HashOf>
  bool Insert(const NatIndexHash& h, uint32_t session, HashOf&& hash_of) {
    if (Place(h.primary, h, session) || Place(h.secondary, h, session)) return true;
    // Both full: one occupant of either bucket moves to its other bucket.
    for (uint32_t bucket : {h.primary, h.secondary}) {
      NatIndexBucket& b = buckets_[bucket];
      for (uint32_t way = 0; way < kNatIndexWays; way++) {
        NatIndexHash o = hash_of(b.session[way]);
        uint32_t other = bucket == o.primary ? o.secondary : o.primary;
        if (other == bucket || !Place(other, o, b.session[way])) continue;
        Set(b, way, h, session);
        return true;
      }
    }
    return false;
  }

  // Removes `session`, indexed under `h`.
  void Erase(const NatIndexHash& h, uint32_t session) {
    if (!EraseIn(h.primary, session)) EraseIn(h.secondary, session);
  }

  uint32_t num_buckets() const { return num_buckets_; }

 private:
  // 6 sessions per 8 ways (75% load), at least one bucket.
  static uint32_t BucketsFor(uint32_t capacity) {
    uint64_t buckets = (uint64_t{capacity} + 5) / 6;
    return buckets == 0 ? 1 : static_cast<uint32_t>(buckets);
  }
  // The secondary bucket from a second CRC round over the signature: one
  // instruction, and independent of the primary's bits.
  static uint32_t Remix(uint32_t sig) { return rte_hash_crc_4byte(sig, 0x2c1b3c6du); }
  // Lemire's multiply-shift: any bucket count, no modulo, uses the high bits
  // (the tag takes the low ones).
  uint32_t Reduce(uint32_t h) const { return static_cast<uint32_t>((uint64_t{h} * num_buckets_) >> 32); }
  static uint16_t Tag(const NatIndexHash& h) { return static_cast<uint16_t>(h.sig); }

  template <typename Same>
  int32_t FindIn(uint32_t bucket, const NatIndexHash& h, Same& same) const {
    for (uint32_t m = Matches(bucket, h); m != 0; m &= m - 1) {
      uint32_t s = buckets_[bucket].session[__builtin_ctz(m)];
      if (same(s)) return static_cast<int32_t>(s);
    }
    return -1;
  }
  static void Set(NatIndexBucket& b, uint32_t way, const NatIndexHash& h, uint32_t session) {
    b.tag[way] = Tag(h);
    b.session[way] = session;
    b.used |= static_cast<uint8_t>(1u << way);
  }
  bool Place(uint32_t bucket, const NatIndexHash& h, uint32_t session) {
    NatIndexBucket& b = buckets_[bucket];
    uint32_t free_ways = ~uint32_t{b.used} & 0xffu;
    if (free_ways == 0) return false;
    Set(b, __builtin_ctz(free_ways), h, session);
    return true;
  }
  bool EraseIn(uint32_t bucket, uint32_t session) {
    NatIndexBucket& b = buckets_[bucket];
    for (uint32_t m = b.used; m != 0; m &= m - 1) {
      uint32_t way = __builtin_ctz(m);
      if (b.session[way] != session) continue;
      b.used &= static_cast<uint8_t>(~(1u << way));
      return true;
    }
    return false;
  }

  NatIndexBucket* buckets_ = nullptr;
  uint32_t num_buckets_ = 1;
};

}  // namespace sluice
