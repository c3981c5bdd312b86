#include "modes/nat/nat_forward.h"

#include <rte_errno.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/coded_error.h"
#include "modes/nat/nat_verdicts.h"

namespace sluice {
namespace {

constexpr unsigned kInboxSize = 1024;

}  // namespace

using nat_detail::AddrOf;
using nat_detail::DropVerdict;
using nat_detail::FromBackend;

FlowKey6 NatClientKey6(const PacketInfo& info) {
  FlowKey6 key{};
  std::memcpy(key.src_addr, info.src_addr, 16);
  std::memcpy(key.dst_addr, info.dst_addr, 16);
  key.src_port = info.src_port;
  key.dst_port = info.dst_port;
  key.proto = info.l4_proto;
  return key;
}

NatVerdict NatFromBackend(NatLcore& nat, uint8_t* frame, const PacketInfo& info, uint16_t ingress_port,
                          const PortRuntime* ports, uint32_t now_ms) {
  uint32_t owner = nat.layout->Owner(info.dst_port);
  if (owner != nat.worker_index) {
    NatVerdict v{};
    v.action = NatAction::kHandOff;
    v.owner = owner;
    return v;
  }
  if (info.ip_version != 6) {
    int32_t slot = nat.sessions->PoolSlot(ingress_port, AddrOf(info.dst_addr, Nat4{}), info.dst_port);
    return FromBackend(*nat.sessions, slot, frame, NatHeadersOf(info), AddrOf(info.src_addr, Nat4{}), info.src_port,
                       ports, now_ms);
  }
  if (MissingUdpChecksum(frame, info)) return DropVerdict(DropReason::kBadL4Header);
  int32_t slot = nat.sessions6->PoolSlot(ingress_port, AddrOf(info.dst_addr, Nat6{}), info.dst_port);
  return FromBackend(*nat.sessions6, slot, frame, NatHeadersOf(info), AddrOf(info.src_addr, Nat6{}), info.src_port,
                     ports, now_ms);
}

NatRuntime::NatRuntime(const std::vector<PortConfig>& ports, const std::vector<int>& worker_sockets,
                       uint32_t max_sessions_per_port, const FlowTimeouts& timeouts, uint32_t instance,
                       uint64_t limit_bytes) {
  std::vector<const NatPoolConfig*> pools;
  for (const PortConfig& p : ports) pools.push_back(p.has_nat_pool ? &p.nat_pool : nullptr);
  uint32_t workers = static_cast<uint32_t>(worker_sockets.size());
  layout_ = std::make_unique<NatPoolLayout>(pools, workers);
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < workers; i++) {
    bytes += NatSessions::MemoryBytes(NatSessions::CapacityOf(*layout_, i, max_sessions_per_port)) +
             NatSessions6::MemoryBytes(NatSessions6::CapacityOf(*layout_, i, max_sessions_per_port));
  }
  if (bytes > limit_bytes) {
    throw CodedError(codes::kLimitExceeded, "the nat session tables of " + std::to_string(workers) +
                                                " workers would take " + std::to_string(bytes) +
                                                " bytes, beyond their limit of " + std::to_string(limit_bytes) +
                                                " bytes (limits.natSessionsMb)");
  }
  inboxes_.assign(workers, nullptr);
  lcores_.assign(workers, NatLcore{});
  for (uint32_t i = 0; i < workers; i++) {
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof(name), "sl%u_nat_in_%u", instance, i);
    inboxes_[i] = rte_ring_create(name, kInboxSize, worker_sockets[i], RING_F_SC_DEQ);
    std::snprintf(name, sizeof(name), "sl%u_nat_%u", instance, i);
    NatSessions* sessions = NatSessions::Create(name, *layout_, i, max_sessions_per_port, worker_sockets[i], timeouts);
    std::snprintf(name, sizeof(name), "sl%u_nat6_%u", instance, i);
    NatSessions6* sessions6 =
        NatSessions6::Create(name, *layout_, i, max_sessions_per_port, worker_sockets[i], timeouts);
    lcores_[i] = NatLcore{sessions, sessions6, layout_.get(), inboxes_.data(), i};
    if (inboxes_[i] == nullptr || sessions == nullptr || sessions6 == nullptr) {
      std::string reason = rte_strerror(rte_errno);
      Release();
      throw CodedError(codes::kResourceExhausted, "cannot allocate the nat sessions of worker " +
                                                      std::to_string(i) + ": " + reason);
    }
  }
}

NatRuntime::~NatRuntime() { Release(); }

void NatRuntime::Release() {
  for (struct rte_ring*& r : inboxes_) {
    void* m;
    while (r != nullptr && rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<struct rte_mbuf*>(m));
    rte_ring_free(r);
    r = nullptr;
  }
  for (NatLcore& l : lcores_) {
    NatSessions::Destroy(l.sessions);
    NatSessions6::Destroy(l.sessions6);
    l.sessions = nullptr;
    l.sessions6 = nullptr;
  }
}

}  // namespace sluice
