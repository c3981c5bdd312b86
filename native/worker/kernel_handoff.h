// Frames addressed to the node itself that the data plane does not answer (TCP,
// UDP and ICMP to the port's own address, ARP and neighbor replies to its MAC)
// go to the port's kernel interface when it has one (control/kernel_interface.h),
// through this lcore's kernel ring: never waiting, never allocating, at most the
// port's rate, and counted either way.
#pragma once

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "worker/context.h"
#include "worker/tx_stage.h"

namespace sluice {

// False: the frame is not handed over and is still the caller's (no kernel
// interface, the rate spent, or the ring full); `refused` says which of the last two.
inline bool TryHandToKernel(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, DropReason* refused) {
  if (!w.ports[port_index].kernel_interface) return false;
  AdmissionLimiter& rate = w.kernel_rate[port_index];
  rate.Refill(rte_rdtsc());
  if (!rate.TryAdmit()) {
    *refused = DropReason::kKernelRateLimited;
    return false;
  }
  m->port = port_index;
  if (rte_ring_sp_enqueue(w.kernel_ring, m) != 0) {
    *refused = DropReason::kKernelQueueFull;
    return false;
  }
  w.counters->kernel_handed++;
  return true;
}

// Handed over, or dropped for `otherwise` when the port has no kernel interface.
// Out of line and cold: it must not weigh on the inlining of the classifier it is called from.
[[gnu::noinline, gnu::cold]] inline void HandToKernel(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, DropReason otherwise) {
  DropReason refused = otherwise;
  if (!TryHandToKernel(w, m, port_index, &refused)) Drop(w, m, refused);
}

}  // namespace sluice
