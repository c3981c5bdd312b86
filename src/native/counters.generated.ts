// Generated from native/common/lcore_counters.h by scripts/gen-counters.js: do not edit.
// Change the lists there and run `node scripts/gen-counters.js` (npm run build:ts
// runs it); test/unit/counters-catalogue.test.ts fails while this file is stale.
// The rest of src/ takes these from src/native/counters.ts.

/** SLUICE_LCORE_COUNTERS: per lcore, in struct order. */
export const LCORE_COUNTERS = [
  { field: 'rx_packets', name: 'rxPackets', kind: 'counter', group: 'top', metric: 'sluice_lcore_rx_packets_total', api: 'stats', help: 'packets received by a worker lcore' },
  { field: 'rx_bytes', name: 'rxBytes', kind: 'counter', group: 'top', metric: 'sluice_lcore_rx_bytes_total', api: 'none', help: 'bytes received by a worker lcore' },
  { field: 'forwarded', name: 'forwarded', kind: 'counter', group: 'top', metric: 'sluice_lcore_forwarded_packets_total', api: 'stats', help: 'packets forwarded to a backend' },
  { field: 'local_replies', name: 'localReplies', kind: 'counter', group: 'top', metric: 'sluice_lcore_local_replies_total', api: 'stats', help: 'ARP, neighbor advertisement and ICMP/ICMPv6 echo replies sent by the balancer itself' },
  { field: 'arp_learned', name: 'arpLearned', kind: 'counter', group: 'top', metric: '', api: 'none', help: 'ARP replies and IPv6 neighbor advertisements consumed for neighbor learning' },
  { field: 'tx_queued', name: 'tx_queued', kind: 'internal', group: 'top', metric: '', api: 'none', help: 'packets handed to a tx buffer, refused ones included' },
  { field: 'tx_queued_bytes', name: 'tx_queued_bytes', kind: 'internal', group: 'top', metric: '', api: 'none', help: 'bytes handed to a tx buffer, refused ones included' },
  { field: 'tx_unsent_bytes', name: 'tx_unsent_bytes', kind: 'internal', group: 'top', metric: '', api: 'none', help: 'bytes of the packets the tx queue refused' },
  { field: 'drops', name: 'drops', kind: 'drops', group: 'top', metric: 'sluice_lcore_drops_total', api: 'stats', help: 'packets dropped by a worker lcore, by reason' },
  { field: 'learn_queue_full', name: 'learnQueueFull', kind: 'counter', group: 'top', metric: '', api: 'none', help: 'neighbor messages the control thread never saw: its queue was full' },
  { field: 'flow_hits', name: 'hits', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_hits_total', api: 'stats', help: 'packets that found their flow' },
  { field: 'flow_misses', name: 'misses', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_misses_total', api: 'stats', help: 'packets that found no flow' },
  { field: 'flow_inserts', name: 'inserts', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_inserts_total', api: 'stats', help: 'flows added' },
  { field: 'flow_insert_failures', name: 'insertFailures', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_insert_failures_total', api: 'none', help: 'flows that found no room' },
  { field: 'flow_evictions', name: 'evictions', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_evictions_total', api: 'stats', help: 'flows pushed out by new ones' },
  { field: 'flow_expirations', name: 'expirations', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_expirations_total', api: 'stats', help: 'flows ended by idle timeout' },
  { field: 'flow_repicks', name: 'repicks', kind: 'counter', group: 'flows', metric: 'sluice_flow_table_repicks_total', api: 'none', help: 'flows moved because their backend went away' },
  { field: 'flow_active', name: 'active', kind: 'gauge', group: 'flows', metric: 'sluice_flow_table_active_flows', api: 'stats', help: 'flows in the lcore\'s flow table' },
  { field: 'flow_admission_refused', name: 'admissionRefused', kind: 'counter', group: 'flows', metric: 'sluice_flow_admissions_refused_total', api: 'none', help: 'new flows over the admission rate: forwarded, not remembered' },
  { field: 'flow_admission_protected', name: 'admissionProtected', kind: 'counter', group: 'flows', metric: 'sluice_flow_admissions_protected_total', api: 'none', help: 'refused new flows that would have evicted a live flow' },
  { field: 'iterations', name: 'iterations', kind: 'counter', group: 'loop', metric: '', api: 'none', help: 'worker loop iterations' },
  { field: 'busy_cycles', name: 'busyCycles', kind: 'counter', group: 'loop', metric: '', api: 'none', help: 'TSC cycles spent in iterations that received packets' },
  { field: 'idle_cycles', name: 'idleCycles', kind: 'counter', group: 'loop', metric: '', api: 'none', help: 'TSC cycles in empty iterations, sleeping included' },
  { field: 'receive_cycles', name: 'receive_cycles', kind: 'internal', group: 'loop', metric: '', api: 'none', help: 'busy cycles in receive calls that returned packets' },
  { field: 'process_cycles', name: 'process_cycles', kind: 'internal', group: 'loop', metric: '', api: 'none', help: 'busy cycles processing received packets up to the tx hand-off' },
  { field: 'icmp_frag_needed_sent', name: 'icmpFragNeededSent', kind: 'counter', group: 'icmp', metric: 'sluice_lcore_icmp_frag_needed_sent_total', api: 'stats', help: 'ICMP fragmentation-needed replies to packets too long to tunnel (also counted as mtu_exceeded drops)' },
  { field: 'icmp_errors_routed', name: 'icmpErrorsRouted', kind: 'counter', group: 'icmp', metric: 'sluice_lcore_icmp_errors_routed_total', api: 'stats', help: 'ICMP destination-unreachable messages to a VIP passed on to the backend owning the quoted flow' },
  { field: 'nat_sessions_created', name: 'sessionsCreated', kind: 'counter', group: 'nat', metric: 'sluice_nat_sessions_created_total', api: 'stats', help: 'nat sessions opened' },
  { field: 'nat_sessions_expired', name: 'sessionsExpired', kind: 'counter', group: 'nat', metric: 'sluice_nat_sessions_expired_total', api: 'stats', help: 'nat sessions closed by a timeout' },
  { field: 'nat_sessions_active', name: 'sessionsActive', kind: 'gauge', group: 'nat', metric: 'sluice_nat_sessions_active', api: 'stats', help: 'nat sessions the lcore holds, one pool address:port each' },
  { field: 'nat_handoff_sent', name: 'handoffsSent', kind: 'counter', group: 'nat', metric: 'sluice_nat_handoffs_sent_total', api: 'stats', help: 'nat replies passed to the lcore owning their pool port' },
  { field: 'nat_handoff_received', name: 'handoffsReceived', kind: 'counter', group: 'nat', metric: 'sluice_nat_handoffs_received_total', api: 'stats', help: 'nat replies other lcores passed here' },
  { field: 'icmp_packet_too_big_sent', name: 'icmpPacketTooBigSent', kind: 'counter', group: 'icmp', metric: 'sluice_lcore_icmp_packet_too_big_sent_total', api: 'none', help: 'ICMPv6 packet-too-big replies to IPv6 packets too long to tunnel (also counted as mtu_exceeded drops)' },
  { field: 'snapshot_generation', name: 'generation', kind: 'gauge', group: 'loop', metric: 'sluice_lcore_snapshot_generation', api: 'none', help: 'the configuration generation the lcore\'s latest loop iteration used' },
  { field: 'kernel_handed', name: 'kernelHanded', kind: 'counter', group: 'top', metric: 'sluice_lcore_kernel_handed_total', api: 'stats', help: 'frames for the node itself handed to a port\'s kernel interface' },
  { field: 'quic_lb_routed', name: 'quicLbRouted', kind: 'counter', group: 'top', metric: 'sluice_lcore_quic_lb_routed_total', api: 'stats', help: 'QUIC datagrams sent to the backend their connection ID names' },
  { field: 'quic_lb_unrouted', name: 'quicLbUnrouted', kind: 'counter', group: 'top', metric: 'sluice_lcore_quic_lb_unrouted_total', api: 'stats', help: 'QUIC-LB services\' datagrams whose connection ID names no usable backend, balanced by their 5-tuple' },
  { field: 'fragments_forwarded', name: 'fragmentsForwarded', kind: 'counter', group: 'top', metric: 'sluice_lcore_fragments_forwarded_total', api: 'stats', help: 'IP fragments sent to the backend of their datagram\'s first fragment' },
  { field: 'fragments_held', name: 'fragmentsHeld', kind: 'gauge', group: 'top', metric: 'sluice_lcore_fragments_held', api: 'stats', help: 'IP fragments waiting for their datagram\'s first fragment' },
] as const;

/** SLUICE_LCORE_DERIVED: per lcore, derived by the addon on read. */
export const LCORE_DERIVED = [
  { name: 'txPackets', kind: 'counter', group: 'top', metric: 'sluice_lcore_tx_packets_total', api: 'stats', help: 'packets transmitted by a worker lcore' },
  { name: 'txBytes', kind: 'counter', group: 'top', metric: 'sluice_lcore_tx_bytes_total', api: 'none', help: 'bytes transmitted by a worker lcore' },
  { name: 'capacity', kind: 'gauge', group: 'flows', metric: 'sluice_flow_table_capacity_flows', api: 'none', help: 'flows the lcore\'s flow table holds at most' },
  { name: 'memoryBytes', kind: 'gauge', group: 'flows', metric: 'sluice_flow_table_memory_bytes', api: 'none', help: 'memory the lcore\'s flow table reserves' },
  { name: 'sessionsCapacity', kind: 'gauge', group: 'nat', metric: 'sluice_nat_sessions_capacity', api: 'stats', help: 'nat pool address:port pairs the lcore owns' },
  { name: 'receiveSeconds', kind: 'counter', group: 'loop', metric: 'sluice_lcore_receive_seconds_total', api: 'none', help: 'time in receive calls that returned packets: the PMD\'s share of the lcore' },
  { name: 'processSeconds', kind: 'counter', group: 'loop', metric: 'sluice_lcore_process_seconds_total', api: 'none', help: 'time processing received packets up to the tx hand-off: Sluice\'s own share' },
  { name: 'busyRatio', kind: 'gauge', group: 'loop', metric: 'sluice_lcore_busy_ratio', api: 'none', help: 'share of cycles spent on packets rather than idle polling' },
] as const;

/** SLUICE_SERVICE_COUNTERS: per service, summed over lcores. */
export const SERVICE_COUNTERS = [
  { field: 'packets', name: 'packets', kind: 'counter', metric: 'sluice_service_packets_total', help: 'packets forwarded for the service' },
  { field: 'bytes', name: 'bytes', kind: 'counter', metric: 'sluice_service_bytes_total', help: 'bytes forwarded for the service' },
  { field: 'new_flows', name: 'newFlows', kind: 'counter', metric: 'sluice_service_new_flows_total', help: 'flows started on the service' },
  { field: 'active_flows', name: 'activeFlows', kind: 'gauge_i64', metric: 'sluice_service_active_flows', help: 'the service\'s flows in the flow tables now' },
] as const;

/** SLUICE_BACKEND_COUNTERS: per backend, summed over lcores. */
export const BACKEND_COUNTERS = [
  { field: 'packets', name: 'packets', kind: 'counter', metric: 'sluice_backend_packets_total', help: 'packets forwarded to the backend' },
  { field: 'bytes', name: 'bytes', kind: 'counter', metric: 'sluice_backend_bytes_total', help: 'bytes forwarded to the backend' },
  { field: 'new_flows', name: 'newFlows', kind: 'counter', metric: 'sluice_backend_new_flows_total', help: 'flows the backend was picked for' },
  { field: 'active_flows', name: 'activeFlows', kind: 'gauge_i64', metric: 'sluice_backend_active_flows', help: 'the backend\'s flows in the flow tables now' },
] as const;

/** The counters the addon reports for each worker lcore (stats().lcores[i]). */
export interface LcoreCounterValues {
  /** packets received by a worker lcore */
  rxPackets: number;
  /** bytes received by a worker lcore */
  rxBytes: number;
  /** packets forwarded to a backend */
  forwarded: number;
  /** ARP, neighbor advertisement and ICMP/ICMPv6 echo replies sent by the balancer itself */
  localReplies: number;
  /** ARP replies and IPv6 neighbor advertisements consumed for neighbor learning */
  arpLearned: number;
  /** packets dropped by a worker lcore, by reason */
  drops: Record<string, number>;
  /** neighbor messages the control thread never saw: its queue was full */
  learnQueueFull: number;
  /** worker loop iterations */
  iterations: number;
  /** TSC cycles spent in iterations that received packets */
  busyCycles: number;
  /** TSC cycles in empty iterations, sleeping included */
  idleCycles: number;
  /** ICMP fragmentation-needed replies to packets too long to tunnel (also counted as mtu_exceeded drops) */
  icmpFragNeededSent: number;
  /** ICMP destination-unreachable messages to a VIP passed on to the backend owning the quoted flow */
  icmpErrorsRouted: number;
  /** ICMPv6 packet-too-big replies to IPv6 packets too long to tunnel (also counted as mtu_exceeded drops) */
  icmpPacketTooBigSent: number;
  /** the configuration generation the lcore's latest loop iteration used */
  generation: number;
  /** frames for the node itself handed to a port's kernel interface */
  kernelHanded: number;
  /** QUIC datagrams sent to the backend their connection ID names */
  quicLbRouted: number;
  /** QUIC-LB services' datagrams whose connection ID names no usable backend, balanced by their 5-tuple */
  quicLbUnrouted: number;
  /** IP fragments sent to the backend of their datagram's first fragment */
  fragmentsForwarded: number;
  /** IP fragments waiting for their datagram's first fragment */
  fragmentsHeld: number;
  /** packets transmitted by a worker lcore */
  txPackets: number;
  /** bytes transmitted by a worker lcore */
  txBytes: number;
  /** time in receive calls that returned packets: the PMD's share of the lcore */
  receiveSeconds: number;
  /** time processing received packets up to the tx hand-off: Sluice's own share */
  processSeconds: number;
  /** share of cycles spent on packets rather than idle polling */
  busyRatio: number;
  flows: {
    /** packets that found their flow */
    hits: number;
    /** packets that found no flow */
    misses: number;
    /** flows added */
    inserts: number;
    /** flows that found no room */
    insertFailures: number;
    /** flows pushed out by new ones */
    evictions: number;
    /** flows ended by idle timeout */
    expirations: number;
    /** flows moved because their backend went away */
    repicks: number;
    /** flows in the lcore's flow table */
    active: number;
    /** new flows over the admission rate: forwarded, not remembered */
    admissionRefused: number;
    /** refused new flows that would have evicted a live flow */
    admissionProtected: number;
    /** flows the lcore's flow table holds at most */
    capacity: number;
    /** memory the lcore's flow table reserves */
    memoryBytes: number;
  };
  nat: {
    /** nat sessions opened */
    sessionsCreated: number;
    /** nat sessions closed by a timeout */
    sessionsExpired: number;
    /** nat sessions the lcore holds, one pool address:port each */
    sessionsActive: number;
    /** nat replies passed to the lcore owning their pool port */
    handoffsSent: number;
    /** nat replies other lcores passed here */
    handoffsReceived: number;
    /** nat pool address:port pairs the lcore owns */
    sessionsCapacity: number;
  };
}

/** The counters the addon reports for each service (stats().services[i]). */
export interface ServiceCounterValues {
  /** packets forwarded for the service */
  packets: number;
  /** bytes forwarded for the service */
  bytes: number;
  /** flows started on the service */
  newFlows: number;
  /** the service's flows in the flow tables now */
  activeFlows: number;
}

/** The counters the addon reports for each backend (stats().services[i].backends[j]). */
export interface BackendCounterValues {
  /** packets forwarded to the backend */
  packets: number;
  /** bytes forwarded to the backend */
  bytes: number;
  /** flows the backend was picked for */
  newFlows: number;
  /** the backend's flows in the flow tables now */
  activeFlows: number;
}
