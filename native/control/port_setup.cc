#include "control/port_setup.h"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <string>

#include "common/coded_error.h"

namespace sluice {
namespace {

// Flows are spread by their addresses and ports; these are the hash inputs asked
// for when the device offers them.
constexpr uint64_t kWantedRss = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                                RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
constexpr unsigned kRingPortSize = 4096;

[[noreturn]] void Fail(const PortConfig& config, const std::string& reason) {
  throw CodedError(codes::kPortSetupFailed, "port " + config.name + " (" + config.device + "): " + reason);
}

std::string DeviceName(const std::string& device) {
  return device.substr(0, device.find(','));
}

void CreateRingPort(const PortConfig& config, uint16_t tx_queues, uint32_t instance, PortState& state) {
  char name[RTE_RING_NAMESIZE];
  for (uint16_t q = 0; q < config.queues; q++) {
    std::snprintf(name, sizeof(name), "sl%u_%s_i%u", instance, config.name.c_str(), q);
    struct rte_ring* r = rte_ring_create(name, kRingPortSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) Fail(config, std::string("cannot create ring: ") + rte_strerror(rte_errno));
    state.inject_rings.push_back(r);
  }
  for (uint16_t q = 0; q < tx_queues; q++) {
    std::snprintf(name, sizeof(name), "sl%u_%s_c%u", instance, config.name.c_str(), q);
    struct rte_ring* r = rte_ring_create(name, kRingPortSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) Fail(config, std::string("cannot create ring: ") + rte_strerror(rte_errno));
    state.capture_rings.push_back(r);
  }
  std::snprintf(name, sizeof(name), "sl%u_%s", instance, config.name.c_str());
  int id = rte_eth_from_rings(name, state.inject_rings.data(), config.queues, state.capture_rings.data(), tx_queues,
                              SOCKET_ID_ANY);
  if (id < 0) Fail(config, std::string("cannot create ring port: ") + rte_strerror(rte_errno));
  state.port_id = static_cast<uint16_t>(id);
}

}  // namespace

std::string FormatMac(const struct rte_ether_addr& mac) {
  char text[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(text, sizeof(text), &mac);
  for (char* c = text; *c; c++) *c = static_cast<char>(tolower(*c));
  return text;
}

std::string RssNames(uint64_t rss_hf) {
  static const struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {{RTE_ETH_RSS_IPV4, "ipv4"}, {RTE_ETH_RSS_NONFRAG_IPV4_TCP, "ipv4-tcp"},
                {RTE_ETH_RSS_NONFRAG_IPV4_UDP, "ipv4-udp"}, {RTE_ETH_RSS_IPV6, "ipv6"},
                {RTE_ETH_RSS_NONFRAG_IPV6_TCP, "ipv6-tcp"}, {RTE_ETH_RSS_NONFRAG_IPV6_UDP, "ipv6-udp"}};
  std::string out;
  for (const auto& n : kNames) {
    if (rss_hf & n.bit) out += (out.empty() ? "" : ",") + std::string(n.name);
  }
  return out;
}

PortState ProbePort(const PortConfig& config, uint16_t tx_queues, uint32_t instance) {
  PortState state;
  state.name = config.name;
  if (config.device == "ring") {
    CreateRingPort(config, tx_queues, instance, state);
  } else {
    uint16_t id;
    std::string name = DeviceName(config.device);
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
      Fail(config, config.device.rfind("net_", 0) == 0
                       ? "the EAL did not create this device: its driver refused the arguments (see the EAL messages above)"
                       : "no such device: a PCI port must be bound to a DPDK driver such as vfio-pci");
    }
    state.port_id = id;
  }
  struct rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(state.port_id, &info);
  if (rc != 0) Fail(config, std::string("cannot read device info: ") + rte_strerror(-rc));
  state.driver = info.driver_name;
  int socket = rte_eth_dev_socket_id(state.port_id);
  state.socket = socket < 0 ? 0 : socket;
  if (config.queues > info.max_rx_queues) {
    Fail(config, std::to_string(config.queues) + " rx queues asked, the device has " + std::to_string(info.max_rx_queues));
  }
  if (tx_queues > info.max_tx_queues) {
    Fail(config, "each of the " + std::to_string(tx_queues) + " workers needs its own tx queue, the device has " +
                     std::to_string(info.max_tx_queues));
  }
  state.rx_queues = config.queues;
  state.tx_queues = tx_queues;
  rte_eth_macaddr_get(state.port_id, &state.mac);
  if (config.device == "ring") {
    // The ring PMD's MAC is all zeros and cannot be set; it filters nothing, so
    // the port simply answers to a locally administered address of our own.
    state.mac = {{0x02, 0x53, 0x4c, 0x00, static_cast<uint8_t>(instance & 0xff), static_cast<uint8_t>(state.port_id)}};
  }
  return state;
}

void StartPort(const PortConfig& config, struct rte_mempool* pool, PortState& state) {
  struct rte_eth_dev_info info;
  rte_eth_dev_info_get(state.port_id, &info);
  struct rte_eth_conf conf = {};
  state.rss_offered = info.flow_type_rss_offloads & kWantedRss;
  if (config.queues > 1) {
    state.rss_requested = kWantedRss;
    if (state.rss_offered != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = state.rss_offered;
    }
    if (state.rss_offered != kWantedRss) {
      std::string missing = RssNames(kWantedRss & ~state.rss_offered);
      state.warnings.push_back(
          "device offers no RSS for " + missing +
          (state.rss_offered == 0 ? "; flows are spread over queues by the driver's own means (af_packet: kernel fanout hash)"
                                  : "; those flows may all land on one queue"));
    }
  }
  if (state.driver == "net_af_packet" && config.queues > 1) {
    state.warnings.push_back(
        "af_packet spreads flows with the kernel's fanout hash and rolls packets over to another queue when one "
        "queue's ring is full, which splits those flows across lcores; ring overruns are not counted in rxMissed. "
        "Raise framecnt= in the device string for bursty traffic");
  }
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    state.rx_ip_checksum_offload = true;
  }
  // Every mbuf comes from one pool with refcount 1, which is what fast free needs.
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

