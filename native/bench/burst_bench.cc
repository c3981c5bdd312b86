// The per-packet path alone: sluice::ProcessBurst on warm flows, with no PMD
// receive in front of it and only a ring enqueue behind it. The harness is the
// worker (no lcore is launched), so a run is deterministic and, under callgrind,
// gives the same instruction count every time: the measure the data path is
// tuned by on a machine too small and noisy for stable Mpps (issue #6).
//
//   burst_bench [--flows N] [--rounds R] [--mode dsr|tunnel|nat] [--replies] [--offload] [--capacity N]
//               [--quic plaintext|single-pass|four-pass] [--family 4|6]
//
// --family 6 sends the same flows over IPv6 (a client address per 2^14 ports,
// as for IPv4) to an IPv6 VIP and IPv6 backends, through the IPv6 flow table
// (dsr or tunnel).
// --quic makes the service UDP with QUIC-LB, each datagram a short header whose
// connection ID names a backend: the per-packet cost of routing by connection ID.
// --offload marks every mbuf's IPv4 checksum GOOD, as a NIC with rx checksum
// offload does; without it the worker verifies the header in software, as on
// net_pcap and net_ring. --mode nat gives the port a source pool and the worker
// one nat lcore; --replies (nat only) then turns every translated burst around
// as the backends' replies to the pool and processes those too, so each flow
// sends two packets a round. Prints ns and TSC cycles per packet; scripts/count-instructions.sh
// runs it under callgrind for instructions per packet.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/config_types.h"
#include "tables/flow_table.h"
#include "tables/flow_table6.h"
#include "common/lcore_counters.h"
#include "modes/nat/nat_forward.h"
#include "control/port_setup.h"
#include "common/snapshot.h"
#include "worker/context.h"

namespace {

using namespace sluice;

constexpr uint32_t kBackends = 16;
constexpr uint32_t kFrameLen = 60;  // 64 on the wire with the FCS
constexpr uint32_t kFrameLen6 = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_tcp_hdr);
// --family 6: the port's prefix fd00:99::/64, as the test bed's; clients from 2001:db8:c612::/64.
constexpr uint8_t kPrefix6[8] = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0};
constexpr uint8_t kClients6[8] = {0x20, 0x01, 0x0d, 0xb8, 0xc6, 0x12, 0, 0};
constexpr uint32_t kMbufs = 4096;
// nat: as npm run bench's pool (10.99.0.192/26), more pairs than any run has flows.
constexpr uint32_t kNatPoolFirst = 0x0a6300c1;  // 10.99.0.193
constexpr uint32_t kNatPoolAddresses = 62;
constexpr uint16_t kNatBackendPort = 8080;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "burst_bench: %s\n", what);
  std::exit(1);
}

struct Options {
  uint32_t flows = 1024;
  uint32_t capacity = 0;  // flow table entries; 0: as many as flows (every flow stays)
  uint32_t rounds = 2000;
  Forwarding mode = Forwarding::kDsr;
  bool replies = false;
  bool offload = false;
  // QUIC-LB: a UDP service routing by connection ID, every datagram's CID
  // naming a backend (its server ID); empty: the TCP service.
  std::string quic;
  uint32_t family = 4;
};

// The QUIC-LB config of --quic ALGORITHM: config 1, two-octet server IDs and a
// six-octet nonce (four-pass: three AES blocks to decode), eight and eight for
// single-pass (one block).
QuicLbConfig QuicConfig(const std::string& algorithm) {
  QuicLbConfig c{1, 2, 6, QuicLbAlgorithm::kPlaintext, {}};
  for (size_t i = 0; i < c.key.size(); i++) c.key[i] = static_cast<uint8_t>(0x8f ^ (i * 37));
  if (algorithm == "plaintext") return c;
  if (algorithm == "four-pass") {
    c.algorithm = QuicLbAlgorithm::kFourPass;
    return c;
  }
  if (algorithm == "single-pass") {
    c.server_id_length = 8;
    c.nonce_length = 8;
    c.algorithm = QuicLbAlgorithm::kSinglePass;
    return c;
  }
  Fail(("unknown --quic algorithm " + algorithm).c_str());
}

QuicLbServerId ServerIdOf(const QuicLbConfig& c, uint32_t backend) {
  QuicLbServerId id{};
  id.length = c.server_id_length;
  id.bytes[c.server_id_length - 1] = static_cast<uint8_t>(backend + 1);
  return id;
}

