// The worker's per-packet helpers that the IPv4 path (worker.cc) and the IPv6
// path (worker_ipv6.cc) share: counted drops, buffered tx, the Maglev slot.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>

#include "packet_parse.h"
#include "snapshot.h"
#include "worker.h"

namespace sluice {

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

inline void Drop(WorkerContext& w, struct rte_mbuf* m, DropReason reason) {
  w.counters->drops[static_cast<uint32_t>(reason)]++;
  rte_pktmbuf_free(m);
}

inline void Send(WorkerContext& w, uint16_t port_index, struct rte_mbuf* m) {
  w.counters->tx_queued++;
  w.counters->tx_queued_bytes += m->pkt_len;
  rte_eth_tx_buffer(w.ports[port_index].port_id, w.tx_queue, w.tx[port_index], m);
}

inline DropReason DropFor(ParseStatus status) {
  switch (status) {
    case ParseStatus::kTruncated: return DropReason::kTruncated;
    case ParseStatus::kBadIpHeader: return DropReason::kBadIpHeader;
    case ParseStatus::kBadL4Header: return DropReason::kBadL4Header;
    case ParseStatus::kIpFragment: return DropReason::kIpFragment;
    case ParseStatus::kTooManyVlans: return DropReason::kTooManyVlans;
    default: return DropReason::kNonIp;
  }
}

inline uint32_t MaglevSlot(uint32_t sig, uint32_t table_size) {
  // The flow table buckets on the low bits of the same CRC; remix so the Maglev
  // slot is independent of the bucket.
  uint32_t h = sig;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h % table_size;
}

inline void CountNewFlow(WorkerContext& w, uint32_t service_id, uint32_t backend_id) {
  w.service_counters[service_id].new_flows++;
  w.backend_counters[backend_id].new_flows++;
}

inline void SendToBackend(WorkerContext& w, const BackendView& b, uint32_t backend_id, struct rte_mbuf* m) {
  BackendCounters& bc = w.backend_counters[backend_id];
  bc.packets++;
  bc.bytes += m->pkt_len;
  w.counters->forwarded++;
  Send(w, b.port_index, m);
}

// dsr: only the MACs change.
inline void RewriteDsr(WorkerContext& w, const BackendView& b, uint32_t backend_id, struct rte_mbuf* m) {
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), DsrMacs(b), 2 * RTE_ETHER_ADDR_LEN);
  SendToBackend(w, b, backend_id, m);
}

// Cuts `m` to `len` bytes (len <= pkt_len), across segments: Ethernet padding
// behind the IP packet may fill whole trailing segments of a hostile frame,
// which rte_pktmbuf_trim (last segment only) cannot remove.
inline void TrimTo(struct rte_mbuf* m, uint32_t len) {
  // The common case: a minimum-size frame's padding, in its only segment.
  if (m->next == nullptr) {
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    return;
  }
  uint32_t kept = 0;
  uint16_t segs = 0;
  for (struct rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
    segs++;
    if (kept + seg->data_len >= len) {
      seg->data_len = static_cast<uint16_t>(len - kept);
      if (seg->next != nullptr) rte_pktmbuf_free(seg->next);
      seg->next = nullptr;
      break;
    }
    kept += seg->data_len;
  }
  m->nb_segs = segs;
  m->pkt_len = len;
}

}  // namespace sluice
