// Bringing one ethdev port up: find (or, for "ring", create) the device, check
// what it can do against what the config asks, configure RSS, queues, MTU and
// offloads, start it. What the device cannot do is reported, not ignored.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <string>
#include <vector>

#include "common/config_types.h"

namespace sluice {

struct PortState {
  std::string name;
  uint16_t port_id = 0;
  int socket = 0;
  std::string driver;
  struct rte_ether_addr mac{};
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  uint16_t mtu = 0;
  uint64_t rss_requested = 0;
  uint64_t rss_offered = 0;
  bool rx_ip_checksum_offload = false;
  std::vector<std::string> warnings;
  bool started = false;
  // "ring" ports only: the rings behind the device, for inject and capture.
  std::vector<struct rte_ring*> inject_rings;
  std::vector<struct rte_ring*> capture_rings;
};

// Finds the port named by `config.device` ("ring" creates an in-process one).
// Throws CodedError(SLUICE_PORT_SETUP_FAILED) naming the port and the reason.
PortState ProbePort(const PortConfig& config, uint16_t tx_queues, uint32_t instance);

// Configures and starts the port; its rx queues take mbufs from `pool`.
void StartPort(const PortConfig& config, struct rte_mempool* pool, PortState& state);

void StopPort(PortState& state);

std::string FormatMac(const struct rte_ether_addr& mac);
std::string RssNames(uint64_t rss_hf);

}  // namespace sluice
