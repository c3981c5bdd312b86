// Packets, bytes and new flows per second for each service and backend. The
// counters only tell totals, and a reader asking once cannot get a rate from
// one look, so the daemon looks every second and the views answer from the
// last two looks. Every service's counters come from one read of the data
// plane: the addon finds a service by name with a scan, so a read per service
// would cost services squared.
import type { ServiceStats } from '../native/addon';
import { writtenBackendKey } from './backend-key';
import { PeriodicSampler } from './periodic';

export interface Rates {
  packetsPerSec: number;
  bytesPerSec: number;
  newFlowsPerSec: number;
}

export interface RatesView {
  /** over the last sampling interval; undefined until the service has been seen twice */
  service(name: string): Rates | undefined;
  /** as service(), for one backend by backendKey */
  backend(service: string, backendKey: string): Rates | undefined;
}

/** For when nothing samples: no rate is known. */
export const NO_RATES: RatesView = { service: () => undefined, backend: () => undefined };

export interface RateSources {
  /** every service's counters; throws while the data plane does not run */
  services(): readonly ServiceStats[];
}

export const RATE_SAMPLE_MS = 1000;

/** What a rate is computed from: one look's counters and the id they were counted under. */
interface Counted {
  readonly id: number;
  readonly packets: number;
  readonly bytes: number;
  readonly newFlows: number;
}

/** One service in the last two looks; the looks' objects are the addon's own, kept as read rather than copied. */
interface Looked {
  last: Counted;
  prev: Counted | undefined;
  /** by backendKey */
  backends: Map<string, Counted>;
  prevBackends: Map<string, Counted> | undefined;
}

/** Its first look is at start, so rates come one interval after the start, not two. */
export class RateSampler extends PeriodicSampler implements RatesView {
  /** by service name; only what the last look saw, so a removed service goes with the next look */
  private looked = new Map<string, Looked>();
  private lastAt: number | undefined;
  /** between the last two looks */
  private seconds = 0;

  /** `clock` gives milliseconds from any fixed origin: only differences are used. */
  constructor(private readonly sources: RateSources, intervalMs = RATE_SAMPLE_MS,
              private readonly clock: () => number = () => performance.now()) {
    super(intervalMs);
  }

  service(name: string): Rates | undefined {
    const s = this.looked.get(name);
    return s === undefined ? undefined : rateOf(s.prev, s.last, this.seconds);
  }

  backend(service: string, backendKey: string): Rates | undefined {
    const s = this.looked.get(service);
    const last = s?.backends.get(backendKey);
    return s === undefined || last === undefined ? undefined : rateOf(s.prevBackends?.get(backendKey), last, this.seconds);
  }

  /** One look at every counter: a map entry per service and per backend, so linear in backends. */
  sample(): void {
    const now = this.clock();
    let live: readonly ServiceStats[];
    try {
      live = this.sources.services();
    } catch {
      // The data plane stopped (or cannot be read): rates from before would be stale.
      this.looked = new Map();
      this.lastAt = undefined;
      return;
    }
    const next = new Map<string, Looked>();
    for (const s of live) {
      const before = this.looked.get(s.name);
      // The addon writes addresses normalized: its keys are backendKeys without a parse.
      const backends = new Map<string, Counted>();
      for (const b of s.backends) backends.set(writtenBackendKey(b), b);
      next.set(s.name, { last: s, prev: before?.last, backends, prevBackends: before?.backends });
    }
    this.seconds = this.lastAt === undefined ? 0 : (now - this.lastAt) / 1000;
    this.looked = next;
    this.lastAt = now;
  }
}

/**
 * The rates from `prev` to `last`, `seconds` apart. A new id (removed and
 * added again) or a counter that went down started counting afresh between
 * the looks: no rate for that interval.
 */
function rateOf(prev: Counted | undefined, last: Counted, seconds: number): Rates | undefined {
  if (prev === undefined || prev.id !== last.id || !(seconds > 0)) return undefined;
  const packets = last.packets - prev.packets;
  const bytes = last.bytes - prev.bytes;
  const newFlows = last.newFlows - prev.newFlows;
  if (packets < 0 || bytes < 0 || newFlows < 0) return undefined;
  return { packetsPerSec: packets / seconds, bytesPerSec: bytes / seconds, newFlowsPerSec: newFlows / seconds };
}
