// forwarding nat: installs the rte_flow rules of control/nat_steering_rules.h, so the
// NIC, not a hand-off ring, delivers a reply to the lcore owning its session.
// Where the NIC refuses any rule (net_ring, net_af_packet and net_pcap have no
// rte_flow at all; net_tap takes no partial port mask), none stays installed and
// the software hand-off does all the work; it stays in place either way.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/config_types.h"

namespace sluice {

struct NatSteering {
  bool rte_flow = false;             // the rules are installed
  std::string reason;                // why not, when they are not
  std::vector<struct rte_flow*> flows;
};

// Called on the control thread after the port started. `workers` in worker
// index order, as modes/nat/nat_pool.h counts them.
NatSteering InstallNatSteering(uint16_t port_id, uint16_t port_index, const NatPoolConfig& pool,
                               const std::vector<WorkerConfig>& workers);

// Before the port stops.
void RemoveNatSteering(uint16_t port_id, NatSteering& steering);

}  // namespace sluice
