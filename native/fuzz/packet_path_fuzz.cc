// The whole per-packet path: frames in mbufs through the real sluice::ProcessBurst
// (parse, local replies, service lookup, bulk flow lookup, lookup-table pick, rewrite,
// buffered tx) on a ring port, a flow table and snapshots built the way the data
// plane builds them. No worker lcore is launched: the harness is the worker, so
// one input is one deterministic run.
//
// Input: a 5-byte header, then up to kRxBurst frames, each a 2-byte big-endian
// length and that many bytes (the last one takes what is left).
//   [0] low nibble: forwarding mode and address family (index into kModes); bit 4: overwrite each
//       frame's destination MAC with the port's, so mutations reach past the MAC
//       check; bit 5: start the clock just before it wraps.
//   [1] configuration for the first burst, [2] for the second (index into kVariants)
//   [3] how many frames go in the first burst; the rest go in the second
//   [4] milliseconds between the bursts, in units of 16 (flows expire in between)
// After each input: every frame the port transmitted parses, local replies carry
// valid checksums, the lcore counter invariant holds, and every mbuf is back in
// the pool.
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <sanitizer/asan_interface.h>
#include <unistd.h>

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
#include "tables/fragment_table.h"
#include "packet/ndp.h"
#include "common/lcore_counters.h"
#include "modes/nat/nat_forward.h"
#include "packet/packet_parse.h"
#include "control/port_setup.h"
#include "common/snapshot.h"
#include "worker/context.h"
#include "worker/fragments.h"
#include "frame_checks.h"
#include "fuzz_check.h"

namespace {

using namespace sluice;

// The ring port's MAC: ProbePort derives it from the instance (0 here) and the
// port id (0, the only port). make_corpus.py writes it into the seeds.
constexpr uint8_t kPortMac[6] = {0x02, 0x53, 0x4c, 0x00, 0x00, 0x00};
constexpr char kPortAddress[] = "10.99.0.2";
constexpr uint8_t kPrefixLen = 24;
// IPv6 modes use the same variants with each a.b.c.N address as fd00:99::N.
constexpr uint8_t kPortAddress6[16] = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
constexpr uint8_t kPrefixLen6 = 64;
constexpr uint8_t kTunnelSourceNet6[16] = {0xfd, 0x00, 0x00, 0x5c};
constexpr uint32_t kLookupTableSize = 257;
constexpr uint32_t kFlowCapacity = 16;  // small, so a burst fills it and evicts
constexpr uint32_t kMaxFrameLen = 9216;
constexpr uint32_t kPoolSize = 1023;
constexpr uint32_t kHeaderLen = 5;
// Service and backend ids the variants use; their counters are reset per input.
constexpr uint32_t kServiceIds = 4;
constexpr uint32_t kBackendIds = 8;
constexpr FlowTimeouts kTimeouts{2000, 100, 500};  // tcp, tcp closing, udp (ms)
// entries, hold_ms, held bytes: a bucket, a hold the bursts' gap may outlast, a few frames' worth.
constexpr FragmentLimits kFragmentLimits{8, 20, 4096};
// nat: the pool make_corpus.py's replies are addressed to; two addresses of 4
// ports, so one burst of new flows exhausts it. nat backends listen on their service port plus this.
constexpr const char* kNatPool[] = {"10.99.0.200", "10.99.0.201"};
constexpr uint16_t kNatPortMin = 20000, kNatPortMax = 20003;
constexpr uint16_t kNatBackendPortOffset = 8000;

IpAddr Ip(const char* text) {
  IpAddr ip;
  FUZZ_CHECK(inet_pton(AF_INET, text, ip.bytes.data()) == 1);
  return ip;
}

BackendConfig Backend(uint32_t id, uint16_t port, bool static_mac = true) {
  BackendConfig b{};
  b.id = id;
  b.address = Ip(("10.99.0." + std::to_string(11 + id)).c_str());
  b.port = port;
  b.weight = 100;
  b.has_static_mac = static_mac;
  b.mac = {0x02, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(id + 1)};
  return b;
}

ServiceConfig Service(uint32_t id, const char* vip, uint16_t port, uint8_t proto, std::vector<BackendConfig> backends) {
  ServiceConfig s{};
  s.id = id;
  s.name = "s" + std::to_string(id);
  s.vip = Ip(vip);
  s.port = port;
  s.protocol = proto;
  s.lookup_table_size = kLookupTableSize;
  s.backends = std::move(backends);
  return s;
}

// Service sets the two bursts of an input run under; going from one to another
// is a configuration change with flows in the table. Together they reach every
// branch of Classify and Forward: hits, misses, re-picks of removed, disabled
// and unhealthy backends, a service id reused by another service, a service with
// no backend, a backend whose MAC is not known, and no service at all.
std::vector<ServiceConfig> Variant(uint32_t v) {
  switch (v) {
    case 0: {
      BackendConfig drained = Backend(2, 80);
      drained.weight = 0;
      BackendConfig unresolved = Backend(3, 53, false);
      return {Service(0, "10.99.0.100", 80, IPPROTO_TCP, {Backend(0, 80), Backend(1, 80), drained}),
              Service(1, "10.99.0.100", 53, IPPROTO_UDP, {unresolved, Backend(4, 53)}),
              Service(2, "10.99.0.101", 443, IPPROTO_TCP, {})};
    }
    case 1: {
      BackendConfig unhealthy = Backend(0, 80);
      unhealthy.healthy = false;
      BackendConfig disabled = Backend(2, 80);
      disabled.admin = AdminState::kDisabled;
      return {Service(0, "10.99.0.100", 80, IPPROTO_TCP, {unhealthy, Backend(1, 80), disabled, Backend(5, 80)}),
              Service(2, "10.99.0.101", 443, IPPROTO_TCP, {Backend(6, 443)})};
    }
    case 2:
      return {};
    default:
      return {Service(0, "10.99.0.102", 80, IPPROTO_UDP, {Backend(1, 80), Backend(0, 80)}),
              Service(3, "10.99.0.100", 80, IPPROTO_TCP, {Backend(7, 80)})};
  }
}
constexpr uint32_t kVariants = 4;

// UDP services (not nat) route QUIC datagrams by connection ID: plaintext in
// variant 0, so inputs find server IDs easily, four-pass (AES) otherwise. Each
// backend's server ID is {0, id + 1}: a DCID naming one of them goes there.
void RouteByConnectionId(ServiceConfig& s, uint32_t variant) {
  s.has_quic_lb = true;
  s.quic_lb = QuicLbConfig{1, 2, 6, variant == 0 ? QuicLbAlgorithm::kPlaintext : QuicLbAlgorithm::kFourPass, {}};
  for (size_t i = 0; i < s.quic_lb.key.size(); i++) s.quic_lb.key[i] = static_cast<uint8_t>(i * 29 + 7);
  for (BackendConfig& b : s.backends) {
    b.has_server_id = true;
    b.server_id = QuicLbServerId{};
    b.server_id.length = 2;
    b.server_id.bytes[1] = static_cast<uint8_t>(b.id + 1);
  }
}

struct Harness;

// One entry per forwarding mode and family: services are built with `forwarding`
// (and, for tunnel, `encapsulation`) on addresses of `family`, and every frame
// the path forwarded must pass `check_forwarded`.
struct ModeCase {
  const char* name;
  Forwarding forwarding;
  Encapsulation encapsulation;
  uint8_t family;
  void (*check_forwarded)(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
};

// ICMP destination-unreachable, ICMPv6 destination-unreachable or packet-too-big:
// what the balancer sends back when a packet is too long to tunnel, and what it
// passes on to the backend owning the quoted flow (packet/icmp_error_route.h).
bool IsIcmpErrorType(const PacketInfo& info) {
  if (info.ip_version == 4) return info.l4_proto == IPPROTO_ICMP && info.icmp_type == 3;
  return info.l4_proto == IPPROTO_ICMPV6 && (info.icmp_type == 1 || info.icmp_type == 2);
}

// Either way the message is whole, with valid checksums: built here, or checked
// before it is passed on and not changed.
bool IsIcmpError(const uint8_t* frame, const PacketInfo& info) {
  const uint8_t* ip = frame + info.l3_offset;
  if (!IsIcmpErrorType(info)) return false;
  if (info.ip_version == 4) return sluice_fuzz::Ipv4HeaderChecksumValid(ip) && sluice_fuzz::IcmpChecksumValid(ip);
  return sluice_fuzz::Ipv6UpperChecksumValid(ip, frame + info.l4_offset, IPPROTO_ICMPV6);
}

void CheckDsrForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
void CheckTunnelForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
void CheckDsr6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
void CheckTunnel6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
void CheckNatForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);
void CheckNat6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info);

