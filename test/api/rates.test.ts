// Packets, bytes and new flows per second in the REST views: RateSampler looks
// at every counter on a timer and keeps the last two looks per service and
// backend. Driven by hand (sample()) with a clock the test sets, against
// stand-in counters it advances; then through the API with the stand-in addon
// (test/helpers/fake-addon.ts) and its counters advanced the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { writtenBackendKey } from '../../src/control/backend-key';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { RateSampler } from '../../src/control/rates';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import type { ServiceStats } from '../../src/native/addon';
import { countAddressParses } from '../helpers/address-parses';
import { fakeAddon } from '../helpers/fake-addon';

type Counts = { packets: number; bytes: number; newFlows: number };

/** Stand-in counters of one service; `at` gives each backend's by "address:port" as the addon writes it. */
function serviceStats(name: string, id: number, own: Counts,
                      backends: { address: string; port: number; id: number; counts: Counts }[]): ServiceStats {
  return {
    id, name, ...own, activeFlows: 0,
    backends: backends.map((b) => ({ id: b.id, address: b.address, port: b.port, ...b.counts, activeFlows: 0 })),
  };
}

const counts = (packets: number): Counts => ({ packets, bytes: packets * 100, newFlows: packets / 10 });

/** A sampler on stand-in counters and a clock the test moves. */
function sampled() {
  let now = 5_000;
  let running = true;
  let live: ServiceStats[] = [];
  const sampler = new RateSampler({
    services: () => {
      if (!running) throw Object.assign(new Error('not running'), { code: 'SLUICE_NOT_RUNNING' });
      return live;
    },
  }, 1000, () => now);
  return {
    sampler,
    /** the counters the next look sees, then that look `ms` after the one before */
    look(ms: number, services: ServiceStats[]) {
      live = services;
      now += ms;
      sampler.sample();
    },
    stopDataplane() {
      running = false;
    },
    startDataplane() {
      running = true;
    },
  };
}

test('rates: none after one look; the counters\' growth over the interval after two', () => {
  const { sampler, look } = sampled();
  const web = (p: number, b1: number, b2: number) => serviceStats('web', 3, counts(p), [
    { address: '10.0.0.11', port: 80, id: 7, counts: counts(b1) },
    { address: 'fd00::12', port: 8080, id: 8, counts: counts(b2) },
  ]);
  look(0, [web(1000, 600, 400)]);
  assert.equal(sampler.service('web'), undefined, 'one look: no rate, not 0');
  assert.equal(sampler.backend('web', '10.0.0.11:80'), undefined);

  look(2000, [web(5000, 3600, 1400)]);
  assert.deepEqual(sampler.service('web'), { packetsPerSec: 2000, bytesPerSec: 200_000, newFlowsPerSec: 200 });
  assert.deepEqual(sampler.backend('web', '10.0.0.11:80'), { packetsPerSec: 1500, bytesPerSec: 150_000, newFlowsPerSec: 150 });
  assert.deepEqual(sampler.backend('web', '[fd00::12]:8080'), { packetsPerSec: 500, bytesPerSec: 50_000, newFlowsPerSec: 50 },
    'IPv6, keyed as URLs name it');
  assert.equal(sampler.backend('web', 'fd00::12:8080'), undefined);

  look(500, [web(5000, 3600, 1400)]);
  assert.deepEqual(sampler.service('web'), { packetsPerSec: 0, bytesPerSec: 0, newFlowsPerSec: 0 },
    'no traffic over the last interval: 0, whatever came before');
});

