// What the API reads and changes. Routes get it as plugin options, so each route
// file says what it uses and tests can hand in whatever they like.
import type { SluiceConfig } from '../config';
import type { ServiceStore } from '../control/store';
import type { HealthView } from '../control/health-view';
import type { Dataplane } from '../dataplane';
import { ErrorCodes, type ErrorCode } from '../errors';
import type { DataplaneStats } from '../native/addon';

export interface ApiContext {
  store: ServiceStore;
  dataplane: Dataplane;
  health: HealthView;
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

/** Counters when the data plane runs; undefined while it does not, so config views still answer. */
export function liveStats(dataplane: Dataplane): DataplaneStats | undefined {
  try {
    return dataplane.stats();
  } catch (err) {
    if (errorCode(err) === 'SLUICE_NOT_RUNNING') return undefined;
    throw err;
  }
}