constexpr ModeCase kModes[] = {
    {"dsr", Forwarding::kDsr, Encapsulation::kIpip, 4, CheckDsrForwarded},
    {"tunnel-ipip", Forwarding::kTunnel, Encapsulation::kIpip, 4, CheckTunnelForwarded},
    {"tunnel-gue", Forwarding::kTunnel, Encapsulation::kGue, 4, CheckTunnelForwarded},
    {"dsr6", Forwarding::kDsr, Encapsulation::kIpip, 6, CheckDsr6Forwarded},
    {"tunnel-ip6ip6", Forwarding::kTunnel, Encapsulation::kIpip, 6, CheckTunnel6Forwarded},
    {"tunnel-gue6", Forwarding::kTunnel, Encapsulation::kGue, 6, CheckTunnel6Forwarded},
    {"nat", Forwarding::kNat, Encapsulation::kIpip, 4, CheckNatForwarded},
    {"nat6", Forwarding::kNat, Encapsulation::kIpip, 6, CheckNat6Forwarded},
};
constexpr uint32_t kNumModes = sizeof(kModes) / sizeof(kModes[0]);

class NoNeighbors : public NeighborLookup {
 public:
  bool Lookup(uint32_t, struct rte_ether_addr*) const override { return false; }
};

struct Harness {
  struct FreeMemory {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  PortConfig port_config;
  std::unique_ptr<uint8_t, FreeMemory> fragment_memory{static_cast<uint8_t*>(
      std::aligned_alloc(64, (FragmentTable::MemoryBytes(kFragmentLimits) + 63) & ~size_t{63}))};
  PortState port;
  std::vector<PortRuntime> port_runtime;
  struct rte_mempool* pool = nullptr;
  WorkerContext* worker = nullptr;
  LcoreCounters counters{};
  std::vector<ServiceCounters> service_counters = std::vector<ServiceCounters>(kMaxServices);
  std::vector<BackendCounters> backend_counters = std::vector<BackendCounters>(kMaxBackendIds);
  struct rte_eth_dev_tx_buffer* tx = nullptr;
  struct rte_ring* learn_ring = nullptr;
  struct rte_ring* kernel_ring = nullptr;  // the port has a kernel interface: what the worker hands it
  std::unique_ptr<NatRuntime> nat;  // per input: sessions start empty
  std::unique_ptr<Snapshot> snapshots[kNumModes][kVariants];
  unsigned pool_baseline = 0;
};

Harness* g_harness = nullptr;

// Frames are built into mbufs from this pool. ASan does not see DPDK's memory, so
// the harness poisons everything of a buffer but the frame: a read past the end
// of the first segment, or into the headroom, is then reported like a heap overflow.
// Modes that prepend headers (tunnel) own the headroom, so it stays open for them.
void Unpoison(struct rte_mbuf* m) { ASAN_UNPOISON_MEMORY_REGION(m->buf_addr, m->buf_len); }
void PoisonAroundData(struct rte_mbuf* m, bool headroom_in_use) {
  auto* buf = static_cast<uint8_t*>(m->buf_addr);
  if (!headroom_in_use) ASAN_POISON_MEMORY_REGION(buf, m->data_off);
  uint32_t end = m->data_off + m->data_len;
  ASAN_POISON_MEMORY_REGION(buf + end, m->buf_len - end);
}

// A frame of any length as an mbuf chain, segments filled to their data room.
struct rte_mbuf* FrameToMbuf(struct rte_mempool* pool, const uint8_t* data, uint32_t len, bool headroom_in_use) {
  struct rte_mbuf* head = nullptr;
  uint32_t off = 0;
  do {
    struct rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    FUZZ_CHECK(seg != nullptr);
    Unpoison(seg);
    uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(len - off, rte_pktmbuf_tailroom(seg)));
    char* dst = rte_pktmbuf_append(seg, n);
    FUZZ_CHECK(dst != nullptr);
    if (n > 0) std::memcpy(dst, data + off, n);
    off += n;
    if (head == nullptr) {
      head = seg;
    } else {
      FUZZ_CHECK(rte_pktmbuf_chain(head, seg) == 0);
    }
  } while (off < len);
  for (struct rte_mbuf* seg = head; seg != nullptr; seg = seg->next) PoisonAroundData(seg, headroom_in_use);
  return head;
}

