// Per-lcore counters. Each block is written by exactly one worker lcore with
// plain stores (no atomics on the data path) and summed by the control thread
// when read; aligned 64-bit stores are not torn on the CPUs DPDK supports, so a
// reader sees a value at most one burst old.
#pragma once

#include <rte_common.h>

#include <cstdint>

#include "common/config_types.h"
#include "common/drop_reasons.h"

namespace sluice {

// Invariant, once every burst has been processed:
//   rx_packets + nat_handoff_received
//     = forwarded + local_replies + arp_learned + sum(drops except tx_full) + nat_handoff_sent
struct alignas(RTE_CACHE_LINE_SIZE) LcoreCounters {
  uint64_t rx_packets;
  uint64_t rx_bytes;
  uint64_t forwarded;        // service packets handed to tx
  uint64_t local_replies;    // ARP and ICMP echo answers handed to tx
  uint64_t arp_learned;      // ARP replies and IPv6 neighbor advertisements consumed for neighbor learning
  // Packets handed to a tx buffer. Those the tx queue refused are counted in
  // drops[tx_full] and tx_unsent_bytes: sent = queued - refused.
  uint64_t tx_queued;
  uint64_t tx_queued_bytes;
  uint64_t tx_unsent_bytes;
  uint64_t drops[kDropReasonCount];
  uint64_t learn_queue_full; // neighbor messages the control thread never saw

  // flow table
  uint64_t flow_hits;
  uint64_t flow_misses;
  uint64_t flow_inserts;
  uint64_t flow_insert_failures;  // table full even after eviction: forwarded unremembered
  uint64_t flow_evictions;        // live entries removed to make room
  uint64_t flow_expirations;      // idle entries removed or reused
  uint64_t flow_repicks;          // entry's backend gone: picked again
  uint64_t flow_active;
  // New flows not remembered because the admission rate was spent (forwarded
  // all the same), and of those, the ones that would have evicted a live flow.
  uint64_t flow_admission_refused;
  uint64_t flow_admission_protected;

  // loop
  uint64_t iterations;
  uint64_t busy_cycles;      // cycles spent in iterations that received packets
  uint64_t idle_cycles;      // cycles in empty iterations, sleeping included
  // busy_cycles split by what the lcore waited on: receive calls that returned
  // packets (the PMD's work, and the polls of empty queues before them in the
  // iteration), and the processing of what they returned, tx hand-off included.
  // The rest of busy_cycles is tx flushes and housekeeping.
  uint64_t receive_cycles;
  uint64_t process_cycles;

  // ICMP fragmentation-needed replies handed to tx: a subset of drops[mtu_exceeded],
  // whose buffers they reuse; the rest were held back by the rate limit.
  uint64_t icmp_frag_needed_sent;
  // ICMP destination-unreachable messages to a VIP passed on to the backend that
  // owns the flow they quote (packet/icmp_error_route.h): a subset of forwarded.
  uint64_t icmp_errors_routed;

  // forwarding nat. A reply whose pool port another lcore owns is handed to that
  // lcore (nat_handoff_sent here, nat_handoff_received there, which then forwards
  // or drops it), so summed over lcores the hand-offs cancel out.
  uint64_t nat_sessions_created;
  uint64_t nat_sessions_expired;  // closed by timeout (FIN/RST close by the short timeout too)
  uint64_t nat_sessions_active;
  uint64_t nat_handoff_sent;
  uint64_t nat_handoff_received;
  // ICMPv6 packet-too-big replies handed to tx, the same way for IPv6 packets.
  uint64_t icmp_packet_too_big_sent;
};

struct ServiceCounters {
  uint64_t packets;
  uint64_t bytes;
  uint64_t new_flows;
  int64_t active_flows;  // inserts minus removals on this lcore; may be negative per lcore
};

struct BackendCounters {
  uint64_t packets;
  uint64_t bytes;
  uint64_t new_flows;
};

}  // namespace sluice
