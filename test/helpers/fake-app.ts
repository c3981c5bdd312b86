// The REST API on a stand-in addon with one service (web, 10.99.0.100:80, one
// backend) and no health checks, for tests of the API's own behaviour (limits,
// coded edges, views handed in through `opts`). Built, not listening.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon } from './fake-addon';

export function fakeApp(opts: Partial<AppOptions> = {}): FastifyInstance {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] }],
  });
  const dataplane = new Dataplane(fakeAddon());
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  return buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, version: 't', config: cfg, ...opts });
}
