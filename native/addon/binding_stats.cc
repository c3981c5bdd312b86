// Read-only views: stats, ports, neighbors, drop reason names, the counter catalogue.
// Counters cross as doubles, exact below 2^53.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <stdexcept>
#include <string>

#include "addon/bindings.h"
#include "addon/config_from_js.h"
#include "addon/js_errors.h"

namespace sluice {
namespace {

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

Napi::Object DropsObject(Napi::Env env, const uint64_t* drops) {
  Napi::Object out = Napi::Object::New(env);
  for (uint32_t r = 0; r < kDropReasonCount; r++) out.Set(DropReasonName(static_cast<DropReason>(r)), Num(env, drops[r]));
  return out;
}

// The values SLUICE_LCORE_DERIVED lists, one function each, named as it names them.
namespace derived {
double txPackets(const LcoreStatsView& l) {
  return static_cast<double>(l.counters.tx_queued - l.counters.drops[static_cast<uint32_t>(DropReason::kTxFull)]);
}
double txBytes(const LcoreStatsView& l) {
  return static_cast<double>(l.counters.tx_queued_bytes - l.counters.tx_unsent_bytes);
}
double capacity(const LcoreStatsView& l) { return l.flow_capacity; }
double memoryBytes(const LcoreStatsView& l) { return static_cast<double>(l.flow_memory_bytes); }
double sessionsCapacity(const LcoreStatsView& l) { return l.nat_capacity; }
double receiveSeconds(const LcoreStatsView& l) {
  return static_cast<double>(l.counters.receive_cycles) / static_cast<double>(rte_get_tsc_hz());
}
double processSeconds(const LcoreStatsView& l) {
  return static_cast<double>(l.counters.process_cycles) / static_cast<double>(rte_get_tsc_hz());
}
double busyRatio(const LcoreStatsView& l) {
  uint64_t total = l.counters.busy_cycles + l.counters.idle_cycles;
  return total ? static_cast<double>(l.counters.busy_cycles) / static_cast<double>(total) : 0.0;
}
}  // namespace derived

// One counter into a JS object, by its kind (common/lcore_counters.h).
#define SLUICE_SET_counter(obj, name, v) obj.Set(name, Num(env, v));
#define SLUICE_SET_gauge(obj, name, v) obj.Set(name, Num(env, v));
#define SLUICE_SET_gauge_i64(obj, name, v) obj.Set(name, Num(env, static_cast<uint64_t>(v)));
#define SLUICE_SET_internal(obj, name, v)
#define SLUICE_SET_drops(obj, name, v) obj.Set(name, DropsObject(env, v));

Napi::Object LcoreObject(Napi::Env env, const LcoreStatsView& l) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object flows = Napi::Object::New(env);
  Napi::Object nat = Napi::Object::New(env);
  // The lists' groups, as the objects their values go into.
  Napi::Object& top = o;
  Napi::Object& icmp = o;
  Napi::Object& loop = o;
  o.Set("lcore", Num(env, l.lcore));
#define SLUICE_LCORE_SET(field, name, kind, group, metric, api, help) SLUICE_SET_##kind(group, #name, l.counters.field)
  SLUICE_LCORE_COUNTERS(SLUICE_LCORE_SET)
#undef SLUICE_LCORE_SET
#define SLUICE_DERIVED_SET(name, kind, group, metric, api, help) group.Set(#name, Napi::Number::New(env, derived::name(l)));
  SLUICE_LCORE_DERIVED(SLUICE_DERIVED_SET)
#undef SLUICE_DERIVED_SET
  o.Set("flows", flows);
  o.Set("nat", nat);
  return o;
}

// A service's and a backend's counters as properties of `o`: the catalogue's
// examples, the shapes src/native/service-stats.ts gives the packed numbers.
void SetServiceCounters(Napi::Env env, Napi::Object& o, const ServiceCounters& c) {
#define SLUICE_COUNTER_SET(field, name, kind, metric, help) SLUICE_SET_##kind(o, #name, c.field)
  SLUICE_SERVICE_COUNTERS(SLUICE_COUNTER_SET)
}

void SetBackendCounters(Napi::Env env, Napi::Object& o, const BackendCounters& c) {
  SLUICE_BACKEND_COUNTERS(SLUICE_COUNTER_SET)
#undef SLUICE_COUNTER_SET
}

Napi::Object PortStatsObject(Napi::Env env, const PortState& p, const KernelInterfaceStats& k) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", p.name);
  struct rte_eth_stats s = {};
  rte_eth_stats_get(p.port_id, &s);
  o.Set("rxPackets", Num(env, s.ipackets));
  o.Set("txPackets", Num(env, s.opackets));
  o.Set("rxBytes", Num(env, s.ibytes));
  o.Set("txBytes", Num(env, s.obytes));
  o.Set("rxMissed", Num(env, s.imissed));
  o.Set("rxErrors", Num(env, s.ierrors));
  o.Set("txErrors", Num(env, s.oerrors));
  o.Set("rxNoMbuf", Num(env, s.rx_nombuf));
  Napi::Object xstats = Napi::Object::New(env);
  int n = rte_eth_xstats_get_names(p.port_id, nullptr, 0);
  if (n > 0) {
    std::vector<struct rte_eth_xstat_name> names(n);
    std::vector<struct rte_eth_xstat> values(n);
    int got_names = rte_eth_xstats_get_names(p.port_id, names.data(), n);
    int got = rte_eth_xstats_get(p.port_id, values.data(), n);
    for (int i = 0; i < got && i < got_names; i++) {
      if (values[i].id < static_cast<uint64_t>(got_names)) xstats.Set(names[values[i].id].name, Num(env, values[i].value));
    }
  }
  o.Set("xstats", xstats);
  if (!k.name.empty()) {
    Napi::Object ko = Napi::Object::New(env);
    ko.Set("name", k.name);
    ko.Set("toKernel", Num(env, k.to_kernel));
    ko.Set("toKernelDropped", Num(env, k.to_kernel_dropped));
    ko.Set("fromKernel", Num(env, k.from_kernel));
    ko.Set("fromKernelDropped", Num(env, k.from_kernel_dropped));
    o.Set("kernelInterface", ko);
  }
  return o;
}

