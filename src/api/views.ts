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

export function backendView(
  service: string,
  b: BackendConfig,
  health: HealthView,
  svcStats: ServiceStats | undefined,
): BackendBody {
  const key = backendKey(b);
  const s = svcStats?.backends.find((x) => backendKey(x) === key);
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

export function serviceView(s: ServiceConfig, health: HealthView, stats: DataplaneStats | undefined): ServiceBody {
  const live = serviceStats(stats, s.name);
  return {
    ...s,
    backends: s.backends.map((b) => backendView(s.name, b, health, live)),
    ...(live === undefined ? {} : { stats: countsOf(live, SERVICE_COUNTERS) }),
  };
}
