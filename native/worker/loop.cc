// The worker lcore's loop: receive, classify and forward bursts (a burst apart),
// then flush the tx buffers, sweep the tables and report a quiescent state.
#include <rte_cycles.h>

#include "worker/burst.h"
#include "worker/context.h"
#include "worker/flow_listing.h"
#include "worker/fragments.h"
#include "worker/nat.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// Slots swept per loop iteration. Busy, one bucket: at the loop's rate a
// 1M-flow table is still swept several times a second, far more often than
// any timeout, while sweeping several buckets per burst costs the worker a
// visible share (docs/performance-notes.md, "The flow table").
constexpr uint32_t kSweepBudgetBusy = 8;
constexpr uint32_t kSweepBudgetIdle = 1024;
constexpr uint32_t kIdleSpinIterations = 512;  // empty polls before the first sleep
// Slots of a connection listing scanned per loop iteration: busy, about what
// the sweep reads (a listing of a 1M-flow table then takes tens of
// milliseconds of a busy lcore's iterations); idle, a whole small table at once.
constexpr uint32_t kListBudgetBusy = 96;
constexpr uint32_t kListBudgetIdle = 16384;

// Frames the control side hands to this worker's tx queues (mbuf->port = port index).
void SendControlPackets(WorkerContext& w, struct rte_ring* ring) {
  struct rte_mbuf* mbufs[kRxBurst];
  unsigned n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(mbufs), kRxBurst, nullptr);
  for (unsigned i = 0; i < n; i++) {
    uint16_t port_index = mbufs[i]->port;
    if (port_index < w.num_ports) {
      Send(w, port_index, mbufs[i]);
    } else {
      rte_pktmbuf_free(mbufs[i]);
    }
  }
}

void ForwardBurst(WorkerContext& w, const Snapshot& snap, ClassifiedBurst& b, uint32_t now_ms) {
  if (b.num_pending > 0) ForwardIpv4(w, snap, b.pending, b.num_pending, b.port_index, now_ms);
  if (b.num_pending6 > 0) ForwardIpv6(w, snap, b.pending6, b.num_pending6, b.port_index, now_ms);
  if (b.nat.n > 0) ForwardNatBurst(w, snap, b.nat, b.port_index, now_ms);
}

}  // namespace

void ProcessBurst(WorkerContext& w, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n,
                  uint16_t port_index, uint32_t now_ms) {
  ClassifiedBurst b;
  ClassifyBurst(w, snap, mbufs, n, port_index, now_ms, b);
  ForwardBurst(w, snap, b, now_ms);
}

void CountUnsentPackets(struct rte_mbuf** unsent, uint16_t count, void* arg) {
  auto* counters = static_cast<LcoreCounters*>(arg);
  for (uint16_t i = 0; i < count; i++) {
    counters->drops[static_cast<uint32_t>(DropReason::kTxFull)]++;
    counters->tx_unsent_bytes += unsent[i]->pkt_len;
    rte_pktmbuf_free(unsent[i]);
  }
}

