// What the rest of the control plane may ask of the health checker. Health is
// separate from admin state and weight: a backend can be active, weight 100 and
// down.
/** unknown: added while running, waiting for its first probe, takes no new flows. */
export type HealthStatus = 'up' | 'down' | 'unchecked' | 'unknown';

export interface BackendHealth {
  /** unchecked: the service's check type is none, or no probe has finished yet */
  status: HealthStatus;
  /** ISO time of the last finished probe */
  lastProbeAt?: string;
  /** why the last probe failed */
  lastError?: string;
  /** successes (while down) or failures (while up) in a row so far */
  streak: number;
  /** up<->down changes since the backend was added */
  transitions: number;
}

export interface HealthView {
  /**
   * As it is now, not a copy: read it before the next turn. `at`, the
   * backend's place in its service's backends when known, is tried first.
   */
  backend(service: string, backendKey: string, at?: number): Readonly<BackendHealth>;
  /** transitions since start, by direction, for metrics */
  totals(): { up: number; down: number; probes: number; probeFailures: number };
}

/** A backend no probe has finished for (or whose check type is none). */
export const UNCHECKED: Readonly<BackendHealth> = Object.freeze({ status: 'unchecked', streak: 0, transitions: 0 });

/** A view for when nothing is checked: everything is unchecked and takes traffic. */
export const NO_HEALTH_CHECKS: HealthView = {
  backend: () => UNCHECKED,
  totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
};
