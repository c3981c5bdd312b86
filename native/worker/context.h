// Everything one worker lcore needs, in one cache-aligned block it alone writes
// (the l3fwd lcore_conf pattern): its rx queues, its tx buffers, its flow table
// and counters. The loop reads the shared configuration only through the
// published Snapshot pointer.
#pragma once

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>

#include "tables/admission.h"
#include "common/config_types.h"
#include "common/flow_query.h"
#include "common/port_runtime.h"
#include "tables/flow_table.h"
#include "tables/flow_table6.h"
#include "tables/fragment_table.h"
#include "packet/icmp_errors.h"
#include "common/lcore_counters.h"
#include "common/snapshot.h"
#include "common/worker_channel.h"

namespace sluice {

struct NatLcore;  // modes/nat/nat_forward.h

// 64, not the usual 32: a burst's flow-table lines are fetched while the
// previous burst is forwarded, and twice the lines in flight measured 3-5%
// more at 1M flows and no less at 1K (docs/performance-notes.md, "The flow table").
constexpr uint16_t kRxBurst = 64;
constexpr uint32_t kMaxRxPerWorker = 64;

struct RxQueueRuntime {
  uint16_t port_index;
  uint16_t port_id;
  uint16_t queue;
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerContext {
  uint32_t lcore;
  uint32_t rcu_thread_id;
  uint16_t tx_queue;  // this worker's own tx queue, on every port
  uint16_t num_ports;
  uint16_t num_rx;
  RxQueueRuntime rx[kMaxRxPerWorker];
  const PortRuntime* ports;
  struct rte_eth_dev_tx_buffer* tx[kMaxPorts];
  FlowTable* flows;
  FlowTable6* flows6;                 // IPv6 flows; nullptr: forwarded unremembered
  AdmissionLimiter admission;
  LcoreCounters* counters;
  ServiceCounters* service_counters;  // [kMaxServices]
  BackendCounters* backend_counters;  // [kMaxBackendIds]
  struct rte_ring* learn_ring;        // worker -> control: NeighborLearn elements
  struct rte_ring* send_ring;         // control -> worker: mbufs to transmit, mbuf->port = port index
  const std::atomic<const Snapshot*>* snapshot;
  struct rte_rcu_qsbr* rcu;
  const std::atomic<bool>* stop;
  IcmpRateLimiter icmp_limiter;
  uint16_t ip_id;                     // outer IPv4 IDs of tunnelled packets
  uint32_t idle_sleep_max_us;
  NatLcore* nat;                      // nullptr: no port has a nat pool
  WorkerMailbox* mailbox;             // control -> worker: a connection listing to answer, a test stall
  uint64_t tsc_per_ms;
  uint64_t tsc_base;
  // The node's own traffic (worker/kernel_handoff.h); nullptr without kernel interfaces.
  struct rte_ring* kernel_ring;      // worker -> kernel interface thread, mbuf->port = port index
  struct rte_ring* kernel_tx_ring;   // kernel interface thread -> worker: what the kernel sends
  AdmissionLimiter kernel_rate[kMaxPorts];  // frames a second to each port's kernel interface
  FragmentTable* fragments;          // nullptr: fragments are dropped (ip_fragment)
};

// Processes one received burst from one port to completion: every mbuf is sent
// (buffered on w.tx) or freed and counted. The loop calls it per rx queue; the
// packet-path fuzzer calls it directly with a hand-built context.
void ProcessBurst(WorkerContext& w, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n,
                  uint16_t port_index, uint32_t now_ms);

// rte_eal_remote_launch entry point; `arg` is a WorkerContext*.
int WorkerMain(void* arg);

// rte_eth_tx_buffer error callback: frees what the tx queue refused and counts it.
void CountUnsentPackets(struct rte_mbuf** unsent, uint16_t count, void* counters);

}  // namespace sluice