int WorkerMain(void* arg) {
  WorkerContext& w = *static_cast<WorkerContext*>(arg);
  LcoreCounters& c = *w.counters;
  rte_rcu_qsbr_thread_register(w.rcu, w.rcu_thread_id);
  rte_rcu_qsbr_thread_online(w.rcu, w.rcu_thread_id);
  uint32_t idle_iterations = 0;
  struct rte_mbuf* mbufs[kRxBurst];
  ClassifiedBurst bursts[2];

  while (!w.stop->load(std::memory_order_relaxed)) {
    uint64_t start = rte_rdtsc();
    uint32_t now_ms = static_cast<uint32_t>((start - w.tsc_base) / w.tsc_per_ms);
    const Snapshot& snap = *w.snapshot->load(std::memory_order_acquire);
    c.snapshot_generation = snap.generation;
    w.admission.Refill(start);
    uint32_t received = 0;
    // Every queue is polled twice an iteration, and a burst is forwarded only
    // after the next one is classified: its flow-table buckets then have a
    // whole burst's work to arrive in, not just the rest of its own
    // classification, and the flush, sweep and quiescent state below are paid
    // once per two bursts. Both stay within the iteration, so no snapshot
    // pointer outlives the quiescent point below. The clock is read after each
    // receive call that returned packets and after the work that followed it,
    // per burst, never per packet, to tell the PMD's share of the lcore from
    // Sluice's own.
    uint64_t mark = start;
    ClassifiedBurst* waiting = nullptr;
    for (uint32_t poll = 0; poll < 2u * w.num_rx; poll++) {
      const RxQueueRuntime& rxq = w.rx[poll < w.num_rx ? poll : poll - w.num_rx];
      uint16_t n = rte_eth_rx_burst(rxq.port_id, rxq.queue, mbufs, kRxBurst);
      if (n == 0) continue;
      uint64_t received_at = rte_rdtsc();
      c.receive_cycles += received_at - mark;
      received += n;
      ClassifiedBurst& next = waiting == &bursts[0] ? bursts[1] : bursts[0];
      ClassifyBurst(w, snap, mbufs, n, rxq.port_index, now_ms, next);
      if (waiting != nullptr) ForwardBurst(w, snap, *waiting, now_ms);
      waiting = &next;
      mark = rte_rdtsc();
      c.process_cycles += mark - received_at;
    }
    if (waiting != nullptr) {
      ForwardBurst(w, snap, *waiting, now_ms);
      c.process_cycles += rte_rdtsc() - mark;
    }
    // Before the flush, so a reply handed over by another lcore leaves in this iteration.
    if (w.nat != nullptr) NatHousekeeping(w, snap, now_ms, received ? kSweepBudgetBusy : kSweepBudgetIdle);
    SendControlPackets(w, w.send_ring);
    if (w.kernel_tx_ring != nullptr) SendControlPackets(w, w.kernel_tx_ring);
    for (uint16_t p = 0; p < w.num_ports; p++) {
      rte_eth_tx_buffer_flush(w.ports[p].port_id, w.tx_queue, w.tx[p]);
    }
    const uint32_t budget = received ? kSweepBudgetBusy : kSweepBudgetIdle;
    w.flows->Sweep(now_ms, budget, c, w.service_counters, w.backend_counters);
    if (w.flows6 != nullptr) w.flows6->Sweep(now_ms, budget, c, w.service_counters, w.backend_counters);
    if (w.fragments != nullptr) SweepFragments(w, now_ms, budget);
    WorkerMailbox& box = *w.mailbox;
    if (box.flows.state.load(std::memory_order_acquire) == FlowQuery::kAsked) {
      ContinueFlowQuery(box.flows, ListedTables{w.flows, w.flows6, w.nat}, now_ms,
                        received ? kListBudgetBusy : kListBudgetIdle);
    }
    if (box.stall_ms.load(std::memory_order_relaxed) != 0) {
      rte_delay_us_block(box.stall_ms.exchange(0, std::memory_order_relaxed) * 1000u);
    }
    // Nothing read from `snap` is used past this point.
    rte_rcu_qsbr_quiescent(w.rcu, w.rcu_thread_id);
    c.iterations++;

    if (received > 0) {
      idle_iterations = 0;
      c.busy_cycles += rte_rdtsc() - start;
      continue;
    }
    if (w.idle_sleep_max_us > 0 && ++idle_iterations > kIdleSpinIterations) {
      uint32_t shift = idle_iterations - kIdleSpinIterations;
      uint32_t sleep_us = shift >= 20 ? w.idle_sleep_max_us : RTE_MIN(w.idle_sleep_max_us, 1u << shift);
      rte_delay_us_sleep(sleep_us);
    }
    c.idle_cycles += rte_rdtsc() - start;
  }

  for (uint16_t p = 0; p < w.num_ports; p++) {
    rte_eth_tx_buffer_flush(w.ports[p].port_id, w.tx_queue, w.tx[p]);
  }
  rte_rcu_qsbr_thread_offline(w.rcu, w.rcu_thread_id);
  rte_rcu_qsbr_thread_unregister(w.rcu, w.rcu_thread_id);
  return 0;
}


}  // namespace sluice
