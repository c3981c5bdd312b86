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
  /** as service(), for one backend by backendKey; `at`, its place in its service's backends when known, is tried first */
  backend(service: string, backendKey: string, at?: number): Rates | undefined;
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

/**
 * One service's counters in one look, the addon's own objects kept as read.
 * The addon lists a service's backends in the config's order, so a view asks
 * by place first; the backends are keyed only when one is asked elsewhere.
 */
class Look {
  /** by backendKey, made on the first backend not found at its place */
  private byKey: Map<string, Counted> | undefined;

  constructor(readonly counted: Counted, private readonly backends: readonly Counted[], private readonly keys: readonly string[]) {}

  backend(key: string, at: number | undefined): Counted | undefined {
    if (at !== undefined && this.keys[at] === key) return this.backends[at];
    this.byKey ??= new Map(this.keys.map((k, i) => [k, this.backends[i]]));
    return this.byKey.get(key);
  }
}

/** One service in the last two looks. */
interface Looked {
  last: Look;
  prev: Look | undefined;
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
    return s === undefined ? undefined : rateOf(s.prev?.counted, s.last.counted, this.seconds);
  }

  backend(service: string, backendKey: string, at?: number): Rates | undefined {
    const s = this.looked.get(service);
    const last = s?.last.backend(backendKey, at);
    return s === undefined || last === undefined ? undefined : rateOf(s.prev?.backend(backendKey, at), last, this.seconds);
  }

  /** One look at every counter: a key per backend, so linear in backends. */
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
      // The addon writes addresses normalized: its keys are backendKeys without a parse.
      const look = new Look(s, s.backends, s.backends.map(writtenBackendKey));
      next.set(s.name, { last: look, prev: this.looked.get(s.name)?.last });
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
