// Config joined with what only the running system knows: health verdicts and
// live counters. Counters are matched by service name and normalized backend
// key, never by position: the data plane lists services in its own order.
import type { BackendConfig, ServiceConfig } from '../config';
import { backendKey } from '../control/backend-key';
import type { HealthView } from '../control/health-view';
import type { DataplaneStats, ServiceStats } from '../native/addon';
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../native/counters';
import type { Static } from '@sinclair/typebox';
import type { BackendView, ServiceView } from './schemas/services';

export type BackendBody = Static<typeof BackendView>;
export type ServiceBody = Static<typeof ServiceView>;

/** A service's live backend counters keyed once by normalized backend key: a lookup per backend, not a scan. */
export type BackendStatsIndex = ReadonlyMap<string, ServiceStats['backends'][number]>;

export function backendStatsIndex(svcStats: ServiceStats | undefined): BackendStatsIndex {
  return new Map((svcStats?.backends ?? []).map((x) => [backendKey(x), x]));
}

export function backendView(
  service: string,
  b: BackendConfig,
  health: HealthView,
  stats: BackendStatsIndex,
): BackendBody {
  const key = backendKey(b);
  const s = stats.get(key);
  return {
    ...b,
    key,
    health: health.backend(service, key),
    ...(s === undefined ? {} : { stats: countsOf(s, BACKEND_COUNTERS) }),
  };
}

export function serviceStats(stats: DataplaneStats | undefined, name: string): ServiceStats | undefined {
  return stats?.services.find((s) => s.name === name);
}

export function backendViews(
  service: string,
  backends: readonly BackendConfig[],
  health: HealthView,
  svcStats: ServiceStats | undefined,
): BackendBody[] {
  const index = backendStatsIndex(svcStats);
  return backends.map((b) => backendView(service, b, health, index));
}

export function serviceView(s: ServiceConfig, health: HealthView, stats: DataplaneStats | undefined): ServiceBody {
  return serviceViewOf(s, health, serviceStats(stats, s.name));
}

/** Every service's view, the live counters matched by name through one map rather than a scan per service. */
export function serviceViews(
  services: readonly ServiceConfig[],
  health: HealthView,
  stats: DataplaneStats | undefined,
): ServiceBody[] {
  const byName = new Map((stats?.services ?? []).map((x) => [x.name, x]));
  return services.map((s) => serviceViewOf(s, health, byName.get(s.name)));
}

function serviceViewOf(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined): ServiceBody {
  return {
    ...s,
    backends: backendViews(s.name, s.backends, health, live),
    ...(live === undefined ? {} : { stats: countsOf(live, SERVICE_COUNTERS) }),
  };
}
