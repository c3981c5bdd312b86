// The typed face of the native addon (build/Release/sluice.node). Everything the
// addon exports is declared here; nothing else in src/ touches `bindings`.
import bindings from 'bindings';
import path from 'node:path';
import type { LcoreMemory } from '../config/memory';
import type { NativeLimits, NativeService, NativeServiceChange, NativeStartConfig } from './types';
import {
  catalogueDifferences,
  type BackendCounterValues,
  type CounterCatalogue,
  type LcoreCounterValues,
  type ServiceCounterValues,
} from './counters';

export type DropReason = string;

/**
 * One worker lcore's counters: every one of native/common/lcore_counters.h's
 * lists (counters.generated.ts). The nat ones are all 0 when no port has a nat
 * pool; drops is keyed by drop reason.
 */
export interface LcoreStats extends LcoreCounterValues {
  lcore: number;
  drops: Record<DropReason, number>;
}

/** One line of DPDK's log: `level` 1 (emergency) to 8 (debug), `type` DPDK's logtype number. */
export interface DpdkLogLine {
  level: number;
  type: number;
  message: string;
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
  /** ports with a kernel interface */
  kernelInterface?: KernelInterfaceStats;
}

export interface KernelInterfaceStats {
  name: string;
  toKernel: number;
  toKernelDropped: number;
  fromKernel: number;
  fromKernelDropped: number;
}

export interface BackendStats extends BackendCounterValues {
  id: number;
  address: string;
  port: number;
}

export interface ServiceStats extends ServiceCounterValues {
  id: number;
  name: string;
  backends: BackendStats[];
}

/**
 * Services' and backends' counters as the addon hands them over: one array per
 * kind of number, services in order and their backends one after another, so a
 * read of thousands crosses N-API a few times instead of once per property.
 * unpackServices (src/native/service-stats.ts) makes ServiceStats of them.
 */
