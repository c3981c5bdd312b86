// forwarding nat: one worker lcore's sessions. Only its own lcore reads and
// writes them; everything is allocated at start. A session is found two ways:
// by the client's 5-tuple (an rte_hash, written only by this lcore), and by the
// pool pair a reply is addressed to, which is the session's own index: every
// session holds exactly one pool pair of this lcore, so the free list of
// sessions is the free list of pool ports.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>

#include <cstdint>

#include "flow_table.h"
#include "lcore_stats.h"
#include "nat_pool.h"
#include "packet_parse.h"

namespace sluice {

enum class NatState : uint8_t {
  kFree = 0,
  kOpening,      // client SYN only: the short (closing) timeout until the backend answers
  kEstablished,  // TCP: the long timeout; UDP: the UDP timeout
  kClosing,      // FIN or RST seen from either side
};

struct NatSession {
  uint32_t client_addr;   // network order, as are all addresses and ports here
  uint32_t vip;
  uint32_t backend_addr;
  uint32_t pool_addr;
  uint16_t client_port;
  uint16_t vip_port;
  uint16_t backend_port;
  uint16_t pool_port;
  uint32_t backend_id;
  uint32_t last_seen_ms;
  uint16_t service_id;
  uint16_t client_port_index;  // where the client's packets arrive and replies leave
  struct rte_ether_addr client_mac;  // the client side's next hop
  uint8_t proto;
  NatState state;
};

class NatSessions {
 public:
  // `owner` is this lcore's worker index in `layout`; at most `max_sessions` of
  // its pool pairs are used. Returns nullptr with rte_errno set on failure.
  static NatSessions* Create(const char* name, const NatPoolLayout& layout, uint32_t owner,
                             uint32_t max_sessions, int socket, const FlowTimeouts& timeouts);
  static void Destroy(NatSessions* sessions);

  // The session of the client key, or -1.
  int32_t FindByClient(const FlowKey4& key) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(by_client_, &key, &data) < 0) return -1;
    return static_cast<int32_t>(reinterpret_cast<uintptr_t>(data));
  }
  // The session that holds pool pair (address, port) of port `port_index`, or -1.
  int32_t FindByPool(uint16_t port_index, uint32_t address, uint16_t port) const {
    int64_t pair = layout_->IndexOf(owner_, port_index, layout_->AddressIndex(port_index, address), port);
    if (pair < 0 || pair >= per_port_[port_index]) return -1;
    int32_t index = static_cast<int32_t>(base_[port_index] + pair);
    return sessions_[index].state == NatState::kFree ? -1 : index;
  }
  // A new session for the client key with a free pool pair on `egress_port`'s
  // pool, or -1 when that pool has none left.
  int32_t Open(const FlowKey4& key, uint16_t egress_port, LcoreCounters& counters);
  void Close(int32_t index, LcoreCounters& counters);

  NatSession& At(int32_t index) { return sessions_[index]; }
  uint32_t capacity() const { return capacity_; }
  const NatPoolLayout& layout() const { return *layout_; }
  uint32_t owner() const { return owner_; }

  bool IsExpired(const NatSession& s, uint32_t now_ms) const { return now_ms - s.last_seen_ms > TimeoutMs(s); }
  // Frees expired sessions among up to `budget` of them, resuming where the last
  // call stopped; once per loop iteration, never per packet.
  void Sweep(uint32_t now_ms, uint32_t budget, LcoreCounters& counters);

  static size_t MemoryBytes(uint32_t capacity);

 private:
  uint32_t TimeoutMs(const NatSession& s) const {
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

  NatSession* sessions_ = nullptr;
  // Port p's sessions are base_[p] .. base_[p] + per_port_[p] - 1, its pool pairs in order.
  uint32_t base_[kMaxPorts] = {};
  uint32_t per_port_[kMaxPorts] = {};
  FreeList free_[kMaxPorts] = {};
  uint32_t* free_memory_ = nullptr;
  struct rte_hash* by_client_ = nullptr;
  const NatPoolLayout* layout_ = nullptr;
  uint32_t owner_ = 0;
  uint32_t capacity_ = 0;
  uint32_t sweep_cursor_ = 0;
  FlowTimeouts timeouts_{};
};

}  // namespace sluice
