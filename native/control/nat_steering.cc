#include "control/nat_steering.h"

#include <netinet/in.h>
#include <rte_byteorder.h>

#include <cstring>

#include "control/nat_steering_rules.h"

namespace sluice {
namespace {

// Validates `rule` on the port and, when `create`, creates it: the flow, or
// nullptr with `error` set. Validation alone answers a non-null placeholder.
struct rte_flow* Steer(uint16_t port_id, const NatSteeringRule& rule, bool create, struct rte_flow_error* error) {
  struct rte_flow_attr attr = {};
  attr.ingress = 1;
  struct rte_flow_item_ipv4 ip_spec = {}, ip_mask = {};
  ip_spec.hdr.dst_addr = rule.address;
  ip_mask.hdr.dst_addr = UINT32_MAX;
  struct rte_flow_item_ipv6 ip6_spec = {}, ip6_mask = {};
  std::memcpy(ip6_spec.hdr.dst_addr, rule.address6.data(), 16);
  std::memset(ip6_mask.hdr.dst_addr, 0xff, 16);
  struct rte_flow_item_tcp tcp_spec = {}, tcp_mask = {};
  struct rte_flow_item_udp udp_spec = {}, udp_mask = {};
  tcp_spec.hdr.dst_port = rte_cpu_to_be_16(rule.port_spec);
  tcp_mask.hdr.dst_port = rte_cpu_to_be_16(rule.port_mask);
  udp_spec.hdr.dst_port = rte_cpu_to_be_16(rule.port_spec);
  udp_mask.hdr.dst_port = rte_cpu_to_be_16(rule.port_mask);
  bool v6 = rule.family == 6;
  bool tcp = rule.proto == IPPROTO_TCP;
  struct rte_flow_item pattern[] = {
      {RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr},
      {v6 ? RTE_FLOW_ITEM_TYPE_IPV6 : RTE_FLOW_ITEM_TYPE_IPV4, v6 ? static_cast<const void*>(&ip6_spec) : &ip_spec,
       nullptr, v6 ? static_cast<const void*>(&ip6_mask) : &ip_mask},
      {tcp ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP, tcp ? static_cast<const void*>(&tcp_spec) : &udp_spec,
       nullptr, tcp ? static_cast<const void*>(&tcp_mask) : &udp_mask},
      {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr},
  };
  struct rte_flow_action_queue to_queue = {rule.queue};
  struct rte_flow_action actions[] = {
      {RTE_FLOW_ACTION_TYPE_QUEUE, &to_queue},
      {RTE_FLOW_ACTION_TYPE_END, nullptr},
  };
  if (rte_flow_validate(port_id, &attr, pattern, actions, error) != 0) return nullptr;
  if (!create) return reinterpret_cast<struct rte_flow*>(1);
  return rte_flow_create(port_id, &attr, pattern, actions, error);
}

}  // namespace

NatSteering InstallNatSteering(uint16_t port_id, uint16_t port_index, const NatPoolConfig& pool,
                               const std::vector<WorkerConfig>& workers) {
  NatSteering s;
  NatSteeringPlan plan = PlanNatSteering(pool, workers, port_index);
  if (!plan.refusal.empty()) {
    s.reason = plan.refusal;
    return s;
  }
  // Validate every rule first: a NIC that takes some but not all would leave
  // part of the pool steered, which is no better than none. Some PMDs (net_tap)
  // check masks only on create, so a failed create also removes what was made.
  for (bool create : {false, true}) {
    for (const NatSteeringRule& rule : plan.rules) {
      struct rte_flow_error error = {};
      struct rte_flow* flow = Steer(port_id, rule, create, &error);
      if (flow == nullptr) {
        s.reason = std::string("rte_flow: ") + (error.message != nullptr ? error.message : "refused") + " (" +
                   (create ? "creating" : "validating") + " the IPv" + std::to_string(rule.family) +
                   (rule.proto == IPPROTO_TCP ? " TCP" : " UDP") + " rule of worker " + std::to_string(rule.worker) +
                   ")";
        RemoveNatSteering(port_id, s);
        return s;
      }
      if (create) s.flows.push_back(flow);
    }
  }
  s.rte_flow = true;
  return s;
}

void RemoveNatSteering(uint16_t port_id, NatSteering& steering) {
  for (struct rte_flow* flow : steering.flows) {
    struct rte_flow_error error;
    rte_flow_destroy(port_id, flow, &error);
  }
  steering.flows.clear();
  steering.rte_flow = false;
}

}  // namespace sluice
