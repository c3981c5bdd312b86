#include "addon/config_from_js.h"

#include <arpa/inet.h>
#include <algorithm>
#include <netinet/in.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/snapshot.h"

namespace sluice {
namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& reason) {
  throw std::invalid_argument(path + ": " + reason);
}

Napi::Object AsObject(const Napi::Value& v, const std::string& path) {
  if (!v.IsObject() || v.IsArray()) Fail(path, "must be an object");
  return v.As<Napi::Object>();
}

Napi::Array AsArray(const Napi::Value& v, const std::string& path) {
  if (!v.IsArray()) Fail(path, "must be an array");
  return v.As<Napi::Array>();
}

// A property name made into a JS string once per conversion: looking a
// backend's fields up by it spares V8 making (and interning) the name again
// for every backend of every service.
struct Key {
  Napi::Value js;
  const char* name;
};
Napi::Value Prop(const Napi::Object& o, const char* key) { return o.Get(key); }
Napi::Value Prop(const Napi::Object& o, const Key& key) { return o.Get(key.js); }
const char* NameOf(const char* key) { return key; }
const char* NameOf(const Key& key) { return key.name; }

template <typename K>
uint32_t GetUint(const Napi::Object& o, const K& key, const std::string& path, uint32_t min, uint32_t max) {
  Napi::Value v = Prop(o, key);
  auto where = [&] { return path + "." + NameOf(key); };
  if (!v.IsNumber()) Fail(where(), "must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) Fail(where(), "must be an integer");
  if (d < min || d > max) Fail(where(), "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return static_cast<uint32_t>(d);
}

// A byte count: an integer from 0 to 2^53 (exact in a JS number).
uint64_t GetBytes(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  std::string where = path + "." + key;
  if (!v.IsNumber()) Fail(where, "must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  constexpr double kMax = 9007199254740992.0;  // 2^53
  if (!(d >= 0 && d <= kMax) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    Fail(where, "must be a whole number of bytes from 0 to 2^53");
  }
  return static_cast<uint64_t>(d);
}

template <typename K>
std::string GetString(const Napi::Object& o, const K& key, const std::string& path) {
  Napi::Value v = Prop(o, key);
  if (!v.IsString()) Fail(path + "." + NameOf(key), "must be a string");
  return v.As<Napi::String>().Utf8Value();
}

template <typename K>
bool GetBool(const Napi::Object& o, const K& key, const std::string& path) {
  Napi::Value v = Prop(o, key);
  if (!v.IsBoolean()) Fail(path + "." + NameOf(key), "must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

template <typename K>
IpAddr GetIp(const Napi::Object& o, const K& key, const std::string& path) {
  IpAddr ip;
  if (!ParseIp(GetString(o, key, path), &ip)) Fail(path + "." + NameOf(key), "is not an IP address");
  return ip;
}

bool ParseMac(const std::string& text, MacAddr* out) {
  unsigned b[6];
  char tail;
  if (text.size() != 17 ||
      std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; i++) (*out)[i] = static_cast<uint8_t>(b[i]);
  return true;
}

// Pool addresses are the port's to answer ARP for: on its subnet, not its own
// address, each once. Overlap with VIPs and backends is checked in TypeScript
// and again when the snapshot is built.
// The IPv6 pool: in the port's address6 prefix, for the port answers neighbor
// solicitations for it.
std::vector<std::array<uint8_t, 16>> NatPool6FromJs(const Napi::Object& o, const std::string& path,
                                                    const PortConfig& port) {
  Napi::Array addresses = AsArray(o.Get("addresses6"), path + ".addresses6");
  if (addresses.Length() > kMaxNatPoolAddresses) {
    Fail(path + ".addresses6", "must hold at most " + std::to_string(kMaxNatPoolAddresses) + " addresses");
  }
  if (addresses.Length() > 0 && !port.has_address6) Fail(path + ".addresses6", "needs the port's address6");
  std::vector<std::array<uint8_t, 16>> out;
  for (uint32_t i = 0; i < addresses.Length(); i++) {
    std::string where = path + ".addresses6[" + std::to_string(i) + "]";
    Napi::Value a = addresses.Get(i);
    IpAddr ip;
    if (!a.IsString() || !ParseIp(a.As<Napi::String>().Utf8Value(), &ip) || ip.family != 6) Fail(where, "must be an IPv6 address");
    if (!InPrefix6(ip.bytes.data(), port.address6.bytes.data(), port.prefix6_len)) Fail(where, "is not in the port's address6 prefix");
    if (ip == port.address6) Fail(where, "is the port's own address6");
    std::array<uint8_t, 16> v;
    std::memcpy(v.data(), ip.bytes.data(), 16);
    if (std::find(out.begin(), out.end(), v) != out.end()) Fail(where, "is listed twice");
    out.push_back(v);
  }
  return out;
}

NatPoolConfig NatPoolFromJs(const Napi::Value& value, const std::string& path, const PortConfig& port) {
  Napi::Object o = AsObject(value, path);
  NatPoolConfig pool;
  Napi::Array addresses = AsArray(o.Get("addresses"), path + ".addresses");
  if (addresses.Length() < 1 || addresses.Length() > kMaxNatPoolAddresses) {
    Fail(path + ".addresses", "must hold 1 to " + std::to_string(kMaxNatPoolAddresses) + " addresses");
  }
  uint32_t netmask = htonl(~uint32_t{0} << (32 - port.prefix_len));
  uint32_t own = Ipv4Of(port.address);
  for (uint32_t i = 0; i < addresses.Length(); i++) {
    std::string where = path + ".addresses[" + std::to_string(i) + "]";
    Napi::Value a = addresses.Get(i);
    IpAddr ip;
    if (!a.IsString() || !ParseIp(a.As<Napi::String>().Utf8Value(), &ip) || ip.family != 4) Fail(where, "must be an IPv4 address");
    uint32_t v = Ipv4Of(ip);
    if ((v & netmask) != (own & netmask)) Fail(where, "is not on the port's subnet");
    if (v == own) Fail(where, "is the port's own address");
    for (uint32_t other : pool.addresses) {
      if (other == v) Fail(where, "is listed twice");
    }
    pool.addresses.push_back(v);
  }
  if (o.Has("addresses6") && !o.Get("addresses6").IsUndefined()) pool.addresses6 = NatPool6FromJs(o, path, port);
  pool.port_min = static_cast<uint16_t>(GetUint(o, "portMin", path, 1, 65535));
  pool.port_max = static_cast<uint16_t>(GetUint(o, "portMax", path, pool.port_min, 65535));
  return pool;
}

PortConfig PortFromJs(const Napi::Value& value, const std::string& path) {
  Napi::Object o = AsObject(value, path);
  PortConfig p;
  p.name = GetString(o, "name", path);
  p.device = GetString(o, "device", path);
  if (p.name.empty() || p.device.empty()) Fail(path, "name and device must not be empty");
  p.queues = static_cast<uint16_t>(GetUint(o, "queues", path, 1, 64));
  p.address = GetIp(o, "address", path);
  if (p.address.family != 4) Fail(path + ".address", "must be IPv4");
  p.prefix_len = static_cast<uint8_t>(GetUint(o, "prefixLength", path, 1, 32));
  if (o.Has("gateway") && !o.Get("gateway").IsUndefined()) {
    p.has_gateway = true;
    p.gateway = GetIp(o, "gateway", path);
  }
  if (o.Has("address6") && !o.Get("address6").IsUndefined()) {
    p.has_address6 = true;
    p.address6 = GetIp(o, "address6", path);
    if (p.address6.family != 6) Fail(path + ".address6", "must be IPv6");
    p.prefix6_len = static_cast<uint8_t>(GetUint(o, "prefixLength6", path, 1, 128));
  }
  if (o.Has("gateway6") && !o.Get("gateway6").IsUndefined()) {
    if (!p.has_address6) Fail(path + ".gateway6", "needs address6");
    p.has_gateway6 = true;
    p.gateway6 = GetIp(o, "gateway6", path);
    if (p.gateway6.family != 6) Fail(path + ".gateway6", "must be IPv6");
  }
  p.mtu = static_cast<uint16_t>(GetUint(o, "mtu", path, 68, 9600));
  p.rx_descriptors = GetUint(o, "rxDescriptors", path, 64, 16384);
  p.tx_descriptors = GetUint(o, "txDescriptors", path, 64, 16384);
  if (o.Has("natPool") && !o.Get("natPool").IsUndefined()) {
    p.has_nat_pool = true;
    p.nat_pool = NatPoolFromJs(o.Get("natPool"), path + ".natPool", p);
  }
  if (o.Has("kernelInterface") && !o.Get("kernelInterface").IsUndefined()) {
    Napi::Object k = AsObject(o.Get("kernelInterface"), path + ".kernelInterface");
    p.kernel_interface = GetString(k, "name", path + ".kernelInterface");
    if (p.kernel_interface.empty() || p.kernel_interface.size() > 15) {
      Fail(path + ".kernelInterface.name", "must be 1 to 15 characters");
    }
    p.kernel_packets_per_sec = GetUint(k, "packetsPerSec", path + ".kernelInterface", 1, 10000000);
  }
  return p;
}

// `family` is the service's: the outer header has the inner packet's family.
TunnelConfig TunnelFromJs(const Napi::Value& value, const std::string& path, uint8_t family) {
  Napi::Object o = AsObject(value, path);
  TunnelConfig t;
  std::string encapsulation = GetString(o, "encapsulation", path);
  if (encapsulation == "ipip") t.encapsulation = Encapsulation::kIpip;
  else if (encapsulation == "gue") t.encapsulation = Encapsulation::kGue;
  else Fail(path + ".encapsulation", "must be ipip or gue");
  t.gue_port = static_cast<uint16_t>(GetUint(o, "guePort", path, 1, 65535));
  if (o.Has("source") && !o.Get("source").IsUndefined()) {
    t.has_source = true;
    t.source = GetIp(o, "source", path);
    if (t.source.family != family) Fail(path + ".source", family == 6 ? "must be IPv6, as the VIP" : "must be IPv4, as the VIP");
  }
  t.source_network = GetIp(o, "sourceNetwork", path);
  if (t.source_network.family != family) {
    Fail(path + ".sourceNetwork", family == 6 ? "must be IPv6, as the VIP" : "must be IPv4, as the VIP");
  }
  // Host bits of IPv4 /8../24 or IPv6 /96../120: all within the last four bytes,
  // which is all the tunnel's per-flow sources vary (MakeTunnelTarget masks them).
  bool v6 = family == 6;
  t.source_prefix_len = static_cast<uint8_t>(GetUint(o, "sourcePrefixLength", path, v6 ? 96 : 8, v6 ? 120 : 24));
  return t;
}

// Hex of whole octets into `out`; false for anything else or more than `max` octets.
bool ParseHex(const std::string& text, uint8_t* out, size_t max, size_t* length) {
  if (text.size() % 2 != 0 || text.size() / 2 > max) return false;
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    if (std::sscanf(text.c_str() + i, "%2x", &value) != 1 || !std::isxdigit(static_cast<unsigned char>(text[i])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 1]))) {
      return false;
    }
    out[i / 2] = static_cast<uint8_t>(value);
  }
  *length = text.size() / 2;
  return true;
}

// The lengths and the algorithm's rules are QuicLbCodec's to check, once, when
// the snapshot is built: here only what converts.
QuicLbConfig QuicLbFromJs(const Napi::Value& value, const std::string& path) {
  Napi::Object o = AsObject(value, path);
  QuicLbConfig q{};
  q.config_id = static_cast<uint8_t>(GetUint(o, "configId", path, 0, kQuicLbMaxConfigId));
  q.server_id_length = static_cast<uint8_t>(GetUint(o, "serverIdLength", path, 1, kQuicLbMaxServerIdLength));
  q.nonce_length = static_cast<uint8_t>(GetUint(o, "nonceLength", path, 1, kQuicLbMaxNonceLength));
  std::string algorithm = GetString(o, "algorithm", path);
  if (algorithm == "plaintext") q.algorithm = QuicLbAlgorithm::kPlaintext;
  else if (algorithm == "single-pass") q.algorithm = QuicLbAlgorithm::kSinglePass;
  else if (algorithm == "four-pass") q.algorithm = QuicLbAlgorithm::kFourPass;
  else Fail(path + ".algorithm", "must be plaintext, single-pass or four-pass");
  if (q.algorithm != QuicLbAlgorithm::kPlaintext) {
    size_t length = 0;
    if (!ParseHex(GetString(o, "key", path), q.key.data(), q.key.size(), &length) || length != q.key.size()) {
      Fail(path + ".key", "must be 32 hex digits");
    }
  }
  return q;
}

}  // namespace

bool ParseIp(const std::string& text, IpAddr* out) {
  IpAddr ip;
  if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = 4;
  } else if (inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = 6;
  } else {
    return false;
  }
  *out = ip;
  return true;
}

