#include "worker/fragments.h"

#include <cstring>

#include "modes/nat/nat_translate.h"
#include "packet/egress_check.h"
#include "packet/fragment_parse.h"
#include "worker/addresses.h"
#include "worker/nat.h"

namespace sluice {
namespace {

inline FragmentKey KeyOf(const PacketInfo& info, const FragmentInfo& frag) {
  FragmentKey key{};
  std::memcpy(key.src_addr, info.src_addr, 16);
  std::memcpy(key.dst_addr, info.dst_addr, 16);
  key.id = frag.id;
  key.proto = frag.key_proto;
  key.family = info.ip_version;
  return key;
}

inline struct rte_mbuf* AsMbuf(void* packet) { return static_cast<struct rte_mbuf*>(packet); }

// The packets of an entry given up on: dropped for `reason`.
struct DropHeld {
  WorkerContext& w;
  DropReason reason;
  void operator()(void* packet) const { Drop(w, AsMbuf(packet), reason); }
};

// nat: a later fragment gets the addresses its first fragment's session gave
// it (ports and the L4 checksum are only in the first), the IPv4 header
// checksum by the same delta.
void RewriteNatAddresses(uint8_t* ip, const FragmentRoute& route) {
  if ((ip[0] >> 4) == 6) {
    std::memcpy(ip + 8, route.nat_src, 16);
    std::memcpy(ip + 24, route.nat_dst, 16);
    return;
  }
  uint16_t check;
  std::memcpy(&check, ip + 10, 2);
  check = ChecksumApply(check, route.ip_delta);
  std::memcpy(ip + 10, &check, 2);
  std::memcpy(ip + 12, route.nat_src, 4);
  std::memcpy(ip + 16, route.nat_dst, 4);
}

// nat, a client's datagram: to the first fragment's backend.
void SendNatFragment(WorkerContext& w, TxStage& stage, const Snapshot& snap, const FragmentRoute& route,
                     struct rte_mbuf* m) {
  const BackendView* b = snap.Backend(route.backend_id);
  if (b == nullptr) return Drop(w, m, DropReason::kNoBackend);
  if (!b->mac_known) return Drop(w, m, DropReason::kNeighborUnresolved);
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  std::memcpy(frame, DsrMacs(*b), 2 * RTE_ETHER_ADDR_LEN);
  RewriteNatAddresses(frame + m->l2_len, route);
  if (ExceedsMtu(m, b->egress_mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  StageToBackend(w, stage, *b, route.backend_id, m);
}

// nat, a backend's reply: back to the client, as its first fragment went.
void SendNatReplyFragment(WorkerContext& w, TxStage& stage, const FragmentRoute& route, struct rte_mbuf* m) {
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  std::memcpy(frame, route.macs, sizeof(route.macs));
  RewriteNatAddresses(frame + m->l2_len, route);
  if (ExceedsMtu(m, w.ports[route.egress_port].mtu)) return Drop(w, m, DropReason::kMtuExceeded);
  w.counters->forwarded++;
  Stage(stage, route.egress_port, m);
}

// A fragment after the first, sent where the first went. `offset`: its
// place in the datagram.
void SendLater(WorkerContext& w, TxStage& stage, const Snapshot& snap, const FragmentRoute& route,
               struct rte_mbuf* m, uint32_t offset, uint16_t ingress_port, uint32_t now_ms) {
  // Written over the transport header the first fragment was balanced by
  // (RFC 1858's overlapping fragment attack): the backend might reassemble
  // other ports than the ones the balancer saw.
  if (offset < route.l4_header_len) return Drop(w, m, DropReason::kFragmentOverlap);
  if (route.drop_reason != 0) return Drop(w, m, static_cast<DropReason>(route.drop_reason - 1));
  if (route.reply == FragmentReply::kHandOff) return HandOffNat(w, m, ingress_port, route.backend_id);
  if (route.reply == FragmentReply::kTranslate) return SendNatReplyFragment(w, stage, route, m);
  ServiceCounters& sc = w.service_counters[route.service_id];
  sc.packets++;
  sc.bytes += m->pkt_len;
  if (route.forwarding == static_cast<uint8_t>(Forwarding::kNat)) return SendNatFragment(w, stage, snap, route, m);
  BackendPick pick = Picked(snap, route.backend_id);
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, m->l2_len);
  if ((ip[0] >> 4) == 6) {
    SendFragment6(w, stage, route.forwarding, pick, m, route.sig, ingress_port, now_ms);
  } else {
    SendFragment4(w, stage, route.forwarding, pick, m, route.sig, ingress_port, now_ms);
  }
}

const ServiceView* ServiceOf(const Snapshot& snap, const PacketInfo& info) {
  if (info.l4_proto != IPPROTO_TCP && info.l4_proto != IPPROTO_UDP) return nullptr;
  if (info.ip_version == 6) {
    int32_t s = snap.index6.Find(info.dst_addr, info.dst_port, info.l4_proto);
    return s < 0 ? nullptr : &snap.services[s];
  }
  uint32_t dst;
  std::memcpy(&dst, info.dst_addr, 4);
  return snap.index.Find(dst, info.dst_port, info.l4_proto);
}

bool ToVip(const Snapshot& snap, const PacketInfo& info) {
  if (info.ip_version == 6) return snap.index6.IsVip(info.dst_addr);
  uint32_t dst;
  std::memcpy(&dst, info.dst_addr, 4);
  return snap.index.IsVip(dst);
}

// To one of the port's nat pool addresses: a backend's reply.
bool ToPool(const WorkerContext& w, uint16_t port_index, const PacketInfo& info) {
  if (info.ip_version == 6) return IsNatPoolAddress6(w, port_index, info.dst_addr);
  uint32_t dst;
  std::memcpy(&dst, info.dst_addr, 4);
  return IsNatPoolAddress(w, port_index, dst);
}

// A reply's first fragment: translated here or handed to the owner of its
// pool port, and the rest of its datagram after it.
FragmentRoute ReturnFirst(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info,
                          const FragmentInfo& frag, uint32_t now_ms) {
  FragmentRoute route{};
  route.l4_header_len = frag.l4_header_len;
  ReturnNatFirstFragment(w, m, port_index, info, now_ms, route);
  return route;
}

// The first fragment balanced as its whole datagram would be: dsr and tunnel
// through the flow table, nat through its session.
FragmentRoute BalanceFirst(WorkerContext& w, TxStage& stage, const Snapshot& snap, const ServiceView& service,
                           struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info,
                           const FragmentInfo& frag, uint32_t now_ms) {
  FragmentRoute route{};
  route.service_id = static_cast<uint16_t>(service.id);
  route.forwarding = service.forwarding;
  route.l4_header_len = frag.l4_header_len;
  if (service.forwarding == static_cast<uint8_t>(Forwarding::kNat)) {
    ForwardNatFirstFragment(w, snap, service, m, port_index, info, now_ms, route);
    return route;
  }
  ServiceCounters& sc = w.service_counters[service.id];
  sc.packets++;
  sc.bytes += m->pkt_len;
  if (info.ip_version == 6) {
    Pending6 p{};
    p.mbuf = m;
    p.service = &service;
    std::memcpy(p.key.src_addr, info.src_addr, 16);
    std::memcpy(p.key.dst_addr, info.dst_addr, 16);
    p.key.src_port = info.src_port;
    p.key.dst_port = info.dst_port;
    p.key.proto = info.l4_proto;
    p.hash = FlowHash6(w, p.key);
    p.tcp_flags = info.tcp_flags;
    route.backend_id = FirstFragmentPick6(w, snap, p, now_ms);
    route.sig = p.hash.sig;
    SendFragment6(w, stage, route.forwarding, Picked(snap, route.backend_id), m, route.sig, port_index, now_ms);
    return route;
  }
  uint32_t src, dst;
  std::memcpy(&src, info.src_addr, 4);
  std::memcpy(&dst, info.dst_addr, 4);
  const FlowKeyWords words = MakeFlowKey4(src, dst, info.src_port, info.dst_port, info.l4_proto);
  Pending p{};
  p.mbuf = m;
  p.service = &service;
  std::memcpy(&p.key, &words, sizeof(p.key));
  p.hash = w.flows->HashOf(words);
  p.tcp_flags = info.tcp_flags;
  BackendPick pick = FirstFragmentPick4(w, snap, p, now_ms);
  route.backend_id = pick.id;
  route.sig = p.hash.sig;
  SendFragment4(w, stage, route.forwarding, pick, m, route.sig, port_index, now_ms);
  return route;
}

void FirstFragment(WorkerContext& w, TxStage& stage, const Snapshot& snap, FragmentTable& table,
                   struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, const FragmentInfo& frag,
                   FragmentStatus status, const FragmentKey& key, uint32_t hash, uint32_t now_ms) {
  int32_t index = table.Find(key, hash, now_ms);
  const bool routed = index >= 0 && table.At(index).state == FragmentState::kRouted;
  // A second first fragment may carry other ports than the one balanced.
  if (routed) return Drop(w, m, DropReason::kFragmentOverlap);
  const ServiceView* service = status == FragmentStatus::kOk ? ServiceOf(snap, info) : nullptr;
  const bool reply = service == nullptr && status == FragmentStatus::kOk &&
                     (info.l4_proto == IPPROTO_TCP || info.l4_proto == IPPROTO_UDP) && ToPool(w, port_index, info);
  if (service == nullptr && !reply) {
    DropReason reason = status == FragmentStatus::kTooSmall ? DropReason::kFragmentTooSmall : DropReason::kIpFragment;
    if (index >= 0) table.Remove(index, DropHeld{w, reason});
    return Drop(w, m, reason);
  }
  // An IPv6 atomic fragment (offset 0, no more: RFC 6946) is a whole datagram.
  if (frag.more && index < 0) {
    index = table.Claim(key, hash, now_ms, DropHeld{w, DropReason::kFragmentTimeout});
    if (index < 0) return Drop(w, m, DropReason::kFragmentTableFull);
  }
  FragmentRoute route = reply ? ReturnFirst(w, m, port_index, info, frag, now_ms)
                              : BalanceFirst(w, stage, snap, *service, m, port_index, info, frag, now_ms);
  if (index < 0) return;
  table.Route(index, route, now_ms, [&](void* held, uint32_t offset) {
    SendLater(w, stage, snap, route, AsMbuf(held), offset, port_index, now_ms);
  });
}

void LaterFragment(WorkerContext& w, TxStage& stage, const Snapshot& snap, FragmentTable& table,
                   struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info, const FragmentInfo& frag,
                   const FragmentKey& key, uint32_t hash, uint32_t now_ms) {
  const uint32_t end = frag.offset + frag.length;
  int32_t index = table.Find(key, hash, now_ms);
  if (index < 0) {
    // Only fragments to a VIP or a pool address may wait: the rest can have no
    // first fragment here.
    if (!ToVip(snap, info) && !ToPool(w, port_index, info)) return Drop(w, m, DropReason::kIpFragment);
    index = table.Claim(key, hash, now_ms, DropHeld{w, DropReason::kFragmentTimeout});
    if (index < 0) return Drop(w, m, DropReason::kFragmentTableFull);
  }
  FragmentEntry& e = table.At(index);
  // Two last fragments that disagree, or a fragment past the end: overlapping
  // pieces the backend would have to choose between.
  if (e.final_end != 0 && (end > e.final_end || (!frag.more && end != e.final_end))) {
    return Drop(w, m, DropReason::kFragmentOverlap);
  }
  if (!frag.more) e.final_end = end;
  if (e.state == FragmentState::kRouted) {
    table.Touch(index, now_ms);
    return SendLater(w, stage, snap, e.route, m, frag.offset, port_index, now_ms);
  }
  if (!table.Hold(index, m, rte_pktmbuf_pkt_len(m), frag.offset)) {
    if (e.held == 0) table.Remove(index, DropHeld{w, DropReason::kFragmentHoldFull});
    return Drop(w, m, DropReason::kFragmentHoldFull);
  }
}

}  // namespace

void ClassifyFragment(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                      const PacketInfo& parsed, uint32_t now_ms) {
  FragmentTable* table = w.fragments;
  if (table == nullptr) return Drop(w, m, DropReason::kIpFragment);
  PacketInfo info = parsed;  // ParseFragment completes it for a first fragment
  FragmentInfo frag;
  FragmentStatus status = ParseFragment(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m),
                                        rte_pktmbuf_pkt_len(m), &info, &frag);
  if (status == FragmentStatus::kMalformed) return Drop(w, m, DropReason::kBadIpHeader);
  const FragmentKey key = KeyOf(info, frag);
  const uint32_t hash = FragmentTable::HashOf(key);
  LcoreCounters& c = *w.counters;
  const uint64_t forwarded = c.forwarded;
  TxStage stage;
  if (frag.offset == 0) {
    FirstFragment(w, stage, snap, *table, m, port_index, info, frag, status, key, hash, now_ms);
  } else {
    LaterFragment(w, stage, snap, *table, m, port_index, info, frag, key, hash, now_ms);
  }
  SendStaged(w, stage);
  c.fragments_forwarded += c.forwarded - forwarded;
  c.fragments_held = table->held_packets();
}

void SweepFragments(WorkerContext& w, uint32_t now_ms, uint32_t budget) {
  w.fragments->Sweep(now_ms, budget, DropHeld{w, DropReason::kFragmentTimeout});
  w.counters->fragments_held = w.fragments->held_packets();
}

void ClearFragments(FragmentTable& table) {
  for (uint32_t i = 0; i < table.capacity(); i++) {
    if (table.At(static_cast<int32_t>(i)).state == FragmentState::kFree) continue;
    table.Remove(static_cast<int32_t>(i), [](void* packet) { rte_pktmbuf_free(AsMbuf(packet)); });
  }
}

}  // namespace sluice
