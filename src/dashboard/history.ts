// The last 15 minutes of the charted rates, kept in this tab (the daemon keeps
// no history): one point a second, 900 per series, in fixed ring buffers so a
// long-open tab does not grow. Totals, and per service its packets and new
// flows per second, so choosing another service shows its past at once.
import type { Snapshot } from './snapshot';

export const HISTORY_POINTS = 900;

class Ring {
  readonly values = new Float64Array(HISTORY_POINTS).fill(NaN);
}

export interface Series {
  /** seconds since the epoch, oldest first */
  times: number[];
  rxPps: (number | null)[];
  newFlows: (number | null)[];
  drops: (number | null)[];
  servicePps: (number | null)[];
  serviceNewFlows: (number | null)[];
}

export class History {
  private readonly times = new Float64Array(HISTORY_POINTS).fill(NaN);
  private readonly rx = new Ring();
  private readonly flows = new Ring();
  private readonly drops = new Ring();
  private readonly services = new Map<string, { pps: Ring; flows: Ring }>();
  /** the next slot to write; slots before it (cyclically) are the past */
  private next = 0;
  private filled = 0;

  add(s: Snapshot): void {
    const i = this.next;
    this.times[i] = s.at / 1000;
    this.rx.values[i] = s.totals.rxPps ?? NaN;
    this.flows.values[i] = s.totals.newFlowsPerSec ?? NaN;
    this.drops.values[i] = s.totals.dropsPerSec ?? NaN;
    const seen = new Set<string>();
    for (const svc of s.services) {
      let h = this.services.get(svc.name);
      if (h === undefined) this.services.set(svc.name, h = { pps: new Ring(), flows: new Ring() });
      h.pps.values[i] = svc.pps ?? NaN;
      h.flows.values[i] = svc.newFlowsPerSec ?? NaN;
      seen.add(svc.name);
    }
    // A removed service's past goes with it.
    for (const name of this.services.keys()) if (!seen.has(name)) this.services.delete(name);
    this.next = (i + 1) % HISTORY_POINTS;
    this.filled = Math.min(this.filled + 1, HISTORY_POINTS);
  }

  series(service: string | undefined): Series {
    const svc = service === undefined ? undefined : this.services.get(service);
    const order = Array.from({ length: this.filled }, (_, k) => (this.next - this.filled + k + HISTORY_POINTS) % HISTORY_POINTS);
    const pick = (r: Ring | undefined) => order.map((i) => {
      const v = r?.values[i];
      return v === undefined || Number.isNaN(v) ? null : v;
    });
    return {
      times: order.map((i) => this.times[i]),
      rxPps: pick(this.rx),
      newFlows: pick(this.flows),
      drops: pick(this.drops),
      servicePps: pick(svc?.pps),
      serviceNewFlows: pick(svc?.flows),
    };
  }
}
