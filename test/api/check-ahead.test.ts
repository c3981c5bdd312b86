// A large POST or PUT body has its backends checked ahead, a slice per turn of
// the event loop (store.checkAhead), before the store's synchronous
// check-and-commit. What the change then gives must be what it gives without
// the check ahead: the same service, or the same coded error with the same
// problems; changes made while the slices run are seen by the commit (a
// conflict is a 409, nothing is lost); and other work runs between the slices
// and between the commit and the data plane's step. The data plane is a
// stand-in (test/helpers/fake-addon.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { knownValid, validateConfig, type ServiceConfig } from '../../src/config';
import { BACKENDS_PER_SLICE, checkBackendsAhead } from '../../src/config/check-ahead';
import { HealthChecker } from '../../src/control/health';
import { fakeStore } from '../helpers/fake-store';
import { turnCounter } from '../helpers/turns';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import addr = require('../../src/net/addr');

const cfg = validateConfig({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', gateway: '10.99.0.1' }],
  services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.10', port: 80 }] }],
});

const setUp = () => fakeStore(cfg);

/** Several slices' worth of tunnel backends, all valid. */
const COUNT = 3 * BACKENDS_PER_SLICE + 17;
const backends = (from = 0): Record<string, unknown>[] => Array.from({ length: COUNT }, (_, i) =>
  ({ address: `10.200.${(from + i) >> 8}.${(from + i) & 255}`, port: 443 }));
const bigBody = (bs = backends()) => ({ name: 'big', vip: '10.99.0.101', port: 443, forwarding: 'tunnel', backends: bs });
/** Late in the last slice. */
const DEEP = COUNT - 5;

type Outcome = { service: ServiceConfig } | { code: unknown; message: string; details: unknown };
function outcome(f: () => ServiceConfig): Outcome {
  try {
    return { service: f() };
  } catch (err) {
    const e = err as { code?: unknown; message: string; details?: unknown };
    return { code: e.code, message: e.message, details: e.details };
  }
}

/** A POST of `body` as the API makes it, against a fresh store, and as it was made without the check ahead. */
async function bothWays(body: () => unknown): Promise<{ ahead: Outcome; whole: Outcome }> {
  const a = setUp().store;
  const ahead = outcome(((checked) => () => a.createService(checked))(await a.checkAhead(body())));
  const whole = outcome(() => setUp().store.createService(body()));
  return { ahead, whole };
}

const withBackend = (j: number, b: unknown) => { const bs: unknown[] = backends(); bs[j] = b; return bigBody(bs as Record<string, unknown>[]); };

test('a valid body: the same service as without the check ahead', async () => {
  const { ahead, whole } = await bothWays(() => bigBody());
  assert.ok('service' in ahead);
  assert.deepEqual(ahead, whole);
});

for (const [name, bad, path] of [
  ['a backend whose address is no address', { address: '10.200.999.1', port: 443 }, `services.big.backends[${DEEP}].address`],
  ['a backend on another port than a tunnel allows', { address: '10.201.0.1', port: 80 }, `services.big.backends[${DEEP}].port`],
  ['a backend with an unknown field', { address: '10.201.0.1', port: 443, colour: 'red' }, `services.big.backends[${DEEP}].colour`],
  ['a backend listed twice', { address: '10.200.0.3', port: 443 }, `services.big.backends[${DEEP}]`],
  ['a backend that is the port\'s own address', { address: '10.99.0.2', port: 443 }, `services.big.backends[${DEEP}].address`],
] as const) {
  test(`${name}, deep inside a large body: the same coded error and problems`, async () => {
    const { ahead, whole } = await bothWays(() => withBackend(DEEP, bad));
    assert.equal((ahead as { code?: unknown }).code, 'SLUICE_CONFIG_INVALID');
    assert.deepEqual((ahead as { details: { path: string }[] }).details.map((p) => p.path), [path]);
    assert.deepEqual(ahead, whole);
  });
}

test('a large body whose own fields are wrong: the same coded error and problems', async () => {
  const { ahead, whole } = await bothWays(() => ({ ...bigBody(), lookupTableSize: 'big', vip: '10.99.0.2' }));
  assert.equal((ahead as { code?: unknown }).code, 'SLUICE_CONFIG_INVALID');
  assert.deepEqual(ahead, whole);
});

test('a service of the same name created while the slices run: the POST is a 409, the other stays', async () => {
  const { store } = setUp();
  const checking = store.checkAhead(bigBody());
  await new Promise((resolve) => setImmediate(resolve));
  const other = store.createService({ name: 'big', vip: '10.99.0.102', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] });
  const body = await checking;
  assert.throws(() => store.createService(body), { code: 'SLUICE_CONFLICT' });
  assert.equal(store.get('big'), other);
});

test('a service on the same VIP and port created while the slices run: the POST is a 409', async () => {
  const { store } = setUp();
  const checking = store.checkAhead(bigBody());
  await new Promise((resolve) => setImmediate(resolve));
  store.createService({ name: 'first', vip: '10.99.0.101', port: 443, backends: [] });
  const body = await checking;
  assert.throws(() => store.createService(body), { code: 'SLUICE_CONFLICT' });
});