bool IsBackendMac(const uint8_t* mac) {
  for (uint32_t id = 0; id < kBackendIds; id++) {
    BackendConfig b = Backend(id, 0);
    if (std::memcmp(mac, b.mac.data(), 6) == 0) return true;
  }
  return false;
}

// dsr rewrites the MACs only: from the port, to a backend with a known MAC, and
// only TCP or UDP to a VIP is ever forwarded.
void CheckDsrForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 4);
  FUZZ_CHECK(info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(IsBackendMac(frame));
}

// tunnel: an outer IPv4 header with a valid checksum to an on-link backend's
// MAC, carrying (ipip) or wrapping in UDP to the GUE port (gue) the client's
// TCP or UDP packet, which must itself still parse.
void CheckTunnelForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 4);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(IsBackendMac(frame));
  FUZZ_CHECK(sluice_fuzz::Ipv4HeaderChecksumValid(frame + info.l3_offset));
  FUZZ_CHECK(info.l3_length <= h.port_runtime[0].mtu && info.l3_offset + info.l3_length == len);
  uint32_t inner = info.l4_offset;
  if (info.l4_proto == IPPROTO_UDP) {
    FUZZ_CHECK(sluice_fuzz::Get16(frame + info.l4_offset + 2) == 6080);
    inner += 8;
  } else {
    FUZZ_CHECK(info.l4_proto == IPPROTO_IPIP);
  }
  // The inner packet as a frame of its own: an Ethernet header's worth before it.
  std::vector<uint8_t> inner_frame(14 + (len - inner));
  inner_frame[12] = 0x08;
  std::memcpy(inner_frame.data() + 14, frame + inner, len - inner);
  PacketInfo inner_info;
  ParseStatus inner_status = ParsePacket(inner_frame.data(), static_cast<uint32_t>(inner_frame.size()), &inner_info);
  // A fragment goes encapsulated as it came, to the backend of its datagram's first.
  if (inner_status == ParseStatus::kIpFragment) return;
  FUZZ_CHECK(inner_status == ParseStatus::kOk);
  FUZZ_CHECK(inner_info.l4_proto == IPPROTO_TCP || inner_info.l4_proto == IPPROTO_UDP ||
             IsIcmpError(inner_frame.data(), inner_info));
}

// dsr over IPv6: as over IPv4, the MACs only.
void CheckDsr6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 6);
  FUZZ_CHECK(info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(IsBackendMac(frame));
}

