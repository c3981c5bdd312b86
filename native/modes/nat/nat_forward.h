// forwarding nat, per packet: a client's packet to a nat VIP gets a session (pool
// address:port of this lcore) and goes to the backend; a backend's reply to a pool
// address goes back to the client as if from the VIP. The functions rewrite the
// frame in place and return what the worker does with it; they never send, free
// or allocate. Both families: IPv6 packets use the lcore's IPv6 sessions and the
// pool's addresses6, with the same ownership rule and hand-off.
//
// A reply may arrive on an lcore that does not own its pool port (the NIC spread
// it by a hash of the backend's and the pool's addresses). It is then handed, as
// the mbuf, to the owner's hand-off ring (multi-producer, single-consumer), which
// the owner drains every loop iteration. Where the NIC takes the rte_flow rules
// of control/nat_steering.h (IPv4 and IPv6 pool addresses alike), replies arrive
// at their owner and the hand-off stays idle.
#pragma once

#include <rte_ether.h>
#include <rte_ring.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/config_types.h"
#include "common/drop_reasons.h"
#include "tables/flow_table.h"
#include "common/lcore_counters.h"
#include "modes/nat/nat_pool.h"
#include "modes/nat/nat_sessions.h"
#include "packet/packet_parse.h"
#include "common/snapshot.h"

namespace sluice {

struct PortRuntime;  // common/port_runtime.h

// One worker's nat state; only that worker writes it.
struct NatLcore {
  NatSessions* sessions;
  NatSessions6* sessions6;  // the IPv6 pools' sessions
  const NatPoolLayout* layout;
  struct rte_ring* const* inboxes;  // every worker's hand-off ring, by worker index
  uint32_t worker_index;
};

enum class NatAction : uint8_t { kToBackend, kToClient, kHandOff, kDrop };

struct NatVerdict {
  NatAction action;
  DropReason reason;     // kDrop
  uint16_t port_index;   // kToBackend, kToClient: the egress port
  uint32_t backend_id;   // kToBackend
  const BackendView* backend;  // kToBackend: the snapshot's view of backend_id
  uint32_t owner;        // kHandOff: the worker index that owns the pool port
  bool new_session;      // kToBackend: a session was opened for this packet
};

// The client key of an IPv6 packet: its sessions' key, and its lookup-table hash.
// (NatFromClient, NatFromClient4 and NatFromBackend4 are in modes/nat/nat_verdicts.h.)
FlowKey6 NatClientKey6(const PacketInfo& info);

// A TCP or UDP packet to a pool address of `ingress_port`.
NatVerdict NatFromBackend(NatLcore& nat, uint8_t* frame, const PacketInfo& info, uint16_t ingress_port,
                          const PortRuntime* ports, uint32_t now_ms);

// The nat state of every worker: the pool layout, the sessions and the hand-off
// rings. Built at start when some port has a pool, freed after the workers stop.
class NatRuntime {
 public:
  // Throws CodedError(SLUICE_RESOURCE_EXHAUSTED) when memory runs out, and
  // SLUICE_LIMIT_EXCEEDED, before allocating, when the session tables of all
  // workers would take more than `limit_bytes`.
  NatRuntime(const std::vector<PortConfig>& ports, const std::vector<int>& worker_sockets,
             uint32_t max_sessions_per_port, const FlowTimeouts& timeouts, uint32_t instance,
             uint64_t limit_bytes = UINT64_MAX);
  ~NatRuntime();
  NatRuntime(const NatRuntime&) = delete;
  NatRuntime& operator=(const NatRuntime&) = delete;

  NatLcore* lcore(size_t worker) { return &lcores_[worker]; }
  const NatPoolLayout& layout() const { return *layout_; }
  uint32_t sessions_capacity(size_t worker) const {
    return lcores_[worker].sessions->capacity() + lcores_[worker].sessions6->capacity();
  }

 private:
  void Release();

  std::unique_ptr<NatPoolLayout> layout_;
  std::vector<struct rte_ring*> inboxes_;
  std::vector<NatLcore> lcores_;
};

}  // namespace sluice
