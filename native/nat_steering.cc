#include "nat_steering.h"

#include <netinet/in.h>
#include <rte_byteorder.h>

namespace sluice {
namespace {

// Rules beyond this are more than a NIC's flow table should spend on one pool.
constexpr size_t kMaxRules = 4096;

// The queue worker `w` polls on the port, or -1.
int QueueOf(const WorkerConfig& w, uint16_t port_index) {
  for (const RxQueueRef& r : w.rx) {
    if (r.port_index == port_index) return r.queue;
  }
  return -1;
}

// One rule: IPv4 to `address`, `proto` to a port whose low bits are `owner`.
struct rte_flow* SteerOne(uint16_t port_id, uint32_t address, uint8_t proto, uint16_t owner, uint16_t mask,
                          uint16_t queue, bool create, struct rte_flow_error* error) {
  struct rte_flow_attr attr = {};
  attr.ingress = 1;
  struct rte_flow_item_ipv4 ip_spec = {}, ip_mask = {};
  ip_spec.hdr.dst_addr = address;
  ip_mask.hdr.dst_addr = UINT32_MAX;
  struct rte_flow_item_tcp tcp_spec = {}, tcp_mask = {};
  struct rte_flow_item_udp udp_spec = {}, udp_mask = {};
  tcp_spec.hdr.dst_port = rte_cpu_to_be_16(owner);
  tcp_mask.hdr.dst_port = rte_cpu_to_be_16(mask);
  udp_spec.hdr.dst_port = rte_cpu_to_be_16(owner);
  udp_mask.hdr.dst_port = rte_cpu_to_be_16(mask);
  bool tcp = proto == IPPROTO_TCP;
  struct rte_flow_item pattern[] = {
      {RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr},
      {RTE_FLOW_ITEM_TYPE_IPV4, &ip_spec, nullptr, &ip_mask},
      {tcp ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP, tcp ? static_cast<const void*>(&tcp_spec) : &udp_spec,
       nullptr, tcp ? static_cast<const void*>(&tcp_mask) : &udp_mask},
      {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr},
  };
  struct rte_flow_action_queue to_queue = {queue};
  struct rte_flow_action actions[] = {
      {RTE_FLOW_ACTION_TYPE_QUEUE, &to_queue},
      {RTE_FLOW_ACTION_TYPE_END, nullptr},
  };
  if (rte_flow_validate(port_id, &attr, pattern, actions, error) != 0) return nullptr;
  if (!create) return reinterpret_cast<struct rte_flow*>(1);  // validated only
  return rte_flow_create(port_id, &attr, pattern, actions, error);
}

}  // namespace

NatSteering InstallNatSteering(uint16_t port_id, uint16_t port_index, const NatPoolConfig& pool,
                               const std::vector<WorkerConfig>& workers) {
  NatSteering s;
  size_t n = workers.size();
  if ((n & (n - 1)) != 0) {
    s.reason = std::to_string(n) + " workers: rules can only match a power-of-two count by port bits";
    return s;
  }
  if (pool.addresses.size() * 2 * n > kMaxRules) {
    s.reason = "the pool needs more than " + std::to_string(kMaxRules) + " rules";
    return s;
  }
  std::vector<int> queues;
  for (const WorkerConfig& w : workers) {
    queues.push_back(QueueOf(w, port_index));
    if (queues.back() < 0) {
      s.reason = "lcore " + std::to_string(w.lcore) + " polls no queue of this port";
      return s;
    }
  }
  // Validate every rule first: a NIC that takes some but not all would leave
  // part of the pool steered, which is no better than none.
  for (bool create : {false, true}) {
    for (uint32_t address : pool.addresses) {
      for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
        for (size_t k = 0; k < n; k++) {
          struct rte_flow_error error = {};
          struct rte_flow* flow = SteerOne(port_id, address, proto, static_cast<uint16_t>(k),
                                           static_cast<uint16_t>(n - 1), static_cast<uint16_t>(queues[k]), create,
                                           &error);
          if (flow == nullptr) {
            s.reason = std::string("rte_flow: ") + (error.message != nullptr ? error.message : "refused");
            RemoveNatSteering(port_id, s);
            return s;
          }
          if (create) s.flows.push_back(flow);
        }
      }
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
