// setServices takes an unchanged service as its id (the addon keeps what runs),
// so a change sends only what it touches; serviceStats of one backend reads that
// backend alone. Against the real addon on a ring port: a service kept by id
// still forwards, an id that runs nowhere is refused and changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as pk from '../helpers/packets';
import { tcpFrame } from '../helpers/packets';
import { backend, CLIENT_MAC, PORT_ADDRESS, RingDataplane, service } from '../helpers/ring-dataplane';

let dp: RingDataplane;
const web = service([backend(0), backend(1)]);
const api = service([backend(2)], { id: 1, name: 'api', vip: '10.99.0.101' });

before(() => {
  dp = new RingDataplane();
  dp.native.setServices([web, api]);
});
after(() => dp?.stop());

async function waitFor(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) {
    dp.native.poll();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(ok(), what);
}

const syn = (vip: string, sport: number) =>
  tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '172.16.0.50', dst: vip, sport, dport: 80, flags: 'S' });

test('a service sent by id keeps running as it was, beside a changed one', async () => {
  const before = dp.native.stats().generation;
  const drained = { ...api, backends: [backend(2, { weight: 0 }), backend(3)] };
  const r = dp.native.setServices([web.id, drained]);
  assert.equal(r.generation, before + 1);
  const names = dp.services().map((s) => [s.name, s.backends.length]);
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
  assert.deepEqual(dp.services().map((s) => s.name), ['web', 'api']);
});