  uint32_t max_mtu = info.max_mtu;
  if (config.mtu > max_mtu || config.mtu < info.min_mtu) {
    Fail(config, "mtu " + std::to_string(config.mtu) + " is outside the device's range " +
                     std::to_string(info.min_mtu) + ".." + std::to_string(max_mtu));
  }
  conf.rxmode.mtu = config.mtu;

  int rc = rte_eth_dev_configure(state.port_id, state.rx_queues, state.tx_queues, &conf);
  if (rc != 0) Fail(config, std::string("configure failed: ") + rte_strerror(-rc));
  uint16_t rx_desc = static_cast<uint16_t>(config.rx_descriptors);
  uint16_t tx_desc = static_cast<uint16_t>(config.tx_descriptors);
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(state.port_id, &rx_desc, &tx_desc);
  if (rc != 0) Fail(config, std::string("descriptor counts rejected: ") + rte_strerror(-rc));

  struct rte_eth_rxconf rxconf = info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  for (uint16_t q = 0; q < state.rx_queues; q++) {
    rc = rte_eth_rx_queue_setup(state.port_id, q, rx_desc, state.socket, &rxconf, pool);
    if (rc != 0) Fail(config, "rx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc));
  }
  struct rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < state.tx_queues; q++) {
    rc = rte_eth_tx_queue_setup(state.port_id, q, tx_desc, state.socket, &txconf);
    if (rc != 0) Fail(config, "tx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc));
  }
  rc = rte_eth_dev_start(state.port_id);
  if (rc != 0) Fail(config, std::string("start failed: ") + rte_strerror(-rc));
  state.started = true;
  uint16_t mtu = 0;
  state.mtu = rte_eth_dev_get_mtu(state.port_id, &mtu) == 0 ? mtu : config.mtu;
}

void StopPort(PortState& state) {
  if (state.started) {
    rte_eth_dev_stop(state.port_id);
    state.started = false;
  }
  rte_eth_dev_close(state.port_id);
  for (struct rte_ring* r : state.inject_rings) rte_ring_free(r);
  for (struct rte_ring* r : state.capture_rings) rte_ring_free(r);
  state.inject_rings.clear();
  state.capture_rings.clear();
}

}  // namespace sluice
