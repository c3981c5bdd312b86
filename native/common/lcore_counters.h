// Per-lcore counters. Each block is written by exactly one worker lcore with
// plain stores (no atomics on the data path) and summed by the control thread
// when read; aligned 64-bit stores are not torn on the CPUs DPDK supports, so a
// reader sees a value at most one burst old.
//
// Every counter is declared once, in the lists below, and every layer expands
// them: the structs here, the addon's stats objects and its `counters` catalogue
// (addon/binding_stats.cc), and, through scripts/gen-counters.js, the TypeScript
// side (src/native/counters.generated.ts: the addon's types, the totals over
// lcores, the REST schemas and the Prometheus metrics). A new counter is one line
// here, the worker code that counts it, and `node scripts/gen-counters.js`
// (npm run build:ts runs it); test/unit/counters-catalogue.test.ts fails when a
// layer misses one. Like drop_reasons.h, or VPP's foreach_lb_error.
//
//   X(field, name, kind, group, metric, api, help)
//   field   the struct member: the data path uses it by this name
//   name    its key in the addon's stats objects (JavaScript, camelCase)
//   kind    counter    uint64_t that only grows: a Prometheus counter
//           gauge      uint64_t that goes up and down: a Prometheus gauge
//           gauge_i64  int64_t gauge; per lcore it may be negative, summed it is not
//           internal   uint64_t never shown itself: a value derived on read uses it
//           drops      uint64_t[kDropReasonCount], one per drop reason: the addon
//                      shows an object keyed by reason, Prometheus a reason label
//   group   top, icmp, loop: keys of the addon's lcore object itself;
//           flows, nat: keys of its flows and nat objects
//   metric  its Prometheus name ("" for none); names are an interface: never rename
//   api     stats: GET /api/v1/stats shows it; none: it does not
//   help    one line for operators: Prometheus HELP, REST and type descriptions
//
// The lists are in struct order, so the order is the layout the data path sees:
// add at the end of a block, not in the middle of a hot cache line.
// Comments inside a list are /* */ only (a // comment would swallow the line
// continuation).
#pragma once

#include <rte_common.h>

#include <cstdint>

#include "common/config_types.h"
#include "common/drop_reasons.h"

