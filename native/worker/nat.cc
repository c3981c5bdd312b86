#include "worker/nat.h"

#include <rte_ring.h>

#include <cstring>

#include "modes/nat/nat_forward.h"
#include "modes/nat/nat_verdicts.h"
#include "packet/egress_check.h"
#include "tables/flow_table6.h"
#include "worker/fragments.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// nat: what becomes of a client's packet once its session is decided.
inline void SendNatToBackend(WorkerContext& w, TxStage& stage, const ServiceView& service, struct rte_mbuf* m,
                             const NatVerdict& v) {
  if (v.action == NatAction::kDrop) return Drop(w, m, v.reason);
  if (v.new_session) CountNewFlow(w, service.id, v.backend_id);
  const BackendView& b = *v.backend;
  if (ExceedsMtu(m, b.egress_mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  StageToBackend(w, stage, b, v.backend_id, m);
}

// nat: what becomes of a backend's reply once its session, or its owner, is known.
inline void SendNatToClient(WorkerContext& w, TxStage& stage, struct rte_mbuf* m, uint16_t port_index,
                            const NatVerdict& v) {
  if (v.action == NatAction::kDrop) return Drop(w, m, v.reason);
  if (v.action == NatAction::kHandOff) {
    m->port = port_index;
    if (rte_ring_mp_enqueue(w.nat->inboxes[v.owner], m) != 0) return Drop(w, m, DropReason::kNatHandoffFull);
    w.counters->nat_handoff_sent++;
    return;
  }
  if (ExceedsMtu(m, w.ports[v.port_index].mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  w.counters->forwarded++;
  Stage(stage, v.port_index, m);
}

// ForwardNat, with `decided(verdict, frame)` called once the frame is
// rewritten and before it is sent (after which it is no longer ours to read).
template <typename Decided>
void ForwardNatThen(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                    uint16_t port_index, const PacketInfo& info, uint32_t now_ms, Decided&& decided) {
  w.service_counters[service.id].packets++;
  w.service_counters[service.id].bytes += m->pkt_len;
  if (w.nat == nullptr) {
    decided(nat_detail::DropVerdict(DropReason::kNatPoolExhausted), nullptr);
    return Drop(w, m, DropReason::kNatPoolExhausted);
  }
  uint32_t sig;
  if (info.ip_version == 6) {
    sig = FlowTable6::HashOf(NatClientKey6(info));  // as an IPv6 dsr or tunnel flow hashes
  } else {
    uint32_t src;
    std::memcpy(&src, info.src_addr, 4);
    sig = w.flows->HashOf(MakeFlowKey4(src, service.vip, info.src_port, info.dst_port, info.l4_proto)).sig;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  NatVerdict v = NatFromClient(*w.nat, snap, service, frame, info, port_index, sig, w.ports, now_ms, *w.counters);
  decided(v, frame);
  TxStage stage;
  SendNatToBackend(w, stage, service, m, v);
  SendStaged(w, stage);
}

}  // namespace

void ForwardNat(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                uint16_t port_index, const PacketInfo& info, uint32_t now_ms) {
  ForwardNatThen(w, snap, service, m, port_index, info, now_ms, [](const NatVerdict&, const uint8_t*) {});
}

void ForwardNatFirstFragment(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                             uint16_t port_index, const PacketInfo& info, uint32_t now_ms, FragmentRoute& route) {
  ForwardNatThen(w, snap, service, m, port_index, info, now_ms, [&](const NatVerdict& v, const uint8_t* frame) {
    if (v.action != NatAction::kToBackend) {
      route.drop_reason = static_cast<uint8_t>(static_cast<uint32_t>(v.reason) + 1);
      return;
    }
    route.backend_id = v.backend_id;
    // The session's addresses, as the rewrite left them: the later fragments
    // carry no ports, so the addresses are all they change.
    const uint8_t* ip = frame + info.l3_offset;
    if (info.ip_version == 6) {
      std::memcpy(route.nat_src, ip + 8, 16);
      std::memcpy(route.nat_dst, ip + 24, 16);
      return;
    }
    std::memcpy(route.nat_src, ip + 12, 4);
    std::memcpy(route.nat_dst, ip + 16, 4);
    uint32_t old_src, old_dst, new_src, new_dst;
    std::memcpy(&old_src, info.src_addr, 4);
    std::memcpy(&old_dst, info.dst_addr, 4);
    std::memcpy(&new_src, route.nat_src, 4);
    std::memcpy(&new_dst, route.nat_dst, 4);
    route.ip_delta = NatDeltasOf(WordsOf(old_src) + WordsOf(old_dst), WordsOf(new_src) + WordsOf(new_dst), 0, 0).ip;
  });
}

void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms) {
  NatVerdict v = NatFromBackend(*w.nat, rte_pktmbuf_mtod(m, uint8_t*), info, port_index, w.ports, now_ms);
  TxStage stage;
  SendNatToClient(w, stage, m, port_index, v);
  SendStaged(w, stage);
}

// The client lookups are staged as ForwardIpv4's
// are (modes/nat/nat_sessions.h): primary buckets were prefetched in Classify, the next
// two passes fetch what each lookup will read; the lookups themselves run one
// at a time, so two packets of one new flow in a burst share one session.
void ForwardNatBurst(WorkerContext& w, const Snapshot& snap, NatBurst& nat, uint16_t ingress_port,
                     uint32_t now_ms) {
  const NatSessions& sessions = *w.nat->sessions;
  uint32_t second[kRxBurst];
  uint32_t num_second = 0;
  for (uint32_t i = 0; i < nat.n; i++) {
    const PendingNat& p = nat.pending[i];
    if (p.service != nullptr && sessions.PrefetchAfterPrimary(p.hash)) second[num_second++] = i;
  }
  for (uint32_t j = 0; j < num_second; j++) sessions.PrefetchAfterSecondary(nat.pending[second[j]].hash);
  TxStage stage;
  for (uint32_t i = 0; i < nat.n; i++) {
    PendingNat& p = nat.pending[i];
    if (p.service == nullptr) {
      NatVerdict v{};
      if (p.owner != w.nat->worker_index) {
        v.action = NatAction::kHandOff;
        v.owner = p.owner;
      } else {
        v = NatFromBackend4(*w.nat, p.slot, rte_pktmbuf_mtod(p.mbuf, uint8_t*), p.headers, p.key, w.ports, now_ms);
      }
      SendNatToClient(w, stage, p.mbuf, ingress_port, v);
      continue;
    }
    NatVerdict v = NatFromClient4(*w.nat, snap, *p.service, rte_pktmbuf_mtod(p.mbuf, uint8_t*), p.headers, p.key,
                                  p.hash, ingress_port, *w.flows, w.ports, now_ms, *w.counters);
    SendNatToBackend(w, stage, *p.service, p.mbuf, v);
  }
  SendStaged(w, stage);
}

void NatHousekeeping(WorkerContext& w, uint32_t now_ms, uint32_t sweep_budget) {
  struct rte_mbuf* mbufs[kRxBurst];
  unsigned n = rte_ring_sc_dequeue_burst(w.nat->inboxes[w.nat->worker_index], reinterpret_cast<void**>(mbufs),
                                         kRxBurst, nullptr);
  w.counters->nat_handoff_received += n;
  for (unsigned i = 0; i < n; i++) {
    struct rte_mbuf* m = mbufs[i];
    PacketInfo info;
    // Parsed and checked on the lcore that received it; parsed again for the offsets.
    ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &info);
    ReturnNat(w, m, m->port, info, now_ms);
  }
  w.nat->sessions->Sweep(now_ms, sweep_budget, *w.counters);
  w.nat->sessions6->Sweep(now_ms, sweep_budget, *w.counters);
}

}  // namespace sluice
