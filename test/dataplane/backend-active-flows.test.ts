// Each backend's active flows: the flows the lcores' tables hold for it, summed
// over lcores, so an operator can tell a drained backend that is empty from one
// still serving. Against the real addon on a ring port with two workers: flows
// counted per backend as they are remembered, kept while the backend drains,
// gone when they expire, moved when a backend leaves and its flows re-pick.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as pk from '../helpers/packets';
import { backend, backendMac, CLIENT_MAC, RingDataplane, service } from '../helpers/ring-dataplane';

const VIP = '10.99.0.100';
let dp: RingDataplane;

before(() => {
  dp = new RingDataplane({ workers: 2, udpTimeoutSec: 1 });
});
after(() => dp?.stop());

const flows = (n: number, seed: number) => pk.randomFlows(n, seed, { vip: VIP, vport: 80, proto: 'udp', clientNet: '172.16.0.0/12' });
const frames = (fs: pk.Flow[]) => fs.map((f) => pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst: VIP,
  sport: f.sport, dport: 80, payload: Buffer.from('x') }));
const active = () => Object.fromEntries(dp.serviceStats('web')!.backends.map((b) => [b.id, b.activeFlows]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('active flows per backend: counted, kept while draining, zero once expired; re-picked flows move', async () => {
  const udp = service([backend(0), backend(1)], { protocol: 'udp' });
  dp.native.setServices([udp]);
  const first = flows(400, 1);
  const out = await dp.exchange(frames(first));
  assert.equal(out.length, 400);
  const to0 = out.filter((f) => pk.decodeFrame(f).dstMac === backendMac(0)).length;
  assert.ok(to0 > 100 && to0 < 300, `${to0} of 400 flows on backend 0`);
  assert.deepEqual(active(), { 0: to0, 1: 400 - to0 }, 'each remembered flow counts for its backend');

  // Backend 0 drains (weight 0): it takes no new flows and keeps its own.
  dp.native.setServices([{ ...udp, backends: [backend(0, { weight: 0 }), backend(1)] }]);
  await dp.exchange(frames(flows(100, 2)));
  assert.deepEqual(active(), { 0: to0, 1: 500 - to0 }, 'the draining backend keeps its flows; new ones go to the other');

  // Backend 0 disabled: its flows re-pick onto backend 1 on their next packet.
  dp.native.setServices([{ ...udp, backends: [backend(0, { state: 'disabled' }), backend(1)] }]);
  await dp.exchange(frames(first));
  assert.deepEqual(active(), { 0: 0, 1: 500 }, 'moved flows count for their new backend, not the old');

  // Idle past udpTimeoutSec: the sweeps remove them all.
  const deadline = Date.now() + 10_000;
  while (active()[1] !== 0 && Date.now() < deadline) await sleep(100);
  assert.deepEqual(active(), { 0: 0, 1: 0 }, 'empty once every flow expired');
});