DataplaneConfig DataplaneConfigFromJs(const Napi::Value& value) {
  Napi::Object o = AsObject(value, "config");
  DataplaneConfig c;
  Napi::Array args = AsArray(o.Get("ealArgs"), "config.ealArgs");
  if (args.Length() < 1) Fail("config.ealArgs", "must hold at least argv[0]");
  for (uint32_t i = 0; i < args.Length(); i++) {
    Napi::Value a = args.Get(i);
    if (!a.IsString()) Fail("config.ealArgs[" + std::to_string(i) + "]", "must be a string");
    c.eal_args.push_back(a.As<Napi::String>().Utf8Value());
  }
  Napi::Array ports = AsArray(o.Get("ports"), "config.ports");
  if (ports.Length() < 1 || ports.Length() > kMaxPorts) Fail("config.ports", "must hold 1 to 16 ports");
  for (uint32_t i = 0; i < ports.Length(); i++) {
    c.ports.push_back(PortFromJs(ports.Get(i), "config.ports[" + std::to_string(i) + "]"));
    for (uint32_t j = 0; j < i; j++) {
      if (c.ports[j].name == c.ports[i].name) Fail("config.ports[" + std::to_string(i) + "].name", "is used twice");
    }
  }
  Napi::Array workers = AsArray(o.Get("workers"), "config.workers");
  if (workers.Length() < 1 || workers.Length() > kMaxWorkers) Fail("config.workers", "must hold 1 to 64 workers");
  std::vector<std::vector<bool>> assigned(c.ports.size());
  for (size_t p = 0; p < c.ports.size(); p++) assigned[p].assign(c.ports[p].queues, false);
  for (uint32_t i = 0; i < workers.Length(); i++) {
    std::string path = "config.workers[" + std::to_string(i) + "]";
    Napi::Object w = AsObject(workers.Get(i), path);
    WorkerConfig wc;
    wc.lcore = GetUint(w, "lcore", path, 0, RTE_MAX_LCORE - 1);
    Napi::Array rx = AsArray(w.Get("rx"), path + ".rx");
    for (uint32_t j = 0; j < rx.Length(); j++) {
      std::string rpath = path + ".rx[" + std::to_string(j) + "]";
      Napi::Object r = AsObject(rx.Get(j), rpath);
      RxQueueRef ref;
      ref.port_index = static_cast<uint16_t>(GetUint(r, "port", rpath, 0, static_cast<uint32_t>(c.ports.size()) - 1));
      ref.queue = static_cast<uint16_t>(GetUint(r, "queue", rpath, 0, c.ports[ref.port_index].queues - 1u));
      if (assigned[ref.port_index][ref.queue]) Fail(rpath, "queue is polled by two workers");
      assigned[ref.port_index][ref.queue] = true;
      wc.rx.push_back(ref);
    }
    if (wc.rx.size() > 64) Fail(path + ".rx", "at most 64 queues per worker");
    for (const WorkerConfig& other : c.workers) {
      if (other.lcore == wc.lcore) Fail(path + ".lcore", "is used by two workers");
    }
    c.workers.push_back(std::move(wc));
  }
  for (size_t p = 0; p < c.ports.size(); p++) {
    for (size_t q = 0; q < assigned[p].size(); q++) {
      if (!assigned[p][q]) Fail("config.workers", "queue " + std::to_string(q) + " of port " + c.ports[p].name + " is polled by no worker");
    }
  }
  Napi::Object ft = AsObject(o.Get("flowTable"), "config.flowTable");
  c.flow_table.entries_per_lcore = GetUint(ft, "entriesPerLcore", "config.flowTable", 1024, 1u << 26);
  c.flow_table.tcp_timeout_sec = GetUint(ft, "tcpTimeoutSec", "config.flowTable", 1, 86400 * 7);
  c.flow_table.tcp_closing_timeout_sec = GetUint(ft, "tcpClosingTimeoutSec", "config.flowTable", 1, 86400);
  c.flow_table.udp_timeout_sec = GetUint(ft, "udpTimeoutSec", "config.flowTable", 1, 86400 * 7);
  Napi::Object admission = AsObject(ft.Get("admission"), "config.flowTable.admission");
  c.flow_table.new_flows_per_sec = GetUint(admission, "newFlowsPerSec", "config.flowTable.admission", 0, 1u << 30);
  c.flow_table.new_flow_burst = GetUint(admission, "burst", "config.flowTable.admission", 1, 1u << 30);
  // Absent: the defaults, on; the daemon always sends it (src/config/to-native.ts).
  if (!o.Get("fragments").IsUndefined()) {
    Napi::Object fr = AsObject(o.Get("fragments"), "config.fragments");
    c.fragments.enabled = GetBool(fr, "enabled", "config.fragments");
    c.fragments.entries_per_lcore = GetUint(fr, "entriesPerLcore", "config.fragments", 8, 1u << 20);
    c.fragments.hold_ms = GetUint(fr, "holdMs", "config.fragments", 1, 10000);
    c.fragments.held_bytes_per_lcore = GetUint(fr, "heldBytesPerLcore", "config.fragments", 0, 1u << 30);
  }
  c.mbufs_per_socket = GetUint(o, "mbufsPerSocket", "config", 0, 1u << 24);
  c.idle_sleep_max_us = GetUint(o, "idleSleepMaxUs", "config", 0, 100000);
  c.neighbor_refresh_sec = GetUint(o, "neighborRefreshSec", "config", 1, 86400);
  Napi::Object limits = AsObject(o.Get("limits"), "config.limits");
  c.limits.lookup_table_bytes = GetBytes(limits, "lookupTableBytes", "config.limits");
  c.limits.flow_table_bytes = GetBytes(limits, "flowTableBytes", "config.limits");
  c.limits.nat_session_bytes = GetBytes(limits, "natSessionBytes", "config.limits");
  return c;
}

