// The memory budget: what the data plane allocates for a config, by kind,
// computed from the config alone, and the rule that it fits the config's
// `limits`. This is the one implementation of the rule; the addon is told the
// limits (toNativeStart) and only refuses to allocate beyond them. The sizes
// mirror the native allocations named below; test/api/node.test.ts checks them
// against what a running data plane reports.
//
// Lookup tables are built on the control thread, one per service, and rebuilt
// when a change touches the service; the table replaced stays alive until every
// worker has let go of the snapshot that held it (RCU). One change touches one
// service, so the budget holds the services' tables and one more of the
// largest: the copy in flight (the data plane waits for retired snapshots
// before it would go beyond that).
import type { ConfigProblem } from '../errors';
import { parseLcores } from './lcores';
import { natPoolAddresses, natPoolAddresses6 } from './nat-pool';
import type { LimitsConfig, ServiceConfig, SluiceConfig } from './schema';

export const MIB = 1048576;

/** A lookup table: a backend id (uint32) a slot (LookupTableCache, native/control/snapshot_build.cc). */
export function lookupTableBytes(slots: number): number {
  return 4 * slots;
}

/**
 * FlowTable::MemoryBytes (native/tables/flow_table.cc): a 128-byte header,
 * one-line (64-byte) buckets of 4 flows (70% slack), and beside them each
 * slot's opening time (4 bytes) and service id (2 bytes), each array rounded
 * up to a cache line: about 37.4 bytes per flow of capacity.
 */
export function flowTableBytes(entries: number): number {
  const slots = Math.floor((entries * 170) / 100);
  const buckets = Math.max(2, Math.ceil(slots / 4));
  const side = (bytes: number) => Math.ceil((buckets * 4 * bytes) / 64) * 64;
  return 128 + buckets * 64 + side(4) + side(2);
}

/**
 * FragmentTable::MemoryBytes (native/tables/fragment_table.cc): the table's
 * header (72 bytes, rounded up to a cache line), its entries (128 bytes each, the configured
 * count rounded up to a power of two, at least 8) and as many 24-byte slots
 * for held fragments, rounded up to a cache line.
 */
export function fragmentTableBytes(entries: number): number {
  const n = Math.max(8, pow2(entries));
  return 128 + 128 * n + Math.ceil((24 * n) / 64) * 64;
}

/** Ipv6FlowCapacity (native/control/dataplane_ipv6.h): a quarter of the IPv4 entries, at least 1024. */
export function ipv6FlowEntries(entries: number): number {
  return Math.max(1024, Math.floor(entries / 4));
}

/** rte_align32pow2 */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * FlowTable6::MemoryBytes (native/tables/flow_table6.h, the code of flow_table.cc):
 * a 128-byte header, two-line (128-byte) buckets of 3 flows (60% slack), and
 * beside them each slot's opening time (4 bytes) and service id (2 bytes),
 * each array rounded up to a cache line: about 78 bytes per flow of capacity.
 */
export function flowTable6Bytes(entries: number): number {
  const slots = Math.floor((entries * 160) / 100);
  const buckets = Math.max(2, Math.ceil(slots / 3));
  const side = (bytes: number) => Math.ceil((buckets * 3 * bytes) / 64) * 64;
  return 128 + buckets * 128 + side(4) + side(2);
}

/**
 * NatSessionTable::MemoryBytes (native/modes/nat/nat_sessions.cc): the 584-byte
 * table, a session (52 bytes IPv4, 100 IPv6) and a free-list slot each, and
 * 64-byte index buckets of 6.
 */
export function natSessionBytes(sessions: number, family: 4 | 6): number {
  const session = family === 4 ? 52 : 100;
  return 584 + (session + 4) * Math.max(sessions, 1) + 64 * Math.max(1, Math.floor((sessions + 5) / 6));
}

/**
 * The sessions worker `worker` of `workers` gets on one pool of `addresses`
 * addresses (NatPoolLayout::PairsOf, native/modes/nat/nat_pool.cc): the pool
 * ports p with p % workers == worker, on every address, at most `max` of them.
 */
function poolSessions(worker: number, workers: number, [low, high]: [number, number], addresses: number,
  max: number): number {
  const first = low + ((worker + workers - (low % workers)) % workers);
  const count = addresses === 0 || first > high ? 0 : Math.floor((high - first) / workers) + 1;
  return Math.min(count * addresses, max);
}

/** One worker lcore's tables: as estimated here, and as the addon reports them (DataplaneMemory). */
export interface LcoreMemory {
  lcore: number;
  flowTableBytes: number;
  flowTable6Bytes: number;
  /** 0 with fragments off; counted with the flow tables (limits.flowTablesMb) */
  fragmentTableBytes: number;
  natSessionBytes: number;
  natSession6Bytes: number;
}

export interface MemoryEstimate {
  lookupTables: {
    /** the services' tables */
    bytes: number;
    /** the largest table, kept free for its rebuild during a change */
    reserveBytes: number;
    /** the service whose table is the largest */
    largest?: { name: string; slots: number };
  };
  /** per worker lcore, in eal.lcores order (the order the data plane numbers its workers) */
  lcores: LcoreMemory[];
  flowTablesBytes: number;
  natSessionsBytes: number;
}

