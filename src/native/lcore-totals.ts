// The workers' counters summed over lcores: what tests, the benchmark and
// anything else that waits on or rates the whole data plane read.
import type { DataplaneStats } from './addon';

type LcoreStats = DataplaneStats['lcores'][number];
/** Every flow-table figure, summed: hits, inserts, active, capacity, memoryBytes, ... */
export type FlowTotals = LcoreStats['flows'];

export interface LcoreTotals extends FlowTotals {
  rx: number;
  tx: number;
  forwarded: number;
  localReplies: number;
  icmpFragNeededSent: number;
  icmpErrorsRouted: number;
  icmpPacketTooBigSent: number;
  /** the slowest worker's loop count: every worker has run at least this many iterations */
  iterations: number;
  /** mean over workers */
  busyRatio: number;
  /** busy time in receive calls that returned packets, and processing them (seconds, summed) */
  receiveSeconds: number;
  processSeconds: number;
  drops: Record<string, number>;
  /** all drops, every reason */
  dropped: number;
}

export function lcoreTotals(s: DataplaneStats): LcoreTotals {
  const sum = (f: (l: LcoreStats) => number) => s.lcores.reduce((a, l) => a + f(l), 0);
  const drops: Record<string, number> = {};
  for (const l of s.lcores) for (const [k, v] of Object.entries(l.drops)) drops[k] = (drops[k] ?? 0) + v;
  const flows = {} as FlowTotals;
  for (const key of Object.keys(s.lcores[0]?.flows ?? {}) as (keyof FlowTotals)[]) flows[key] = sum((l) => l.flows[key]);
  return {
    ...flows,
    rx: sum((l) => l.rxPackets),
    tx: sum((l) => l.txPackets),
    forwarded: sum((l) => l.forwarded),
    localReplies: sum((l) => l.localReplies),
    icmpFragNeededSent: sum((l) => l.icmpFragNeededSent),
    icmpErrorsRouted: sum((l) => l.icmpErrorsRouted),
    icmpPacketTooBigSent: sum((l) => l.icmpPacketTooBigSent),
    iterations: Math.min(...s.lcores.map((l) => l.iterations)),
    busyRatio: sum((l) => l.busyRatio) / Math.max(1, s.lcores.length),
    receiveSeconds: sum((l) => l.receiveSeconds),
    processSeconds: sum((l) => l.processSeconds),
    drops,
    dropped: Object.values(drops).reduce((a, v) => a + v, 0),
  };
}
