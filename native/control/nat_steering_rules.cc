#include "control/nat_steering_rules.h"

#include <netinet/in.h>

#include "modes/nat/nat_pool.h"

namespace sluice {
namespace {

// The queue worker `w` polls on the port, or -1.
int QueueOf(const WorkerConfig& w, uint16_t port_index) {
  for (const RxQueueRef& r : w.rx) {
    if (r.port_index == port_index) return r.queue;
  }
  return -1;
}

NatSteeringPlan Refuse(std::string reason) {
  NatSteeringPlan plan;
  plan.refusal = std::move(reason);
  return plan;
}

}  // namespace

NatSteeringPlan PlanNatSteering(const NatPoolConfig& pool, const std::vector<WorkerConfig>& workers,
                                uint16_t port_index) {
  size_t n = workers.size();
  if (n == 0) return Refuse("no workers");
  if ((n & (n - 1)) != 0) {
    return Refuse(std::to_string(n) + " workers: rules can only match a power-of-two count by port bits");
  }
  size_t addresses = pool.addresses.size() + pool.addresses6.size();
  if (addresses == 0) return Refuse("the pool has no addresses");
  // The layout over this one pool, as its index 0, says which workers own ports.
  NatPoolLayout layout({&pool}, static_cast<uint32_t>(n));
  std::vector<uint32_t> owners;
  std::vector<int> queues(n, -1);
  for (uint32_t k = 0; k < n; k++) {
    // A worker that owns no pool port (a range shorter than the worker count)
    // needs no rule, nor a queue on this port.
    if (layout.PairsOf(k, 0, 4) == 0 && layout.PairsOf(k, 0, 6) == 0) continue;
    queues[k] = QueueOf(workers[k], port_index);
    if (queues[k] < 0) return Refuse("lcore " + std::to_string(workers[k].lcore) + " polls no queue of this port");
    owners.push_back(k);
  }
  if (addresses * 2 * owners.size() > kMaxNatSteeringRules) {
    return Refuse("the pool needs " + std::to_string(addresses * 2 * owners.size()) + " rules, more than " +
                  std::to_string(kMaxNatSteeringRules));
  }
  NatSteeringPlan plan;
  auto add = [&](uint8_t family, uint32_t address, const std::array<uint8_t, 16>& address6) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      for (uint32_t k : owners) {
        plan.rules.push_back(NatSteeringRule{family, address, address6, proto, static_cast<uint16_t>(k),
                                             static_cast<uint16_t>(n - 1), static_cast<uint16_t>(queues[k]), k});
      }
    }
  };
  for (uint32_t address : pool.addresses) add(4, address, {});
  for (const std::array<uint8_t, 16>& address6 : pool.addresses6) add(6, 0, address6);
  return plan;
}

}  // namespace sluice