test('a backend sent by id keeps running as it was, beside a changed one; an id of none is refused', async () => {
  const before = dp.native.stats().generation;
  const r = dp.native.setServices([{ ...web, backends: [backend(0).id, backend(1, { weight: 0 })] }, api.id]);
  assert.equal(r.generation, before + 1);
  const out = await dp.exchange(Array.from({ length: 8 }, (_, i) => syn('10.99.0.100', 41000 + i)));
  assert.equal(out.length, 8);
  assert.ok(out.every((f) => f.subarray(0, 6).equals(Buffer.from(backend(0).mac!.split(':').map((x) => parseInt(x, 16))))),
    'new flows go to the backend kept by id: the other has weight 0');
  for (const bad of [backend(2).id, 99, -1, 0.5]) {
    assert.throws(() => dp.native.setServices([{ ...web, backends: [bad, backend(1)] }, api.id]),
      (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT' &&
        /services\[0\]\.backends\[0\]/.test((err as Error).message));
  }
  assert.equal(dp.native.stats().generation, before + 1, 'a refused set changes nothing');
  dp.native.setServices([web, api.id]);
});

test('a run of the running service\'s backends keeps them as they were; a run of none is refused', async () => {
  const before = dp.native.stats().generation;
  const r = dp.native.setServices([{ ...web, backends: [backend(1, { weight: 0 }), [0, 1]] }, api.id]);
  assert.equal(r.generation, before + 1);
  assert.deepEqual(dp.services()[0].backends.map((b) => b.address), [backend(1).address, backend(0).address],
    'in the order sent');
  const out = await dp.exchange(Array.from({ length: 8 }, (_, i) => syn('10.99.0.100', 43000 + i)));
  assert.equal(out.length, 8);
  assert.ok(out.every((f) => f.subarray(0, 6).equals(Buffer.from(backend(0).mac!.split(':').map((x) => parseInt(x, 16))))),
    'new flows go to the backend kept by the run: the other has weight 0');
  const running = dp.native.stats().generation;
  for (const bad of [[0, 3], [1, 1], [-1, 1], [0.5, 1], [0], [0, 1, 2], ['0', 1]] as unknown as [number, number][]) {
    assert.throws(() => dp.native.setServices([{ ...web, backends: [bad] }, api.id]),
      (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT' &&
        /services\[0\]\.backends\[0\]: is a run \[start, end\) of no backends/.test((err as Error).message), JSON.stringify(bad));
  }
  assert.equal(dp.native.stats().generation, running, 'a refused set changes nothing');
  dp.native.setServices([web, api.id]);
});

test('a table built ahead is the one the next setServices takes; one not taken is let go', async () => {
  const changed = { ...web, lookupTableSize: 1031 };
  const live = () => dp.native.memory().lookupTables.liveBytes;
  const before = live();
  assert.equal(await dp.native.prebuildTables([changed]), 1, 'built ahead');
  assert.equal(live(), before + 1031 * 4, 'its bytes count as alive while it waits');
  assert.equal(await dp.native.prebuildTables([changed]), 0, 'already waiting: not built twice');
  assert.equal(dp.native.setServices([changed, api.id]).tablesBuilt, 1);
  assert.equal(await dp.native.prebuildTables([changed]), 0, 'running: nothing to build');
  const out = await dp.exchange([syn('10.99.0.100', 42000)]);
  assert.equal(out.length, 1, 'the service forwards on the table built ahead');

  // Built ahead, then a different change applied: the waiting table goes at that step.
  const unused = await dp.native.prebuildTables([{ ...web, lookupTableSize: 2053 }]);
  assert.equal(unused, 1);
  dp.native.setServices([web, api.id]);
  await waitFor(() => live() === dp.native.memory().lookupTables.bytes, 'only the running tables stay alive');
  // Input the table cannot be built from: the build ahead gives up, setServices says why.
  assert.equal(await dp.native.prebuildTables([{ ...web, lookupTableSize: 1000 }]), 1);
  assert.throws(() => dp.native.setServices([{ ...web, lookupTableSize: 1000 }, api.id]),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT' && /lookupTableSize/.test((err as Error).message));
  assert.throws(() => dp.native.prebuildTables([{ ...web, backends: [77] }]),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT', 'unconvertible input throws, as in setServices');
});

test("serviceStats of one backend: that backend's counters only", () => {
  const one = dp.serviceStats('web', backend(1).address, 80);
  assert.deepEqual(one?.backends.map((b) => b.address), [backend(1).address]);
  assert.equal(one?.name, 'web');
  assert.deepEqual(dp.serviceStats('web', '10.99.0.250', 80)?.backends, []);
  assert.equal(dp.serviceStats('web')?.backends.length, 2);
  assert.throws(() => dp.serviceStats('web', 'nowhere', 80),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT');
});

// A service sent by id keeps the views of the snapshot before (no backend of
// it made again): those must still take a MAC learned since, and a refused set
// beside it must leave them running.
test('a service sent by id takes a MAC learned after it was sent; a set refused beside it changes nothing', async () => {
  const dynamic = service([backend(5, { mac: undefined })], { id: 2, name: 'dynamic', vip: '10.99.0.102' });
  dp.native.setServices([web, api, dynamic]);
  dp.native.setServices([web.id, { ...api, backends: [backend(2, { weight: 7 })] }, dynamic.id]);
  // What leaves besides the ARP requests for the backend.
  const forwarded = (frames: Buffer[]) => frames.filter((f) => f.readUInt16BE(12) === pk.ETHERTYPE_IPV4);
  const unresolved = forwarded(await dp.exchange([syn('10.99.0.102', 44000)]));
  assert.equal(unresolved.length, 0, 'no MAC yet: the packet waits for none');

  const learnedMac = '02:00:00:00:0a:55';
  await dp.exchange([pk.arpReplyFrame({ srcMac: learnedMac, dstMac: dp.mac, senderIp: backend(5).address, targetIp: PORT_ADDRESS })]);
  // The learned MAC is in the next change's snapshot, whichever comes first:
  // that change (the service again by id) or the poll's own.
  dp.native.setServices([web.id, { ...api, backends: [backend(2, { weight: 8 })] }, dynamic.id]);
  const out = forwarded(await dp.exchange([syn('10.99.0.102', 44001)]));
  assert.equal(out.length, 1);
  assert.equal(pk.formatMac(out[0].subarray(0, 6)), learnedMac);

  const running = dp.native.stats().generation;
  assert.throws(() => dp.native.setServices([web.id, { ...api, vip: dynamic.vip }, dynamic.id]),
    (err: unknown) => (err as Error).message === 'services[2]: same VIP, port and protocol as services[1] (api)');
  assert.equal(dp.native.stats().generation, running, 'a refused set changes nothing');
  dp.native.setServices([web.id, api.id, dynamic.id]);
  const again = forwarded(await dp.exchange([syn('10.99.0.102', 44002), syn('10.99.0.100', 44003)]));
  assert.equal(again.length, 2, 'both kept services forward after the refusal');
  assert.equal(pk.formatMac(again.find((f) => f.subarray(30, 34).equals(Buffer.from([10, 99, 0, 102])))!.subarray(0, 6)), learnedMac);
  dp.native.setServices([web, api]);
});
