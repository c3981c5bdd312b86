// The dashboard's snapshot (src/api/dashboard-snapshot.ts) over a real data
// plane on a ring port: services and backends as GET /services has them, rates
// from two reads (new flows, packets, drops by reason, port and lcore rx), a
// rate absent rather than 0 before the second read, the node's drain state,
// BGP peers and VIPs when BGP is on and no bgp key when it is off.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotBuilder } from '../../src/api/dashboard-snapshot';
import type { BgpView } from '../../src/bgp/view';
import { validateConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { addon } from '../../src/native/addon';
import { fakeAddon } from '../helpers/fake-addon';
import { lcoreTotals } from '../../src/native/lcore-totals';
import { startRingApi, UNCHECKED, type RingApi } from '../helpers/ring-api';
import { CLIENT_MAC } from '../helpers/ring-dataplane';
import * as pk from '../helpers/packets';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const native = addon();
let api: RingApi;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', queues: 1, address: '10.99.0.2/24' }],
    flowTable: { entriesPerLcore: 16384 },
    dataplane: { idleSleepMaxUs: 50 },
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [
      { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
      { address: '10.99.0.12', port: 80, mac: '02:00:00:00:01:02', state: 'drain' }] }],
  }, 'dashboard-snapshot');
});

after(() => api?.close());

async function send(frames: Buffer[]): Promise<void> {
  const before = lcoreTotals(native.stats()).rx;
  assert.equal(native.inject('p0', frames, 0), frames.length);
  while (lcoreTotals(native.stats()).rx < before + frames.length) await sleep(2);
  await sleep(20);
  native.capture('p0');
}

const BGP: BgpView = { status: () => ({ enabled: true, asn: 65001, speaker: 'running',
  peers: [{ address: '10.99.0.1', asn: 65000, state: 'established', uptimeSec: 12, received: 0, advertised: 1 }],
  vips: [{ vip: '10.99.0.100', prefix: '10.99.0.100/32', announced: false, reason: 'node draining' }] }) };

test('joins config, counters and rates; a rate comes with the second read', async () => {
  const mac = native.ports()[0].mac;
  const b = new SnapshotBuilder({ store: api.store, dataplane: api.dataplane, health: UNCHECKED, version: '1.2.3', bgp: BGP,
    nodeDrain: { status: () => ({ state: 'draining', sinceMs: Date.now(), by: 'api' }) } });
  const first = b.build();
  assert.equal(first.intervalSec, 0);
  assert.equal(first.totals.rxPps, undefined, 'no rate from one read');
  assert.equal(first.services[0].newFlowsPerSec, undefined);
  assert.deepEqual(first.node, { ...first.node, version: '1.2.3', state: 'draining', running: true });
  assert.deepEqual(first.services.map((s) => [s.name, s.vip, s.port, s.protocol, s.forwarding, s.backendsUp]), [['web', '10.99.0.100', 80, 'tcp', 'dsr', 1]]);
  assert.deepEqual(first.services[0].backends.map((x) => [x.key, x.state, x.weight, x.health]),
    [['10.99.0.11:80', 'active', 100, 'unchecked'], ['10.99.0.12:80', 'drain', 100, 'unchecked']]);
  assert.deepEqual(first.bgp, { speaker: 'running', peers: [{ address: '10.99.0.1', asn: 65000, state: 'established', uptimeSec: 12 }],
    vips: [{ vip: '10.99.0.100/32', announced: false, reason: 'node draining' }] });

  // 50 new flows to the VIP, 30 packets to a port no service has.
  const syn = (i: number, dport: number) => pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: mac, src: `10.99.1.${1 + i}`, dst: '10.99.0.100',
    sport: 2000 + i, dport, flags: 'S' });
  await send([...Array.from({ length: 50 }, (_, i) => syn(i, 80)), ...Array.from({ length: 30 }, (_, i) => syn(i, 81))]);
  const second = b.build();
  assert.ok(second.intervalSec > 0);
  const per = (n: number) => n / second.intervalSec;
  const web = second.services[0];
  assert.ok(Math.abs(web.newFlowsPerSec! - per(50)) < 1e-6 * per(50), `${web.newFlowsPerSec} vs ${per(50)}`);
  assert.equal(web.activeFlows, 50);
  assert.equal(web.backends[0].activeFlows, 50, 'the draining backend takes no new flow');
  assert.equal(web.backends[1].activeFlows, 0);
  assert.ok(Math.abs(second.drops.no_service - per(30)) < 1e-6 * per(30), JSON.stringify(second.drops));
  assert.ok(Math.abs(second.totals.dropsPerSec! - per(30)) < 1e-6 * per(30));
  assert.ok(Math.abs(second.totals.rxPps! - per(80)) < 1e-6 * per(80));
  assert.ok(Math.abs(second.ports[0].rxPps! - per(80)) < 1e-6 * per(80));
  assert.equal(second.ports[0].linkUp, true);
  assert.ok(second.lcores[0].busy >= 0 && second.lcores[0].busy <= 1);
  assert.equal(second.lcores[0].flows, 50);
  assert.equal(b.builds, 2);
});

test('no BGP: no bgp key; an app without a node drain is active', () => {
  const b = new SnapshotBuilder({ store: api.store, dataplane: api.dataplane, health: UNCHECKED });
  const s = b.build();
  assert.equal('bgp' in s, false);
  assert.equal(s.node.state, 'active');
  assert.ok(JSON.stringify(s).length < 4096, 'compact');
});

test('1,024 services, 4,096 backends in one: a build costs milliseconds, not a second', (t) => {
  const ip = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', gateway: '10.99.0.1' }],
    services: Array.from({ length: 1024 }, (_, i) => ({ name: `svc-${i}`, vip: `10.98.${i >> 8}.${i & 255}`, port: 80, forwarding: 'tunnel',
      lookupTableSize: i === 0 ? 65537 : 1031, backends: Array.from({ length: i === 0 ? 4096 : 2 }, (_, j) => ({ address: ip(j + 1), port: 80 })) })),
  });
  const dataplane = new Dataplane(fakeAddon());
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  const b = new SnapshotBuilder({ store, dataplane, health: NO_HEALTH_CHECKS });
  b.build();
  const n = 10;
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes = JSON.stringify(b.build()).length;
  const ms = (performance.now() - t0) / n;
  t.diagnostic(`snapshot of 1,024 services and 6,142 backends: ${ms.toFixed(1)} ms to build and serialise, ${(bytes / 1024).toFixed(0)} KiB`);
  assert.equal(b.build().services[0].backends.length, 4096);
  assert.ok(ms < 500, `${ms} ms`);
});