// tunnel over IPv6: an outer IPv6 header without extension headers to a
// backend's MAC, next header 41 or UDP to the GUE port with a valid checksum
// (mandatory over IPv6), within the MTU, carrying the client's IPv6 TCP or UDP.
void CheckTunnel6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 6);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(IsBackendMac(frame));
  FUZZ_CHECK(info.l4_offset == info.l3_offset + 40u);
  FUZZ_CHECK(info.l3_length <= h.port_runtime[0].mtu && info.l3_offset + info.l3_length == len);
  uint32_t inner = info.l4_offset;
  if (info.l4_proto == IPPROTO_UDP) {
    FUZZ_CHECK(sluice_fuzz::Get16(frame + info.l4_offset + 2) == 6080);
    FUZZ_CHECK(sluice_fuzz::Ipv6UpperChecksumValid(frame + info.l3_offset, frame + info.l4_offset, IPPROTO_UDP));
    inner += 8;
  } else {
    FUZZ_CHECK(info.l4_proto == 41);
  }
  std::vector<uint8_t> inner_frame(14 + (len - inner));
  inner_frame[12] = 0x86;
  inner_frame[13] = 0xdd;
  std::memcpy(inner_frame.data() + 14, frame + inner, len - inner);
  PacketInfo inner_info;
  ParseStatus inner_status = ParsePacket(inner_frame.data(), static_cast<uint32_t>(inner_frame.size()), &inner_info);
  FUZZ_CHECK(inner_status == ParseStatus::kOk || inner_status == ParseStatus::kIpFragment);
  FUZZ_CHECK(inner_info.ip_version == 6);
  if (inner_status == ParseStatus::kIpFragment) return;
  FUZZ_CHECK(inner_info.l4_proto == IPPROTO_TCP || inner_info.l4_proto == IPPROTO_UDP ||
             IsIcmpError(inner_frame.data(), inner_info));
}

// a.b.c.N as fd00:99::N, for the IPv6 modes.
IpAddr AsIpv6(const IpAddr& v4) {
  IpAddr ip;
  ip.family = 6;
  std::memcpy(ip.bytes.data(), kPortAddress6, 15);
  ip.bytes[15] = v4.bytes[3];
  return ip;
}

void ToIpv6(ServiceConfig& s) {
  s.vip = AsIpv6(s.vip);
  for (BackendConfig& b : s.backends) b.address = AsIpv6(b.address);
  s.tunnel.source_network.family = 6;
  std::memcpy(s.tunnel.source_network.bytes.data(), kTunnelSourceNet6, 16);
  s.tunnel.source_prefix_len = 112;
}

// nat: to a backend from a pool address:port, or back to the client from a VIP;
// either way the IPv4 header checksum, verified on the way in, is still valid.
void CheckNatForwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 4);
  FUZZ_CHECK(info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(sluice_fuzz::Ipv4HeaderChecksumValid(frame + info.l3_offset));
  char src[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, info.src_addr, src, sizeof(src));
  uint16_t sport = ntohs(info.src_port);
  // The direction is told by the source address: a client may send from any MAC,
  // a backend's included, and its replies then go back to that MAC.
  if (std::string(src) == kNatPool[0] || std::string(src) == kNatPool[1]) {
    FUZZ_CHECK(IsBackendMac(frame));
    FUZZ_CHECK(sport >= kNatPortMin && sport <= kNatPortMax);
    FUZZ_CHECK(ntohs(info.dst_port) > kNatBackendPortOffset);
  } else {
    FUZZ_CHECK(std::string(src).rfind("10.99.0.10", 0) == 0);  // 10.99.0.100 to .102
  }
}

bool IsNatPool6Address(const Harness& h, const uint8_t* address) {
  for (const auto& a : h.port_config.nat_pool.addresses6) {
    if (std::memcmp(a.data(), address, 16) == 0) return true;
  }
  return false;
}

// nat6: the same as nat, the pool the IPv6 one (kNatPool as fd00:99::N) and the
// VIPs fd00:99::100 to ::102 (0x64 to 0x66).
void CheckNat6Forwarded(const Harness& h, const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.ip_version == 6);
  FUZZ_CHECK(info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP);
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(std::memcmp(info.src_addr, kPortAddress6, 15) == 0);
  // IPv6 forbids UDP without a checksum: nat refuses those rather than forward them.
  if (info.l4_proto == IPPROTO_UDP) FUZZ_CHECK(frame[info.l4_offset + 6] != 0 || frame[info.l4_offset + 7] != 0);
  uint8_t last = info.src_addr[15];
  if (IsNatPool6Address(h, info.src_addr)) {
    FUZZ_CHECK(IsBackendMac(frame));
    uint16_t sport = ntohs(info.src_port);
    FUZZ_CHECK(sport >= kNatPortMin && sport <= kNatPortMax);
    FUZZ_CHECK(ntohs(info.dst_port) > kNatBackendPortOffset);
  } else {
    FUZZ_CHECK(last >= 100 && last <= 102);
  }
}

// A fragment forwarded on its own (worker/fragments.cc): from the port to a
// backend, never past the egress MTU; IPv4's header checksum, checked on the
// way in, still valid; nat's addresses rewritten to a pool address, as its
// first fragment's were, whichever fragment it is.
void CheckFragmentForwarded(const Harness& h, Forwarding mode, const uint8_t* frame, uint32_t len,
                            const PacketInfo& info) {
  FUZZ_CHECK(mode != Forwarding::kTunnel);  // tunnelled ones parse as their outer header
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  FUZZ_CHECK(IsBackendMac(frame));
  FUZZ_CHECK(info.l3_length <= h.port_runtime[0].mtu);
  bool pool = false;
  if (info.ip_version == 4) {
    FUZZ_CHECK(sluice_fuzz::Ipv4HeaderChecksumValid(frame + info.l3_offset));
    char src[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, info.src_addr, src, sizeof(src));
    pool = std::string(src) == kNatPool[0] || std::string(src) == kNatPool[1];
  } else {
    pool = IsNatPool6Address(h, info.src_addr);
  }
  FUZZ_CHECK(pool == (mode == Forwarding::kNat));
}

