// The workers' counters summed over lcores: what tests, the benchmark and
// anything else that waits on or rates the whole data plane read.
import type { DataplaneStats } from './addon';

export interface LcoreTotals {
  rx: number;
  tx: number;
  forwarded: number;
  localReplies: number;
  icmpFragNeededSent: number;
  /** the slowest worker's loop count: every worker has run at least this many iterations */
  iterations: number;
  hits: number;
  misses: number;
  inserts: number;
  insertFailures: number;
  evictions: number;
  expirations: number;
  repicks: number;
  admissionRefused: number;
  admissionProtected: number;
  active: number;
  flowMemoryBytes: number;
  /** mean over workers */
  busyRatio: number;
  drops: Record<string, number>;
  /** all drops, every reason */
  dropped: number;
}

export function lcoreTotals(s: DataplaneStats): LcoreTotals {
  const sum = (f: (l: DataplaneStats['lcores'][number]) => number) => s.lcores.reduce((a, l) => a + f(l), 0);
  const drops: Record<string, number> = {};
  for (const l of s.lcores) for (const [k, v] of Object.entries(l.drops)) drops[k] = (drops[k] ?? 0) + v;
  return {
    rx: sum((l) => l.rxPackets),
    tx: sum((l) => l.txPackets),
    forwarded: sum((l) => l.forwarded),
    localReplies: sum((l) => l.localReplies),
    icmpFragNeededSent: sum((l) => l.icmpFragNeededSent),
    iterations: Math.min(...s.lcores.map((l) => l.iterations)),
    hits: sum((l) => l.flows.hits),
    misses: sum((l) => l.flows.misses),
    inserts: sum((l) => l.flows.inserts),
    insertFailures: sum((l) => l.flows.insertFailures),
    evictions: sum((l) => l.flows.evictions),
    expirations: sum((l) => l.flows.expirations),
    repicks: sum((l) => l.flows.repicks),
    admissionRefused: sum((l) => l.flows.admissionRefused),
    admissionProtected: sum((l) => l.flows.admissionProtected),
    active: sum((l) => l.flows.active),
    flowMemoryBytes: sum((l) => l.flows.memoryBytes),
    busyRatio: sum((l) => l.busyRatio) / Math.max(1, s.lcores.length),
    drops,
    dropped: Object.values(drops).reduce((a, v) => a + v, 0),
  };
}
