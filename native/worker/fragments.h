// IP fragments on the worker (worker/fragments.cc): the first fragment of a
// datagram is balanced as its whole datagram would be, through the flow table
// or the nat session of its 5-tuple, and the lcore's fragment table
// (tables/fragment_table.h) sends the rest of the datagram where it went.
// Off the fast path: only frames ParsePacket calls kIpFragment come here.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "common/snapshot.h"
#include "packet/packet_parse.h"
#include "tables/fragment_table.h"
#include "worker/burst.h"
#include "worker/context.h"
#include "worker/forward.h"
#include "worker/tx_stage.h"

namespace sluice {

// A fragment to us, its IPv4 header checksum and source already checked and
// m->l2_len set: sent, held, or dropped and counted.
void ClassifyFragment(WorkerContext& w, const Snapshot& snap, struct rte_mbuf* m, uint16_t port_index,
                      const PacketInfo& parsed, uint32_t now_ms);

// Drops the held fragments of expired entries among `budget` entries; once per loop iteration.
void SweepFragments(WorkerContext& w, uint32_t now_ms, uint32_t budget);

// Frees every held fragment, when the workers have stopped.
void ClearFragments(FragmentTable& table);

// What the fragment path uses of forwarding, one packet at a time. The first
// fragment's backend, as its whole datagram's flow would have it
// (forward_ipv4.cc, forward_ipv6.cc), and a fragment sent to a backend in the
// mode `forwarding`, `sig` its flow's hash.
BackendPick FirstFragmentPick4(WorkerContext& w, const Snapshot& snap, Pending& p, uint32_t now_ms);
uint32_t FirstFragmentPick6(WorkerContext& w, const Snapshot& snap, Pending6& p, uint32_t now_ms);
void SendFragment4(WorkerContext& w, TxStage& stage, uint8_t forwarding, BackendPick pick, struct rte_mbuf* m,
                   uint32_t sig, uint16_t ingress_port, uint32_t now_ms);
void SendFragment6(WorkerContext& w, TxStage& stage, uint8_t forwarding, BackendPick pick, struct rte_mbuf* m,
                   uint32_t sig, uint16_t ingress_port, uint32_t now_ms);
// nat (worker/nat.cc): the first fragment through its session, as ForwardNat
// sends a client's packet, with what later fragments need put in `route`.
void ForwardNatFirstFragment(WorkerContext& w, const Snapshot& snap, const ServiceView& service, struct rte_mbuf* m,
                             uint16_t port_index, const PacketInfo& info, uint32_t now_ms, FragmentRoute& route);
// nat (worker/nat.cc): a backend's first fragment to a pool address, translated
// as ReturnNat translates a reply, or handed to the lcore that owns its pool port.
void ReturnNatFirstFragment(WorkerContext& w, struct rte_mbuf* m, uint16_t port_index, const PacketInfo& info,
                            uint32_t now_ms, FragmentRoute& route);

}  // namespace sluice
