// forwarding nat: which rte_flow rules would steer each worker lcore's pool ports
// to the rx queue that lcore polls. Pure: no EAL, no rte_flow calls, so the rule
// set is unit-tested here and control/nat_steering.cc only hands it to the NIC.
//
// One rule per pool address (IPv4 and IPv6), protocol (TCP, UDP) and worker that
// owns at least one pool port: destination the address (full mask), destination
// port & (workers - 1) == the worker's index. That is modes/nat/nat_pool.h's ownership rule
// (port % workers, the same for both families and wherever the range starts)
// only when the worker count is a power of two; for any other count the plan is
// refused rather than approximated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config_types.h"

namespace sluice {

struct NatSteeringRule {
  uint8_t family;                  // 4 or 6
  uint32_t address;                // IPv4 rules, network order
  std::array<uint8_t, 16> address6;  // IPv6 rules
  uint8_t proto;                   // IPPROTO_TCP or IPPROTO_UDP
  uint16_t port_spec;              // destination port, host order
  uint16_t port_mask;              // host order
  uint16_t queue;                  // the rx queue of the port
  uint32_t worker;                 // the worker index the rule serves
};

struct NatSteeringPlan {
  std::vector<NatSteeringRule> rules;
  std::string refusal;  // why no rules can do the job; empty when they can
};

// Rules beyond this are more than a NIC's flow table should spend on one pool.
constexpr size_t kMaxNatSteeringRules = 4096;

// `workers` in worker index order, as modes/nat/nat_pool.h counts them; `port_index` the
// port's place in the configuration, as the workers' rx queues name it.
NatSteeringPlan PlanNatSteering(const NatPoolConfig& pool, const std::vector<WorkerConfig>& workers,
                                uint16_t port_index);

}  // namespace sluice