namespace {

// A run [start, end) of the running service's backends, as they run, onto `out`.
void AppendRun(const Napi::Array& run, const ServiceConfig* was, const std::string& path, uint32_t service_id,
               std::vector<BackendConfig>* out) {
  const size_t size = was == nullptr ? 0 : was->backends.size();
  auto bound = [&](uint32_t k) {
    Napi::Value v = run.Get(k);
    const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    return x >= 0 && x <= static_cast<double>(size) && x == static_cast<uint32_t>(x) ? static_cast<int64_t>(x) : -1;
  };
  const int64_t start = run.Length() == 2 ? bound(0) : -1;
  const int64_t end = run.Length() == 2 ? bound(1) : -1;
  if (start < 0 || end <= start) {
    Fail(path, "is a run [start, end) of no backends of the running service " + std::to_string(service_id));
  }
  out->insert(out->end(), was->backends.begin() + start, was->backends.begin() + end);
}

}  // namespace

// Only converts: the invariants of services (ids, families, reachability, table
// sizes) are BuildSnapshot's and the table builder's to check, once.
std::vector<ServiceConfig> ServicesFromJs(const Napi::Value& value, const std::vector<ServiceConfig>* running,
                                          Unchanged* unchanged) {
  Napi::Array list = AsArray(value, "services");
  std::vector<ServiceConfig> services;
  services.reserve(list.Length());
  if (unchanged != nullptr) {
    unchanged->services.assign(list.Length(), false);
    unchanged->backends.assign(kMaxBackendIds, false);
  }
  // Backend ids are below kMaxBackendIds in what runs; whatever they are, BuildSnapshot checks them.
  const auto keep = [&](const BackendConfig* first, const BackendConfig* last) {
    if (unchanged == nullptr) return;
    for (; first != last; ++first) {
      if (first->id < kMaxBackendIds) unchanged->backends[first->id] = true;
    }
  };
  const Napi::Env env = value.Env();
  auto key = [&](const char* name) { return Key{Napi::String::New(env, name), name}; };
  const struct {
    Key id, address, port, weight, state, healthy, mac, server_id;
  } keys{key("id"), key("address"), key("port"), key("weight"), key("state"), key("healthy"), key("mac"), key("serverId")};
  std::vector<const ServiceConfig*> running_by_id;
  if (running != nullptr) {
    running_by_id.assign(kMaxServices, nullptr);
    for (const ServiceConfig& s : *running) {
      if (s.id < kMaxServices) running_by_id[s.id] = &s;
    }
  }
  // A changed service's unchanged backends come as their ids: the running
  // service's backends by id, filled for one service at a time and emptied
  // after it. Kept between calls (the main thread's only), as it is 512 KiB.
  static std::vector<const BackendConfig*> running_backends(kMaxBackendIds, nullptr);
  for (uint32_t i = 0; i < list.Length(); i++) {
    std::string path = "services[" + std::to_string(i) + "]";
    Napi::Value entry = list.Get(i);
    if (entry.IsNumber()) {
      const double id = entry.As<Napi::Number>().DoubleValue();
      if (running == nullptr || !(id >= 0 && id < kMaxServices) || id != static_cast<uint32_t>(id) ||
          running_by_id[static_cast<uint32_t>(id)] == nullptr) {
        Fail(path, "is an id of no running service");
      }
      services.push_back(*running_by_id[static_cast<uint32_t>(id)]);
      if (unchanged != nullptr) unchanged->services[i] = true;
      continue;
    }
    Napi::Object o = AsObject(entry, path);
    ServiceConfig s;
    s.id = GetUint(o, "id", path, 0, UINT32_MAX);
    s.name = GetString(o, "name", path);
    s.vip = GetIp(o, "vip", path);
    s.port = static_cast<uint16_t>(GetUint(o, "port", path, 1, 65535));
    std::string proto = GetString(o, "protocol", path);
    if (proto == "tcp") s.protocol = IPPROTO_TCP;
    else if (proto == "udp") s.protocol = IPPROTO_UDP;
    else Fail(path + ".protocol", "must be tcp or udp");
    std::string forwarding = GetString(o, "forwarding", path);
    if (forwarding == "dsr") s.forwarding = Forwarding::kDsr;
    else if (forwarding == "tunnel") s.forwarding = Forwarding::kTunnel;
    else if (forwarding == "nat") s.forwarding = Forwarding::kNat;
    else Fail(path + ".forwarding", "must be dsr, tunnel or nat");
    if (s.forwarding == Forwarding::kTunnel) {
      if (!o.Has("tunnel") || o.Get("tunnel").IsUndefined()) Fail(path + ".tunnel", "is required with forwarding tunnel");
      s.tunnel = TunnelFromJs(o.Get("tunnel"), path + ".tunnel", s.vip.family);
    }
    if (o.Has("quicLb") && !o.Get("quicLb").IsUndefined()) {
      s.has_quic_lb = true;
      s.quic_lb = QuicLbFromJs(o.Get("quicLb"), path + ".quicLb");
    }
    s.lookup_table_size = GetUint(o, "lookupTableSize", path, 0, UINT32_MAX);
    Napi::Array backends = AsArray(o.Get("backends"), path + ".backends");
    s.backends.reserve(backends.Length());
    const ServiceConfig* was = running != nullptr && s.id < kMaxServices ? running_by_id[s.id] : nullptr;
    bool indexed = false;
    // Emptied however this service's conversion ends.
    struct Unindex {
      const ServiceConfig* const& was;
      const bool& indexed;
      ~Unindex() {
        if (!indexed) return;
        for (const BackendConfig& kept : was->backends) running_backends[kept.id] = nullptr;
      }
    } unindex{was, indexed};
    const uint32_t count = backends.Length();
    for (uint32_t j = 0; j < count; j++) {
      Napi::Value entry_b = backends.Get(j);
      if (entry_b.IsArray()) {
        const size_t from = s.backends.size();
        AppendRun(entry_b.As<Napi::Array>(), was, path + ".backends[" + std::to_string(j) + "]", s.id, &s.backends);
        keep(s.backends.data() + from, s.backends.data() + s.backends.size());
        continue;
      }
      if (entry_b.IsNumber()) {
        if (!indexed && was != nullptr) {
          for (const BackendConfig& kept : was->backends) running_backends[kept.id] = &kept;
          indexed = true;
        }
        const double id = entry_b.As<Napi::Number>().DoubleValue();
        if (!indexed || !(id >= 0 && id < kMaxBackendIds) || id != static_cast<uint32_t>(id) ||
            running_backends[static_cast<uint32_t>(id)] == nullptr) {
          Fail(path + ".backends[" + std::to_string(j) + "]",
               "is an id of no backend of the running service " + std::to_string(s.id));
        }
        s.backends.push_back(*running_backends[static_cast<uint32_t>(id)]);
        keep(&s.backends.back(), &s.backends.back() + 1);
        continue;
      }
      std::string bpath = path + ".backends[" + std::to_string(j) + "]";
      Napi::Object b = AsObject(entry_b, bpath);
      BackendConfig bc;
      bc.id = GetUint(b, keys.id, bpath, 0, UINT32_MAX);
      bc.address = GetIp(b, keys.address, bpath);
      bc.port = static_cast<uint16_t>(GetUint(b, keys.port, bpath, 1, 65535));
      bc.weight = GetUint(b, keys.weight, bpath, 0, UINT32_MAX);
      std::string state = GetString(b, keys.state, bpath);
      if (state == "active") bc.admin = AdminState::kActive;
      else if (state == "drain") bc.admin = AdminState::kDrain;
      else if (state == "disabled") bc.admin = AdminState::kDisabled;
      else Fail(bpath + ".state", "must be active, drain or disabled");
      bc.healthy = GetBool(b, keys.healthy, bpath);
      Napi::Value mac = Prop(b, keys.mac);
      if (!mac.IsUndefined()) {
        if (!ParseMac(GetString(b, keys.mac, bpath), &bc.mac)) Fail(bpath + ".mac", "is not a MAC address");
        bc.has_static_mac = true;
      }
      Napi::Value server_id = Prop(b, keys.server_id);
      if (!server_id.IsUndefined()) {
        size_t length = 0;
        if (!s.has_quic_lb) Fail(bpath + ".serverId", "applies only to a service with quicLb");
        if (!ParseHex(GetString(b, keys.server_id, bpath), bc.server_id.bytes, sizeof(bc.server_id.bytes), &length) ||
            length != s.quic_lb.server_id_length) {
          Fail(bpath + ".serverId", "must be quicLb.serverIdLength octets in hex");
        }
        bc.server_id.length = static_cast<uint8_t>(length);
        bc.has_server_id = true;
      }
      s.backends.push_back(bc);
    }
    services.push_back(std::move(s));
  }
  return services;
}

}  // namespace sluice
