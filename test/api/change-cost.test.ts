// A change costs work for what it touches, not for the whole state: through
// inject(), with a state file, the health checker following the store and a
// stand-in data plane (test/helpers/fake-addon.ts, no EAL), the address parses
// each request makes are counted (parseIp and normalizeIp: what validation,
// ids, the native shapes, health bookkeeping and views repeat per backend)
// rather than anything timed. Re-checking the whole config on every change made
// creating 1,024 services quadratic and a PATCH of a 4,096-backend service
// parse every address of every service again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { HealthChecker } from '../../src/control/health';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon, type FakeAddon } from '../helpers/fake-addon';
import { countAddressParses, type AddressParses } from '../helpers/address-parses';

const SERVICES = 300;
/** one short of the 4,096 a service may have, so one more can be added */
const BIG = 4095;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-change-cost-'));
let native: FakeAddon;
let store: ServiceStore;
let health: HealthChecker;
let app: FastifyInstance;
let parses: AddressParses | undefined;

before(async () => {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/16', gateway: '10.99.0.1' }],
  });
  native = fakeAddon();
  const dataplane = new Dataplane(native);
  store = new ServiceStore(cfg, dataplane, new StateFile(path.join(dir, 'state.json')));
  store.started(store.initialServices());
  health = new HealthChecker(store, pino({ level: 'silent' }), { probe: () => () => {} });
  health.start();
  app = buildApp({ store, dataplane, health, version: 'change-cost', config: cfg });
  await app.ready();
  parses = countAddressParses();
});

after(async () => {
  parses?.stop();
  health?.stop();
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function work(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  parses!.reset();
  const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, n: parses!.count, body: res.body };
}

const bigAddress = (i: number) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

test(`creating ${SERVICES} services one by one: each create's work stays the same as the state grows`, async () => {
  const counts: number[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const r = await work('POST', '/api/v1/services', {
      name: `s${i}`, vip: `10.98.${i >> 8}.${i & 255}`, port: 80,
      backends: [{ address: `10.99.${1 + (i >> 8)}.${i & 255}`, port: 80, mac: '02:00:00:00:00:01' }],
    });
    assert.equal(r.status, 201, r.body.slice(0, 300));
    counts.push(r.n);
  }
  // The whole config checked again on every create parsed every VIP and backend
  // again: the 300th create ~600 parses more than the first.
  const first = Math.max(...counts.slice(0, 10));
  const last = Math.max(...counts.slice(-10));
  assert.ok(last <= first + 2, `the first creates parsed ${first} addresses each, the last ${last}`);
  assert.equal(native.applied.length, SERVICES, 'every service reached the data plane');
});

test(`changing one backend of a ${BIG}-backend service parses a few addresses, not ${BIG}`, async () => {
  const backends = Array.from({ length: BIG }, (_, i) => ({ address: bigAddress(i), port: 443 }));
  const created = await work('POST', '/api/v1/services',
    { name: 'big', vip: '10.97.0.1', port: 443, forwarding: 'tunnel', backends });
  assert.equal(created.status, 201, created.body.slice(0, 300));

  const key = `${bigAddress(17)}:443`;
  const changes = [
    ['PATCH', `/api/v1/services/big/backends/${key}`, { weight: 7 }, 200],
    ['PATCH', `/api/v1/services/big/backends/${key}`, { state: 'drain' }, 200],
    ['POST', '/api/v1/services/big/backends', { address: bigAddress(BIG), port: 443 }, 201],
    ['DELETE', `/api/v1/services/big/backends/${bigAddress(BIG)}:443`, undefined, 204],
    ['GET', `/api/v1/services/big/backends/${key}`, undefined, 200],
  ] as const;
  for (const [method, url, payload, status] of changes) {
    const r = await work(method, url, payload);
    assert.equal(r.status, status, `${method} ${url}: ${r.body.slice(0, 300)}`);
    assert.ok(r.n < 100, `${method} ${url} parsed addresses ${r.n} times`);
  }
  const patched = store.backend('big', key);
  assert.equal(patched.weight, 7);
  assert.equal(patched.state, 'drain');
  const nativeBig = native.applied.find((s) => s.name === 'big')!;
  assert.equal(nativeBig.backends.length, BIG);
  assert.equal(nativeBig.backends.find((b) => b.address === bigAddress(17))!.state, 'drain', 'the data plane has the change');

  parses!.reset();
  store.setHealth('big', key, false);
  assert.ok(parses!.count < 100, `a health verdict parsed addresses ${parses!.count} times`);
  assert.equal(nativeBig !== native.applied.find((s) => s.name === 'big'), true, 'the verdict was applied');
  assert.equal(native.applied.find((s) => s.name === 'big')!.backends.find((b) => b.address === bigAddress(17))!.healthy, false);
  await store.persisted();
});
