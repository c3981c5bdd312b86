// When a backend that takes no new flows (state drain or disabled, or weight 0)
// saw its last flow leave the lcores' tables: what an operator waits for before
// taking it out of service. Sampled every second from the per-backend active
// flow counts, for the services that have such a backend only; a view shows
// the time as the backend's `emptySince`.
import type { ServiceConfig } from '../config';
import type { ServiceStats } from '../native/addon';
import { writtenBackendKey } from './backend-key';
import { PeriodicSampler } from './periodic';
import { cachedBackendKey } from './service-keys';

export interface DrainView {
  /** ISO time since which a backend taking no new flows has had no active flow; undefined otherwise */
  emptySince(service: string, backendKey: string): string | undefined;
}

/** For when nothing samples: no backend is known to be empty. */
export const NO_DRAIN_WATCH: DrainView = { emptySince: () => undefined };

export interface DrainWatchSources {
  services(): readonly ServiceConfig[];
  /** one service's counters; undefined while the data plane does not run it */
  serviceStats(name: string): ServiceStats | undefined;
}

export const DRAIN_SAMPLE_MS = 1000;

const takesNoNewFlows = (b: ServiceConfig['backends'][number]) => b.state !== 'active' || b.weight === 0;

export class DrainWatch extends PeriodicSampler implements DrainView {
  /** emptySince by service name, then backendKey */
  private empty = new Map<string, Map<string, string>>();

  constructor(private readonly sources: DrainWatchSources, intervalMs = DRAIN_SAMPLE_MS) {
    super(intervalMs);
  }

  emptySince(service: string, backendKey: string): string | undefined {
    return this.empty.get(service)?.get(backendKey);
  }

  /**
   * One look at every backend taking no new flows: an empty one keeps the time
   * it was first seen empty, one with flows (or taking new ones again) has none.
   * The time is that of the look, so within one interval of the last flow.
   */
  sample(now = new Date()): void {
    const next = new Map<string, Map<string, string>>();
    for (const svc of this.sources.services()) {
      const quiet = svc.backends.filter(takesNoNewFlows);
      if (quiet.length === 0) continue;
      let stats: ServiceStats | undefined;
      try {
        stats = this.sources.serviceStats(svc.name);
      } catch {
        continue;  // the data plane stopped: nothing to say
      }
      if (stats === undefined) continue;
      // The addon writes addresses normalized: its keys are backendKeys without a parse.
      const active = new Map(stats.backends.map((b) => [writtenBackendKey(b), b.activeFlows]));
      const before = this.empty.get(svc.name);
      const seen = new Map<string, string>();
      for (const b of quiet) {
        const key = cachedBackendKey(b);
        if (active.get(key) !== 0) continue;
        seen.set(key, before?.get(key) ?? now.toISOString());
      }
      if (seen.size > 0) next.set(svc.name, seen);
    }
    this.empty = next;
  }
}
