// One worker lcore's IP fragment table: (source, destination, protocol, IP ID)
// -> what the datagram's first fragment decided, for the fragments after it.
// Only the first fragment carries the ports, so it alone can be balanced; the
// rest of its datagram follows it here for a short hold time. Fragments that
// arrive before their first are held (as opaque packet pointers: the table
// never frees, sends or allocates) until it comes or the entry expires.
//
// Kept apart from the flow tables on purpose: fragment floods and
// never-completed datagrams fill this table, and only this one, so they cannot
// evict established flows. Entries live hold_ms at most past their last
// fragment (a waiting entry hold_ms past its first held one), and the held
// packets are bounded in count and bytes, so a flood costs a fixed memory and
// at most hold_ms of it.
//
// Single writer (the worker lcore), no locks, no allocation after Place. Buckets
// of kWays entries; a full bucket refuses a new datagram rather than evicting a
// live one, since each entry stands for a datagram some backend is reassembling.
#pragma once

#include <rte_hash_crc.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice {

struct alignas(8) FragmentKey {
  uint8_t src_addr[16];  // network order; IPv4 in the first 4 bytes, the rest zero
  uint8_t dst_addr[16];
  uint32_t id;           // IPv4 identification (16 bits) or IPv6 fragment identification
  uint8_t proto;         // IPv4 protocol, or the IPv6 fragment header's next header
  uint8_t family;        // 4 or 6: an IPv4 and an IPv6 datagram never share an entry
  uint8_t pad[2];        // always zero
};
static_assert(sizeof(FragmentKey) == 40, "hashed as 40 bytes");

// A datagram to a service, or a nat backend's reply to a pool address: one
// translated here, or one whose pool port another lcore owns, whose fragments
// all go to that lcore's hand-off ring (its session is there, and only there).
enum class FragmentReply : uint8_t { kNone = 0, kTranslate, kHandOff };

// What the first fragment decided, replayed on the rest of its datagram.
struct FragmentRoute {
  uint32_t backend_id;     // kHandOff: the owning worker's index
  uint32_t sig;            // the flow's hash: a tunnel's outer source port
  uint16_t service_id;
  uint8_t forwarding;      // Forwarding
  uint8_t drop_reason;     // DropReason + 1 when the first was refused, else 0
  uint16_t ip_delta;       // nat, IPv4: the header checksum's delta of the address rewrite
  uint16_t l4_header_len;  // a later fragment starting inside it overlaps the L4 header
  uint8_t nat_src[16];     // nat: the addresses later fragments are rewritten to
  uint8_t nat_dst[16];
  FragmentReply reply;
  uint8_t pad;
  uint16_t egress_port;    // kTranslate: the client's port
  uint8_t macs[12];        // kTranslate: the client's MAC, then the egress port's
};

enum class FragmentState : uint8_t { kFree = 0, kWaiting, kRouted };

struct alignas(64) FragmentEntry {
  FragmentKey key;
  uint32_t expires_ms;
  FragmentState state;
  uint8_t held;            // packets held, kWaiting only
  uint16_t pad;
  int32_t held_head;       // held slot indices, arrival order; -1: none
  int32_t held_tail;
  uint32_t final_end;      // the datagram's length from its last fragment; 0: not seen
  FragmentRoute route;     // kRouted only
};
static_assert(sizeof(FragmentEntry) == 128, "two cache lines an entry");

struct FragmentLimits {
  uint32_t entries = 4096;        // rounded up to a power of two, at least kWays
  uint32_t hold_ms = 10;
  uint32_t held_bytes = 1 << 20;  // packets held at once, in bytes
};

class FragmentTable {
 public:
  static constexpr uint32_t kWays = 8;
  // One datagram's held fragments: a 64 KiB datagram at the IPv6 minimum MTU
  // of 1280 is 52 fragments; more than this from one datagram is a flood.
  static constexpr uint32_t kMaxHeldPerDatagram = 64;

  // The table with its entries and held slots behind it, in `memory` of
  // MemoryBytes(limits) bytes, 64-byte aligned. No EAL needed:
  // unit tests and fuzzers place it in plain memory.
  static FragmentTable* Place(void* memory, const FragmentLimits& limits);
  static size_t MemoryBytes(const FragmentLimits& limits);
  // In EAL memory on `socket`; nullptr with rte_errno set when there is none.
  static FragmentTable* Create(const char* name, const FragmentLimits& limits, int socket);
  static void Destroy(FragmentTable* table);

  // Word by word from a copy: rte_hash_crc reads the key through uint64_t
  // pointers, and a key just stored field by field was then hashed as it was
  // before the stores (strict aliasing; the unit test caught it at -O2).
  static uint32_t HashOf(const FragmentKey& key) {
    uint64_t words[sizeof(FragmentKey) / 8];
    std::memcpy(words, &key, sizeof(words));
    uint32_t hash = kHashSeed;
    for (uint64_t word : words) hash = rte_hash_crc_8byte(word, hash);
    return hash;
  }

  // The key's live entry, or -1 (an expired one is not found: its datagram is
  // over as far as the balancer is concerned).
  int32_t Find(const FragmentKey& key, uint32_t hash, uint32_t now_ms) const;