void BuildSnapshots(Harness& h) {
  std::vector<uint32_t> pool;
  for (const char* a : kNatPool) pool.push_back(Ipv4Of(Ip(a)));
  PortAddressing port{h.port_runtime[0].address, h.port_runtime[0].netmask, 0, h.port_runtime[0].mtu, pool};
  port.nat_pool6 = h.port_config.nat_pool.addresses6;
  port.mac = h.port_runtime[0].mac;
  port.has_address6 = true;
  std::memcpy(port.address6, kPortAddress6, 16);
  port.prefix6 = kPrefixLen6;
  const std::vector<PortAddressing> ports{port};
  NoNeighbors neighbors;
  for (uint32_t m = 0; m < kNumModes; m++) {
    for (uint32_t v = 0; v < kVariants; v++) {
      std::vector<ServiceConfig> services = Variant(v);
      for (ServiceConfig& s : services) {
        s.forwarding = kModes[m].forwarding;
        s.tunnel.encapsulation = kModes[m].encapsulation;
        if (kModes[m].family == 6) ToIpv6(s);
        if (s.protocol == IPPROTO_UDP && s.forwarding != Forwarding::kNat) RouteByConnectionId(s, v);
        if (s.forwarding != Forwarding::kNat) continue;
        for (BackendConfig& b : s.backends) b.port = static_cast<uint16_t>(b.port + kNatBackendPortOffset);
      }
      LookupTableCache tables;
      h.snapshots[m][v] = BuildSnapshot(services, ports, neighbors, tables, v + 1);
    }
  }
}

