// A list of thousands of backends asks the health checker for each by its
// place in the service (HealthChecker.backend's `at`) rather than making an id
// for each: whatever the place given, the answer is that backend's, as asked
// by key alone, also after the backends before it are removed or reordered.
// Probes are held and answered by the test; the data plane is a stand-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { validateConfig } from '../../src/config';
import { HealthChecker } from '../../src/control/health';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon } from '../helpers/fake-addon';
import { heldProbes } from '../helpers/held-probes';

const backend = (n: number) => ({ address: `10.99.0.${n}`, port: 80 });

test("a backend's health asked at any place is its own: at its place, elsewhere, past the end, after changes", async () => {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, healthCheck: { type: 'tcp', fall: 1, rise: 1 },
      backends: [backend(11), backend(12), backend(13), backend(14)] }],
  });
  const dataplane = new Dataplane(fakeAddon());
  dataplane.start(cfg);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  const { pending, probe } = heldProbes();
  const health = new HealthChecker(store, pino({ level: 'silent' }), { probe, jitter: () => 0 });
  health.start();
  const answer = async (address: string, error: string | undefined) => {
    for (let i = 0; i < 100 && !pending.has(address); i++) await new Promise((res) => setTimeout(res, 5));
    const done = pending.get(address);
    assert.ok(done, `${address} is probed`);
    pending.delete(address);
    done(error);
  };
  const changed = () => new Promise<void>((resolve) => store.once('change', () => resolve()));
  /** Every backend asked at every place (and past the end) answers as asked by key alone. */
  const agrees = (what: string) => {
    const keys = store.get('web').backends.map((b) => `${b.address}:${b.port}`);
    for (const key of [...keys, '10.99.0.99:80']) {
      const byKey = health.backend('web', key);
      for (let at = 0; at <= keys.length; at++) {
        assert.deepEqual(health.backend('web', key, at), byKey, `${what}: ${key} asked at ${at}`);
      }
    }
    return keys.map((key, at) => health.backend('web', key, at).status);
  };
  try {
    await answer('10.99.0.11', 'refused');
    await answer('10.99.0.12', undefined);
    await answer('10.99.0.13', 'refused');
    assert.deepEqual(agrees('at start'), ['down', 'up', 'down', 'unchecked']);

    let change = changed();
    store.deleteBackend('web', '10.99.0.11:80');
    await change;
    assert.deepEqual(agrees('the first removed'), ['up', 'down', 'unchecked']);

    // The same backends in another order: each keeps its own verdict.
    change = changed();
    store.replaceService('web', { name: 'web', vip: '10.99.0.100', port: 80, healthCheck: { type: 'tcp', fall: 1, rise: 1 }, backends: [backend(14), backend(13), backend(12)] });
    await change;
    assert.deepEqual(agrees('reordered'), ['unchecked', 'down', 'up']);
    assert.equal(health.backend('web', '10.99.0.11:80', 0).status, 'unchecked', 'a removed backend is not found at its old place');
  } finally {
    health.stop();
    dataplane.stop();
  }
});