Forwarding ModeOf(const std::string& name) {
  if (name == "dsr") return Forwarding::kDsr;
  if (name == "tunnel") return Forwarding::kTunnel;
  if (name == "nat") return Forwarding::kNat;
  Fail(("unknown mode " + name).c_str());
}

const char* NameOf(Forwarding mode) {
  switch (mode) {
    case Forwarding::kTunnel: return "tunnel";
    case Forwarding::kNat: return "nat";
    default: return "dsr";
  }
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Fail(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--flows") o.flows = static_cast<uint32_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--rounds") o.rounds = static_cast<uint32_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--mode") o.mode = ModeOf(next());
    else if (a == "--replies") o.replies = true;
    else if (a == "--offload") o.offload = true;
    else if (a == "--capacity") o.capacity = static_cast<uint32_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--quic") o.quic = next();
    else if (a == "--family") o.family = static_cast<uint32_t>(std::strtoul(next(), nullptr, 10));
    else Fail(("unknown argument " + a).c_str());
  }
  if (o.flows < kRxBurst || o.flows % kRxBurst != 0) Fail(("--flows must be a multiple of " + std::to_string(kRxBurst)).c_str());
  if (o.replies && o.mode != Forwarding::kNat) Fail("--replies needs --mode nat");
  if (!o.quic.empty() && o.mode == Forwarding::kNat) Fail("--quic takes dsr or tunnel");
  if (o.family != 4 && o.family != 6) Fail("--family takes 4 or 6");
  if (o.family == 6 && (o.mode == Forwarding::kNat || !o.quic.empty())) Fail("--family 6 takes dsr or tunnel, without --quic");
  return o;
}

void StartEal(uint32_t flows, Forwarding mode) {
  std::string prefix = "sluice-burst-bench-" + std::to_string(getpid());
  // MiB: ~125 B of flow table per flow, and for nat up to 256 B of session state.
  uint32_t per_flow = mode == Forwarding::kNat ? 384 : 128;
  std::string memory = std::to_string(256 + uint64_t{flows} * per_flow / (1 << 20));
  std::vector<std::string> args = {"burst_bench", "-l", "0", "--no-huge", "-m", memory, "--no-shconf", "--no-pci",
                                   "--no-telemetry", "--file-prefix", prefix, "--log-level", "lib.eal:error"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) Fail(rte_strerror(rte_errno));
  std::error_code ignored;
  std::filesystem::remove_all(rte_eal_get_runtime_dir(), ignored);
}

IpAddr Ipv4(uint32_t host_order) {
  IpAddr ip;
  uint32_t be = htonl(host_order);
  std::memcpy(ip.bytes.data(), &be, 4);
  return ip;
}

// fd00:99::N, the IPv6 counterpart of 10.99.0.N.
IpAddr Ipv6(uint32_t n) {
  IpAddr ip;
  ip.family = 6;
  std::memcpy(ip.bytes.data(), kPrefix6, 8);
  uint32_t be = htonl(n);
  std::memcpy(ip.bytes.data() + 12, &be, 4);
  return ip;
}

ServiceConfig Service(Forwarding mode, const std::string& quic) {
  ServiceConfig s{};
  s.name = "bench";
  s.vip = Ipv4(0x0a630064);  // 10.99.0.100
  s.port = 80;
  s.protocol = quic.empty() ? IPPROTO_TCP : IPPROTO_UDP;
  if (!quic.empty()) {
    s.has_quic_lb = true;
    s.quic_lb = QuicConfig(quic);
  }
  s.forwarding = mode;
  s.tunnel.encapsulation = Encapsulation::kIpip;
  s.tunnel.source_network = Ipv4(0xac100000);  // 172.16.0.0/16
  s.tunnel.source_prefix_len = 16;
  s.lookup_table_size = 65537;
  for (uint32_t i = 0; i < kBackends; i++) {
    BackendConfig b{};
    b.id = i;
    b.address = Ipv4(0x0a63000b + i);  // 10.99.0.11...
    b.port = mode == Forwarding::kNat ? kNatBackendPort : 80;
    b.weight = 100;
    b.has_static_mac = true;
    b.mac = {0x02, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(i + 1)};
    b.has_server_id = s.has_quic_lb;
    if (s.has_quic_lb) b.server_id = ServerIdOf(s.quic_lb, i);
    s.backends.push_back(b);
  }
  return s;
}

// The same service over IPv6: VIP fd00:99::100, backends fd00:99::11..., tunnels
// IPv6-in-IPv6 from fd00:99::ac10:0/112.
void ToIpv6(ServiceConfig& s) {
  s.vip = Ipv6(0x64);
  for (BackendConfig& b : s.backends) b.address = Ipv6(0x0b + b.id);
  s.tunnel.source_network = Ipv6(0xac100000);
  s.tunnel.source_prefix_len = 112;
}

