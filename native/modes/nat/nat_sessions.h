// forwarding nat: one worker lcore's sessions. Only its own lcore reads and
// writes them; everything is allocated at start. A session is found two ways:
// by the client's 5-tuple (tables/nat_session_index.h, written only by this lcore), and
// by the pool pair a reply is addressed to, which is the session's own index: every
// session holds exactly one pool pair of this lcore, so the free list of
// sessions is the free list of pool ports. Each lcore has one table per family
// (NatSessions, NatSessions6), over its pairs of the port's IPv4 and IPv6 pools.
#pragma once

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tables/flow_table.h"
#include "tables/flow_table6.h"
#include "common/lcore_counters.h"
#include "modes/nat/nat_pool.h"
#include "tables/nat_session_index.h"
#include "modes/nat/nat_translate.h"
#include "packet/packet_parse.h"

namespace sluice {

enum class NatState : uint8_t {
  kFree = 0,
  kOpening,      // client SYN only: the short (closing) timeout until the backend answers
  kEstablished,  // TCP: the long timeout; UDP: the UDP timeout
  kClosing,      // FIN or RST seen from either side
};

// The two families' sessions differ only in their address and key types.
struct Nat4 {
  using Addr = uint32_t;
  using Key = FlowKey4;
  static constexpr uint8_t kFamily = 4;
};
struct NatAddr6 {
  uint8_t bytes[16];
  bool operator==(const NatAddr6& o) const { return std::memcmp(bytes, o.bytes, 16) == 0; }
  bool operator!=(const NatAddr6& o) const { return !(*this == o); }
};
struct Nat6 {
  using Addr = NatAddr6;
  using Key = FlowKey6;
  static constexpr uint8_t kFamily = 6;
};

// The client's endpoints come first, in the order of the client key's fields
// (FlowKey4's, for IPv4), so that an IPv4 lookup compares them as two words.
template <typename F>
struct NatSessionOf {
  using Addr = typename F::Addr;
  Addr client_addr;   // network order, as are all addresses and ports here
  Addr vip;
  uint16_t client_port;
  uint16_t vip_port;
  uint8_t proto;
  NatState state;
  uint16_t service_id;
  Addr backend_addr;
  Addr pool_addr;
  uint16_t backend_port;
  uint16_t pool_port;
  uint32_t backend_id;
  uint32_t last_seen_ms;
  uint16_t client_port_index;  // where the client's packets arrive and replies leave
  NatChecksumDeltas to_backend;  // client -> (vip to backend, client to pool); replies take the reverse
  struct rte_ether_addr client_mac;  // the client side's next hop
  uint32_t opened_ms;  // read by listings only
};
using NatSession = NatSessionOf<Nat4>;
using NatSession6 = NatSessionOf<Nat6>;

template <typename F>
class NatSessionTable {
 public:
  using Session = NatSessionOf<F>;
  using Key = typename F::Key;
  using Addr = typename F::Addr;

  // `owner` is this lcore's worker index in `layout`; at most `max_sessions` of
  // its pool pairs are used. Returns nullptr with rte_errno set on failure.
  static NatSessionTable* Create(const char* name, const NatPoolLayout& layout, uint32_t owner,
                                 uint32_t max_sessions, int socket, const FlowTimeouts& timeouts);
  static void Destroy(NatSessionTable* sessions);

  NatIndexHash HashOf(const Key& key) const { return by_client_.HashOf(KeySig(key)); }

  // The lookup by client is staged so that a burst's cache misses overlap, as
  // the flow table's is: the primary bucket first; once it is in, the matching
  // sessions or, without a match, the secondary bucket; once that is in, its
  // matching sessions. PrefetchAfterPrimary returns true when the secondary
  // bucket still has to be looked at.
  void PrefetchPrimary(const NatIndexHash& h) const { by_client_.PrefetchBucket(h.primary); }
  bool PrefetchAfterPrimary(const NatIndexHash& h) const {
    if (PrefetchMatches(h.primary, h)) return false;
    by_client_.PrefetchBucket(h.secondary);
    return true;
  }
  void PrefetchAfterSecondary(const NatIndexHash& h) const { PrefetchMatches(h.secondary, h); }

  // The session of the client key, or -1.
  int32_t FindByClient(const Key& key, const NatIndexHash& h) const {
    return by_client_.Find(h, [&](uint32_t index) { return IsClient(sessions_[index], key); });
  }
  // The session index pool pair (address, port) of port `port_index` belongs to,
  // in use or not, or -1 when the pair is not one of this lcore's.
  int32_t PoolSlot(uint16_t port_index, const Addr& address, uint16_t port) const {
    return PoolSlotAt(port_index, AddressIndex(port_index, address), port);
  }
  // The same, the address given as its index in the port's pool (NatPoolLayout::AddressIndex).
  int32_t PoolSlotAt(uint16_t port_index, int32_t address_index, uint16_t port) const {
    int64_t pair = layout_->IndexOf(owner_, port_index, address_index, port, F::kFamily);
    if (pair < 0 || pair >= per_port_[port_index]) return -1;
    return static_cast<int32_t>(base_[port_index] + pair);
  }
  // The session that holds pool pair (address, port) of port `port_index`, or -1.
  int32_t FindByPool(uint16_t port_index, const Addr& address, uint16_t port) const {
    int32_t index = PoolSlot(port_index, address, port);
    return index < 0 || sessions_[index].state == NatState::kFree ? -1 : index;
  }
  // A session spans two cache lines at most.
  void PrefetchSession(int32_t index) const {
    const auto* s = reinterpret_cast<const uint8_t*>(&sessions_[index]);
    rte_prefetch0(s);
    rte_prefetch0(s + sizeof(Session) - 1);
  }
  // A new session for the client key (whose hash is `h`) with a free pool pair
  // on `egress_port`'s pool, or -1 when that pool has none left.
  int32_t Open(const Key& key, const NatIndexHash& h, uint16_t egress_port, LcoreCounters& counters);
  void Close(int32_t index, LcoreCounters& counters);