namespace sluice {

// Invariant, once every burst has been processed:
//   rx_packets + nat_handoff_received
//     = forwarded + local_replies + arp_learned + kernel_handed + sum(drops except tx_full)
//       + nat_handoff_sent + fragments_held
#define SLUICE_LCORE_COUNTERS(X)                                                                                     \
  X(rx_packets, rxPackets, counter, top, "sluice_lcore_rx_packets_total", stats,                                     \
    "packets received by a worker lcore")                                                                            \
  X(rx_bytes, rxBytes, counter, top, "sluice_lcore_rx_bytes_total", none, "bytes received by a worker lcore")        \
  X(forwarded, forwarded, counter, top, "sluice_lcore_forwarded_packets_total", stats,                               \
    "packets forwarded to a backend")                                                                                \
  X(local_replies, localReplies, counter, top, "sluice_lcore_local_replies_total", stats,                            \
    "ARP, neighbor advertisement and ICMP/ICMPv6 echo replies sent by the balancer itself")                          \
  X(arp_learned, arpLearned, counter, top, "", none,                                                                 \
    "ARP replies and IPv6 neighbor advertisements consumed for neighbor learning")                                   \
  /* Packets handed to a tx buffer. Those the tx queue refused are counted in                                        \
     drops[tx_full] and tx_unsent_bytes: sent = queued - refused (txPackets, txBytes). */                            \
  X(tx_queued, tx_queued, internal, top, "", none, "packets handed to a tx buffer, refused ones included")           \
  X(tx_queued_bytes, tx_queued_bytes, internal, top, "", none, "bytes handed to a tx buffer, refused ones included") \
  X(tx_unsent_bytes, tx_unsent_bytes, internal, top, "", none, "bytes of the packets the tx queue refused")          \
  X(drops, drops, drops, top, "sluice_lcore_drops_total", stats, "packets dropped by a worker lcore, by reason")     \
  X(learn_queue_full, learnQueueFull, counter, top, "", none,                                                        \
    "neighbor messages the control thread never saw: its queue was full")                                            \
  /* flow table */                                                                                                   \
  X(flow_hits, hits, counter, flows, "sluice_flow_table_hits_total", stats, "packets that found their flow")         \
  X(flow_misses, misses, counter, flows, "sluice_flow_table_misses_total", stats, "packets that found no flow")      \
  X(flow_inserts, inserts, counter, flows, "sluice_flow_table_inserts_total", stats, "flows added")                  \
  /* no slot at all (a table of capacity 0): forwarded unremembered; a full table evicts */                          \
  X(flow_insert_failures, insertFailures, counter, flows, "sluice_flow_table_insert_failures_total", none,           \
    "flows that found no room")                                                                                      \
  X(flow_evictions, evictions, counter, flows, "sluice_flow_table_evictions_total", stats,                           \
    "flows pushed out by new ones")                                                                                  \
  X(flow_expirations, expirations, counter, flows, "sluice_flow_table_expirations_total", stats,                     \
    "flows ended by idle timeout")                                                                                   \
  X(flow_repicks, repicks, counter, flows, "sluice_flow_table_repicks_total", none,                                  \
    "flows moved because their backend went away")                                                                   \
  X(flow_active, active, gauge, flows, "sluice_flow_table_active_flows", stats, "flows in the lcore's flow table")   \
  /* New flows not remembered because the admission rate was spent (forwarded                                        \
     all the same), and of those, the ones that would have evicted a live flow. */                                   \
  X(flow_admission_refused, admissionRefused, counter, flows, "sluice_flow_admissions_refused_total", none,          \
    "new flows over the admission rate: forwarded, not remembered")                                                  \
  X(flow_admission_protected, admissionProtected, counter, flows, "sluice_flow_admissions_protected_total", none,    \
    "refused new flows that would have evicted a live flow")                                                         \
  /* loop */                                                                                                         \
  X(iterations, iterations, counter, loop, "", none, "worker loop iterations")                                       \
  X(busy_cycles, busyCycles, counter, loop, "", none, "TSC cycles spent in iterations that received packets")        \
  X(idle_cycles, idleCycles, counter, loop, "", none, "TSC cycles in empty iterations, sleeping included")           \
  /* busy_cycles split by what the lcore waited on: receive calls that returned                                      \
     packets (the PMD's work, and the polls of empty queues before them in the                                       \
     iteration), and the processing of what they returned, tx hand-off included.                                     \
     The rest of busy_cycles is tx flushes and housekeeping. Shown as seconds:                                       \
     receiveSeconds and processSeconds. */                                                                           \
  X(receive_cycles, receive_cycles, internal, loop, "", none, "busy cycles in receive calls that returned packets")  \
  X(process_cycles, process_cycles, internal, loop, "", none,                                                        \
    "busy cycles processing received packets up to the tx hand-off")                                                 \
  /* A subset of drops[mtu_exceeded], whose buffers they reuse; the rest were                                        \
     held back by the rate limit. */                                                                                 \
  X(icmp_frag_needed_sent, icmpFragNeededSent, counter, icmp, "sluice_lcore_icmp_frag_needed_sent_total", stats,     \
    "ICMP fragmentation-needed replies to packets too long to tunnel (also counted as mtu_exceeded drops)")          \
  /* Passed on to the backend that owns the flow they quote                                                          \
     (packet/icmp_error_route.h): a subset of forwarded. */                                                          \
  X(icmp_errors_routed, icmpErrorsRouted, counter, icmp, "sluice_lcore_icmp_errors_routed_total", stats,             \
    "ICMP destination-unreachable messages to a VIP passed on to the backend owning the quoted flow")                \
  /* forwarding nat. A reply whose pool port another lcore owns is handed to that                                    \
     lcore (nat_handoff_sent here, nat_handoff_received there, which then forwards                                   \
     or drops it), so summed over lcores the hand-offs cancel out. */                                                \
  X(nat_sessions_created, sessionsCreated, counter, nat, "sluice_nat_sessions_created_total", stats,                 \
    "nat sessions opened")                                                                                           \
  /* FIN/RST close by the short timeout too */                                                                       \
  X(nat_sessions_expired, sessionsExpired, counter, nat, "sluice_nat_sessions_expired_total", stats,                 \
    "nat sessions closed by a timeout")                                                                              \
  X(nat_sessions_active, sessionsActive, gauge, nat, "sluice_nat_sessions_active", stats,                            \
    "nat sessions the lcore holds, one pool address:port each")                                                      \
  X(nat_handoff_sent, handoffsSent, counter, nat, "sluice_nat_handoffs_sent_total", stats,                           \
    "nat replies passed to the lcore owning their pool port")                                                        \
  X(nat_handoff_received, handoffsReceived, counter, nat, "sluice_nat_handoffs_received_total", stats,               \
    "nat replies other lcores passed here")                                                                          \
  /* the same as icmp_frag_needed_sent, for IPv6 packets */                                                          \
  X(icmp_packet_too_big_sent, icmpPacketTooBigSent, counter, icmp, "sluice_lcore_icmp_packet_too_big_sent_total",    \
    none, "ICMPv6 packet-too-big replies to IPv6 packets too long to tunnel (also counted as mtu_exceeded drops)")   \
  /* Stored at the top of every loop iteration, beside the snapshot load: a                                          \
     change is in force on an lcore once this reaches the generation it made.                                        \
     The totals over lcores take the least (lcore-totals.ts). */                                                     \
  X(snapshot_generation, generation, gauge, loop, "sluice_lcore_snapshot_generation", none,                          \
    "the configuration generation the lcore's latest loop iteration used")                                           \
  X(kernel_handed, kernelHanded, counter, top, "sluice_lcore_kernel_handed_total", stats,                            \
    "frames for the node itself handed to a port's kernel interface")                                               \
  /* QUIC-LB services' datagrams: routed by their connection ID's server ID, or                                      \
     (unrouted) balanced as flows. Subsets of what was forwarded or dropped. */                                      \
  X(quic_lb_routed, quicLbRouted, counter, top, "sluice_lcore_quic_lb_routed_total", stats,                         \
    "QUIC datagrams sent to the backend their connection ID names")                                                  \
  X(quic_lb_unrouted, quicLbUnrouted, counter, top, "sluice_lcore_quic_lb_unrouted_total", stats,                   \
    "QUIC-LB services' datagrams whose connection ID names no usable backend, balanced by their 5-tuple")             \
  /* IP fragments (worker/fragments.cc): those forwarded are a subset of                                              \
     forwarded; those held wait for their datagram's first fragment and are                                         \
     neither forwarded nor dropped yet. */                                                                           \
  X(fragments_forwarded, fragmentsForwarded, counter, top, "sluice_lcore_fragments_forwarded_total", stats,          \
    "IP fragments sent to the backend of their datagram's first fragment")                                           \
  X(fragments_held, fragmentsHeld, gauge, top, "sluice_lcore_fragments_held", stats,                                 \
    "IP fragments waiting for their datagram's first fragment")

// Values the addon derives on read, per lcore. Not counters: nothing on the data
// path writes them, so they have no struct member. binding_stats.cc computes each
// in a function of its name (namespace derived there):
//   txPackets        tx_queued - drops[tx_full]
//   txBytes          tx_queued_bytes - tx_unsent_bytes
//   capacity         the lcore's flow table size (LcoreStatsView::flow_capacity)
//   memoryBytes      what that table reserves (LcoreStatsView::flow_memory_bytes)
//   sessionsCapacity the nat pool pairs the lcore owns (LcoreStatsView::nat_capacity)
//   receiveSeconds   receive_cycles / TSC Hz     (fractional)
//   processSeconds   process_cycles / TSC Hz     (fractional)
//   busyRatio        busy / (busy + idle) cycles (fractional, 0 to 1)
// Every column as above, but field: X(name, kind, group, metric, api, help);
// kind is counter or gauge.
#define SLUICE_LCORE_DERIVED(X)                                                                                     \
  X(txPackets, counter, top, "sluice_lcore_tx_packets_total", stats, "packets transmitted by a worker lcore")       \
  X(txBytes, counter, top, "sluice_lcore_tx_bytes_total", none, "bytes transmitted by a worker lcore")              \
  X(capacity, gauge, flows, "sluice_flow_table_capacity_flows", none, "flows the lcore's flow table holds at most") \
  X(memoryBytes, gauge, flows, "sluice_flow_table_memory_bytes", none, "memory the lcore's flow table reserves")    \
  X(sessionsCapacity, gauge, nat, "sluice_nat_sessions_capacity", stats,                                            \
    "nat pool address:port pairs the lcore owns")                                                                   \
  X(receiveSeconds, counter, loop, "sluice_lcore_receive_seconds_total", none,                                      \
    "time in receive calls that returned packets: the PMD's share of the lcore")                                    \
  X(processSeconds, counter, loop, "sluice_lcore_process_seconds_total", none,                                      \
    "time processing received packets up to the tx hand-off: Sluice's own share")                                   \
  X(busyRatio, gauge, loop, "sluice_lcore_busy_ratio", none,                                                        \
    "share of cycles spent on packets rather than idle polling")

// Per service and per backend, summed over lcores. Every one is shown by the REST
// API (GET /api/v1/stats and the services' and backends' stats) and as a metric
// labelled by service (and backend).
//   X(field, name, kind, metric, help)
#define SLUICE_SERVICE_COUNTERS(X)                                                                  \
  X(packets, packets, counter, "sluice_service_packets_total", "packets forwarded for the service") \
  X(bytes, bytes, counter, "sluice_service_bytes_total", "bytes forwarded for the service")         \
  X(new_flows, newFlows, counter, "sluice_service_new_flows_total", "flows started on the service") \
  /* inserts minus removals on this lcore */                                                        \
  X(active_flows, activeFlows, gauge_i64, "sluice_service_active_flows", "the service's flows in the flow tables now")

#define SLUICE_BACKEND_COUNTERS(X)                                                                 \
  X(packets, packets, counter, "sluice_backend_packets_total", "packets forwarded to the backend") \
  X(bytes, bytes, counter, "sluice_backend_bytes_total", "bytes forwarded to the backend")         \
  X(new_flows, newFlows, counter, "sluice_backend_new_flows_total", "flows the backend was picked for") \
  /* inserts minus removals on this lcore */                                                       \
  X(active_flows, activeFlows, gauge_i64, "sluice_backend_active_flows", "the backend's flows in the flow tables now")

// The struct members, by kind.
#define SLUICE_COUNTER_MEMBER_counter(field) uint64_t field;
#define SLUICE_COUNTER_MEMBER_gauge(field) uint64_t field;
#define SLUICE_COUNTER_MEMBER_gauge_i64(field) int64_t field;
#define SLUICE_COUNTER_MEMBER_internal(field) uint64_t field;
#define SLUICE_COUNTER_MEMBER_drops(field) uint64_t field[kDropReasonCount];
#define SLUICE_LCORE_COUNTER_MEMBER(field, name, kind, group, metric, api, help) SLUICE_COUNTER_MEMBER_##kind(field)
#define SLUICE_COUNTER_MEMBER(field, name, kind, metric, help) SLUICE_COUNTER_MEMBER_##kind(field)

struct alignas(RTE_CACHE_LINE_SIZE) LcoreCounters {
  SLUICE_LCORE_COUNTERS(SLUICE_LCORE_COUNTER_MEMBER)
};

struct ServiceCounters {
  SLUICE_SERVICE_COUNTERS(SLUICE_COUNTER_MEMBER)
};

struct BackendCounters {
  SLUICE_BACKEND_COUNTERS(SLUICE_COUNTER_MEMBER)
};

}  // namespace sluice