class NoNeighbors : public NeighborLookup {
 public:
  bool Lookup(uint32_t, struct rte_ether_addr*) const override { return false; }
};

// With `cids` (QUIC-LB, one a backend), flow i's frame is a 1-RTT QUIC datagram
// (short header) whose connection ID names backend i % kBackends.
struct QuicCids {
  std::vector<std::vector<uint8_t>> by_backend;
};

// Flow `i`'s TCP ACK header: its client's port i % 2^14 to port 80.
void WriteAck(struct rte_tcp_hdr* tcp, uint32_t i) {
  tcp->src_port = htons(static_cast<uint16_t>(1024 + (i & 0x3fff)));
  tcp->dst_port = htons(80);
  tcp->data_off = 5 << 4;
  tcp->tcp_flags = RTE_TCP_ACK_FLAG;
  tcp->rx_win = htons(65535);
}

// A zeroed frame of `len` bytes from the client's MAC to the port; returns where its IP header goes.
uint8_t* WriteEthernet(uint8_t* f, uint32_t len, const struct rte_ether_addr& port_mac, uint16_t ether_type) {
  std::memset(f, 0, len);
  auto* eth = reinterpret_cast<struct rte_ether_hdr*>(f);
  eth->dst_addr = port_mac;
  eth->src_addr = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
  eth->ether_type = htons(ether_type);
  return f + RTE_ETHER_HDR_LEN;
}

// A 64-byte TCP ACK of flow `i` from a client to the VIP, with a valid IPv4
// checksum; or, with `quic`, a UDP datagram carrying a QUIC short header.
void WriteFrame(uint8_t* f, uint32_t i, const struct rte_ether_addr& port_mac, const QuicCids* quic = nullptr) {
  auto* ip = reinterpret_cast<struct rte_ipv4_hdr*>(WriteEthernet(f, kFrameLen, port_mac, RTE_ETHER_TYPE_IPV4));
  ip->version_ihl = 0x45;
  ip->total_length = htons(40);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = htonl(0xc6120000 + (i >> 14));  // 198.18.0.0/15
  ip->dst_addr = htonl(0x0a630064);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* tcp = reinterpret_cast<struct rte_tcp_hdr*>(ip + 1);
  WriteAck(tcp, i);
  if (quic == nullptr) return;
  // The same ports, as UDP: its header is the TCP header's first 8 octets.
  const std::vector<uint8_t>& cid = quic->by_backend[i % kBackends];
  const uint32_t payload = 1 + static_cast<uint32_t>(cid.size());
  ip->next_proto_id = IPPROTO_UDP;
  ip->total_length = htons(static_cast<uint16_t>(sizeof(*ip) + sizeof(struct rte_udp_hdr) + payload));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<struct rte_udp_hdr*>(ip + 1);
  udp->dgram_len = htons(static_cast<uint16_t>(sizeof(*udp) + payload));
  udp->dgram_cksum = 0;
  uint8_t* quic_header = reinterpret_cast<uint8_t*>(udp + 1);
  quic_header[0] = 0x40;  // short header, fixed bit
  std::memcpy(quic_header + 1, cid.data(), cid.size());
}

// Flow `i`'s frame over IPv6: the same ports from 2001:db8:c612::(i >> 14) to the VIP.
void WriteFrame6(uint8_t* f, uint32_t i, const struct rte_ether_addr& port_mac) {
  auto* ip = reinterpret_cast<struct rte_ipv6_hdr*>(WriteEthernet(f, kFrameLen6, port_mac, RTE_ETHER_TYPE_IPV6));
  ip->vtc_flow = htonl(6u << 28);
  ip->payload_len = htons(sizeof(struct rte_tcp_hdr));
  ip->proto = IPPROTO_TCP;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, kClients6, 8);
  uint32_t client = htonl(i >> 14);
  std::memcpy(ip->src_addr + 12, &client, 4);
  const IpAddr vip = Ipv6(0x64);
  std::memcpy(ip->dst_addr, vip.bytes.data(), 16);
  auto* tcp = reinterpret_cast<struct rte_tcp_hdr*>(ip + 1);
  WriteAck(tcp, i);
  tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
}

