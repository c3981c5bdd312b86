#include "worker/nat.h"

#include <rte_ring.h>

#include <cstring>

#include "modes/nat/nat_forward.h"
#include "modes/nat/nat_verdicts.h"
#include "packet/egress_check.h"
#include "tables/flow_table6.h"
#include "worker/fragments.h"
#include "worker/quic_lb_routing.h"
#include "worker/tx_stage.h"

namespace sluice {
namespace {

// A nat first fragment's addresses before (`info`) and after (`frame`, as the
// rewrite left it), which are all the later fragments change: they carry no
// ports.
void RecordNatAddresses(FragmentRoute& route, const PacketInfo& info, const uint8_t* frame) {
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
}

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
  if (v.action == NatAction::kHandOff) return HandOffNat(w, m, port_index, v.owner);
  if (ExceedsMtu(m, w.ports[v.port_index].mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  w.counters->forwarded++;
  Stage(stage, v.port_index, m);
}

// QUIC-LB with nat: the backend a datagram's connection ID names, as for dsr
// and tunnel. Out of line and cold: only a new session of a QUIC-LB service asks.
[[gnu::noinline, gnu::cold]] uint32_t NamedBackend(WorkerContext& w, const Snapshot& snap,
                                                   const ServiceView& service, const struct rte_mbuf* m,
                                                   uint16_t l4_offset) {
  return BackendOfConnectionId(w, snap, service, m, l4_offset);
}

// The backend a new session starts with: with QUIC-LB the one the datagram's
// connection ID names, so a client that moves (a new address or port, so a
// new session) keeps its server; else the lookup table's for the flow's hash.
inline uint32_t NewSessionBackend(WorkerContext& w, const Snapshot& snap, const ServiceView& service,
                                  const struct rte_mbuf* m, uint16_t l4_offset, uint32_t sig) {
  if (__builtin_expect(service.quic_lb != nullptr, 0)) {
    uint32_t named = NamedBackend(w, snap, service, m, l4_offset);
    if (named != kNoBackend) return named;
  }
  return service.LookupPick(sig);
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
    sig = FlowTable6::SigOf(NatClientKey6(info));  // as an IPv6 dsr or tunnel flow hashes
  } else {
    uint32_t src;
    std::memcpy(&src, info.src_addr, 4);
    sig = w.flows->HashOf(MakeFlowKey4(src, service.vip, info.src_port, info.dst_port, info.l4_proto)).sig;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  NatVerdict v = NatFromClient(
      *w.nat, snap, service, frame, info, port_index,
      [&] { return NewSessionBackend(w, snap, service, m, info.l4_offset, sig); }, w.ports, now_ms, *w.counters);
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
    RecordNatAddresses(route, info, frame);
  });
}

void ReturnNat(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, uint32_t now_ms) {
  NatVerdict v = NatFromBackend(*w.nat, rte_pktmbuf_mtod(m, uint8_t*), info, port_index, w.ports, now_ms);
  TxStage stage;
  SendNatToClient(w, stage, m, port_index, v);
  SendStaged(w, stage);
}

void ReturnNatFirstFragment(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info,
                            uint32_t now_ms, FragmentRoute& route) {
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  NatVerdict v = NatFromBackend(*w.nat, frame, info, port_index, w.ports, now_ms);
  if (v.action == NatAction::kHandOff) {
    route.reply = FragmentReply::kHandOff;
    route.backend_id = v.owner;
  } else if (v.action == NatAction::kToClient) {
    route.reply = FragmentReply::kTranslate;
    route.egress_port = v.port_index;
    std::memcpy(route.macs, frame, sizeof(route.macs));
    RecordNatAddresses(route, info, frame);
  } else {
    route.drop_reason = static_cast<uint8_t>(static_cast<uint32_t>(v.reason) + 1);
  }
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
    NatVerdict v = NatFromClient4(
        *w.nat, snap, *p.service, rte_pktmbuf_mtod(p.mbuf, uint8_t*), p.headers, p.key, p.hash, ingress_port,
        [&] { return NewSessionBackend(w, snap, *p.service, p.mbuf, p.headers.l4_offset, w.flows->HashOf(p.key).sig); },
        w.ports, now_ms, *w.counters);
    SendNatToBackend(w, stage, *p.service, p.mbuf, v);
  }
  SendStaged(w, stage);
}

void NatHousekeeping(WorkerContext& w, const Snapshot& snap, uint32_t now_ms, uint32_t sweep_budget) {
  struct rte_mbuf* mbufs[kRxBurst];
  unsigned n = rte_ring_sc_dequeue_burst(w.nat->inboxes[w.nat->worker_index], reinterpret_cast<void**>(mbufs),
                                         kRxBurst, nullptr);
  w.counters->nat_handoff_received += n;
  for (unsigned i = 0; i < n; i++) {
    struct rte_mbuf* m = mbufs[i];
    PacketInfo info;
    // Parsed and checked on the lcore that received it; parsed again for the offsets.
    ParseStatus status =
        ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &info);
    // A fragmented reply's fragments all come here behind their first, which
    // this lcore translates and remembers in its own fragment table.
    if (status == ParseStatus::kIpFragment) {
      ClassifyFragment(w, snap, m, m->port, info, now_ms);
      continue;
    }
    ReturnNat(w, m, m->port, info, now_ms);
  }
  w.nat->sessions->Sweep(now_ms, sweep_budget, *w.counters);
  w.nat->sessions6->Sweep(now_ms, sweep_budget, *w.counters);
}

}  // namespace sluice