test('rates: a counter that went down, or a new id, gives no rate for that interval, then rates again', () => {
  const { sampler, look } = sampled();
  const web = (p: number, b1: number, b1Id = 7) => serviceStats('web', 3, counts(p), [
    { address: '10.0.0.11', port: 80, id: b1Id, counts: counts(b1) },
    { address: '10.0.0.12', port: 80, id: 8, counts: counts(p - b1) },
  ]);
  look(0, [web(1000, 600)]);
  look(1000, [web(2000, 100)]);
  assert.equal(sampler.backend('web', '10.0.0.11:80'), undefined, 'removed and added back: its counters started again');
  assert.deepEqual(sampler.backend('web', '10.0.0.12:80'), { packetsPerSec: 1500, bytesPerSec: 150_000, newFlowsPerSec: 150 });
  assert.deepEqual(sampler.service('web'), { packetsPerSec: 1000, bytesPerSec: 100_000, newFlowsPerSec: 100 });

  look(1000, [web(2500, 400)]);
  assert.deepEqual(sampler.backend('web', '10.0.0.11:80'), { packetsPerSec: 300, bytesPerSec: 30_000, newFlowsPerSec: 30 },
    'the interval after the restart has its rate');

  // Removed and added back between two looks, with more counted since than before:
  // only the id says its counters started again.
  look(1000, [web(3000, 500, 9)]);
  assert.equal(sampler.backend('web', '10.0.0.11:80'), undefined, 'another id: no rate');
  assert.deepEqual(sampler.backend('web', '10.0.0.12:80'), { packetsPerSec: 400, bytesPerSec: 40_000, newFlowsPerSec: 40 });

  look(1000, [serviceStats('web', 4, counts(3500), [])]);
  assert.equal(sampler.service('web'), undefined, 'the service itself under another id: no rate');
});

test('rates: a backend asked with its place is found there, or by its key when another backend is there', () => {
  const { sampler, look } = sampled();
  const one = (id: number, p: number) => ({ address: `10.0.2.${id}`, port: 80, id, counts: counts(p) });
  look(0, [serviceStats('web', 1, counts(0), [one(1, 100), one(2, 200), one(3, 300)])]);
  // The second look lists them in another order (and the first look's order no longer holds).
  look(1000, [serviceStats('web', 1, counts(0), [one(3, 330), one(1, 110), one(2, 220)])]);
  const rate = (n: number) => ({ packetsPerSec: n, bytesPerSec: n * 100, newFlowsPerSec: n / 10 });
  assert.deepEqual(sampler.backend('web', '10.0.2.3:80', 0), rate(30), 'at its place in this look; by key in the last');
  assert.deepEqual(sampler.backend('web', '10.0.2.1:80', 0), rate(10), 'another backend at that place: found by key');
  assert.deepEqual(sampler.backend('web', '10.0.2.2:80', 2), rate(20));
  assert.deepEqual(sampler.backend('web', '10.0.2.2:80', 7), rate(20), 'a place past the end: by key');
  for (const [key, at] of [['10.0.2.1:80', 1], ['10.0.2.2:80', 1], ['10.0.2.3:80', 2]] as const) {
    assert.deepEqual(sampler.backend('web', key, at), sampler.backend('web', key), `${key} asked at ${at}`);
  }
  assert.equal(sampler.backend('web', '10.0.2.9:80', 0), undefined, 'not there at all');
});

test('rates: removed services and backends are forgotten at the next look', () => {
  const { sampler, look } = sampled();
  const one = (id: number, p: number) => ({ address: `10.0.1.${id}`, port: 80, id, counts: counts(p) });
  look(0, [serviceStats('web', 1, counts(300), [one(1, 100), one(2, 200)]), serviceStats('api', 2, counts(10), [])]);
  look(1000, [serviceStats('web', 1, counts(400), [one(1, 200), one(2, 200)]), serviceStats('api', 2, counts(20), [])]);
  assert.deepEqual(sampler.backend('web', '10.0.1.2:80'), { packetsPerSec: 0, bytesPerSec: 0, newFlowsPerSec: 0 });
  assert.deepEqual(sampler.service('api'), { packetsPerSec: 10, bytesPerSec: 1000, newFlowsPerSec: 1 });

  look(1000, [serviceStats('web', 1, counts(500), [one(1, 300)])]);
  assert.equal(sampler.backend('web', '10.0.1.2:80'), undefined, 'a removed backend');
  assert.equal(sampler.service('api'), undefined, 'a removed service');
  assert.deepEqual(sampler.backend('web', '10.0.1.1:80'), { packetsPerSec: 100, bytesPerSec: 10_000, newFlowsPerSec: 10 });

  // Back with the same ids and higher counters: had the old looks been kept,
  // these would give rates over two intervals as if over one.
  look(1000, [serviceStats('web', 1, counts(900), [one(1, 400), one(2, 500)]), serviceStats('api', 2, counts(90), [])]);
  assert.equal(sampler.backend('web', '10.0.1.2:80'), undefined, 'nothing kept of the removed backend');
  assert.equal(sampler.service('api'), undefined, 'nothing kept of the removed service');
});

