// One worker lcore's IPv6 connection table: FlowTableOf (tables/flow_table.h)
// with a bucket for 40-byte keys, so it has the IPv4 table's design and
// properties (single writer, staged lookups, coarse times, expiry by protocol
// and state, eviction instead of refusal when full) and its code.
//
// A bucket is two adjacent cache lines of 3 flows: the ports and meta words
// in the IPv4 layout's arrays (a fourth lane left empty), then the 3 flows'
// addresses, the first flow's in the first line. Both lines are known from the
// key's hash, so both are fetched together and a hit costs one round trip to
// memory. The alternative, 4 ways in a line of ports, meta words and address
// fingerprints with the full addresses in another line, must still compare the
// whole key on a hit, and that line is known only once the first is searched:
// two dependent misses per hit, the layout tables/flow_table.h measured
// against, for placement no better at the same bytes per flow. The price of 3
// ways: a key's two buckets offer 6 slots, so a fill evicts early more often
// than in the IPv4 table (0.47% of its inserts, against 0.04%), and always
// placing in the less loaded bucket, not the primary while it has room, is
// what keeps that down. With 60% slack memory is 77.9 bytes per flow of
// capacity, under rte_hash's 80. The simulations: docs/performance-notes.md,
// "The IPv6 table on the same design".
#pragma once

#include <emmintrin.h>
#include <smmintrin.h>

#include <cstdint>
#include <cstring>

#include "tables/flow_table.h"

namespace sluice {

struct alignas(8) FlowKey6 {
  uint8_t src_addr[16];
  uint8_t dst_addr[16];
  uint16_t src_port;  // network order
  uint16_t dst_port;
  uint8_t proto;
  uint8_t pad[3];     // always zero
};
static_assert(sizeof(FlowKey6) == 40, "hashed as 40 bytes");

// A FlowKey6 as the words it is hashed and compared as: `hi` is FlowKeyWords::hi.
struct FlowKey6Words {
  uint64_t addrs[4];  // source and destination address
  uint64_t hi;        // src_port, dst_port, proto, zero padding
};
static_assert(sizeof(FlowKey6Words) == sizeof(FlowKey6), "same bytes");

constexpr uint32_t kFlowWays6 = 3;

struct alignas(RTE_CACHE_LINE_SIZE) FlowBucket6 {
  uint32_t ports[kFlowLanes];  // the 4th lane is never used: its meta word stays 0
  uint32_t meta[kFlowLanes];
  uint64_t addrs[kFlowWays6][4];
};
static_assert(sizeof(FlowBucket6) == 2 * RTE_CACHE_LINE_SIZE, "a bucket is two cache lines");

struct FlowLayout6 : FlowLayoutOf<FlowKey6, FlowKey6Words, FlowBucket6> {
  static constexpr uint32_t kWays = kFlowWays6;
  // The seed rte_hash used for this table: the lookup-table picks (seeded by
  // the sig) of IPv6 flows stay as they were.
  static constexpr uint32_t kHashSeed = 0x5d1ce6;
  // The most slack under rte_hash's bytes per flow (see the top).
  static constexpr uint32_t kSlackPercent = 60;
  static constexpr uint32_t kPrimaryPreferred = 0;  // always the less loaded bucket

  // rte_hash_crc over the 40 bytes, 8 at a time, by the instruction itself (see Crc32cKey).
  static uint32_t Crc(const Words& key, uint32_t seed) {
    uint64_t crc = seed;
    for (uint64_t word : key.addrs) crc = _mm_crc32_u64(crc, word);
    return static_cast<uint32_t>(_mm_crc32_u64(crc, key.hi));
  }
  static bool SameAddresses(const Bucket& b, uint32_t way, const Words& key) {
    const auto* have = reinterpret_cast<const __m128i*>(b.addrs[way]);
    const auto* want = reinterpret_cast<const __m128i*>(key.addrs);
    __m128i differ = _mm_or_si128(_mm_xor_si128(_mm_load_si128(have), _mm_loadu_si128(want)),
                                  _mm_xor_si128(_mm_load_si128(have + 1), _mm_loadu_si128(want + 1)));
    return _mm_testz_si128(differ, differ);
  }
  static void StoreAddresses(Bucket& b, uint32_t way, const Words& key) {
    std::memcpy(b.addrs[way], key.addrs, sizeof(key.addrs));
  }
  static void LoadAddresses(const Bucket& b, uint32_t way, Key& key) {
    std::memcpy(key.src_addr, b.addrs[way], 16);
    std::memcpy(key.dst_addr, b.addrs[way] + 2, 16);
  }
};

// Instantiated in tables/flow_table.cc.
using FlowTable6 = FlowTableOf<FlowLayout6>;

}  // namespace sluice
