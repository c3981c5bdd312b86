// A backend added while Sluice runs waits for its first probe before it takes
// new flows (healthCheck.initialState down, the default); one there at start,
// or with initialState up, takes them at once. Through the REST API with the
// health checker following the store; probes are held (they never finish) or
// answered on demand, and the data plane is a stand-in (test/helpers/fake-addon.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { HealthChecker } from '../../src/control/health';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon } from '../helpers/fake-addon';
import { heldProbes } from '../helpers/held-probes';

async function setUp() {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, healthCheck: { type: 'tcp' },
      backends: [{ address: '10.99.0.11', port: 80 }] }],
  });
  const native = fakeAddon();
  const dataplane = new Dataplane(native);
  dataplane.start(cfg);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  // Probes wait until the test answers them.
  const { pending, probe } = heldProbes();
  const health = new HealthChecker(store, pino({ level: 'silent' }), { probe });
  health.start();
  const app = buildApp({ store, dataplane, health, version: 't', config: cfg });
  await app.ready();
  const healthy = (address: string) =>
    native.applied.find((s) => s.name === 'web')!.backends.find((b) => b.address === address)!.healthy;
  const status = async (address: string) =>
    (await app.inject({ method: 'GET', url: `/api/v1/services/web/backends/${address}:80` })).json().health.status;
  return { app, health, pending, healthy, status };
}

test('at start: unchecked and taking traffic; added: unknown and none until its first probe passes', async () => {
  const { app, health, pending, healthy, status } = await setUp();
  try {
    assert.equal(await status('10.99.0.11'), 'unchecked');
    assert.equal(healthy('10.99.0.11'), true);

    const r = await app.inject({ method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '10.99.0.12', port: 80 } });
    assert.equal(r.statusCode, 201);
    assert.equal(r.json().health.status, 'unknown');
    assert.equal(healthy('10.99.0.12'), false, 'in force without new flows');
    // Probed at once, not after a jittered interval.
    for (let i = 0; i < 20 && !pending.has('10.99.0.12'); i++) await new Promise((res) => setTimeout(res, 5));
    pending.get('10.99.0.12')!(undefined);
    assert.equal(await status('10.99.0.12'), 'up');
    assert.equal(healthy('10.99.0.12'), true);

    await app.inject({ method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '10.99.0.13', port: 80 } });
    for (let i = 0; i < 20 && !pending.has('10.99.0.13'); i++) await new Promise((res) => setTimeout(res, 5));
    pending.get('10.99.0.13')!('connect ECONNREFUSED');
    const down = (await app.inject({ method: 'GET', url: '/api/v1/services/web/backends/10.99.0.13:80' })).json().health;
    assert.equal(down.status, 'down');
    assert.equal(down.lastError, 'connect ECONNREFUSED');
    assert.equal(healthy('10.99.0.13'), false);
  } finally {
    health.stop();
    await app.close();
  }
});

test('initialState up: an added backend takes traffic at once', async () => {
  const { app, health, healthy, status } = await setUp();
  try {
    const r = await app.inject({ method: 'POST', url: '/api/v1/services/web/backends',
      payload: { address: '10.99.0.14', port: 80, healthCheck: { initialState: 'up' } } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(await status('10.99.0.14'), 'unchecked');
    assert.equal(healthy('10.99.0.14'), true);
    const bad = await app.inject({ method: 'POST', url: '/api/v1/services/web/backends',
      payload: { address: '10.99.0.15', port: 80, healthCheck: { initialState: 'maybe' } } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'SLUICE_BAD_REQUEST');
  } finally {
    health.stop();
    await app.close();
  }
});
