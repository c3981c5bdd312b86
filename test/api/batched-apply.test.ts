// The data plane takes the changes of one turn of the event loop in one step,
// sent as only the services they touch (the others by id); when it refuses
// that step, the changes are tried one at a time so only the one it refuses
// (and those checked against it) are refused. Health verdicts go after the
// changes waiting. The data plane is a stand-in (test/helpers/fake-addon.ts)
// that counts its calls and refuses what it is told to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceConfig } from '../../src/config';
import { Dataplane } from '../../src/dataplane';
import { isSluiceError } from '../../src/errors';
import { fakeAddon } from '../helpers/fake-addon';
import { fakeStore } from '../helpers/fake-store';
import { threeServices } from '../helpers/three-services';

const cfg = threeServices;

function setUp() {
  const { native, store } = fakeStore(cfg);
  const changes: (readonly ServiceConfig[])[] = [];
  store.on('change', (s) => changes.push(s));
  return { native, store, changes };
}

/** The outcome of a change's acknowledgement: 'ok' or its error's code. */
const settled = (p: Promise<void>) => p.then(() => 'ok', (err: unknown) => (err as { code?: string }).code);

test('ten changes in one turn: one step for the data plane, each acknowledged', async () => {
  const { native, store, changes } = setUp();
  const calls = native.setServicesCalls;
  const acks: Promise<void>[] = [];
  for (let w = 1; w <= 10; w++) {
    store.updateBackend('web', '10.99.0.10:80', { weight: w });
    acks.push(store.persisted());
  }
  assert.equal(native.setServicesCalls, calls, 'nothing reaches the data plane before the turn ends');
  assert.deepEqual(await Promise.all(acks.map(settled)), Array(10).fill('ok'));
  assert.equal(native.setServicesCalls, calls + 1);
  assert.equal(native.applied.find((s) => s.name === 'web')!.backends[0].weight, 10);
  assert.equal(changes.length, 1, "the health checker hears of the turn's changes once");
});

test('a change sends the services it touches; the others go by id', async () => {
  const { native, store } = setUp();
  store.updateBackend('api', '10.99.0.12:80', { state: 'drain' });
  await store.persisted();
  const sent = native.sent.map((s) => (typeof s === 'number' ? 'id' : s.name));
  assert.deepEqual(sent, ['id', 'api', 'id']);
  assert.equal(native.applied.length, 3);
  assert.equal(native.applied[1].backends[0].state, 'drain');
});

test("a changed service sends the backends that changed; its others go as runs of what runs", async () => {
  const { native, store } = setUp();
  store.updateBackend('api', '10.99.0.13:80', { weight: 3 });
  await store.persisted();
  const api = native.sent[1];
  assert.ok(typeof api !== 'number');
  const [kept, changed] = api.backends;
  assert.deepEqual(kept, [0, 1], 'the unchanged backend goes as a run of the running service\'s');
  assert.ok(typeof changed === 'object' && !Array.isArray(changed));
  assert.equal(changed.weight, 3);
  assert.deepEqual(native.applied[1].backends.map((b) => [b.address, b.weight]), [['10.99.0.12', 100], ['10.99.0.13', 3]]);
  // A health verdict changes that backend's shape only.
  store.setHealth('api', '10.99.0.12:80', false);
  await store.persisted();
  const health = native.sent[1];
  assert.ok(typeof health !== 'number');
  assert.deepEqual(health.backends.map((b) => (typeof b === 'object' && !Array.isArray(b) ? b.healthy : b)), [false, [1, 2]]);
});

test("a step's tables are built ahead; a change made meanwhile waits for the step after", async () => {
  const { native, store } = setUp();
  let open!: () => void;
  native.prebuildGate = new Promise((resolve) => { open = resolve; });
  const calls = native.setServicesCalls;
  store.updateBackend('api', '10.99.0.13:80', { weight: 3 });
  const first = settled(store.persisted());
  // The turn of the change, then the turn after it, where the work ahead runs.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(native.prebuilt.map((p) => p.map((s) => s.name)), [['api']], 'the changed service only');
  assert.equal(native.setServicesCalls, calls, 'not applied while its tables are built');
  store.updateBackend('dns', '10.99.0.14:80', { weight: 4 });
  const second = settled(store.persisted());
  native.prebuildGate = undefined;
  open();
  assert.equal(await first, 'ok');
  assert.equal(await second, 'ok');
  assert.equal(native.setServicesCalls, calls + 2, 'two steps: the change made meanwhile went in the second');
  assert.deepEqual(native.prebuilt.map((p) => p.map((s) => s.name)), [['api'], ['dns']]);
  assert.deepEqual(native.applied.map((s) => s.backends.map((b) => b.weight)), [[100, 100], [100, 3], [4, 100]]);
});