// inUse is what rte_mempool_in_use_count reports: objects neither in the pool's
// ring nor in a per-lcore cache, i.e. held by queues, rings and packets in flight.
// cached is what sits in the per-lcore caches, free but only to its own lcore.
// Both are read while workers run, so either may be a burst stale.
Napi::Array MempoolsArray(Napi::Env env, const std::map<int, struct rte_mempool*>& pools) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& [socket, pool] : pools) {
    uint64_t cached = 0;
    for (unsigned lcore = 0; lcore < RTE_MAX_LCORE; lcore++) {
      const struct rte_mempool_cache* cache = rte_mempool_default_cache(pool, lcore);
      if (cache != nullptr) cached += cache->len;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", pool->name);
    o.Set("socket", Num(env, static_cast<uint64_t>(socket)));
    o.Set("size", Num(env, pool->size));
    o.Set("inUse", Num(env, rte_mempool_in_use_count(pool)));
    o.Set("cached", Num(env, cached));
    out.Set(i++, o);
  }
  return out;
}

}  // namespace

namespace {

// The services' and backends' numbers as a few arrays per call, each kind of
// number in one typed array, rather than an object per service and backend:
// N-API pays per value that crosses it, and a service of thousands of backends
// crossed as objects took milliseconds of the event loop. The backends'
// addresses cross as one text, comma-separated: a JS string apiece cost as much
// again as everything else, and FormatIp writes no comma. The TypeScript side
// (src/native/service-stats.ts) makes the objects from these.
#define SLUICE_COUNT_ONE(field, name, kind, metric, help) +1
constexpr size_t kServiceCounters = 0 SLUICE_SERVICE_COUNTERS(SLUICE_COUNT_ONE);
constexpr size_t kBackendCounters = 0 SLUICE_BACKEND_COUNTERS(SLUICE_COUNT_ONE);
#undef SLUICE_COUNT_ONE

// What Num() makes of a counter, gauge_i64 ones through uint64_t as the
// catalogue's examples make them, so both report the same numbers.
double AsNumber(uint64_t v) { return static_cast<double>(v); }
double AsNumber(int64_t v) { return static_cast<double>(static_cast<uint64_t>(v)); }

double* PutCounters(double* out, const ServiceCounters& c) {
#define SLUICE_COUNTER_NUMBER(field, name, kind, metric, help) *out++ = AsNumber(c.field);
  SLUICE_SERVICE_COUNTERS(SLUICE_COUNTER_NUMBER)
  return out;
}

double* PutCounters(double* out, const BackendCounters& c) {
  SLUICE_BACKEND_COUNTERS(SLUICE_COUNTER_NUMBER)
#undef SLUICE_COUNTER_NUMBER
  return out;
}

Napi::Object PackServices(Napi::Env env, const std::vector<ServiceStatsView>& services) {
  size_t backends = 0;
  for (const ServiceStatsView& s : services) backends += s.backends.size();
  Napi::Uint32Array ids = Napi::Uint32Array::New(env, services.size());
  Napi::Array names = Napi::Array::New(env, services.size());
  Napi::Float64Array counters = Napi::Float64Array::New(env, services.size() * kServiceCounters);
  Napi::Uint32Array backend_counts = Napi::Uint32Array::New(env, services.size());
  Napi::Uint32Array backend_ids = Napi::Uint32Array::New(env, backends);
  std::string addresses;
  Napi::Uint16Array ports = Napi::Uint16Array::New(env, backends);
  Napi::Float64Array backend_counters = Napi::Float64Array::New(env, backends * kBackendCounters);
  double* service_out = counters.Data();
  double* backend_out = backend_counters.Data();
  uint32_t b = 0;
  for (uint32_t i = 0; i < services.size(); i++) {
    const ServiceStatsView& s = services[i];
    ids[i] = s.config->id;
    names.Set(i, Napi::String::New(env, s.config->name));
    service_out = PutCounters(service_out, s.counters);
    backend_counts[i] = static_cast<uint32_t>(s.backends.size());
    for (const BackendStatsView& v : s.backends) {
      backend_ids[b] = v.config->id;
      if (b > 0) addresses += ',';
      addresses += FormatIp(v.config->address);
      ports[b] = v.config->port;
      backend_out = PutCounters(backend_out, v.counters);
      b++;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ids", ids);
  out.Set("names", names);
  out.Set("counters", counters);
  out.Set("backendCounts", backend_counts);
  out.Set("backendIds", backend_ids);
  out.Set("addresses", Napi::String::New(env, addresses));
  out.Set("ports", ports);
  out.Set("backendCounters", backend_counters);
  return out;
}

}  // namespace

Napi::Value ServiceStatsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw std::invalid_argument("serviceStats(name): name must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    Dataplane::BackendRef backend{};
    const bool one = info.Length() >= 3 && !info[1].IsUndefined();
    if (one) {
      const double port = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
      if (!info[1].IsString() || !ParseIp(info[1].As<Napi::String>().Utf8Value(), &backend.address) ||
          !(port >= 1 && port <= 65535) || port != static_cast<uint16_t>(port)) {
        throw std::invalid_argument("serviceStats(name, address, port): address must be an IP address, port 1 to 65535");
      }
      backend.port = static_cast<uint16_t>(port);
    }
    const std::vector<ServiceStatsView> found = Dataplane::Instance().ServiceStats(&name, one ? &backend : nullptr);
    if (found.empty()) return env.Undefined();
    return PackServices(env, found);
  });
}

