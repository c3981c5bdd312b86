// Read-only views: stats, ports, neighbors, drop reason names. Counters are
// plain numbers (exact below 2^53, about 285 years at 1 Gpps).
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "addon/bindings.h"
#include "addon/js_errors.h"

namespace sluice {
namespace {

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

Napi::Object DropsObject(Napi::Env env, const uint64_t* drops) {
  Napi::Object out = Napi::Object::New(env);
  for (uint32_t r = 0; r < kDropReasonCount; r++) out.Set(DropReasonName(static_cast<DropReason>(r)), Num(env, drops[r]));
  return out;
}

Napi::Object LcoreObject(Napi::Env env, const LcoreStatsView& l) {
  const LcoreCounters& c = l.counters;
  Napi::Object o = Napi::Object::New(env);
  o.Set("lcore", Num(env, l.lcore));
  o.Set("rxPackets", Num(env, c.rx_packets));
  o.Set("rxBytes", Num(env, c.rx_bytes));
  uint64_t unsent = c.drops[static_cast<uint32_t>(DropReason::kTxFull)];
  o.Set("txPackets", Num(env, c.tx_queued - unsent));
  o.Set("txBytes", Num(env, c.tx_queued_bytes - c.tx_unsent_bytes));
  o.Set("forwarded", Num(env, c.forwarded));
  o.Set("localReplies", Num(env, c.local_replies));
  o.Set("arpLearned", Num(env, c.arp_learned));
  o.Set("learnQueueFull", Num(env, c.learn_queue_full));
  o.Set("icmpFragNeededSent", Num(env, c.icmp_frag_needed_sent));
  o.Set("icmpErrorsRouted", Num(env, c.icmp_errors_routed));
  o.Set("icmpPacketTooBigSent", Num(env, c.icmp_packet_too_big_sent));
  o.Set("drops", DropsObject(env, c.drops));
  Napi::Object flows = Napi::Object::New(env);
  flows.Set("active", Num(env, c.flow_active));
  flows.Set("capacity", Num(env, l.flow_capacity));
  flows.Set("memoryBytes", Num(env, l.flow_memory_bytes));
  flows.Set("hits", Num(env, c.flow_hits));
  flows.Set("misses", Num(env, c.flow_misses));
  flows.Set("inserts", Num(env, c.flow_inserts));
  flows.Set("insertFailures", Num(env, c.flow_insert_failures));
  flows.Set("evictions", Num(env, c.flow_evictions));
  flows.Set("expirations", Num(env, c.flow_expirations));
  flows.Set("repicks", Num(env, c.flow_repicks));
  flows.Set("admissionRefused", Num(env, c.flow_admission_refused));
  flows.Set("admissionProtected", Num(env, c.flow_admission_protected));
  o.Set("flows", flows);
  Napi::Object nat = Napi::Object::New(env);
  nat.Set("sessionsActive", Num(env, c.nat_sessions_active));
  nat.Set("sessionsCapacity", Num(env, l.nat_capacity));
  nat.Set("sessionsCreated", Num(env, c.nat_sessions_created));
  nat.Set("sessionsExpired", Num(env, c.nat_sessions_expired));
  nat.Set("handoffsSent", Num(env, c.nat_handoff_sent));
  nat.Set("handoffsReceived", Num(env, c.nat_handoff_received));
  o.Set("nat", nat);
  o.Set("iterations", Num(env, c.iterations));
  o.Set("busyCycles", Num(env, c.busy_cycles));
  o.Set("idleCycles", Num(env, c.idle_cycles));
  double tsc_hz = static_cast<double>(rte_get_tsc_hz());
  o.Set("receiveSeconds", Napi::Number::New(env, static_cast<double>(c.receive_cycles) / tsc_hz));
  o.Set("processSeconds", Napi::Number::New(env, static_cast<double>(c.process_cycles) / tsc_hz));
  uint64_t total = c.busy_cycles + c.idle_cycles;
  o.Set("busyRatio", Napi::Number::New(env, total ? static_cast<double>(c.busy_cycles) / static_cast<double>(total) : 0.0));
  return o;
}

Napi::Object PortStatsObject(Napi::Env env, const PortState& p) {
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
    i = 0;
    for (const PortState& p : dp.ports()) ports.Set(i++, PortStatsObject(env, p));
    out.Set("ports", ports);
    Napi::Array services = Napi::Array::New(env);
    i = 0;
    for (const ServiceStatsView& s : dp.ServiceStats()) {
      Napi::Object so = Napi::Object::New(env);
      so.Set("id", Num(env, s.config->id));
      so.Set("name", s.config->name);
      so.Set("packets", Num(env, s.counters.packets));
      so.Set("bytes", Num(env, s.counters.bytes));
      so.Set("newFlows", Num(env, s.counters.new_flows));
      so.Set("activeFlows", Num(env, static_cast<uint64_t>(s.counters.active_flows)));
      Napi::Array backends = Napi::Array::New(env);
      uint32_t j = 0;
      for (const BackendStatsView& b : s.backends) {
        Napi::Object bo = Napi::Object::New(env);
        bo.Set("id", Num(env, b.config->id));
        bo.Set("address", FormatIp(b.config->address));
        bo.Set("port", Num(env, b.config->port));
        bo.Set("packets", Num(env, b.counters.packets));
        bo.Set("bytes", Num(env, b.counters.bytes));
        bo.Set("newFlows", Num(env, b.counters.new_flows));
        backends.Set(j++, bo);
      }
      so.Set("backends", backends);
      services.Set(i++, so);
    }
    out.Set("services", services);
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

Napi::Value DropReasonsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t r = 0; r < kDropReasonCount; r++) out.Set(r, DropReasonName(static_cast<DropReason>(r)));
  return out;
}

}  // namespace sluice
