#include "worker/flow_listing.h"

#include <netinet/in.h>

#include <cstring>

#include "modes/nat/nat_forward.h"
#include "modes/nat/nat_sessions.h"

namespace sluice {
namespace {

bool Wants(const FlowFilter& f, uint8_t family, const uint8_t* client, uint32_t service_id, uint32_t backend_id) {
  if (f.service_id >= 0 && static_cast<uint32_t>(f.service_id) != service_id) return false;
  if (f.backend_id >= 0 && static_cast<uint32_t>(f.backend_id) != backend_id) return false;
  if (f.client_family == 0) return true;
  return f.client_family == family && std::memcmp(f.client, client, family == 4 ? 4 : 16) == 0;
}

// Appends the entry unless the limit is reached, when the listing is known to
// be truncated and ends.
FlowEntry* Room(FlowQuery& q) {
  if (q.count < q.limit) return &q.entries[q.count++];
  q.truncated = true;
  return nullptr;
}

void CopyAddr(uint8_t* to, uint32_t addr) { std::memcpy(to, &addr, 4); }
void CopyAddr(uint8_t* to, const NatAddr6& addr) { std::memcpy(to, addr.bytes, 16); }
void CopyAddr(uint8_t* to, const uint8_t (&addr)[16]) { std::memcpy(to, addr, 16); }

FlowEntryState StateOf(NatState s) {
  switch (s) {
    case NatState::kOpening: return FlowEntryState::kOpening;
    case NatState::kClosing: return FlowEntryState::kClosing;
    default: return FlowEntryState::kOpen;
  }
}

template <typename F>
uint32_t ScanNat(FlowQuery& q, const NatSessionTable<F>* sessions, uint32_t end, uint32_t now_ms) {
  if (sessions == nullptr) return UINT32_MAX;
  uint32_t next = sessions->VisitSessions(q.cursor, end, now_ms, [&](const NatSessionOf<F>& s) {
    uint8_t client[16] = {};
    CopyAddr(client, s.client_addr);
    if (q.truncated || !Wants(q.filter, F::kFamily, client, s.service_id, s.backend_id)) return;
    FlowEntry* e = Room(q);
    if (e == nullptr) return;
    *e = FlowEntry{};
    e->family = F::kFamily;
    e->proto = s.proto;
    e->state = StateOf(s.state);
    e->nat = 1;
    e->service_id = s.service_id;
    e->client_port = ntohs(s.client_port);
    e->vip_port = ntohs(s.vip_port);
    e->pool_port = ntohs(s.pool_port);
    e->backend_id = s.backend_id;
    e->idle_ms = now_ms - s.last_seen_ms;
    e->age_ms = now_ms - s.opened_ms;
    std::memcpy(e->client, client, 16);
    CopyAddr(e->vip, s.vip);
    CopyAddr(e->pool, s.pool_addr);
  });
  return next >= sessions->capacity() ? UINT32_MAX : next;
}

// Either family's flow table: the flows of the next buckets holding about
// `budget` slots.
template <typename Table>
uint32_t ScanFlows(FlowQuery& q, const Table* flows, uint8_t family, uint32_t now_ms, uint32_t budget) {
  if (flows == nullptr) return UINT32_MAX;
  uint32_t end = q.cursor + (budget + Table::kWays - 1) / Table::kWays;
  uint32_t next = flows->VisitBuckets(q.cursor, end, now_ms, [&](const typename Table::Listed& f) {
    uint8_t client[16] = {};
    CopyAddr(client, f.key.src_addr);
    if (q.truncated || !Wants(q.filter, family, client, f.service_id, f.backend_id)) return;
    FlowEntry* e = Room(q);
    if (e == nullptr) return;
    *e = FlowEntry{};
    e->family = family;
    e->proto = f.key.proto;
    e->state = (f.flags & kFlowClosing) ? FlowEntryState::kClosing : FlowEntryState::kOpen;
    e->service_id = f.service_id;
    e->client_port = ntohs(f.key.src_port);
    e->vip_port = ntohs(f.key.dst_port);
    e->backend_id = f.backend_id;
    e->idle_ms = f.idle_ms;
    e->age_ms = f.age_ms;
    std::memcpy(e->client, client, 16);
    CopyAddr(e->vip, f.key.dst_addr);
  });
  return next >= flows->buckets() ? UINT32_MAX : next;
}

// One step of the current stage over [q.cursor, q.cursor + budget): the next
// cursor, or UINT32_MAX when the stage is done.
uint32_t Step(FlowQuery& q, const ListedTables& t, uint32_t now_ms, uint32_t budget) {
  switch (q.stage) {
    case FlowQueryStage::kFlows:
      return ScanFlows(q, t.flows, 4, now_ms, budget);
    case FlowQueryStage::kFlows6:
      return ScanFlows(q, t.flows6, 6, now_ms, budget);
    case FlowQueryStage::kNat:
      return ScanNat(q, t.nat == nullptr ? nullptr : t.nat->sessions, q.cursor + budget, now_ms);
    case FlowQueryStage::kNat6:
      return ScanNat(q, t.nat == nullptr ? nullptr : t.nat->sessions6, q.cursor + budget, now_ms);
    case FlowQueryStage::kDone:
      break;
  }
  return UINT32_MAX;
}

}  // namespace

void ContinueFlowQuery(FlowQuery& q, const ListedTables& tables, uint32_t now_ms, uint32_t budget) {
  uint32_t next = Step(q, tables, now_ms, budget);
  if (next == UINT32_MAX) {
    q.stage = static_cast<FlowQueryStage>(static_cast<uint32_t>(q.stage) + 1);
    q.cursor = 0;
  } else {
    q.cursor = next;
  }
  if (q.truncated || q.stage == FlowQueryStage::kDone) {
    q.stage = FlowQueryStage::kDone;
    q.state.store(FlowQuery::kAnswered, std::memory_order_release);
  }
}

}  // namespace sluice
