// The node's own traffic over a DPDK port (DPVS's KNI, without KNI): per port
// that asks for it, a TAP device the kernel sees, with the port's MAC and
// addresses. Frames the workers find addressed to the port itself and do not
// answer (TCP, UDP, ICMP other than echo requests, ARP and neighbor replies to
// its MAC) come through the workers' kernel rings and are written to the TAP;
// what the kernel sends on the TAP leaves through the port, by a worker's tx
// queue: one whose loop moves, so a stuck lcore cannot hold back the node's
// BGP withdrawal. One control thread does both directions, polling, so the
// workers never make a system call for it and the event loop is not involved.
#pragma once

#include <pthread.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config_types.h"
#include "common/port_runtime.h"

namespace sluice {

// Written by the kernel interface thread only; read by the control thread.
struct KernelInterfaceCounters {
  std::atomic<uint64_t> to_kernel{0};          // frames written to the TAP
  std::atomic<uint64_t> to_kernel_dropped{0};  // the TAP did not take them
  std::atomic<uint64_t> from_kernel{0};        // frames the kernel sent, passed to the port
  std::atomic<uint64_t> from_kernel_dropped{0};  // not from the port's MAC, or the tx ring was full
};

struct KernelInterfaceStats {
  std::string name;
  uint64_t to_kernel, to_kernel_dropped, from_kernel, from_kernel_dropped;
};

class KernelInterfaces {
 public:
  // Creates, configures and starts a TAP for each port whose config names one,
  // and gives it the port's MAC, MTU and addresses. Throws CodedError naming the
  // port's kernelInterface when the name is taken or the TAP cannot be made.
  KernelInterfaces(const std::vector<PortConfig>& ports, const std::vector<PortRuntime>& runtime,
                   const std::map<int, struct rte_mempool*>& pools, uint32_t instance);
  ~KernelInterfaces();
  KernelInterfaces(const KernelInterfaces&) = delete;
  KernelInterfaces& operator=(const KernelInterfaces&) = delete;

  struct WorkerRings {
    struct rte_ring* from_worker;  // frames for the kernel, mbuf->port = port index
    struct rte_ring* to_port;      // frames the worker transmits for the kernel
    const uint64_t* iterations;    // its loop counter: whether it still moves
  };
  // The thread runs until Stop.
  void Start(std::vector<WorkerRings> workers);
  void Stop();

  // By port index; empty name: the port has none.
  std::vector<KernelInterfaceStats> Stats() const;

 private:
  struct Tap {
    std::string name;  // the kernel's interface name; empty: none for this port
    uint16_t port_id = 0;
    struct rte_ether_addr mac;
    KernelInterfaceCounters counters;
  };
  struct Sender {
    WorkerRings rings;
    uint64_t seen = 0;       // its loop counter at the last look
    uint64_t moved_tsc = 0;  // when that counter last moved
  };
  static void* ThreadMain(void* self);
  bool PollOnce();
  void LookAtWorkers();

  std::vector<Tap> taps_;  // by port index
  std::vector<Sender> workers_;
  size_t sender_ = 0;      // the worker whose tx queues carry the kernel's frames
  uint64_t stale_tsc_ = 0;
  pthread_t thread_{};
  bool running_ = false;
  std::atomic<bool> stop_{false};
};

}  // namespace sluice