test('changes made while the slices run are kept: nothing is lost', async () => {
  const { store } = setUp();
  const post = store.checkAhead(bigBody());
  const post2 = store.checkAhead({ ...bigBody(backends(4096)), name: 'big2', vip: '10.99.0.103' });
  await new Promise((resolve) => setImmediate(resolve));
  store.updateBackend('web', '10.99.0.10:80', { weight: 7 });
  store.createService(await post);
  store.createService(await post2);
  assert.deepEqual(store.list().map((s) => s.name), ['web', 'big', 'big2']);
  assert.equal(store.get('web').backends[0].weight, 7);
  assert.equal(store.get('big').backends.length, COUNT);
  await store.persisted();
});

test('the PUT of a service deleted while the slices run is a 404', async () => {
  const { store } = setUp();
  store.createService(bigBody());
  const { name: _name, ...put } = bigBody(backends(4096));
  const checking = store.checkAhead(put, 'big');
  await new Promise((resolve) => setImmediate(resolve));
  store.deleteService('big');
  const body = await checking;
  assert.throws(() => store.replaceService('big', body), { code: 'SLUICE_NOT_FOUND' });
});

test('the slices run in turns of their own: a timer set before the check fires before its last slice', async () => {
  const turns = turnCounter();
  const seen: number[] = [];
  await checkBackendsAhead(cfg, bigBody(), knownValid(), undefined, () => seen.push(turns.turn));
  turns.stop();
  assert.equal(seen.length, COUNT);
  assert.ok(seen[0] >= 1, 'the timer set before the check fired before its first slice');
  assert.ok(seen[COUNT - 1] - seen[0] >= 3, `the timer fired between the slices (turns ${seen[0]} to ${seen[COUNT - 1]})`);
});

test('the data plane takes a change in a later turn than its commit, a new service\'s table built ahead', async () => {
  const { native, store } = setUp();
  const calls = native.setServicesCalls;
  store.createService(await store.checkAhead(bigBody()));
  const inTheTurnAfter = await new Promise<number>((resolve) => setImmediate(() => resolve(native.setServicesCalls)));
  assert.equal(inTheTurnAfter, calls, 'a request could be served between the commit and the step');
  assert.equal(native.prebuilt.length, 0, 'nor is the work ahead done in the turn of the commit');
  await store.persisted();
  assert.equal(native.setServicesCalls, calls + 1);
  assert.deepEqual(native.prebuilt.map((p) => p.map((s) => s.name)), [['big']], 'the new service');
  const big = native.applied.find((s) => s.name === 'big')!;
  assert.deepEqual(native.prebuilt[0][0], big, 'built ahead with the ids it runs with');
});

test('a health verdict that applies changes before their work ahead: the ids that run stay', async () => {
  const { native, store } = setUp();
  store.createService({ name: 'x', vip: '10.99.0.110', port: 80, backends: [{ address: '10.99.0.20', port: 80 }] });
  // The step has begun; its work ahead waits for the turn after.
  await new Promise((resolve) => setImmediate(resolve));
  store.createService({ name: 'y', vip: '10.99.0.111', port: 80, backends: [{ address: '10.99.0.21', port: 80 }] });
  store.setHealth('web', '10.99.0.10:80', false);
  const y = native.applied.find((s) => s.name === 'y')!;
  await store.persisted();
  store.updateBackend('y', '10.99.0.21:80', { weight: 5 });
  await store.persisted();
  const after = native.applied.find((s) => s.name === 'y')!;
  assert.equal(after.backends[0].weight, 5);
  assert.deepEqual([after.id, after.backends[0].id], [y.id, y.backends[0].id]);
});

test('after the check ahead, the commit, the data plane\'s step and the health checker parse no address of the body\'s backends', async () => {
  const { store } = setUp();
  const health = new HealthChecker(store, pino({ level: 'silent' }), { probe: () => () => undefined });
  health.start();
  const body = await store.checkAhead(bigBody());
  let parses = 0;
  const { parseIp, normalizeIp } = addr;
  addr.parseIp = (s) => (parses++, parseIp(s));
  addr.normalizeIp = (s) => (parses++, normalizeIp(s));
  try {
    store.createService(body);
    await store.persisted();
  } finally {
    addr.parseIp = parseIp;
    addr.normalizeIp = normalizeIp;
    health.stop();
  }
  assert.ok(parses < 20, `${parses} address parses for a service of ${COUNT} backends checked ahead`);
});

test('the health checker follows the data plane in a turn of its own, and the change is acknowledged after it', async () => {
  const { native, store } = setUp();
  const turns = turnCounter();
  const setServices = native.setServices.bind(native);
  let appliedIn = -1;
  native.setServices = (services) => {
    appliedIn = turns.turn;
    return setServices(services);
  };
  let heardIn = -1;
  store.on('change', () => {
    heardIn = turns.turn;
  });
  store.createService(await store.checkAhead(bigBody()));
  await store.persisted();
  const acknowledgedIn = turns.turn;
  turns.stop();
  assert.ok(appliedIn >= 0 && heardIn > appliedIn, `applied in turn ${appliedIn}, heard of in turn ${heardIn}`);
  assert.ok(acknowledgedIn >= heardIn);
});
