// What the API reads and changes. Routes get it as plugin options, so each route
// file says what it uses and tests can hand in whatever they like.
import type { BgpView } from '../bgp/view';
import type { SluiceConfig } from '../config';
import type { ServiceStore } from '../control/store';
import type { DrainView } from '../control/drain-watch';
import type { HealthView } from '../control/health-view';
import type { LivenessView } from '../control/liveness';
import type { NodeDrain } from '../control/node-drain';
import type { RatesView } from '../control/rates';
import type { Dataplane } from '../dataplane';
import { ErrorCodes, type ErrorCode } from '../errors';
import type { DataplaneStats, ServiceStats } from '../native/addon';

export interface ApiContext {
  store: ServiceStore;
  dataplane: Dataplane;
  health: HealthView;
  /** when draining backends became empty; absent: none is known */
  drains?: DrainView;
  /** packets, bytes and new flows per second; absent: none is known */
  rates?: RatesView;
  /** whether every worker lcore's loop still moves (the daemon's LcoreLiveness); absent: not watched */
  liveness?: LivenessView;
  /** the BGP speaker's state (the daemon's BgpSpeaker); absent: no bgp section */
  bgp?: BgpView;
  /** the node's drain state (the daemon's NodeDrain); absent: always active, drain and undrain 404 */
  nodeDrain?: NodeDrain;
  /** the running Sluice's version (GET /api/v1/node) */
  version?: string;
  /** the validated config the data plane started with; the lcore view reads its rx queue map */
  config?: SluiceConfig;
}

/**
 * SluiceError, or an error from the native addon: those carry a registry code
 * but are plain Errors (they are made on the C++ side).
 */
export function errorCode(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : undefined;
}

/** What `read` gives while the data plane runs; undefined while it does not, so config views still answer. */
function whileRunning<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (errorCode(err) === 'SLUICE_NOT_RUNNING') return undefined;
    throw err;
  }
}

/**
 * One service's counters (undefined for a service the data plane does not
 * run): a view of one service reads its own backends' counters, not every
 * service's.
 */
export function liveServiceStats(dataplane: Dataplane, name: string): ServiceStats | undefined {
  return whileRunning(() => dataplane.serviceStats(name));
}

/** liveServiceStats for a view of one backend: that backend's counters only. */
export function liveBackendStats(dataplane: Dataplane, name: string, backend: { address: string; port: number }): ServiceStats | undefined {
  return whileRunning(() => dataplane.backendStats(name, backend));
}

/** Every counter. */
export function liveStats(dataplane: Dataplane): DataplaneStats | undefined {
  return whileRunning(() => dataplane.stats());
}
