// setServices takes an unchanged service as its id (the addon keeps what runs),
// so a change sends only what it touches; serviceStats of one backend reads that
// backend alone. Against the real addon on a ring port: a service kept by id
// still forwards, an id that runs nowhere is refused and changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service } from '../helpers/ring-dataplane';

let dp: RingDataplane;
const web = service([backend(0), backend(1)]);
const api = service([backend(2)], { id: 1, name: 'api', vip: '10.99.0.101' });

before(() => {
  dp = new RingDataplane();
  dp.native.setServices([web, api]);
});
after(() => dp?.stop());

const syn = (vip: string, sport: number) =>
  tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '172.16.0.50', dst: vip, sport, dport: 80, flags: 'S' });

test('a service sent by id keeps running as it was, beside a changed one', async () => {
  const before = dp.native.stats().generation;
  const drained = { ...api, backends: [backend(2, { weight: 0 }), backend(3)] };
  const r = dp.native.setServices([web.id, drained]);
  assert.equal(r.generation, before + 1);
  const names = dp.native.stats().services.map((s) => [s.name, s.backends.length]);
  assert.deepEqual(names, [['web', 2], ['api', 2]]);
  const out = await dp.exchange([syn('10.99.0.100', 40000), syn('10.99.0.101', 40001)]);
  assert.equal(out.length, 2, 'both the kept and the changed service forward');
  assert.deepEqual(dp.native.setServices([0, 1]).tablesBuilt, 0, 'nothing sent, nothing rebuilt');
});

test('an id of no running service is refused, and what runs stays', () => {
  const before = dp.native.stats().generation;
  for (const bad of [7, -1, 1.5, 4096]) {
    assert.throws(() => dp.native.setServices([web.id, bad]),
      (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT' && /services\[1\]/.test((err as Error).message));
  }
  assert.equal(dp.native.stats().generation, before);
  assert.deepEqual(dp.native.stats().services.map((s) => s.name), ['web', 'api']);
});

test("serviceStats of one backend: that backend's counters only", () => {
  const one = dp.native.serviceStats('web', backend(1).address, 80);
  assert.deepEqual(one?.backends.map((b) => b.address), [backend(1).address]);
  assert.equal(one?.name, 'web');
  assert.deepEqual(dp.native.serviceStats('web', '10.99.0.250', 80)?.backends, []);
  assert.equal(dp.native.serviceStats('web')?.backends.length, 2);
  assert.throws(() => dp.native.serviceStats('web', 'nowhere', 80),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT');
});
