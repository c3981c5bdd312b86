// Plain C++ mirror of the configuration that TypeScript validated. Built on the
// main thread from JS values (addon/config_from_js.cc), checked again there, and then
// only read: by port setup, and by the snapshot builder.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tables/quic_lb.h"

namespace sluice {

constexpr uint32_t kMaxPorts = 16;
constexpr uint32_t kMaxWorkers = 64;
constexpr uint32_t kMaxServices = 1024;
// Backend ids are global and index per-lcore counter arrays, so they are bounded.
constexpr uint32_t kMaxBackendIds = 65536;
constexpr uint32_t kMaxNatPoolAddresses = 4096;  // per port

using MacAddr = std::array<uint8_t, 6>;

struct IpAddr {
  uint8_t family = 4;               // 4 or 6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4 bytes
  bool operator==(const IpAddr& o) const { return family == o.family && bytes == o.bytes; }
};

// forwarding nat: the source addresses and ports a port's nat services use
// towards their backends (modes/nat/nat_pool.h partitions them per lcore).
struct NatPoolConfig {
  std::vector<uint32_t> addresses;  // IPv4, network order, on the port's subnet
  std::vector<std::array<uint8_t, 16>> addresses6;  // IPv6, in the port's address6 prefix; may be empty
  uint16_t port_min = 1024;
  uint16_t port_max = 65535;
};

struct PortConfig {
  std::string name;
  std::string device;     // vdev spec ("net_pcap0,rx_pcap=...") or PCI address
  uint16_t queues = 1;    // rx queues; tx queues = number of workers
  IpAddr address;         // the balancer's own address on this port
  uint8_t prefix_len = 24;
  bool has_gateway = false;
  IpAddr gateway;
  bool has_address6 = false;  // the port's own IPv6 address, for IPv6 services
  IpAddr address6;
  uint8_t prefix6_len = 64;
  bool has_gateway6 = false;
  IpAddr gateway6;
  uint16_t mtu = 1500;
  uint32_t rx_descriptors = 1024;
  uint32_t tx_descriptors = 1024;
  bool has_nat_pool = false;
  NatPoolConfig nat_pool;
  std::string kernel_interface;  // empty: the node's own traffic does not use this port
  uint32_t kernel_packets_per_sec = 0;
};

struct RxQueueRef {
  uint16_t port_index;
  uint16_t queue;
};

struct WorkerConfig {
  uint32_t lcore;
  std::vector<RxQueueRef> rx;
};

struct FlowTableConfig {
  uint32_t entries_per_lcore = 1 << 20;
  uint32_t tcp_timeout_sec = 300;
  uint32_t tcp_closing_timeout_sec = 10;
  uint32_t udp_timeout_sec = 30;
  uint32_t new_flows_per_sec = 0;  // per lcore; 0: admission not limited
  uint32_t new_flow_burst = 0;
};

// IP fragments (worker/fragments.cc, tables/fragment_table.h), per lcore.
struct FragmentConfig {
  bool enabled = true;
  uint32_t entries_per_lcore = 4096;      // datagrams remembered at once
  uint32_t hold_ms = 10;                  // how long an entry outlives its latest fragment
  uint32_t held_bytes_per_lcore = 1 << 20;  // fragments waiting for their first
};

// The most memory of each kind the data plane may allocate, in bytes: the
// budget TypeScript checked the config against (src/config/memory.ts, the
// config's limits section). C++ refuses (SLUICE_LIMIT_EXCEEDED) an allocation
// that would go beyond it. The defaults here are no limit (unit tests, benches).
struct MemoryLimits {
  // Every lookup table alive at once: the published snapshot's, those of
  // retired snapshots not yet reclaimed, and the ones being built.
  uint64_t lookup_table_bytes = UINT64_MAX;
  uint64_t flow_table_bytes = UINT64_MAX;   // all workers' flow tables, IPv4 and IPv6
  uint64_t nat_session_bytes = UINT64_MAX;  // all workers' nat session tables, both families
};

struct DataplaneConfig {
  std::vector<std::string> eal_args;  // argv for rte_eal_init, argv[0] included
  std::vector<PortConfig> ports;
  std::vector<WorkerConfig> workers;  // every worker lcore with its rx queues
  FlowTableConfig flow_table;
  FragmentConfig fragments;
  uint32_t mbufs_per_socket = 0;      // 0: sized from ports, queues and workers
  uint32_t idle_sleep_max_us = 100;   // 0: never sleep (benchmarks)
  uint32_t neighbor_refresh_sec = 30; // re-resolve a learned MAC this often
  MemoryLimits limits;
};

enum class Forwarding : uint8_t { kDsr = 0, kTunnel = 1, kNat = 2 };

enum class Encapsulation : uint8_t { kIpip = 0, kGue = 1 };

// forwarding: tunnel only. The outer source is `source` when set; otherwise per
// flow from source_network (ipip) or the egress port's address (gue).
struct TunnelConfig {
  Encapsulation encapsulation = Encapsulation::kIpip;
  uint16_t gue_port = 6080;
  bool has_source = false;
  IpAddr source;
  IpAddr source_network;              // the service's family, host bits zero
  uint8_t source_prefix_len = 16;     // IPv4 8..24, IPv6 96..120
  // Every field: a snapshot keeps a tunnel backend's view only while it is equal (SnapshotBase).
  bool operator==(const TunnelConfig& o) const {
    return encapsulation == o.encapsulation && gue_port == o.gue_port && has_source == o.has_source &&
           source == o.source && source_network == o.source_network && source_prefix_len == o.source_prefix_len;
  }
};

enum class AdminState : uint8_t { kActive = 0, kDrain = 1, kDisabled = 2 };

struct BackendConfig {
  uint32_t id;           // global backend id (< kMaxBackendIds), stable while it exists
  IpAddr address;
  uint16_t port;
  uint32_t weight;       // 0 = drain: keeps flows, takes no new ones
  AdminState admin = AdminState::kActive;
  bool healthy = true;
  bool has_static_mac = false;
  MacAddr mac{};
  bool has_server_id = false;  // QUIC-LB: the service has quic_lb and this backend a server ID
  QuicLbServerId server_id{};
};

// Which parts of a set of services are exactly as the running set holds them
// (addon/config_from_js.cc: what JS sent as ids and runs), so that what was
// made from them can be kept (SnapshotBase).
struct Unchanged {
  std::vector<bool> services;  // by position in the set: the whole service
  // By backend id: a backend copied from the running service of its service's id.
  std::vector<bool> backends;
};

struct ServiceConfig {
  uint32_t id;           // global service id (< kMaxServices), stable while it exists
  std::string name;
  IpAddr vip;
  uint16_t port;
  uint8_t protocol;      // IPPROTO_TCP or IPPROTO_UDP
  Forwarding forwarding = Forwarding::kDsr;
  TunnelConfig tunnel;
  bool has_quic_lb = false;  // UDP only: packets routed by their connection IDs' server IDs
  QuicLbConfig quic_lb{};
  uint32_t lookup_table_size = 65537;
  std::vector<BackendConfig> backends;
};

}  // namespace sluice
