// A drained backend shows when it became empty: DrainWatch looks every second
// at the active flows of backends taking no new flows (drain, disabled, weight
// 0) and keeps the time each was first seen with none; the REST view shows it
// as `emptySince`. Driven by hand (sample(now)) against stand-in counters, then
// through the API with the stand-in addon (test/helpers/fake-addon.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/api/app';
import { validateConfig, type ServiceConfig } from '../../src/config';
import { DrainWatch } from '../../src/control/drain-watch';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import type { ServiceStats } from '../../src/native/addon';
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../../src/native/counters';
import { fakeAddon } from '../helpers/fake-addon';

const cfg = validateConfig({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00::2/64' }],
  services: [
    { name: 'web', vip: '10.99.0.100', port: 80, backends: [
      { address: '10.99.0.11', port: 80, state: 'drain' }, { address: '10.99.0.12', port: 80, weight: 0 },
      { address: '10.99.0.13', port: 80, state: 'disabled' }, { address: '10.99.0.14', port: 80 }] },
    { name: 'v6', vip: 'fd00::100', port: 80, backends: [{ address: 'fd00::11', port: 80, state: 'drain' }] },
  ],
});

/** Stand-in counters: active flows by "address:port" as the addon writes it. */
function statsOf(svc: ServiceConfig, flows: Map<string, number>): ServiceStats {
  return {
    id: 0, name: svc.name, ...countsOf(undefined, SERVICE_COUNTERS),
    backends: svc.backends.map((b, id) => ({ id, address: b.address, port: b.port, ...countsOf(undefined, BACKEND_COUNTERS),
      activeFlows: flows.get(`${b.address}:${b.port}`) ?? 0 })),
  };
}

test('emptySince: kept from the first empty look, cleared by flows or by taking new flows again', () => {
  let services: readonly ServiceConfig[] = cfg.services;
  const flows = new Map([['10.99.0.11:80', 3], ['fd00::11:80', 0]]);
  let running = true;
  const watch = new DrainWatch({
    services: () => services,
    serviceStats: (name) => {
      if (!running) throw Object.assign(new Error('not running'), { code: 'SLUICE_NOT_RUNNING' });
      return statsOf(services.find((s) => s.name === name)!, flows);
    },
  });
  const t1 = new Date('2026-12-06T10:00:00Z');
  const t2 = new Date('2026-12-06T10:00:05Z');
  watch.sample(t1);
  assert.equal(watch.emptySince('web', '10.99.0.11:80'), undefined, 'draining with 3 flows: not empty');
  assert.equal(watch.emptySince('web', '10.99.0.12:80'), t1.toISOString(), 'weight 0 and no flows');
  assert.equal(watch.emptySince('web', '10.99.0.13:80'), t1.toISOString(), 'disabled and no flows');
  assert.equal(watch.emptySince('web', '10.99.0.14:80'), undefined, 'active: never "empty", whatever its flows');
  assert.equal(watch.emptySince('v6', '[fd00::11]:80'), t1.toISOString(), 'IPv6, keyed as URLs name it');

  flows.set('10.99.0.11:80', 0);
  watch.sample(t2);
  assert.equal(watch.emptySince('web', '10.99.0.11:80'), t2.toISOString(), 'its last flow left');
  assert.equal(watch.emptySince('web', '10.99.0.12:80'), t1.toISOString(), 'the first empty look is kept');

  flows.set('10.99.0.12:80', 1);
  services = services.map((s) => (s.name !== 'web' ? s
    : { ...s, backends: s.backends.map((b) => (b.address === '10.99.0.13' ? { ...b, state: 'active' as const } : b)) }));
  watch.sample(t2);
  assert.equal(watch.emptySince('web', '10.99.0.12:80'), undefined, 'a flow again');
  assert.equal(watch.emptySince('web', '10.99.0.13:80'), undefined, 'active again');

  running = false;
  watch.sample(t2);
  assert.equal(watch.emptySince('web', '10.99.0.11:80'), undefined, 'nothing said while the data plane does not run');
});

test('the REST view shows emptySince on a drained backend, not on an active one', async () => {
  const dataplane = new Dataplane(fakeAddon());
  dataplane.start(cfg);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  const drains = new DrainWatch({ services: () => store.list(), serviceStats: (name) => dataplane.serviceStats(name) });
  const app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, drains, version: 't', config: cfg });
  try {
    const r = await app.inject({ method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.14:80', payload: { state: 'drain' } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().emptySince, undefined, 'not looked at yet');
    drains.sample(new Date('2026-12-06T11:00:00Z'));
    const view = (await app.inject({ method: 'GET', url: '/api/v1/services/web/backends/10.99.0.14:80' })).json();
    assert.equal(view.stats.activeFlows, 0);
    assert.equal(view.emptySince, '2026-12-06T11:00:00.000Z');
    const list = (await app.inject({ method: 'GET', url: '/api/v1/services/web' })).json();
    assert.equal(list.backends[3].emptySince, '2026-12-06T11:00:00.000Z');
    await app.inject({ method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.14:80', payload: { state: 'active' } });
    drains.sample();
    const back = (await app.inject({ method: 'GET', url: '/api/v1/services/web/backends/10.99.0.14:80' })).json();
    assert.equal(back.emptySince, undefined);
  } finally {
    await app.close();
  }
});