test('a refused step: the changes before the refused one stay, it is refused, those after it conflict', async () => {
  const { native, store, changes } = setUp();
  native.refuse = (services) => (services.some((s) => s.backends.some((b) => b.weight === 13))
    ? Object.assign(new Error('weight 13 cannot run (test)'), { code: 'SLUICE_LIMIT_EXCEEDED' }) : undefined);
  store.updateBackend('web', '10.99.0.10:80', { weight: 5 });
  const first = settled(store.persisted());
  store.updateBackend('api', '10.99.0.12:80', { weight: 13 });
  const refused = settled(store.persisted());
  store.updateBackend('dns', '10.99.0.14:80', { weight: 7 });
  const after = settled(store.persisted());
  assert.deepEqual([await first, await refused, await after], ['ok', 'SLUICE_LIMIT_EXCEEDED', 'SLUICE_CONFLICT']);
  const weights = (services: readonly { backends: readonly { weight: number }[] }[]) => services.map((s) => s.backends[0].weight);
  assert.deepEqual(weights(store.list()), [5, 100, 100], 'the store keeps only what runs');
  assert.deepEqual(weights(native.applied), [5, 100, 100]);
  assert.deepEqual(weights(changes.at(-1)!), [5, 100, 100]);
  // Nothing is left half-done: the next change goes through.
  store.updateBackend('dns', '10.99.0.14:80', { weight: 7 });
  assert.equal(await settled(store.persisted()), 'ok');
  assert.deepEqual(weights(native.applied), [5, 100, 7]);
});

test('a health verdict applies the changes waiting first, then itself', async () => {
  const { native, store } = setUp();
  store.updateBackend('web', '10.99.0.10:80', { weight: 9 });
  const ack = settled(store.persisted());
  store.setHealth('web', '10.99.0.11:80', false);
  const web = native.applied.find((s) => s.name === 'web')!;
  assert.equal(web.backends[0].weight, 9, 'the waiting change is in force');
  assert.equal(web.backends[1].healthy, false);
  assert.equal(await ack, 'ok');
});

test('an invalid change is refused at once and never reaches the data plane', async () => {
  const { native, store } = setUp();
  const calls = native.setServicesCalls;
  assert.throws(() => store.updateBackend('web', '10.99.0.10:80', { weight: -1 }),
    (err: unknown) => isSluiceError(err, 'SLUICE_CONFIG_INVALID') && /services\.web\.backends\[0\]\.weight/.test(err.message));
  await new Promise((r) => setImmediate(r));
  assert.equal(native.setServicesCalls, calls);
});

test('a service unchanged at its place goes by id, unless a health verdict changed it', async () => {
  const { native, store } = setUp();
  store.updateBackend('api', '10.99.0.13:80', { weight: 3 });
  await store.persisted();
  store.updateBackend('api', '10.99.0.13:80', { weight: 4 });
  await store.persisted();
  assert.deepEqual(native.sent.map((s) => (typeof s === 'number' ? 'id' : s.name)), ['id', 'api', 'id']);
  // web is the very object it was, at the same place: only its health changed.
  store.setHealth('web', '10.99.0.11:80', false);
  await store.persisted();
  const web = native.sent[0];
  assert.ok(typeof web !== 'number', 'web is sent, not its id');
  assert.deepEqual(web.backends.map((b) => (typeof b === 'object' && !Array.isArray(b) ? b.healthy : b)), [[0, 1], false]);
  assert.equal(native.applied[0].backends[1].healthy, false);
  assert.equal(typeof native.sent[1], 'number', 'api, unchanged since, by id');
});

test('after the data plane refuses a set, the shapes of the set before are not reused with ids that moved', () => {
  const native = fakeAddon();
  const dataplane = new Dataplane(native);
  dataplane.start(cfg);
  const api = () => native.applied.find((s) => s.name === 'api')!;
  const apiId = api().id;
  native.failNext = Object.assign(new Error('refused'), { code: 'SLUICE_INVALID_ARGUMENT' });
  // Without api: its ids are given back, and api comes back with fresh ones.
  assert.throws(() => dataplane.applyServices(cfg.services.filter((s) => s.name !== 'api')), /refused/);
  dataplane.applyServices(cfg.services);
  assert.notEqual(api().id, apiId, 'api has a fresh id');
  const sent = native.sent[1];
  assert.ok(typeof sent !== 'number' && sent.id === api().id, 'api is sent whole with its new id, not as its old one');
  assert.deepEqual(native.sent.map((s) => typeof s), ['number', 'object', 'number']);
});
