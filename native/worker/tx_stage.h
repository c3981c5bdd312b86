// The worker's per-packet helpers that the IPv4 path (worker/classify.cc,
// worker/forward_ipv4.cc) and the IPv6 path (worker/classify_ipv6.cc,
// worker/forward_ipv6.cc) share: counted drops, buffered tx, staging a burst's sends.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>

#include "packet/packet_parse.h"
#include "packet/tcp_flags.h"
#include "tables/lookup_table.h"
#include "common/snapshot.h"
#include "worker/context.h"

namespace sluice {

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

inline void CountNewFlow(WorkerContext& w, uint32_t service_id, uint32_t backend_id) {
  w.service_counters[service_id].new_flows++;
  w.backend_counters[backend_id].new_flows++;
}

// What a burst's forwarding sends (to backends, to clients, ICMP errors), kept on
// the stack of the function forwarding the burst and appended to the ports' tx
// buffers, in order and in runs of one port, once it is done. Buffered one at a
// time, each packet would read the buffer's length that the previous one had
// just stored through a pointer, and the next store's address would wait for
// it; a local count has no such chain (docs/performance-notes.md, "The
// per-packet path").
struct TxStage {
  uint32_t n = 0;
  uint32_t runs = 0;             // runs of consecutive packets to one port
  // run_port[runs - 1], or none yet. Kept apart: reading it back from
  // run_port costs instructions on every packet (docs/performance-notes.md,
  // "The per-packet path").
  uint16_t last_port = UINT16_MAX;
  uint64_t bytes = 0;
  // Left uninitialised: only the first n, and the first runs, are read.
  struct rte_mbuf* mbufs[kRxBurst];
  uint16_t run_port[kRxBurst];
  uint8_t run_start[kRxBurst];  // the index in mbufs of a run's first packet
};
static_assert(kRxBurst <= UINT8_MAX, "run starts fit a byte");

inline void Stage(TxStage& stage, uint16_t port_index, struct rte_mbuf* m) {
  if (port_index != stage.last_port) {
    stage.run_start[stage.runs] = static_cast<uint8_t>(stage.n);
    stage.run_port[stage.runs++] = port_index;
    stage.last_port = port_index;
  }
  stage.bytes += m->pkt_len;
  stage.mbufs[stage.n++] = m;
}

// Appends `n` packets to a port's tx buffer, flushing it whenever it fills.
inline void BufferBulk(WorkerContext& w, uint16_t port_index, struct rte_mbuf* const* mbufs, uint32_t n) {
  struct rte_eth_dev_tx_buffer* buffer = w.tx[port_index];
  while (n > 0) {
    uint32_t room = buffer->size - buffer->length;
    uint32_t k = n < room ? n : room;
    std::memcpy(&buffer->pkts[buffer->length], mbufs, k * sizeof(*mbufs));
    buffer->length = static_cast<uint16_t>(buffer->length + k);
    if (buffer->length == buffer->size) rte_eth_tx_buffer_flush(w.ports[port_index].port_id, w.tx_queue, buffer);
    mbufs += k;
    n -= k;
  }
}

// Hands the staged packets to the tx buffers, a run at a time; once per stage.
inline void SendStaged(WorkerContext& w, TxStage& stage) {
  w.counters->tx_queued += stage.n;
  w.counters->tx_queued_bytes += stage.bytes;
  for (uint32_t r = 0; r < stage.runs; r++) {
    uint32_t start = stage.run_start[r];
    uint32_t end = r + 1 < stage.runs ? stage.run_start[r + 1] : stage.n;
    BufferBulk(w, stage.run_port[r], &stage.mbufs[start], end - start);
  }
}

inline void StageToBackend(WorkerContext& w, TxStage& stage, const BackendView& b, uint32_t backend_id,
                           struct rte_mbuf* m) {
  BackendCounters& bc = w.backend_counters[backend_id];
  bc.packets++;
  bc.bytes += m->pkt_len;
  w.counters->forwarded++;
  Stage(stage, b.port_index, m);
}

// dsr: only the MACs change.
inline void RewriteDsr(WorkerContext& w, TxStage& stage, const BackendView& b, uint32_t backend_id,
                       struct rte_mbuf* m) {
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), DsrMacs(b), 2 * RTE_ETHER_ADDR_LEN);
  StageToBackend(w, stage, b, backend_id, m);
}

// Cuts `m` to `len` bytes (len <= pkt_len), across segments: Ethernet padding
// behind the IP packet may fill whole trailing segments of a hostile frame,
// which rte_pktmbuf_trim (last segment only) cannot remove.
// Makes `m` `new_len` bytes long; false when it cannot grow that far.
inline bool Resize(struct rte_mbuf* m, uint32_t new_len) {
  uint32_t len = rte_pktmbuf_data_len(m);
  if (new_len < len) return rte_pktmbuf_trim(m, static_cast<uint16_t>(len - new_len)) == 0;
  return new_len == len || rte_pktmbuf_append(m, static_cast<uint16_t>(new_len - len)) != nullptr;
}

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
