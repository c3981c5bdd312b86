// forwarding nat: what a packet's session decides, per packet. Templates over
// the address family, inline in a header so that the worker's burst loop
// inlines the IPv4 ones: as calls into modes/nat/nat_forward.cc they saved and restored a
// dozen registers per packet.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <cstring>

#include "modes/nat/nat_forward.h"
#include "modes/nat/nat_translate.h"
#include "common/port_runtime.h"
#include "packet/tcp_flags.h"
#include "tables/lookup_table.h"

namespace sluice {
namespace nat_detail {

inline NatVerdict DropVerdict(DropReason reason) {
  NatVerdict v{};
  v.action = NatAction::kDrop;
  v.reason = reason;
  return v;
}

inline void SetMacs(uint8_t* frame, const struct rte_ether_addr& dst, const struct rte_ether_addr& src) {
  std::memcpy(frame, dst.addr_bytes, RTE_ETHER_ADDR_LEN);
  std::memcpy(frame + RTE_ETHER_ADDR_LEN, src.addr_bytes, RTE_ETHER_ADDR_LEN);
}

inline bool Closes(uint8_t tcp_flags) { return tcp_flags & (kTcpFin | kTcpRst); }

// What differs between the families: addresses, keys and the rewrite.
inline uint32_t AddrOf(const uint8_t* a, Nat4) {
  uint32_t v;
  std::memcpy(&v, a, 4);
  return v;
}
inline NatAddr6 AddrOf(const uint8_t* a, Nat6) {
  NatAddr6 v;
  std::memcpy(v.bytes, a, 16);
  return v;
}
inline uint32_t BackendAddr(const BackendView& b, Nat4) { return b.address; }
inline NatAddr6 BackendAddr(const BackendView& b, Nat6) { return AddrOf(b.address6, Nat6{}); }

inline FlowKey4 ClientKey(const PacketInfo& info, Nat4) {
  FlowKeyWords words = MakeFlowKey4(AddrOf(info.src_addr, Nat4{}), AddrOf(info.dst_addr, Nat4{}), info.src_port,
                                    info.dst_port, info.l4_proto);
  FlowKey4 key;
  std::memcpy(&key, &words, sizeof(key));
  return key;
}
inline FlowKey6 ClientKey(const PacketInfo& info, Nat6) { return NatClientKey6(info); }

// The deltas of the session's translation, its endpoints' word sums before
// (client to VIP) and after (pool to backend).
inline NatChecksumDeltas DeltasOf(const NatSession& s) {
  return NatDeltasOf(WordsOf(s.client_addr) + WordsOf(s.vip), WordsOf(s.pool_addr) + WordsOf(s.backend_addr),
                     uint32_t{s.client_port} + s.vip_port, uint32_t{s.pool_port} + s.backend_port);
}
inline NatChecksumDeltas DeltasOf(const NatSession6& s) {
  return NatDeltasOf(WordsOf6(s.client_addr.bytes) + WordsOf6(s.vip.bytes),
                     WordsOf6(s.pool_addr.bytes) + WordsOf6(s.backend_addr.bytes),
                     uint32_t{s.client_port} + s.vip_port, uint32_t{s.pool_port} + s.backend_port);
}

inline void Rewrite(uint8_t* frame, const NatHeaders& h, uint32_t src, uint16_t sport, uint32_t dst,
                    uint16_t dport, uint16_t ip_delta, uint16_t l4_delta) {
  ApplyNatRewrite(frame, h, src, sport, dst, dport, ip_delta, l4_delta);
}
inline void Rewrite(uint8_t* frame, const NatHeaders& h, const NatAddr6& src, uint16_t sport,
                    const NatAddr6& dst, uint16_t dport, uint16_t, uint16_t l4_delta) {
  ApplyNatRewrite6(frame, h, src.bytes, sport, dst.bytes, dport, l4_delta);
}

// `pick()` gives the backend a new session starts with (kNoBackend: none);
// called only when a session opens.
template <typename F, typename Pick>
NatVerdict FromClient(NatSessionTable<F>& sessions, const Snapshot& snap, const ServiceView& service,
                      uint8_t* frame, const NatHeaders& h, const typename F::Key& key, const NatIndexHash& hash,
                      uint16_t ingress_port, Pick&& pick, const PortRuntime* ports, uint32_t now_ms,
                      LcoreCounters& c) {
  bool tcp = h.l4_proto == parse_detail::kProtoTcp;
  bool syn_only = tcp && (h.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;

  NatVerdict v{};
  int32_t index = sessions.FindByClient(key, hash);
  const BackendView* b = nullptr;
  if (index >= 0) {
    auto& s = sessions.At(index);
    b = snap.Backend(s.backend_id);
    bool expired = sessions.IsExpired(s, now_ms);
    // A new SYN on a closing connection is the client reusing its port.
    bool reopened = s.state == NatState::kClosing && syn_only;
    bool usable = s.service_id == service.id && KeepsFlowsOf(b, service.id);
    if (expired || reopened || !usable) {
      sessions.Close(index, c);
      if (expired) c.nat_sessions_expired++;
      index = -1;
    }
  }
  if (index < 0) {
    // A reset ends a connection; it does not start one worth a pool port.
    if (tcp && (h.tcp_flags & kTcpRst)) return DropVerdict(DropReason::kNatNoSession);
    // Picked only here: a packet of an open session needs no lookup table line.
    uint32_t picked = pick();
    b = picked == kNoBackend ? nullptr : snap.Backend(picked);
    if (b == nullptr) return DropVerdict(DropReason::kNoBackend);
    index = sessions.Open(key, hash, b->port_index, c);
    if (index < 0) return DropVerdict(DropReason::kNatPoolExhausted);
    auto& s = sessions.At(index);
    s.backend_id = picked;
    s.backend_addr = BackendAddr(*b, F{});
    s.backend_port = b->port;
    s.service_id = static_cast<uint16_t>(service.id);
    s.client_port_index = ingress_port;
    std::memcpy(s.client_mac.addr_bytes, frame + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
    s.state = syn_only ? NatState::kOpening : NatState::kEstablished;
    s.to_backend = DeltasOf(s);
    s.opened_ms = now_ms;
    v.new_session = true;
  }
  auto& s = sessions.At(index);
  s.last_seen_ms = now_ms;
  if (tcp && Closes(h.tcp_flags)) s.state = NatState::kClosing;
  if (!b->mac_known) return DropVerdict(DropReason::kNeighborUnresolved);

  std::memcpy(frame, DsrMacs(*b), 2 * RTE_ETHER_ADDR_LEN);  // the backend's MAC, then its egress port's
  Rewrite(frame, h, s.pool_addr, s.pool_port, s.backend_addr, s.backend_port, s.to_backend.ip, s.to_backend.l4);
  v.action = NatAction::kToBackend;
  v.port_index = b->port_index;
  v.backend_id = s.backend_id;
  v.backend = b;
  return v;
}

// `index`: the session slot of the pool pair the reply is addressed to, or -1;
// `src` and `src_port`: the reply's source.
template <typename F>
NatVerdict FromBackend(NatSessionTable<F>& sessions, int32_t index, uint8_t* frame, const NatHeaders& h,
                       const typename F::Addr& src, uint16_t src_port, const PortRuntime* ports, uint32_t now_ms) {
  NatVerdict v{};
  if (index < 0 || sessions.At(index).state == NatState::kFree) return DropVerdict(DropReason::kNatNoSession);
  auto& s = sessions.At(index);
  // Anyone on the link can send to a pool port; only the session's backend is answered for.
  if (s.proto != h.l4_proto || s.backend_addr != src || s.backend_port != src_port ||
      sessions.IsExpired(s, now_ms)) {
    return DropVerdict(DropReason::kNatNoSession);
  }
  s.last_seen_ms = now_ms;
  if (h.l4_proto == parse_detail::kProtoTcp) {
    if (Closes(h.tcp_flags)) s.state = NatState::kClosing;
    else if (s.state == NatState::kOpening) s.state = NatState::kEstablished;
  }
  SetMacs(frame, s.client_mac, ports[s.client_port_index].mac);
  Rewrite(frame, h, s.vip, s.vip_port, s.client_addr, s.client_port, ReverseDelta(s.to_backend.ip),
          ReverseDelta(s.to_backend.l4));
  v.action = NatAction::kToClient;
  v.port_index = s.client_port_index;
  return v;
}

}  // namespace nat_detail

// NatFromClient for an IPv4 packet whose client key and its hash in the lcore's
// sessions were computed when it was classified (and the lookup prefetched).
// `pick()` as FromClient's.
template <typename Pick>
inline NatVerdict NatFromClient4(NatLcore& nat, const Snapshot& snap, const ServiceView& service, uint8_t* frame,
                                 const NatHeaders& h, const FlowKey4& key, const NatIndexHash& hash,
                                 uint16_t ingress_port, Pick&& pick, const PortRuntime* ports, uint32_t now_ms,
                                 LcoreCounters& c) {
  return nat_detail::FromClient(*nat.sessions, snap, service, frame, h, key, hash, ingress_port, pick, ports, now_ms,
                                c);
}

// NatFromClient, both families, for packets that come one at a time.
template <typename Pick>
NatVerdict NatFromClient(NatLcore& nat, const Snapshot& snap, const ServiceView& service, uint8_t* frame,
                         const PacketInfo& info, uint16_t ingress_port, Pick&& pick, const PortRuntime* ports,
                         uint32_t now_ms, LcoreCounters& c) {
  using nat_detail::ClientKey;
  if (info.ip_version != 6) {
    FlowKey4 key = ClientKey(info, Nat4{});
    return nat_detail::FromClient(*nat.sessions, snap, service, frame, NatHeadersOf(info), key,
                                  nat.sessions->HashOf(key), ingress_port, pick, ports, now_ms, c);
  }
  if (MissingUdpChecksum(frame, info)) return nat_detail::DropVerdict(DropReason::kBadL4Header);
  FlowKey6 key = ClientKey(info, Nat6{});
  return nat_detail::FromClient(*nat.sessions6, snap, service, frame, NatHeadersOf(info), key,
                                nat.sessions6->HashOf(key), ingress_port, pick, ports, now_ms, c);
}

// NatFromBackend for an IPv4 reply on the lcore that owns its pool port, whose
// session slot was found when it was classified (NatSessions::PoolSlotAt; -1:
// none). `key` is the reply's 5-tuple.
inline NatVerdict NatFromBackend4(NatLcore& nat, int32_t slot, uint8_t* frame, const NatHeaders& h,
                                  const FlowKey4& key, const PortRuntime* ports, uint32_t now_ms) {
  return nat_detail::FromBackend(*nat.sessions, slot, frame, h, key.src_addr, key.src_port, ports, now_ms);
}

}  // namespace sluice
