// The typed face of the native addon (build/Release/sluice.node). Everything the
// addon exports is declared here; nothing else in src/ touches `bindings`.
import bindings from 'bindings';
import path from 'node:path';
import type { NativeService, NativeStartConfig } from './types';

export type DropReason = string;

export interface LcoreStats {
  lcore: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  forwarded: number;
  localReplies: number;
  arpLearned: number;
  learnQueueFull: number;
  /** ICMP fragmentation-needed replies sent: a subset of drops.mtu_exceeded */
  icmpFragNeededSent: number;
  /** ICMP destination-unreachable messages to a VIP passed on to the backend owning the quoted flow: a subset of forwarded */
  icmpErrorsRouted: number;
  /** ICMPv6 packet-too-big replies sent: a subset of drops.mtu_exceeded */
  icmpPacketTooBigSent: number;
  drops: Record<DropReason, number>;
  flows: {
    active: number;
    capacity: number;
    /** what the table reserves, all of it allocated at start */
    memoryBytes: number;
    hits: number;
    misses: number;
    inserts: number;
    insertFailures: number;
    evictions: number;
    expirations: number;
    repicks: number;
    admissionRefused: number;
    admissionProtected: number;
  };
  /** forwarding nat (native/nat_forward.h); all 0 when no port has a nat pool */
  nat: {
    sessionsActive: number;
    /** pool address:port pairs this lcore owns and may use, one per session */
    sessionsCapacity: number;
    sessionsCreated: number;
    /** closed by their idle, closing or opening timeout */
    sessionsExpired: number;
    /** replies to another lcore's pool port, passed to that lcore */
    handoffsSent: number;
    /** replies other lcores passed here */
    handoffsReceived: number;
  };
  iterations: number;
  busyCycles: number;
  idleCycles: number;
  busyRatio: number;
  /**
   * Busy time split by what the lcore waited on, in seconds since start:
   * receive calls that returned packets (the PMD's work), and processing what
   * they returned up to the tx hand-off (Sluice's own). The rest of the busy
   * time is tx flushes and housekeeping.
   */
  receiveSeconds: number;
  processSeconds: number;
}

export interface PortStats {
  name: string;
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxMissed: number;
  rxErrors: number;
  txErrors: number;
  rxNoMbuf: number;
  xstats: Record<string, number>;
}

export interface BackendStats {
  id: number;
  address: string;
  port: number;
  packets: number;
  bytes: number;
  newFlows: number;
}

export interface ServiceStats {
  id: number;
  name: string;
  packets: number;
  bytes: number;
  newFlows: number;
  activeFlows: number;
  backends: BackendStats[];
}

export interface MempoolStats {
  name: string;
  socket: number;
  size: number;
  /** held by rx/tx queues, rings and packets in flight; per-lcore caches count as free */
  inUse: number;
  /** free, but in a per-lcore cache: only that lcore allocates them */
  cached: number;
}

export interface DataplaneStats {
  lcores: LcoreStats[];
  ports: PortStats[];
  services: ServiceStats[];
  /** one mbuf pool per NUMA socket */
  mempools: MempoolStats[];
  /** configuration generation the workers see */
  generation: number;
  /** snapshots waiting for their RCU grace period */
  retiredSnapshots: number;
}

export interface PortInfo {
  name: string;
  portId: number;
  driver: string;
  socket: number;
  mac: string;
  rxQueues: number;
  txQueues: number;
  mtu: number;
  link: { up: boolean; speedMbps: number; fullDuplex: boolean };
  /** comma-separated RSS hash types */
  rss: { requested: string; offered: string; missing: string };
  rxIpChecksumOffload: boolean;
  /** ports with a nat pool: how replies reach the lcore owning their pool port */
  natSteering?: 'rte_flow' | 'software';
  /** with natSteering "software": why the NIC does not steer */
  natSteeringReason?: string;
  warnings: string[];
}

export interface NeighborInfo {
  address: string;
  port: string;
  resolved: boolean;
  /** a backend or gateway needs it */
  wanted: boolean;
  mac?: string;
  ageSec: number;
  requestsSent: number;
}

export interface SluiceAddon {
  /**
   * Initialises the EAL (once per process), starts ports and worker lcores.
   * `services` are in force before the first packet arrives.
   */
  start(config: NativeStartConfig, services?: NativeService[]): void;
  /** Stops the lcores, drains tx, closes ports, cleans up the EAL. Idempotent. */
  stop(): void;
  /** Replaces the whole service set atomically; throws and changes nothing when invalid. */
  setServices(services: NativeService[]): { generation: number; tablesBuilt: number };
  /** Control housekeeping: neighbor learning, ARP requests, RCU reclamation. */
  poll(): void;
  stats(): DataplaneStats;
  ports(): PortInfo[];
  neighbors(): NeighborInfo[];
  /**
   * "ring" ports only: queue frames for rx queue `queue`; returns how many were
   * taken (fewer when the mempool or the rx ring is full). With `segmentBytes`
   * each frame becomes a chain of mbufs of at most that many bytes each.
   */
  inject(port: string, frames: Buffer[], queue?: number, segmentBytes?: number): number;
  /** "ring" ports only: frames the workers transmitted, oldest first per tx queue. */
  capture(port: string, max?: number): Buffer[];
  /**
   * The lookup table the data path builds for these backends (`'rendezvous'`,
   * the default), or the classic Maglev table (`'maglev'`), for comparison.
   */
  maglevTable(backends: { key: string; weight: number }[], size: number,
    algorithm?: 'rendezvous' | 'maglev'): Uint32Array;
  dropReasons(): DropReason[];
}

let loaded: SluiceAddon | undefined;

/**
 * SLUICE_ADDON_PATH loads another build of the same addon instead, e.g. the
 * ASan+UBSan one from scripts/build-asan-addon.sh (test/sanitizers.test.ts).
 */
export function addon(): SluiceAddon {
  const override = process.env.SLUICE_ADDON_PATH;
  loaded ??= (override ? require(path.resolve(override)) : bindings('sluice')) as SluiceAddon;
  return loaded;
}