Napi::Value LcoresBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Napi::Array lcores = Napi::Array::New(env);
    uint32_t i = 0;
    for (const LcoreStatsView& l : Dataplane::Instance().LcoreStats()) lcores.Set(i++, LcoreObject(env, l));
    return lcores;
  });
}

Napi::Value StatsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane& dp = Dataplane::Instance();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array lcores = Napi::Array::New(env);
    uint32_t i = 0;
    for (const LcoreStatsView& l : dp.LcoreStats()) lcores.Set(i++, LcoreObject(env, l));
    out.Set("lcores", lcores);
    Napi::Array ports = Napi::Array::New(env);
    std::vector<KernelInterfaceStats> kernel = dp.KernelInterfaceStatsByPort();
    for (i = 0; i < dp.ports().size(); i++) ports.Set(i, PortStatsObject(env, dp.ports()[i], kernel[i]));
    out.Set("ports", ports);
    out.Set("services", PackServices(env, dp.ServiceStats()));
    out.Set("mempools", MempoolsArray(env, dp.mempools()));
    out.Set("generation", Num(env, dp.generation()));
    out.Set("retiredSnapshots", Num(env, dp.retired_snapshots()));
    return out;
  });
}

Napi::Value PortsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane& dp = Dataplane::Instance();
    if (!dp.running()) throw CodedError(codes::kNotRunning, "the data plane is not running");
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const PortState& p : dp.ports()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", p.name);
      o.Set("portId", Num(env, p.port_id));
      o.Set("driver", p.driver);
      o.Set("socket", Num(env, static_cast<uint64_t>(p.socket)));
      o.Set("mac", FormatMac(p.mac));
      o.Set("rxQueues", Num(env, p.rx_queues));
      o.Set("txQueues", Num(env, p.tx_queues));
      o.Set("mtu", Num(env, p.mtu));
      struct rte_eth_link link = {};
      rte_eth_link_get_nowait(p.port_id, &link);
      Napi::Object lo = Napi::Object::New(env);
      lo.Set("up", Napi::Boolean::New(env, link.link_status == RTE_ETH_LINK_UP));
      lo.Set("speedMbps", Num(env, link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed));
      lo.Set("fullDuplex", Napi::Boolean::New(env, link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX));
      o.Set("link", lo);
      Napi::Object rss = Napi::Object::New(env);
      rss.Set("requested", RssNames(p.rss_requested));
      rss.Set("offered", RssNames(p.rss_offered));
      rss.Set("missing", RssNames(p.rss_requested & ~p.rss_offered));
      o.Set("rss", rss);
      o.Set("rxIpChecksumOffload", Napi::Boolean::New(env, p.rx_ip_checksum_offload));
      // How nat replies reach the lcore that owns their pool port (control/nat_steering.h).
      if (dp.config().ports[i].has_nat_pool) {
        const NatSteering& steering = dp.nat_steering()[i];
        o.Set("natSteering", steering.rte_flow ? "rte_flow" : "software");
        if (!steering.rte_flow) o.Set("natSteeringReason", steering.reason);
      }
      Napi::Array warnings = Napi::Array::New(env);
      for (uint32_t w = 0; w < p.warnings.size(); w++) warnings.Set(w, p.warnings[w]);
      o.Set("warnings", warnings);
      out.Set(i++, o);
    }
    return out;
  });
}