  Session& At(int32_t index) { return sessions_[index]; }
  uint32_t capacity() const { return capacity_; }

  // Calls `visit(session)` with each open, unexpired session of [first, end) and
  // returns `end`, at most capacity(). For listings, never per packet.
  template <typename Visit>
  uint32_t VisitSessions(uint32_t first, uint32_t end, uint32_t now_ms, Visit&& visit) const {
    if (end > capacity_) end = capacity_;
    for (uint32_t index = first; index < end; index++) {
      const Session& s = sessions_[index];
      if (s.state != NatState::kFree && !IsExpired(s, now_ms)) visit(s);
    }
    return end;
  }
  const NatPoolLayout& layout() const { return *layout_; }
  uint32_t owner() const { return owner_; }

  bool IsExpired(const Session& s, uint32_t now_ms) const { return now_ms - s.last_seen_ms > TimeoutMs(s); }
  // Frees expired sessions among up to `budget` of them, resuming where the last
  // call stopped; once per loop iteration, never per packet.
  void Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters);

  static size_t MemoryBytes(uint32_t capacity);
  // The sessions Create gives worker `owner`: its pool pairs of the family on
  // every port, at most `max_sessions` per port.
  static uint32_t CapacityOf(const NatPoolLayout& layout, uint32_t owner, uint32_t max_sessions);

 private:
  static constexpr uint32_t kHashSeed = 0x5e55;

  // CRC32C of the key's bytes.
  static uint32_t KeySig(const FlowKey4& key) {
    uint64_t words[2];
    std::memcpy(words, &key, sizeof(words));
    return Crc32cKey(words[0], words[1], kHashSeed);
  }
  static uint32_t KeySig(const FlowKey6& key) { return rte_hash_crc(&key, sizeof(key), kHashSeed); }

  // The session's first 13 bytes against the key's (the rest of its second word
  // is the session's state and service, the key's zero padding).
  static bool IsClient(const NatSessionOf<Nat4>& s, const FlowKey4& key) {
    static_assert(offsetof(NatSessionOf<Nat4>, vip) == offsetof(FlowKey4, dst_addr) &&
                      offsetof(NatSessionOf<Nat4>, client_port) == offsetof(FlowKey4, src_port) &&
                      offsetof(NatSessionOf<Nat4>, vip_port) == offsetof(FlowKey4, dst_port) &&
                      offsetof(NatSessionOf<Nat4>, proto) == offsetof(FlowKey4, proto),
                  "a session starts with its client key's fields");
    constexpr uint64_t kPortsAndProto = (uint64_t{1} << 40) - 1;
    uint64_t session[2], want[2];
    std::memcpy(session, &s, sizeof(session));
    std::memcpy(want, &key, sizeof(want));
    return session[0] == want[0] && ((session[1] ^ want[1]) & kPortsAndProto) == 0;
  }
  static bool IsClient(const NatSessionOf<Nat6>& s, const FlowKey6& key) {
    return std::memcmp(s.client_addr.bytes, key.src_addr, 16) == 0 && std::memcmp(s.vip.bytes, key.dst_addr, 16) == 0 &&
           s.client_port == key.src_port && s.vip_port == key.dst_port && s.proto == key.proto;
  }

  bool PrefetchMatches(uint32_t bucket, const NatIndexHash& h) const {
    uint32_t mask = by_client_.Matches(bucket, h);
    for (uint32_t m = mask; m != 0; m &= m - 1) PrefetchSession(by_client_.SessionAt(bucket, __builtin_ctz(m)));
    return mask != 0;
  }

  int32_t AddressIndex(uint16_t port_index, uint32_t address) const {
    return layout_->AddressIndex(port_index, address);
  }
  int32_t AddressIndex(uint16_t port_index, const NatAddr6& address) const {
    return layout_->AddressIndex6(port_index, address.bytes);
  }

  uint32_t TimeoutMs(const Session& s) const {
    if (s.state == NatState::kOpening || s.state == NatState::kClosing) return timeouts_.tcp_closing_ms;
    return s.proto == parse_detail::kProtoUdp ? timeouts_.udp_ms : timeouts_.tcp_ms;
  }

  // Free sessions per egress port, FIFO so a pool port is reused as late as
  // possible (the backend may still hold the last connection from it in TIME_WAIT).
  struct FreeList {
    uint32_t* slots;
    uint32_t size;
    uint32_t head;   // next to take
    uint32_t count;
  };

  Session* sessions_ = nullptr;
  // Port p's sessions are base_[p] .. base_[p] + per_port_[p] - 1, its pool pairs in order.
  uint32_t base_[kMaxPorts] = {};
  uint32_t per_port_[kMaxPorts] = {};
  FreeList free_[kMaxPorts] = {};
  uint32_t* free_memory_ = nullptr;
  NatSessionIndex by_client_;
  void* index_memory_ = nullptr;
  const NatPoolLayout* layout_ = nullptr;
  uint32_t owner_ = 0;
  uint32_t capacity_ = 0;
  uint32_t sweep_cursor_ = 0;
  FlowTimeouts timeouts_{};
};

using NatSessions = NatSessionTable<Nat4>;
using NatSessions6 = NatSessionTable<Nat6>;

}  // namespace sluice