  // A free entry for `key` (which Find did not find) in its bucket, state
  // kWaiting and expiring hold_ms from now, or -1 when every entry there is
  // live. An expired entry is reused; the packets it still held go to
  // `release(packet)` first.
  template <typename Release>
  int32_t Claim(const FragmentKey& key, uint32_t hash, uint32_t now_ms, Release&& release) {
    FragmentEntry* bucket = &entries_[(hash & bucket_mask_) * kWays];
    for (uint32_t i = 0; i < kWays; i++) {
      FragmentEntry& e = bucket[i];
      if (e.state != FragmentState::kFree && !Expired(e, now_ms)) continue;
      if (e.state != FragmentState::kFree) Free(e, release);
      e.key = key;
      e.state = FragmentState::kWaiting;
      e.expires_ms = now_ms + limits_.hold_ms;
      e.held = 0;
      e.held_head = e.held_tail = -1;
      e.final_end = 0;
      e.route = FragmentRoute{};
      active_++;
      return static_cast<int32_t>(&e - entries_);
    }
    return -1;
  }

  // Holds `packet` (`bytes` long, its fragment at byte `offset`) on a waiting
  // entry. False when the held bytes, the held slots or the datagram's share
  // are used up: the caller drops it.
  bool Hold(int32_t index, void* packet, uint32_t bytes, uint32_t offset);

  // The entry now routed: it lives hold_ms past each fragment from here on.
  // Its held packets, in arrival order, go to `take(packet, offset)`.
  template <typename Take>
  void Route(int32_t index, const FragmentRoute& route, uint32_t now_ms, Take&& take) {
    FragmentEntry& e = entries_[index];
    e.route = route;
    e.state = FragmentState::kRouted;
    e.expires_ms = now_ms + limits_.hold_ms;
    TakeHeld(e, take);
  }

  // A routed entry's fragment: the entry lives on for hold_ms.
  void Touch(int32_t index, uint32_t now_ms) { entries_[index].expires_ms = now_ms + limits_.hold_ms; }

  // Frees the entry; its held packets go to `release(packet)`.
  template <typename Release>
  void Remove(int32_t index, Release&& release) {
    Free(entries_[index], release);
  }

  // Frees expired entries among up to `budget` entries, resuming where the last
  // call stopped, their held packets to `release(packet)`. Once per loop
  // iteration: that is what drops held fragments whose first never came.
  template <typename Release>
  void Sweep(uint32_t now_ms, uint32_t budget, Release&& release) {
    for (uint32_t n = 0; n < budget && active_ > 0; n++) {
      FragmentEntry& e = entries_[sweep_cursor_];
      sweep_cursor_ = (sweep_cursor_ + 1) & (capacity_ - 1);
      if (e.state != FragmentState::kFree && Expired(e, now_ms)) Free(e, release);
    }
  }

  FragmentEntry& At(int32_t index) { return entries_[index]; }
  const FragmentEntry& At(int32_t index) const { return entries_[index]; }
  uint32_t capacity() const { return capacity_; }
  uint32_t active() const { return active_; }
  uint32_t held_capacity() const { return held_capacity_; }
  uint32_t held_packets() const { return held_packets_; }
  uint64_t held_bytes() const { return held_bytes_; }
  const FragmentLimits& limits() const { return limits_; }

 private:
  static constexpr uint32_t kHashSeed = 0xf7a9;

  struct HeldSlot {
    void* packet;
    int32_t next;   // the next of its entry's, or of the free list; -1: none
    uint32_t bytes;
    uint32_t offset;
  };

  static bool Expired(const FragmentEntry& e, uint32_t now_ms) {
    return static_cast<int32_t>(now_ms - e.expires_ms) >= 0;
  }

  template <typename Take>
  void TakeHeld(FragmentEntry& e, Take&& take) {
    int32_t i = e.held_head;
    while (i >= 0) {
      HeldSlot& s = held_[i];
      int32_t next = s.next;
      void* packet = s.packet;
      uint32_t offset = s.offset;
      held_bytes_ -= s.bytes;
      held_packets_--;
      s.next = free_held_;
      free_held_ = i;
      take(packet, offset);
      i = next;
    }
    e.held_head = e.held_tail = -1;
    e.held = 0;
  }

  template <typename Release>
  void Free(FragmentEntry& e, Release&& release) {
    TakeHeld(e, [&](void* packet, uint32_t) { release(packet); });
    e.state = FragmentState::kFree;
    active_--;
  }

  FragmentEntry* entries_ = nullptr;
  HeldSlot* held_ = nullptr;
  FragmentLimits limits_{};
  uint32_t capacity_ = 0;
  uint32_t bucket_mask_ = 0;
  uint32_t held_capacity_ = 0;
  int32_t free_held_ = -1;
  uint32_t active_ = 0;
  uint32_t held_packets_ = 0;
  uint64_t held_bytes_ = 0;
  uint32_t sweep_cursor_ = 0;
  bool owns_memory_ = false;
};

}  // namespace sluice
