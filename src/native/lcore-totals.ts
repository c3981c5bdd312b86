// The workers' counters summed over lcores: what tests, the benchmark and
// anything else that waits on or rates the whole data plane read. Every number of
// native/common/lcore_counters.h's lists is here by its name, the flows and nat
// ones beside the others, summed unless COMBINE says otherwise.
import type { DataplaneStats } from './addon';
import { LCORE_VALUES, lcoreValue, type LcoreCounterValues, type LcoreValue } from './counters';

/** Every flow-table figure, summed: hits, inserts, active, capacity, memoryBytes, ... */
export type FlowTotals = LcoreCounterValues['flows'];
/** Every nat figure, summed: sessionsActive, sessionsCreated, handoffsSent, ... */
export type NatTotals = LcoreCounterValues['nat'];

export interface LcoreTotals extends Omit<LcoreCounterValues, 'flows' | 'nat' | 'drops'>, FlowTotals, NatTotals {
  /** rxPackets, summed */
  rx: number;
  /** txPackets, summed */
  tx: number;
  /** the slowest worker's loop count: every worker has run at least this many iterations */
  iterations: number;
  /** the least: every worker runs this configuration generation or a later one */
  generation: number;
  /** mean over workers */
  busyRatio: number;
  drops: Record<string, number>;
  /** all drops, every reason */
  dropped: number;
}

const sum = (values: number[]) => values.reduce((a, v) => a + v, 0);

/** The values not summed over lcores, by name (so renaming one in the header breaks the build here). */
const COMBINE: Partial<Record<LcoreValue['name'], (values: number[]) => number>> = {
  iterations: (values) => Math.min(...values),
  generation: (values) => Math.min(...values),
  busyRatio: (values) => sum(values) / Math.max(1, values.length),
};

export function lcoreTotals(s: Pick<DataplaneStats, 'lcores'>): LcoreTotals {
  const values: Record<string, number> = {};
  for (const e of LCORE_VALUES) values[e.name] = (COMBINE[e.name] ?? sum)(s.lcores.map((l) => lcoreValue(l, e)));
  const drops: Record<string, number> = {};
  for (const l of s.lcores) for (const [k, v] of Object.entries(l.drops)) drops[k] = (drops[k] ?? 0) + v;
  const totals = values as unknown as Omit<LcoreTotals, 'rx' | 'tx' | 'drops' | 'dropped'>;
  return { ...totals, rx: totals.rxPackets, tx: totals.txPackets, drops, dropped: sum(Object.values(drops)) };
}