test('rates: none while the data plane does not run, and none from before it stopped', () => {
  const { sampler, look, stopDataplane, startDataplane } = sampled();
  const web = (p: number) => serviceStats('web', 1, counts(p), []);
  look(0, [web(100)]);
  look(1000, [web(200)]);
  assert.ok(sampler.service('web') !== undefined);
  stopDataplane();
  look(1000, [web(300)]);
  assert.equal(sampler.service('web'), undefined, 'stopped');
  startDataplane();
  look(1000, [web(400)]);
  assert.equal(sampler.service('web'), undefined, 'one look since the start');
  look(1000, [web(450)]);
  assert.deepEqual(sampler.service('web'), { packetsPerSec: 50, bytesPerSec: 5000, newFlowsPerSec: 5 });
});

test('the sampler looks on its timer until stopped, and its timer keeps no process alive', async () => {
  let looks = 0;
  const sampler = new RateSampler({ services: () => (looks++, []) }, 2);
  const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = refTimers();
  sampler.start();
  sampler.start();
  assert.equal(looks, 1, 'a first look at the start, once');
  assert.equal(refTimers(), before, 'the timer is unref\'d');
  const deadline = Date.now() + 5000;
  while (looks < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(looks >= 3, `looks on its timer (${looks})`);
  sampler.stop();
  const stoppedAt = looks;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(looks, stoppedAt, 'no look after stop()');
  sampler.stop();
});

test('a look at 1,024 services of 4 backends and one of 4,096: one read, no address parsed', (t) => {
  const addr = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  let id = 0;
  const backends = (n: number, p: number) => Array.from({ length: n }, () => ({ address: addr(++id), port: 80, id, counts: counts(p) }));
  const services = (p: number) => {
    id = 0;
    return [
      ...Array.from({ length: 1024 }, (_, i) => serviceStats(`svc-${i}`, i, counts(4 * p), backends(4, p))),
      serviceStats('big', 1024, counts(4096 * p), backends(4096, p)),
    ];
  };
  const first = services(10);
  const second = services(20);
  let reads = 0;
  let live = first;
  let now = 0;
  const sampler = new RateSampler({ services: () => (reads++, live) }, 1000, () => now);
  const parses = countAddressParses();
  try {
    sampler.sample();
    live = second;
    now += 1000;
    const start = process.hrtime.bigint();
    sampler.sample();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    t.diagnostic(`one look at ${first.length} services, ${first.reduce((n, s) => n + s.backends.length, 0)} backends: ${ms.toFixed(2)} ms`);
    assert.equal(parses.count, 0, 'keys from the addresses as the addon writes them');
  } finally {
    parses.stop();
  }
  assert.equal(reads, 2, 'one read of every counter per look, not one per service');
  assert.deepEqual(sampler.backend('big', writtenBackendKey({ address: addr(8192), port: 80 })),
    { packetsPerSec: 10, bytesPerSec: 1000, newFlowsPerSec: 1 });
  assert.deepEqual(sampler.service('svc-1023'), { packetsPerSec: 40, bytesPerSec: 4000, newFlowsPerSec: 4 });
});

test('the REST views carry rates once two looks exist: service, backend, lists and /stats', async () => {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00::2/64' }],
    services: [
      { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }] },
      { name: 'v6', vip: 'fd00::100', port: 80, backends: [{ address: 'fd00::12', port: 80 }] },
    ],
  });
  // The stand-in addon's counters, advanced by the test: packets by service name or "service/backendKey".
  const packets = new Map<string, number>();
  const fake = fakeAddon();
  const withCounts = (s: ServiceStats): ServiceStats => ({
    ...s, ...counts(packets.get(s.name) ?? 0),
    backends: s.backends.map((b) => ({ ...b, ...counts(packets.get(`${s.name}/${writtenBackendKey(b)}`) ?? 0) })),
  });
  fake.adjust = withCounts;
  const dataplane = new Dataplane(fake);
  dataplane.start(cfg);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  let now = 0;
  const rates = new RateSampler({ services: () => dataplane.stats().services }, 1000, () => now);
  const app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, rates, version: 't', config: cfg });
  const get = async (url: string) => {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, url);
    return r.json();
  };
  const urls = {
    service: '/api/v1/services/web',
    backend: '/api/v1/services/web/backends/10.99.0.11:80',
    backend6: `/api/v1/services/v6/backends/${encodeURIComponent('[fd00::12]:80')}`,
    backends: '/api/v1/services/web/backends',
    list: '/api/v1/services',
    stats: '/api/v1/stats',
  };
  const setPackets = (web: number, b1: number, b2: number) => {
    packets.set('web', web);
    packets.set('web/10.99.0.11:80', b1);
    packets.set('web/10.99.0.12:80', b2);
    packets.set('v6/[fd00::12]:80', b2);
  };
  try {
    setPackets(100, 60, 40);
    rates.sample();
    for (const [what, url] of Object.entries(urls)) {
      const body = JSON.stringify(await get(url));
      assert.ok(!body.includes('"rates"'), `${what}: no rates after one look`);
    }

    setPackets(2100, 1560, 540);
    now += 500;
    rates.sample();
    const web = { packetsPerSec: 4000, bytesPerSec: 400_000, newFlowsPerSec: 400 };
    const b1 = { packetsPerSec: 3000, bytesPerSec: 300_000, newFlowsPerSec: 300 };
    const b2 = { packetsPerSec: 1000, bytesPerSec: 100_000, newFlowsPerSec: 100 };

    const service = await get(urls.service);
    assert.deepEqual(service.rates, web);
    assert.equal(service.stats.packets, 2100, 'next to the counters');
    assert.deepEqual(service.backends.map((b: { rates: unknown }) => b.rates), [b1, b2]);
    assert.deepEqual((await get(urls.backend)).rates, b1);
    assert.deepEqual((await get(urls.backend6)).rates, b2, 'IPv6');
    assert.deepEqual((await get(urls.backends)).map((b: { rates: unknown }) => b.rates), [b1, b2]);
    const [listed] = await get(urls.list);
    assert.deepEqual(listed.rates, web);
    assert.deepEqual(listed.backends[1].rates, b2);
    const [row] = (await get(urls.stats)).services;
    assert.deepEqual(row.rates, web);
    assert.equal(row.packets, 2100);
    assert.deepEqual(row.backends.map((b: { rates: unknown }) => b.rates), [b1, b2]);

    // A backend removed is gone from the sampler at the next look; one added has no rate until its second.
    await app.inject({ method: 'DELETE', url: urls.backend });
    const added = await app.inject({ method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '10.99.0.13', port: 80 } });
    assert.equal(added.statusCode, 201);
    packets.set('web/10.99.0.13:80', 50);
    now += 1000;
    rates.sample();
    assert.equal(rates.backend('web', '10.99.0.11:80'), undefined);
    const after = await get(urls.service);
    assert.deepEqual(after.backends.map((b: { key: string; rates?: unknown }) => [b.key, b.rates !== undefined]),
      [['10.99.0.12:80', true], ['10.99.0.13:80', false]]);
  } finally {
    await app.close();
    dataplane.stop();
  }
});