/** The lookup tables of `services`: their bytes and the reserve for a rebuild. */
export function lookupBudget(services: readonly Pick<ServiceConfig, 'name' | 'lookupTableSize'>[]):
  MemoryEstimate['lookupTables'] {
  let bytes = 0;
  let largest: { name: string; slots: number } | undefined;
  for (const s of services) {
    bytes += lookupTableBytes(s.lookupTableSize);
    if (largest === undefined || s.lookupTableSize > largest.slots) largest = { name: s.name, slots: s.lookupTableSize };
  }
  return { bytes, reserveBytes: largest === undefined ? 0 : lookupTableBytes(largest.slots), largest };
}

// Pool sizes by the entries' array: a change of services validates the same
// ports again (validateServices keeps them), and expanding a pool of 4,096
// addresses took milliseconds of each change.
const poolSizes = new WeakMap<readonly string[], number>();
function poolSize(entries: readonly string[], expand: (e: readonly string[]) => string[]): number {
  let n = poolSizes.get(entries);
  if (n === undefined) {
    n = expand(entries).length;
    poolSizes.set(entries, n);
  }
  return n;
}

/** `cfg` must have passed the schema and the rules between fields. */
export function estimateMemory(cfg: SluiceConfig): MemoryEstimate {
  const workerLcores = parseLcores(cfg.eal.lcores).slice(1);
  const entries = cfg.flowTable.entriesPerLcore;
  const v4 = flowTableBytes(entries);
  const v6 = cfg.ports.some((p) => p.address6 !== undefined) ? flowTable6Bytes(ipv6FlowEntries(entries)) : 0;
  const fragments = cfg.fragments.enabled ? fragmentTableBytes(cfg.fragments.entriesPerLcore) : 0;
  const pools = cfg.ports.flatMap((p) => (p.natPool === undefined ? [] : [{
    range: p.natPool.portRange,
    addresses: poolSize(p.natPool.addresses, natPoolAddresses),
    addresses6: p.natPool.addresses6 === undefined ? 0 : poolSize(p.natPool.addresses6, natPoolAddresses6),
  }]));
  const lcores = workerLcores.map((lcore, worker): LcoreMemory => {
    const sessions = (family: 4 | 6) => pools.reduce((sum, pool) => sum +
      poolSessions(worker, workerLcores.length, pool.range, family === 4 ? pool.addresses : pool.addresses6, entries), 0);
    return {
      lcore,
      flowTableBytes: v4,
      flowTable6Bytes: v6,
      fragmentTableBytes: fragments,
      natSessionBytes: pools.length === 0 ? 0 : natSessionBytes(sessions(4), 4),
      natSession6Bytes: pools.length === 0 ? 0 : natSessionBytes(sessions(6), 6),
    };
  });
  const sum = (f: (l: LcoreMemory) => number) => lcores.reduce((total, l) => total + f(l), 0);
  return {
    lookupTables: lookupBudget(cfg.services),
    lcores,
    flowTablesBytes: sum((l) => l.flowTableBytes + l.flowTable6Bytes + l.fragmentTableBytes),
    natSessionsBytes: sum((l) => l.natSessionBytes + l.natSession6Bytes),
  };
}

/** Rounded up, so a need just over a limit never reads as equal to it. */
function mib(bytes: number): string {
  return `${(Math.ceil((bytes / MIB) * 100) / 100).toFixed(2)} MiB`;
}

/** The memory budget: every kind within its limit. `cfg` must have passed the other rules. */
export function memoryProblems(cfg: SluiceConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const e = estimateMemory(cfg);
  const over = (field: keyof LimitsConfig, need: number, what: string) => {
    const limit = cfg.limits[field];
    if (need > limit * MIB) {
      problems.push({ path: `limits.${field}`, reason: `${what} need ${mib(need)}, more than the limit of ${limit} MiB` });
    }
  };
  const { bytes, reserveBytes, largest } = e.lookupTables;
  if (largest !== undefined) {
    over('lookupTablesMb', bytes + reserveBytes, `the lookup tables (4 bytes a slot: ${cfg.services.length} ` +
      `service${cfg.services.length === 1 ? '' : 's'} ${mib(bytes)}, and ${mib(reserveBytes)} to rebuild the largest, ` +
      `"${largest.name}" of ${largest.slots} slots, during a change)`);
  }
  const workers = e.lcores.length;
  const perLcore = e.lcores[0]?.flowTableBytes ?? 0;
  const perLcore6 = e.lcores[0]?.flowTable6Bytes ?? 0;
  const perLcoreFragments = e.lcores[0]?.fragmentTableBytes ?? 0;
  over('flowTablesMb', e.flowTablesBytes, `the flow tables (${workers} worker lcore${workers === 1 ? '' : 's'} × ` +
    `${mib(perLcore)} for flowTable.entriesPerLcore ${cfg.flowTable.entriesPerLcore}` +
    (perLcore6 === 0 ? '' : `, and ${mib(perLcore6)} for IPv6`) +
    (perLcoreFragments === 0 ? '' : `, and ${mib(perLcoreFragments)} for fragments.entriesPerLcore ` +
      `${cfg.fragments.entriesPerLcore}`) + ')');
  over('natSessionsMb', e.natSessionsBytes, `the nat session tables (${workers} worker lcore${workers === 1 ? '' : 's'}, ` +
    `each up to flowTable.entriesPerLcore sessions per pool and family)`);
  return problems;
}

/** The limits as the addon takes them, in bytes. */
export function nativeLimits(limits: LimitsConfig): { lookupTableBytes: number; flowTableBytes: number; natSessionBytes: number } {
  return {
    lookupTableBytes: limits.lookupTablesMb * MIB,
    flowTableBytes: limits.flowTablesMb * MIB,
    natSessionBytes: limits.natSessionsMb * MIB,
  };
}