Napi::Value NeighborsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane& dp = Dataplane::Instance();
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const NeighborInfo& n : dp.Neighbors()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("address", FormatIp(n.address));
      o.Set("port", dp.ports()[n.port_index].name);
      o.Set("resolved", Napi::Boolean::New(env, n.resolved));
      o.Set("wanted", Napi::Boolean::New(env, n.wanted));
      if (n.resolved) o.Set("mac", FormatMac(n.mac));
      o.Set("ageSec", Napi::Number::New(env, n.age_sec));
      o.Set("requestsSent", Num(env, n.requests_sent));
      out.Set(i++, o);
    }
    return out;
  });
}

namespace {

Napi::Object CatalogueEntry(Napi::Env env, const char* field, const char* name, const char* kind, const char* group,
                            const char* metric, const char* api, const char* help) {
  Napi::Object e = Napi::Object::New(env);
  if (field != nullptr) e.Set("field", field);
  e.Set("name", name);
  e.Set("kind", kind);
  if (group != nullptr) e.Set("group", group);
  e.Set("metric", metric);
  if (api != nullptr) e.Set("api", api);
  e.Set("help", help);
  return e;
}

}  // namespace

// The lists of common/lcore_counters.h, every column as written there (field
// and name as text, the other tokens too); undeclared columns are left out. The
// TypeScript side has the same lists from the header (src/native/counters.ts
// checks they agree with this when it loads the addon). With them, examples of
// the objects stats() builds from them.
Napi::Object CounterCatalogue(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array lcore = Napi::Array::New(env);
  Napi::Array derived = Napi::Array::New(env);
  Napi::Array service = Napi::Array::New(env);
  Napi::Array backend = Napi::Array::New(env);
#define SLUICE_LCORE_ENTRY(field, name, kind, group, metric, api, help) \
  lcore.Set(lcore.Length(), CatalogueEntry(env, #field, #name, #kind, #group, metric, #api, help));
  SLUICE_LCORE_COUNTERS(SLUICE_LCORE_ENTRY)
#undef SLUICE_LCORE_ENTRY
#define SLUICE_DERIVED_ENTRY(name, kind, group, metric, api, help) \
  derived.Set(derived.Length(), CatalogueEntry(env, nullptr, #name, #kind, #group, metric, #api, help));
  SLUICE_LCORE_DERIVED(SLUICE_DERIVED_ENTRY)
#undef SLUICE_DERIVED_ENTRY
#define SLUICE_SERVICE_ENTRY(field, name, kind, metric, help) \
  service.Set(service.Length(), CatalogueEntry(env, #field, #name, #kind, nullptr, metric, nullptr, help));
  SLUICE_SERVICE_COUNTERS(SLUICE_SERVICE_ENTRY)
#undef SLUICE_SERVICE_ENTRY
#define SLUICE_BACKEND_ENTRY(field, name, kind, metric, help) \
  backend.Set(backend.Length(), CatalogueEntry(env, #field, #name, #kind, nullptr, metric, nullptr, help));
  SLUICE_BACKEND_COUNTERS(SLUICE_BACKEND_ENTRY)
#undef SLUICE_BACKEND_ENTRY
  out.Set("lcore", lcore);
  out.Set("lcoreDerived", derived);
  out.Set("service", service);
  out.Set("backend", backend);
  // What stats() makes of one lcore's, service's and backend's counters, all 0:
  // their shapes without a running data plane (test/unit/counters-catalogue.test.ts).
  Napi::Object examples = Napi::Object::New(env);
  examples.Set("lcore", LcoreObject(env, LcoreStatsView{}));
  Napi::Object so = Napi::Object::New(env);
  SetServiceCounters(env, so, ServiceCounters{});
  examples.Set("service", so);
  Napi::Object bo = Napi::Object::New(env);
  SetBackendCounters(env, bo, BackendCounters{});
  examples.Set("backend", bo);
  out.Set("examples", examples);
  return out;
}

Napi::Value DropReasonsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t r = 0; r < kDropReasonCount; r++) out.Set(r, DropReasonName(static_cast<DropReason>(r)));
  return out;
}

}  // namespace sluice
