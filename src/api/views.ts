// Config joined with what only the running system knows: health verdicts and
// live counters. Counters are matched by service name and normalized backend
// key, never by position: the data plane lists services in its own order.
import type { BackendConfig, ServiceConfig } from '../config';
import { backendKey, writtenBackendKey } from '../control/backend-key';
import { cachedBackendKey } from '../control/service-keys';
import { NO_DRAIN_WATCH, type DrainView } from '../control/drain-watch';
import type { HealthView } from '../control/health-view';
import { NO_RATES, type RatesView } from '../control/rates';
import type { DataplaneStats, ServiceStats } from '../native/addon';
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../native/counters';
import type { Static } from '@sinclair/typebox';
import type { BackendView, ServiceView } from './schemas/services';

export type BackendBody = Static<typeof BackendView>;
export type ServiceBody = Static<typeof ServiceView>;

type BackendStats = ServiceStats['backends'][number];

/** A service's live backend counters by normalized backend key: a lookup per backend, not a scan. */
export interface BackendStatsIndex {
  get(key: string): BackendStats | undefined;
}

/** The key backendKey gives, taking the address as written: the addon writes them normalized. */
const writtenKey = (x: BackendStats): string => writtenBackendKey(x);

/**
 * Keyed by the addresses as the addon writes them, which are normalized, so no
 * address is parsed; only a key not found that way (an IPv6 address the addon
 * spells otherwise) makes the index parse every address, once.
 */
export function backendStatsIndex(svcStats: ServiceStats | undefined): BackendStatsIndex {
  const list = svcStats?.backends ?? [];
  const written = new Map(list.map((x) => [writtenKey(x), x]));
  let normalized: Map<string, BackendStats> | undefined;
  return {
    get: (key) => written.get(key) ?? (normalized ??= new Map(list.map((x) => [backendKey(x), x]))).get(key),
  };
}

export function backendView(
  service: string,
  b: BackendConfig,
  health: HealthView,
  stats: BackendStatsIndex,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): BackendBody {
  const key = cachedBackendKey(b);
  const s = stats.get(key);
  const r = rates.backend(service, key);
  const emptySince = drains.emptySince(service, key);
  return {
    ...b,
    key,
    health: health.backend(service, key),
    ...(s === undefined ? {} : { stats: countsOf(s, BACKEND_COUNTERS) }),
    ...(r === undefined ? {} : { rates: r }),
    ...(emptySince === undefined ? {} : { emptySince }),
  };
}

/**
 * The index backendView needs for one backend alone: its counters found by
 * comparing addresses as the addon writes them (normalized) before normalizing
 * any, so a view of one backend of thousands costs a scan, not a parse of each.
 */
export function backendStatsFor(svcStats: ServiceStats | undefined, b: BackendConfig): BackendStatsIndex {
  const key = cachedBackendKey(b);
  const found = svcStats?.backends.find((x) => x.port === b.port && writtenKey(x) === key) ??
    svcStats?.backends.find((x) => x.port === b.port && backendKey(x) === key);
  return { get: (k) => (k === key ? found : undefined) };
}

export function backendViews(
  service: string,
  backends: readonly BackendConfig[],
  health: HealthView,
  svcStats: ServiceStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): BackendBody[] {
  const index = backendStatsIndex(svcStats);
  return backends.map((b) => backendView(service, b, health, index, drains, rates));
}

/** One service's view; `live` is its counters (liveServiceStats), absent while the data plane is not running. */
export function serviceView(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined,
                            drains: DrainView = NO_DRAIN_WATCH, rates: RatesView = NO_RATES): ServiceBody {
  return serviceViewOf(s, health, live, drains, rates);
}

/** Every service's view, the live counters matched by name through one map rather than a scan per service. */
export function serviceViews(
  services: readonly ServiceConfig[],
  health: HealthView,
  stats: DataplaneStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): ServiceBody[] {
  const byName = new Map((stats?.services ?? []).map((x) => [x.name, x]));
  return services.map((s) => serviceViewOf(s, health, byName.get(s.name), drains, rates));
}

function serviceViewOf(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined, drains: DrainView,
                       rates: RatesView): ServiceBody {
  const r = rates.service(s.name);
  return {
    ...s,
    backends: backendViews(s.name, s.backends, health, live, drains, rates),
    ...(live === undefined ? {} : { stats: countsOf(live, SERVICE_COUNTERS) }),
    ...(r === undefined ? {} : { rates: r }),
  };
}