void StartEal() {
  // One lcore, no hugepages, no shared config, no PCI scan, no telemetry socket.
  std::string prefix = "sluice-fuzz-" + std::to_string(getpid());
  std::vector<std::string> args = {"packet_path_fuzz", "-l", "0", "--no-huge", "-m", "256", "--no-shconf",
                                   "--no-pci", "--no-telemetry", "--file-prefix", prefix,
                                   "--log-level", "lib.eal:error"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "packet_path_fuzz: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  // Without shared config and telemetry nothing uses the runtime directory, and
  // a crash ends the process without any cleanup: remove it now, not at exit.
  std::error_code ignored;
  std::filesystem::remove_all(rte_eal_get_runtime_dir(), ignored);
}

Harness* Setup() {
  StartEal();
  auto* h = new Harness();
  g_harness = h;

  h->port_config.name = "fuzz";
  h->port_config.device = "ring";
  h->port_config.address = Ip(kPortAddress);
  h->port_config.prefix_len = kPrefixLen;
  h->port_config.has_nat_pool = true;
  for (const char* a : kNatPool) h->port_config.nat_pool.addresses.push_back(Ipv4Of(Ip(a)));
  for (const char* a : kNatPool) {
    std::array<uint8_t, 16> a6;
    std::memcpy(a6.data(), AsIpv6(Ip(a)).bytes.data(), 16);
    h->port_config.nat_pool.addresses6.push_back(a6);
  }
  h->port_config.has_address6 = true;
  h->port_config.address6.family = 6;
  std::memcpy(h->port_config.address6.bytes.data(), kPortAddress6, 16);
  h->port_config.prefix6_len = kPrefixLen6;
  h->port_config.nat_pool.port_min = kNatPortMin;
  h->port_config.nat_pool.port_max = kNatPortMax;
  h->pool = rte_pktmbuf_pool_create("fuzz_mbufs", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  FUZZ_CHECK(h->pool != nullptr);
  h->port = ProbePort(h->port_config, 1, 0);
  StartPort(h->port_config, h->pool, h->port);
  if (std::memcmp(h->port.mac.addr_bytes, kPortMac, 6) != 0) {
    std::fprintf(stderr, "packet_path_fuzz: the ring port's MAC is %s; update kPortMac and make_corpus.py\n",
                 FormatMac(h->port.mac).c_str());
    std::exit(1);
  }
  PortRuntime rt{};
  rt.port_id = h->port.port_id;
  rt.mac = h->port.mac;
  rt.address = Ipv4Of(h->port_config.address);
  rt.netmask = htonl(~uint32_t{0} << (32 - kPrefixLen));
  rt.mtu = h->port_config.mtu;
  rt.has_address6 = true;
  std::memcpy(rt.address6, kPortAddress6, 16);
  rt.prefix6 = kPrefixLen6;
  rt.kernel_interface = true;
  h->port_runtime.push_back(rt);
  BuildSnapshots(*h);

  h->tx = static_cast<struct rte_eth_dev_tx_buffer*>(
      rte_zmalloc("fuzz_txbuf", RTE_ETH_TX_BUFFER_SIZE(kRxBurst), RTE_CACHE_LINE_SIZE));
  FUZZ_CHECK(h->tx != nullptr);
  rte_eth_tx_buffer_init(h->tx, kRxBurst);
  rte_eth_tx_buffer_set_err_callback(h->tx, CountUnsentPackets, &h->counters);
  h->learn_ring = rte_ring_create_elem("fuzz_learn", sizeof(NeighborLearn), 1024, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
  FUZZ_CHECK(h->learn_ring != nullptr);
  // Smaller than a burst, so a full ring is reached too.
  h->kernel_ring = rte_ring_create("fuzz_kernel", 16, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  FUZZ_CHECK(h->kernel_ring != nullptr);

  // What ProcessBurst reads; the loop-only fields (rx queues, send ring, RCU,
  // snapshot pointer, stop flag, clocks) stay zero because the loop does not run.
  h->worker = new WorkerContext{};
  WorkerContext& w = *h->worker;
  w.num_ports = 1;
  w.ports = h->port_runtime.data();
  w.tx[0] = h->tx;
  w.counters = &h->counters;
  w.service_counters = h->service_counters.data();
  w.backend_counters = h->backend_counters.data();
  w.learn_ring = h->learn_ring;
  w.kernel_ring = h->kernel_ring;
  // A rate no input reaches: a burst is at most kRxBurst frames.
  w.kernel_rate[0].Configure(1000000, 4096, rte_get_tsc_hz(), rte_rdtsc());
  h->pool_baseline = rte_mempool_in_use_count(h->pool);
  return h;
}

struct Input {
  const ModeCase* mode;
  bool force_mac;
  uint32_t clock_start;
  uint32_t variant[2];
  uint32_t split;
  uint32_t advance_ms;
  std::vector<std::pair<const uint8_t*, uint32_t>> frames;
};

bool Decode(const uint8_t* data, size_t size, Input& in) {
  if (size < kHeaderLen) return false;
  in.mode = &kModes[(data[0] & 0x0f) % kNumModes];
  in.force_mac = data[0] & 0x10;
  in.clock_start = (data[0] & 0x20) ? UINT32_MAX - 1000 : 1000;
  in.variant[0] = data[1] % kVariants;
  in.variant[1] = data[2] % kVariants;
  in.advance_ms = data[4] * 16u;
  size_t off = kHeaderLen;
  while (off + 2 <= size && in.frames.size() < kRxBurst) {
    uint32_t len = std::min<uint32_t>(sluice_fuzz::Get16(data + off), kMaxFrameLen);
    off += 2;
    len = static_cast<uint32_t>(std::min<size_t>(len, size - off));
    in.frames.emplace_back(data + off, len);
    off += len;
  }
  in.split = data[3] % (in.frames.size() + 1);
  return true;
}

// An echo reply's ICMP checksum is updated incrementally, so it is valid exactly
// when the request's was (local_reply_fuzz checks that relation per frame). Here
// replies are held to valid checksums when every echo request in the input had one.
bool EchoRequestsValid(const std::vector<std::vector<uint8_t>>& frames) {
  for (const std::vector<uint8_t>& f : frames) {
    PacketInfo info;
    if (ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) != ParseStatus::kOk) continue;
    const uint8_t* ip = f.data() + info.l3_offset;
    if (info.ip_version == 4 && info.l4_proto == IPPROTO_ICMP && info.icmp_type == 8 &&
        !sluice_fuzz::IcmpChecksumValid(ip)) {
      return false;
    }
    if (info.ip_version == 6 && info.l4_proto == IPPROTO_ICMPV6 && info.icmp_type == 128 &&
        !sluice_fuzz::Ipv6UpperChecksumValid(ip, f.data() + info.l4_offset, IPPROTO_ICMPV6)) {
      return false;
    }
  }
  return true;
}

// Neighbor advertisements, echo replies and packet-too-big from the IPv6 path.
void CheckLocalReply6(const uint8_t* frame, uint32_t len, const PacketInfo& info, bool echo_requests_valid) {
  const uint8_t* ip = frame + info.l3_offset;
  const bool sum_valid = sluice_fuzz::Ipv6UpperChecksumValid(ip, frame + info.l4_offset, IPPROTO_ICMPV6);
  if (info.icmp_type == sluice::kIcmpv6NeighborAdvert) {
    NdpMessage nd;
    FUZZ_CHECK(sluice::ParseNdp(frame, len, info, &nd));
    FUZZ_CHECK(nd.has_link_addr && std::memcmp(nd.link_addr, kPortMac, 6) == 0);
    return;
  }
  FUZZ_CHECK(info.icmp_type == 129);
  FUZZ_CHECK(!echo_requests_valid || sum_valid);
}

void CheckLocalReply(const uint8_t* frame, uint32_t len, const PacketInfo& info, ParseStatus status,
                     bool echo_requests_valid) {
  FUZZ_CHECK(std::memcmp(frame + 6, kPortMac, 6) == 0);
  if (status == ParseStatus::kArp) {
    const uint8_t* arp = frame + info.l3_offset;
    FUZZ_CHECK(sluice_fuzz::Get16(arp + 6) == 2 && std::memcmp(arp + 8, kPortMac, 6) == 0);
    return;
  }
  if (info.ip_version == 6) return CheckLocalReply6(frame, len, info, echo_requests_valid);
  const uint8_t* ip = frame + info.l3_offset;
  FUZZ_CHECK(info.ip_version == 4 && info.l4_proto == IPPROTO_ICMP);
  FUZZ_CHECK(sluice_fuzz::Ipv4HeaderChecksumValid(ip));
  FUZZ_CHECK(info.icmp_type == 0);
  FUZZ_CHECK(!echo_requests_valid || sluice_fuzz::IcmpChecksumValid(ip));
}

// Runs one burst the way WorkerMain's loop iteration does: process, flush tx, sweep.
void RunBurst(Harness& h, const Snapshot& snap, struct rte_mbuf** mbufs, uint16_t n, uint32_t now_ms) {
  WorkerContext& w = *h.worker;
  if (n > 0) ProcessBurst(w, snap, mbufs, n, 0, now_ms);
  rte_eth_tx_buffer_flush(h.port.port_id, 0, h.tx);
  w.flows->Sweep(now_ms, 64, h.counters, w.service_counters, w.backend_counters);
  w.flows6->Sweep(now_ms, 64, h.counters, w.service_counters, w.backend_counters);
  w.nat->sessions->Sweep(now_ms, 64, h.counters);
  w.nat->sessions6->Sweep(now_ms, 64, h.counters);
  SweepFragments(w, now_ms, 64);
}

void CheckOutput(Harness& h, const Input& in, bool echo_requests_valid) {
  uint64_t forwarded = 0, replies = 0, icmp_errors = 0;
  void* obj;
  while (rte_ring_sc_dequeue(h.port.capture_rings[0], &obj) == 0) {
    auto* m = static_cast<struct rte_mbuf*>(obj);
    std::vector<uint8_t> frame(m->pkt_len);
    const auto* bytes = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, frame.data()));
    FUZZ_CHECK(bytes != nullptr);
    PacketInfo info;
    ParseStatus status = ParsePacket(bytes, m->pkt_len, &info);
    if (status == ParseStatus::kIpFragment) {
      CheckFragmentForwarded(h, in.mode->forwarding, bytes, m->pkt_len, info);
      forwarded++;
      rte_pktmbuf_free(m);
      continue;
    }
    FUZZ_CHECK(status == ParseStatus::kOk || status == ParseStatus::kArp);
    bool reply = status == ParseStatus::kArp || info.l4_proto == IPPROTO_ICMP || info.l4_proto == IPPROTO_ICMPV6;
    if (reply && IsIcmpErrorType(info)) {
      // Sent back to the client or on to a backend: either way from our MAC, whole and valid.
      FUZZ_CHECK(std::memcmp(bytes + 6, kPortMac, 6) == 0 && IsIcmpError(bytes, info));
      // The balancer's own packet-too-big quotes no more than fits the IPv6 minimum MTU.
      if (info.ip_version == 6 && info.icmp_type == 2 && !IsBackendMac(bytes)) FUZZ_CHECK(info.l3_length <= 1280);
      icmp_errors++;
    } else if (reply) {
      CheckLocalReply(bytes, m->pkt_len, info, status, echo_requests_valid);
      replies++;
    } else {
      in.mode->check_forwarded(h, bytes, m->pkt_len, info);
      forwarded++;
    }
    rte_pktmbuf_free(m);
  }
  const LcoreCounters& c = h.counters;
  FUZZ_CHECK(replies == c.local_replies);
  FUZZ_CHECK(forwarded + icmp_errors == c.forwarded + c.icmp_frag_needed_sent + c.icmp_packet_too_big_sent);
  FUZZ_CHECK(c.icmp_errors_routed <= c.forwarded);
  FUZZ_CHECK(forwarded + replies + icmp_errors == c.tx_queued - c.drops[static_cast<uint32_t>(DropReason::kTxFull)]);
}

void CheckCounters(const Harness& h, uint64_t frames) {
  const LcoreCounters& c = h.counters;
  uint64_t drops = 0;
  for (uint32_t r = 0; r < kDropReasonCount; r++) {
    if (r != static_cast<uint32_t>(DropReason::kTxFull)) drops += c.drops[r];
  }
  // common/lcore_counters.h: rx_packets = forwarded + local_replies + arp_learned + kernel_handed
  // + drops except tx_full + fragments still held.
  FUZZ_CHECK(c.rx_packets == frames);
  FUZZ_CHECK(c.rx_packets == c.forwarded + c.local_replies + c.arp_learned + c.kernel_handed + drops + c.fragments_held);
  const FragmentTable& fragments = *h.worker->fragments;
  FUZZ_CHECK(c.fragments_held == fragments.held_packets());
  FUZZ_CHECK(fragments.held_bytes() <= fragments.limits().held_bytes);
  FUZZ_CHECK(fragments.held_packets() <= fragments.held_capacity());
  FUZZ_CHECK(fragments.active() <= fragments.capacity());
  FUZZ_CHECK(c.fragments_forwarded <= c.forwarded);
  // A datagram routed by its connection ID is forwarded, or dropped for its backend's unknown MAC.
  FUZZ_CHECK(c.quic_lb_routed <= c.forwarded + drops);
  FUZZ_CHECK(c.flow_active <= kFlowCapacity + h.worker->flows6->capacity());
  // Neither table refuses a new flow: a full one evicts (tables/flow_table.h).
  FUZZ_CHECK(c.flow_insert_failures == 0);
  int64_t service_flows = 0;
  for (uint32_t s = 0; s < kServiceIds; s++) service_flows += h.service_counters[s].active_flows;
  FUZZ_CHECK(service_flows == static_cast<int64_t>(c.flow_active));
  // Every remembered flow counts for its backend too, however it moved between them.
  int64_t backend_flows = 0;
  for (const BackendCounters& b : h.backend_counters) {
    FUZZ_CHECK(b.active_flows >= 0);
    backend_flows += b.active_flows;
  }
  FUZZ_CHECK(backend_flows == static_cast<int64_t>(c.flow_active));
  FUZZ_CHECK(c.nat_sessions_active <= c.nat_sessions_created && c.nat_sessions_expired <= c.nat_sessions_created);
  FUZZ_CHECK(c.nat_sessions_active <= h.nat->sessions_capacity(0));
  FUZZ_CHECK(c.nat_handoff_sent == 0 && c.nat_handoff_received == 0);  // one worker owns every pool port
}

// What reached the kernel interface was for the node itself: to the port's MAC,
// and to its own address or an ARP reply or neighbor advertisement; never a
// frame for a VIP, a backend or anyone else (the node is no relay).
void CheckKernel(const Harness& h) {
  const PortRuntime& port = h.port_runtime[0];
  uint64_t handed = 0;
  struct rte_mbuf* m;
  while (rte_ring_sc_dequeue(h.kernel_ring, reinterpret_cast<void**>(&m)) == 0) {
    handed++;
    FUZZ_CHECK(m->port == 0);
    const uint8_t* bytes = rte_pktmbuf_mtod(m, const uint8_t*);
    FUZZ_CHECK(rte_pktmbuf_data_len(m) >= RTE_ETHER_HDR_LEN && std::memcmp(bytes, kPortMac, 6) == 0);
    PacketInfo info;
    ParseStatus status = ParsePacket(bytes, rte_pktmbuf_data_len(m), m->pkt_len, &info);
    if (status == ParseStatus::kArp) {
      FUZZ_CHECK(bytes[info.l3_offset + 7] == 2);  // a reply, not a request
    } else if (info.ip_version == 6) {
      FUZZ_CHECK(status == ParseStatus::kOk);
      bool advert = info.l4_proto == IPPROTO_ICMPV6 && info.icmp_type == 136;
      FUZZ_CHECK(advert || std::memcmp(info.dst_addr, port.address6, 16) == 0);
    } else {
      FUZZ_CHECK(status == ParseStatus::kOk && info.ip_version == 4);
      FUZZ_CHECK(std::memcmp(info.dst_addr, &port.address, 4) == 0);
    }
    rte_pktmbuf_free(m);
  }
  FUZZ_CHECK(handed == h.counters.kernel_handed);
}

void CheckLearned(const Harness& h) {
  NeighborLearn learned;
  const PortRuntime& port = h.port_runtime[0];
  while (rte_ring_sc_dequeue_elem(h.learn_ring, &learned, sizeof(learned)) == 0) {
    FUZZ_CHECK(learned.port_index == 0);
    if (learned.family == 6) {
      const bool link_local = learned.address6[0] == 0xfe && (learned.address6[1] & 0xc0) == 0x80;
      FUZZ_CHECK(link_local || InPrefix6(learned.address6, port.address6, port.prefix6));
      continue;
    }
    FUZZ_CHECK((learned.address & port.netmask) == (port.address & port.netmask));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness& h = *g_harness;
  Input in;
  if (!Decode(data, size, in)) return 0;

  std::vector<std::vector<uint8_t>> frames;
  for (const auto& [bytes, len] : in.frames) {
    frames.emplace_back(bytes, bytes + len);
    if (in.force_mac && len > 0) std::memcpy(frames.back().data(), kPortMac, std::min<uint32_t>(len, 6));
  }
  struct rte_mbuf* mbufs[kRxBurst];
  for (size_t i = 0; i < frames.size(); i++) {
    mbufs[i] = FrameToMbuf(h.pool, frames[i].data(), static_cast<uint32_t>(frames[i].size()),
                           in.mode->forwarding == Forwarding::kTunnel);
  }

  h.counters = LcoreCounters{};
  std::fill_n(h.service_counters.begin(), kServiceIds, ServiceCounters{});
  std::fill_n(h.backend_counters.begin(), kBackendIds, BackendCounters{});
  h.worker->flows = FlowTable::Create("fuzz_flows", kFlowCapacity, SOCKET_ID_ANY, kTimeouts);
  FUZZ_CHECK(h.worker->flows != nullptr);
  h.worker->flows6 = FlowTable6::Create("fuzz_flows6", kFlowCapacity, SOCKET_ID_ANY, kTimeouts);
  FUZZ_CHECK(h.worker->flows6 != nullptr);
  h.nat = std::make_unique<NatRuntime>(std::vector<PortConfig>{h.port_config}, std::vector<int>{SOCKET_ID_ANY},
                                       kFlowCapacity, kTimeouts, 0);
  h.worker->nat = h.nat->lcore(0);
  // Small, so that inputs fill it: a bucket's 8 entries, the held bytes of a few frames.
  h.worker->fragments = FragmentTable::Place(h.fragment_memory.get(), kFragmentLimits);

  const uint32_t mode = static_cast<uint32_t>(in.mode - kModes);
  const uint16_t n = static_cast<uint16_t>(frames.size());
  RunBurst(h, *h.snapshots[mode][in.variant[0]], mbufs, static_cast<uint16_t>(in.split), in.clock_start);
  RunBurst(h, *h.snapshots[mode][in.variant[1]], mbufs + in.split, static_cast<uint16_t>(n - in.split),
           in.clock_start + in.advance_ms);

  CheckOutput(h, in, EchoRequestsValid(frames));
  CheckCounters(h, n);
  CheckLearned(h);
  CheckKernel(h);
  FlowTable::Destroy(h.worker->flows);
  h.worker->flows = nullptr;
  FlowTable6::Destroy(h.worker->flows6);
  h.worker->flows6 = nullptr;
  h.worker->nat = nullptr;
  h.nat.reset();
  // What is still held would have timed out on a running lcore.
  ClearFragments(*h.worker->fragments);
  h.worker->fragments = nullptr;
  // Every mbuf was transmitted and freed above, or freed by the path itself.
  FUZZ_CHECK(rte_mempool_in_use_count(h.pool) == h.pool_baseline);
  return 0;
}
