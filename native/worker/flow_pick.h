// A service packet's backend through its family's flow table: what
// forward_ipv4.cc and forward_ipv6.cc do alike, for FlowTable and FlowTable6
// and their pending packets (worker/burst.h).
#pragma once

#include <cstdint>

#include "packet/tcp_flags.h"
#include "worker/context.h"
#include "worker/forward.h"

namespace sluice {

// The lcore's table of the family.
template <typename Table>
Table& FlowsOf(WorkerContext& w);
template <>
inline FlowTable& FlowsOf<FlowTable>(WorkerContext& w) { return *w.flows; }
template <>
inline FlowTable6& FlowsOf<FlowTable6>(WorkerContext& w) { return *w.flows6; }

// Internal linkage, as when they were forward_ipv4.cc's own: GCC then inlines
// them and allocates registers as for functions called once, and the IPv4 path
// keeps its instruction count (with external linkage, 2 more a packet).
namespace {

// Stores a new flow in the table if admission allows; forwarding does not depend
// on it (see tables/admission.h).
template <typename Table, typename Pending>
inline void Remember(WorkerContext& w, const Pending& p, uint32_t backend_id, bool closing, uint32_t now_ms) {
  LcoreCounters& c = *w.counters;
  Table& flows = FlowsOf<Table>(w);
  FlowSlot slot = flows.Choose(p.hash, now_ms, c.flow_active);
  if (!w.admission.TryAdmit()) {
    c.flow_admission_refused++;
    if (slot.displaces == FlowSlot::kLive || slot.displaces == FlowSlot::kElsewhere) c.flow_admission_protected++;
    return;
  }
  if (slot.position < 0) {
    c.flow_insert_failures++;
    return;
  }
  flows.Occupy(slot, p.key, backend_id, static_cast<uint16_t>(p.service->id), closing, now_ms, c,
               w.service_counters, w.backend_counters);
}

// The flow's remembered backend while it is live and still usable, else a fresh
// lookup-table pick, remembered. id kNoBackend when the service has none.
template <typename Table, typename Pending>
__rte_always_inline BackendPick BackendOfFlow(WorkerContext& w, const Snapshot& snap, const Pending& p,
                                              uint32_t now_ms) {
  Table& flows = FlowsOf<Table>(w);
  LcoreCounters& c = *w.counters;
  const ServiceView& service = *p.service;
  bool closing_now = p.tcp_flags & (kTcpFin | kTcpRst);
  // Looked up one at a time, after the previous packet's insert: two packets
  // of one new flow in the same burst then share one entry.
  int32_t pos = flows.Lookup(p.key, p.hash, p.probe);
  if (pos < 0) {
    c.flow_misses++;
    uint32_t backend_id = service.LookupPick(p.hash.sig);
    if (backend_id == kNoBackend) return {backend_id, nullptr};
    Remember<Table>(w, p, backend_id, closing_now, now_ms);
    CountNewFlow(w, service.id, backend_id);
    return Picked(snap, backend_id);
  }
  uint32_t remembered = flows.BackendId(pos);
  const BackendView* b = snap.Backend(remembered);
  bool expired = flows.IsExpired(pos, now_ms);
  bool reopened = flows.IsClosing(pos) && (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
  // Backend ids are global and a backend keeps the flows of one service at
  // most, so this alone says whether the flow goes on, and a hit does not read
  // the service the flow counts for (beside the buckets, tables/flow_table.h).
  // That one differs from the packet's only when, since the flow began, its
  // VIP and port passed to a service of another id and the backend's id to
  // that service too; the flow then goes on counting for the service it began
  // with, which its removal or reassignment takes it from (the rare path
  // below moves it), so the per-service counts still sum to the table's.
  bool usable = KeepsFlowsOf(b, service.id);
  if (!expired && !reopened && usable) {
    c.flow_hits++;
    flows.Touch(pos, now_ms, closing_now);
    return {remembered, b};
  }
  c.flow_misses++;
  if (expired || reopened) c.flow_expirations++; else c.flow_repicks++;
  uint32_t backend_id = service.LookupPick(p.hash.sig);
  if (backend_id == kNoBackend) return {backend_id, nullptr};
  uint16_t service_id = flows.ServiceId(pos);
  if (service_id != service.id) {
    w.service_counters[service_id].active_flows--;
    w.service_counters[service.id].active_flows++;
  }
  w.backend_counters[remembered].active_flows--;
  w.backend_counters[backend_id].active_flows++;
  flows.Reassign(pos, backend_id, static_cast<uint16_t>(service.id), closing_now, now_ms);
  CountNewFlow(w, service.id, backend_id);
  return Picked(snap, backend_id);
}

// Where the quoted flow's packets go now, without touching its entry: an error
// must not keep a flow alive, and a flow it names may not exist on this lcore.
template <typename Table, typename Pending>
inline BackendPick BackendOfQuotedFlow(WorkerContext& w, const Snapshot& snap, const Pending& p) {
  const Table& flows = FlowsOf<Table>(w);
  const ServiceView& service = *p.service;
  int32_t pos = flows.Lookup(p.key, p.hash, p.probe);
  if (pos >= 0) {
    uint32_t remembered = flows.BackendId(pos);
    const BackendView* b = snap.Backend(remembered);
    if (KeepsFlowsOf(b, service.id)) return {remembered, b};  // as in BackendOfFlow
  }
  return Picked(snap, service.LookupPick(p.hash.sig));
}

}  // namespace
}  // namespace sluice
