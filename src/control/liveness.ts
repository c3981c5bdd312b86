// Whether every worker lcore still runs its loop. Each lcore advances its
// `iterations` counter once per loop iteration, even idle (it sleeps at most
// dataplane.idleSleepMaxUs between polls), so a counter that stands still for
// longer than STUCK_AFTER_MS is an lcore that no longer forwards: stuck in a
// driver call, descheduled, or stopped. Read from the lcores' own counters on
// a timer, never by asking the lcores anything.
import type { LcoreStats } from '../native/addon';
import { PeriodicSampler } from './periodic';

export interface LivenessView {
  /** worker lcores seen, and those whose loop stood still past STUCK_AFTER_MS, with for how long */
  lcores(): { total: number; stuck: { lcore: number; stillForMs: number }[] };
}

/** For when nothing watches: no lcore is known, none stuck. */
export const NO_LIVENESS: LivenessView = { lcores: () => ({ total: 0, stuck: [] }) };

export interface LivenessSources {
  /** the worker lcores' counters; throws while the data plane does not run */
  lcores(): readonly LcoreStats[];
}

/** A loop iteration takes microseconds and an idle one sleeps at most milliseconds: a second still is stuck. */
export const STUCK_AFTER_MS = 1000;
export const LIVENESS_SAMPLE_MS = 200;

interface Seen {
  iterations: number;
  /** when the counter last moved (or was first seen) */
  movedAt: number;
}

export class LcoreLiveness extends PeriodicSampler implements LivenessView {
  private seen = new Map<number, Seen>();
  private lastLook = 0;

  /** `clock` gives milliseconds from any fixed origin: only differences are used. */
  constructor(private readonly sources: LivenessSources, intervalMs = LIVENESS_SAMPLE_MS,
              private readonly clock: () => number = () => performance.now()) {
    super(intervalMs);
  }

  /** One look at every lcore's counter. */
  sample(): void {
    const now = this.clock();
    let lcores: readonly LcoreStats[];
    try {
      lcores = this.sources.lcores();
    } catch {
      // Not running: nothing is known, nothing is stuck.
      this.seen = new Map();
      return;
    }
    const next = new Map<number, Seen>();
    for (const l of lcores) {
      const before = this.seen.get(l.lcore);
      next.set(l.lcore, before !== undefined && before.iterations === l.iterations ? before : { iterations: l.iterations, movedAt: now });
    }
    this.seen = next;
    this.lastLook = now;
  }

  /**
   * As of the last look. Stillness is judged between looks: when the event
   * loop itself was held up, the next look finds the counters moved, so a late
   * timer does not make the lcores look stuck.
   */
  lcores(): { total: number; stuck: { lcore: number; stillForMs: number }[] } {
    const stuck = [...this.seen].filter(([, s]) => this.lastLook - s.movedAt > STUCK_AFTER_MS)
      .map(([lcore, s]) => ({ lcore, stillForMs: Math.round(this.lastLook - s.movedAt) }));
    return { total: this.seen.size, stuck };
  }
}