// A backend's reply to the translated frame `f` (pool address:port to the
// backend): addresses, ports and MACs swapped, which keeps both checksums valid.
void TurnAround(uint8_t* f) {
  auto swap = [](uint8_t* a, uint8_t* b, size_t len) { std::swap_ranges(a, a + len, b); };
  swap(f, f + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
  uint8_t* ip = f + RTE_ETHER_HDR_LEN;
  swap(ip + offsetof(struct rte_ipv4_hdr, src_addr), ip + offsetof(struct rte_ipv4_hdr, dst_addr), 4);
  uint8_t* tcp = ip + sizeof(struct rte_ipv4_hdr);
  swap(tcp + offsetof(struct rte_tcp_hdr, src_port), tcp + offsetof(struct rte_tcp_hdr, dst_port), 2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  StartEal(o.flows, o.mode);

  PortConfig port_config;
  port_config.name = "bench";
  port_config.device = "ring";
  port_config.address = Ipv4(0x0a630002);
  port_config.prefix_len = 24;
  const IpAddr port_address6 = Ipv6(2);
  if (o.family == 6) {
    port_config.has_address6 = true;
    port_config.address6 = port_address6;
    port_config.prefix6_len = 64;
  }
  if (o.mode == Forwarding::kNat) {
    port_config.has_nat_pool = true;
    for (uint32_t i = 0; i < kNatPoolAddresses; i++) port_config.nat_pool.addresses.push_back(htonl(kNatPoolFirst + i));
  }
  struct rte_mempool* pool = rte_pktmbuf_pool_create("bench_mbufs", 2 * kMbufs, 256, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) Fail("mempool");
  PortState port = ProbePort(port_config, 1, 0);
  StartPort(port_config, pool, port);
  PortRuntime rt{};
  rt.port_id = port.port_id;
  rt.mac = port.mac;
  rt.address = Ipv4Of(port_config.address);
  rt.netmask = htonl(0xffffff00);
  rt.mtu = port_config.mtu;
  rt.has_address6 = o.family == 6;
  std::memcpy(rt.address6, port_address6.bytes.data(), 16);
  rt.prefix6 = 64;

  NoNeighbors neighbors;
  LookupTableCache tables;
  PortAddressing addressing{rt.address, rt.netmask, 0, rt.mtu};
  addressing.nat_pool = port_config.nat_pool.addresses;
  addressing.mac = rt.mac;
  addressing.has_address6 = rt.has_address6;
  std::memcpy(addressing.address6, rt.address6, 16);
  addressing.prefix6 = rt.prefix6;
  ServiceConfig service = Service(o.mode, o.quic);
  if (o.family == 6) ToIpv6(service);
  std::unique_ptr<Snapshot> snap = BuildSnapshot({service}, {addressing}, neighbors, tables, 1);
  QuicCids quic_cids;
  if (service.has_quic_lb) {
    QuicLbCodec codec(service.quic_lb);
    for (uint32_t b = 0; b < kBackends; b++) {
      const QuicLbServerId id = ServerIdOf(service.quic_lb, b);
      quic_cids.by_backend.push_back(codec.Encode(std::vector<uint8_t>(id.bytes, id.bytes + id.length),
                                                  std::vector<uint8_t>(service.quic_lb.nonce_length, 0x5a)));
    }
  }

  LcoreCounters counters{};
  std::vector<ServiceCounters> service_counters(kMaxServices);
  std::vector<BackendCounters> backend_counters(kMaxBackendIds);
  auto* tx = static_cast<struct rte_eth_dev_tx_buffer*>(
      rte_zmalloc("bench_txbuf", RTE_ETH_TX_BUFFER_SIZE(kRxBurst), RTE_CACHE_LINE_SIZE));
  if (tx == nullptr) Fail("tx buffer");
  rte_eth_tx_buffer_init(tx, kRxBurst);
  rte_eth_tx_buffer_set_err_callback(tx, CountUnsentPackets, &counters);
  auto* w = new WorkerContext{};
  w->num_ports = 1;
  w->ports = &rt;
  w->tx[0] = tx;
  w->counters = &counters;
  w->service_counters = service_counters.data();
  w->backend_counters = backend_counters.data();
  // entriesPerLcore as npm run bench sets it; smaller, every packet is a new flow evicting another.
  uint32_t capacity = o.capacity != 0 ? o.capacity : std::max<uint32_t>(o.flows, 1024);
  w->flows = FlowTable::Create("bench_flows", capacity, SOCKET_ID_ANY, FlowTimeouts{300000, 10000, 30000});
  if (w->flows == nullptr) Fail("flow table");
  if (o.family == 6) {
    w->flows6 = FlowTable6::Create("bench_flows6", capacity, SOCKET_ID_ANY, FlowTimeouts{300000, 10000, 30000});
    if (w->flows6 == nullptr) Fail("IPv6 flow table");
  }
  std::unique_ptr<NatRuntime> nat;
  if (o.mode == Forwarding::kNat) {
    nat = std::make_unique<NatRuntime>(std::vector<PortConfig>{port_config}, std::vector<int>{SOCKET_ID_ANY},
                                       capacity, FlowTimeouts{300000, 10000, 30000}, 0);
    w->nat = nat->lcore(0);
  }

  // A NIC (or net_pcap's copy) leaves each received frame in cache, in one of a
  // few thousand recycled mbufs; so here: frames are written just before their
  // burst, untimed, into a small set of mbufs, whatever the number of flows.
  std::vector<struct rte_mbuf*> mbufs(std::min<uint32_t>(o.flows, kMbufs));
  for (struct rte_mbuf*& m : mbufs) {
    m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) Fail("mbuf");
  }
  struct rte_ring* sent = port.capture_rings[0];
  uint64_t cycles = 0;
  // Round 0 inserts every flow; the rounds after it are timed.
  for (uint32_t round = 0; round <= o.rounds; round++) {
    for (uint32_t i = 0; i < o.flows; i += kRxBurst) {
      struct rte_mbuf** burst = mbufs.data() + i % mbufs.size();
      for (uint32_t j = 0; j < kRxBurst; j++) {
        rte_pktmbuf_reset(burst[j]);
        if (o.family == 6) {
          WriteFrame6(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(burst[j], kFrameLen6)), i + j, port.mac);
        } else {
          WriteFrame(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(burst[j], kFrameLen)), i + j, port.mac,
                     service.has_quic_lb ? &quic_cids : nullptr);
        }
        burst[j]->ol_flags = o.offload ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : 0;
      }
      for (uint32_t pass = 0; pass < (o.replies ? 2 : 1); pass++) {
        if (pass == 1) {
          for (uint32_t j = 0; j < kRxBurst; j++) TurnAround(rte_pktmbuf_mtod(burst[j], uint8_t*));
        }
        uint64_t start = rte_rdtsc();
        ProcessBurst(*w, *snap, burst, kRxBurst, 0, 1000 + round);
        rte_eth_tx_buffer_flush(port.port_id, 0, tx);
        if (round > 0) cycles += rte_rdtsc() - start;
        // The ring port's tx ring is the NIC here: take the burst back.
        if (rte_ring_sc_dequeue_bulk(sent, reinterpret_cast<void**>(burst), kRxBurst, nullptr) != kRxBurst) {
          for (uint32_t r = 0; r < kDropReasonCount; r++) {
            if (counters.drops[r] != 0) std::fprintf(stderr, "drop reason %u: %lu\n", r, counters.drops[r]);
          }
          Fail("the ring port did not send every packet");
        }
      }
    }
  }
  uint64_t per_round = uint64_t{o.flows} * (o.replies ? 2 : 1);
  uint64_t packets = per_round * o.rounds;
  uint64_t expected = per_round * (o.rounds + 1);
  if (counters.forwarded != expected) Fail("not every packet was forwarded");
  if (service.has_quic_lb && counters.quic_lb_routed != expected) Fail("not every QUIC datagram was routed by its connection ID");
  double per_packet = static_cast<double>(cycles) / static_cast<double>(packets);
  double ns = per_packet * 1e9 / static_cast<double>(rte_get_tsc_hz());
  // nat keeps sessions, not flow entries: a hit is a client packet that found its session.
  uint64_t hits = o.mode == Forwarding::kNat ? uint64_t{o.flows} * (o.rounds + 1) - counters.nat_sessions_created
                                             : counters.flow_hits;
  std::printf("{\"flows\":%u,\"rounds\":%u,\"mode\":\"%s\",\"family\":%u,\"replies\":%s,\"offload\":%s,"
              "\"cyclesPerPacket\":%.1f,\"nsPerPacket\":%.2f,\"mpps\":%.2f,\"hitRatio\":%.4f}\n",
              o.flows, o.rounds, NameOf(o.mode), o.family, o.replies ? "true" : "false", o.offload ? "true" : "false",
              per_packet, ns, 1e3 / ns, static_cast<double>(hits) / (static_cast<double>(o.flows) * o.rounds));
  for (struct rte_mbuf* m : mbufs) rte_pktmbuf_free(m);
  nat.reset();
  FlowTable6::Destroy(w->flows6);
  FlowTable::Destroy(w->flows);
  rte_eal_cleanup();
  return 0;
}
