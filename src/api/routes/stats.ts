// /api/v1/stats: every counter in one document, for scripts that want JSON
// rather than Prometheus text. Backends carry weight, admin state and health
// next to their counters, so one read answers "why does this backend get no traffic".
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { backendKey } from '../../control/backend-key';
import { NO_RATES, type Rates } from '../../control/rates';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../../native/counters';
import { STATS_FLOW_VALUES, STATS_LCORE_VALUES, STATS_NAT_VALUES, StatsView } from '../schemas/dataplane';

export const statsRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane, health, rates = NO_RATES }) => {
  app.get('/stats', {
    schema: {
      tags: ['data plane'],
      summary: 'Counters of ports, lcores, services and backends',
      response: { 200: StatsView, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () => {
    const s = dataplane.stats();
    const liveByName = new Map(s.services.map((x) => [x.name, x]));
    return {
      ports: s.ports.map((p) => ({
        name: p.name,
        rxPackets: p.rxPackets,
        txPackets: p.txPackets,
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        rxMissed: p.rxMissed,
        rxErrors: p.rxErrors,
        txErrors: p.txErrors,
      })),
      // The counters native/common/lcore_counters.h marks api: stats.
      lcores: s.lcores.map((l) => ({
        lcore: l.lcore,
        ...countsOf(l, STATS_LCORE_VALUES),
        drops: l.drops,
        flows: countsOf(l.flows, STATS_FLOW_VALUES),
        nat: countsOf(l.nat, STATS_NAT_VALUES),
      })),
      // The store's list leads so services and backends come in the order the
      // operator gave them, as GET /services lists them; both change together.
      services: store.list().map((svc) => {
        const live = liveByName.get(svc.name);
        const counters = new Map((live?.backends ?? []).map((b) => [backendKey(b), b]));
        return {
          name: svc.name,
          ...countsOf(live, SERVICE_COUNTERS),
          ...ratesOf(rates.service(svc.name)),
          backends: svc.backends.map((b) => {
            const key = backendKey(b);
            const c = counters.get(key);
            return {
              address: b.address,
              port: b.port,
              weight: b.weight,
              state: b.state,
              health: health.backend(svc.name, key).status,
              ...countsOf(c, BACKEND_COUNTERS),
              ...ratesOf(rates.backend(svc.name, key)),
            };
          }),
        };
      }),
    };
  });
};

const ratesOf = (r: Rates | undefined) => (r === undefined ? {} : { rates: r });