export interface PackedServiceStats {
  /** per service */
  ids: Uint32Array;
  names: string[];
  /** SERVICE_COUNTERS.length numbers a service, in that list's order */
  counters: Float64Array;
  /** how many of the backends below belong to each service, in the services' order */
  backendCounts: Uint32Array;
  /** per backend */
  backendIds: Uint32Array;
  /** as FormatIp writes them, comma-separated: one string crosses N-API instead of one a backend */
  addresses: string;
  ports: Uint16Array;
  /** BACKEND_COUNTERS.length numbers a backend, in that list's order */
  backendCounters: Float64Array;
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

/** What the addon's stats() returns: DataplaneStats with the services packed. */
export type NativeStats = Omit<DataplaneStats, 'services'> & { services: PackedServiceStats };

/** What the data plane allocated, by kind, in bytes, and the limits it was given. */
export interface DataplaneMemory {
  /** bytes: the published snapshot's tables (4 a slot); liveBytes: every table alive, retired snapshots' included */
  lookupTables: { tables: number; bytes: number; liveBytes: number };
  /**
   * per worker lcore: flow tables (IPv6 0 without an address6 port), the fragment table, nat sessions (0 without
   * a nat pool); in the shape the memory budget estimates (src/config/memory.ts)
   */
  lcores: LcoreMemory[];
  /** one mbuf pool per NUMA socket: its memory chunks (mbufs, headers, data rooms) */
  mempools: { name: string; socket: number; mbufs: number; bytes: number }[];
  limits: NativeLimits;
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

/** One connection from a worker lcore's tables (askFlows / collectFlows). */
export interface FlowInfo {
  lcore: number;
  protocol: 'tcp' | 'udp';
  clientAddress: string;
  clientPort: number;
  vip: string;
  vipPort: number;
  /** absent: the service was removed since the flow was last seen */
  service?: string;
  /** absent: the backend was removed; the flow's next packet picks another */
  backendAddress?: string;
  backendPort?: number;
  /** nat services: the pool address and port the backend sees as the client */
  poolAddress?: string;
  poolPort?: number;
  /** opening: a nat session whose backend has not answered the SYN yet; closing: FIN or RST seen */
  state: 'open' | 'opening' | 'closing';
  ageMs: number;
  idleMs: number;
}

export interface FlowListRequest {
  service?: string;
  /** with backendPort and service: one backend's flows; the address as the addon writes it */
  backendAddress?: string;
  backendPort?: number;
  client?: string;
  limit: number;
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
  /**
   * Every service that is to run; an entry that is a number is the service of
   * that id exactly as it runs now (so a change sends only what it touches),
   * and so is a backend entry that is a number (NativeServiceChange).
   */
  setServices(services: (NativeServiceChange | number)[]): { generation: number; tablesBuilt: number };
  /**
   * Builds on a worker thread the lookup tables these changed services (as
   * setServices takes them) will need, for the next setServices to find made;
   * resolves to how many were built. Changes nothing that runs. Throws, as
   * setServices does, for services it cannot convert.
   */
  prebuildTables(services: NativeServiceChange[]): Promise<number>;
  /** Control housekeeping: neighbor learning, ARP requests, RCU reclamation. */
  poll(): void;
  stats(): NativeStats;
  /** stats().lcores alone, without packing every service's and backend's counters. */
  lcores(): LcoreStats[];
  /**
   * One service of stats().services, packed alone; undefined when there is none
   * of that name. With `address` (as the addon writes it) and `port`, only that
   * backend's counters among its backends.
   */
  serviceStats(name: string, address?: string, port?: number): PackedServiceStats | undefined;
  /**
   * Asks every worker lcore for its connections that match; they answer
   * between bursts. Throws SLUICE_LCORE_TIMEOUT while an earlier listing is
   * still unanswered.
   */
  askFlows(request: FlowListRequest): void;
  /** The listing asked for, once every lcore answered (null before), at most `limit` rows. */
  collectFlows(): { flows: FlowInfo[]; truncated: boolean } | null;
  /** A test hook: worker lcore `lcore` stops for `ms` (1 to 10,000) between two loop iterations, as a stuck one would. */
  stallLcore(lcore: number, ms: number): void;
  /** What the data plane allocated, by kind (GET /api/v1/node). */
  memory(): DataplaneMemory;
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
  lookupTable(backends: { key: string; weight: number }[], size: number,
    algorithm?: 'rendezvous' | 'maglev'): Uint32Array;
  dropReasons(): DropReason[];
  /** Points DPDK's log at a capture (call before start to see the EAL's lines too); idempotent. */
  captureLogs(): void;
  /** The DPDK log lines captured since the last call, oldest first; `dropped` lost to the capture's bound. */
  drainLogs(): { lines: DpdkLogLine[]; dropped: number };
  /**
   * The counter lists the addon was compiled with (native/common/lcore_counters.h),
   * as written there, and the objects stats() (through unpackServices for the
   * services and backends) makes of them for one lcore, service and backend,
   * every counter 0 (works without start()).
   */
  readonly counters: CounterCatalogue & {
    readonly examples: { lcore: LcoreStats; service: ServiceCounterValues; backend: BackendCounterValues };
  };
}

let loaded: SluiceAddon | undefined;

/**
 * SLUICE_ADDON_PATH loads another build of the same addon instead, e.g. the
 * ASan+UBSan one from scripts/build-asan-addon.sh (test/system/sanitizers.test.ts).
 */
export function addon(): SluiceAddon {
  const override = process.env.SLUICE_ADDON_PATH;
  if (loaded === undefined) {
    const candidate = (override ? require(path.resolve(override)) : bindings('sluice')) as SluiceAddon;
    // The types above, the totals, the REST schemas and the metrics follow the
    // lists TypeScript was compiled with; an addon built from other lists would
    // report counters they do not know, or miss some they read.
    const differences = catalogueDifferences(candidate.counters);
    if (differences.length > 0) {
      throw new Error('the addon was built from other counter lists than src/native/counters.generated.ts '
        + `(rebuild both: npm run build): ${differences.slice(0, 3).join('; ')}`);
    }
    loaded = candidate;
  }
  return loaded;
}
