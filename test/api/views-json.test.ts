// The big reads (GET of a service and of the list) are sent as JSON text made
// from kept per-object texts (views.ts serviceViewJson/serviceViewsJson): the
// text must hold what the response schema's serializer writes for the object
// views, field for field, whatever the health, counters, rates and drains say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fastJson from 'fast-json-stringify';
import { BackendList, BackendView, ServiceList, ServiceView } from '../../src/api/schemas/services';
import { backendStatsFor, backendStatsIndex, backendView, backendViewJson, backendViews, backendViewsChunks, CHUNK_CHARS, serviceViewChunks, serviceViewJson, serviceViews, serviceViewsChunks, serviceViewsJson } from '../../src/api/views';
import { validateConfig } from '../../src/config';
import type { BackendHealth, HealthView } from '../../src/control/health-view';
import type { DrainView } from '../../src/control/drain-watch';
import type { RatesView } from '../../src/control/rates';
import type { DataplaneStats, ServiceStats } from '../../src/native/addon';

const services = validateConfig({
  eal: { lcores: '0@0,1@1' },
  ports: [{ name: 'p0', device: 'net_null0', address: '10.99.0.2/24', address6: 'fd00:99::2/64', gateway: '10.99.0.1' }],
  services: [
    { name: 'empty', vip: '10.99.0.100', port: 80, backends: [] },
    { name: 'web', vip: '10.99.0.101', port: 443, healthCheck: { type: 'http', path: '/h"x\\' },
      backends: [{ address: '10.99.0.11', port: 443, weight: 7, healthCheck: { fall: 9, path: '/b', type: 'http' } },
        { address: '10.99.0.12', port: 443, state: 'drain', mac: '02:00:00:00:01:02' },
        { address: '10.99.0.13', port: 443, weight: 0 }] },
    { name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80 }] },
    { name: 'tun', vip: '10.98.0.1', port: 80, forwarding: 'tunnel', lookupTableSize: 251,
      backends: Array.from({ length: 20 }, (_, i) => ({ address: `10.50.0.${i + 1}`, port: 80 })) },
  ],
}).services;

const health: HealthView = {
  backend: (service: string, key: string): BackendHealth => {
    if (key === '10.99.0.11:443') return { status: 'down', lastProbeAt: '2026-01-01T00:00:00.000Z', lastError: 'refused "x"\n', streak: 3, transitions: 2 };
    if (key === '10.99.0.12:443') return { status: 'up', lastProbeAt: '2026-01-01T00:00:01.000Z', streak: 0, transitions: 1 };
    if (service === 'tun' && key.endsWith('.5:80')) return { status: 'unknown', streak: 0, transitions: 0 };
    return { status: 'unchecked', streak: 0, transitions: 0 };
  },
  totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
};
const rates: RatesView = {
  service: (name) => (name === 'web' ? { packetsPerSec: 1.5, bytesPerSec: 1e21, newFlowsPerSec: 0 } : undefined),
  backend: (_s, key) => (key === '10.99.0.11:443' ? { packetsPerSec: 0.1 + 0.2, bytesPerSec: 3, newFlowsPerSec: 1 / 3 } : undefined),
};
const drains: DrainView = { emptySince: (_s, key) => (key === '10.99.0.12:443' ? '2026-01-01T00:00:02.000Z' : undefined) };

function statsOf(name: string, n: number): ServiceStats {
  const s = services.find((x) => x.name === name)!;
  return {
    name, packets: 10 * n, bytes: 2 ** 40 + n, newFlows: n, activeFlows: 1,
    // One backend without counters, one written as the addon writes IPv6.
    backends: s.backends.slice(1).map((b, j) => ({ address: b.address, port: b.port, packets: j, bytes: 64 * j, newFlows: j, activeFlows: 0 })),
  } as unknown as ServiceStats;
}
const stats = { services: [statsOf('web', 1), statsOf('web6', 2), statsOf('tun', 3)] } as unknown as DataplaneStats;

test('the list as text is what the schema serializer writes for the views', () => {
  const serialize = fastJson(ServiceList);
  const expected = JSON.parse(serialize(serviceViews(services, health, stats, drains, rates)));
  assert.deepEqual(JSON.parse(serviceViewsJson(services, health, stats, drains, rates)), expected);
  // Without a data plane (no counters, no rates) too.
  assert.deepEqual(JSON.parse(serviceViewsJson(services, health, undefined)), JSON.parse(serialize(serviceViews(services, health, undefined))));
});

test('fields in the order the schema serializer writes them (the CLI shows them in that order)', () => {
  const serialize = fastJson(ServiceList);
  // Key order matters here: compared as text.
  const reorder = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
  assert.equal(JSON.stringify(reorder(JSON.parse(serviceViewsJson(services, health, stats, drains, rates)))),
    JSON.stringify(reorder(JSON.parse(serialize(serviceViews(services, health, stats, drains, rates))))));
});

test('one service as text is what the schema serializer writes for its view, and kept texts follow new objects', () => {
  const serialize = fastJson(ServiceView);
  for (const s of services) {
    const live = stats.services.find((x) => x.name === s.name);
    assert.deepEqual(JSON.parse(serviceViewJson(s, health, live, drains, rates)), JSON.parse(serialize(serviceViews([s], health, stats, drains, rates)[0])), s.name);
  }
  const web = services[1];
  serviceViewJson(web, health, undefined);
  const changed = { ...web, port: 8443, backends: web.backends.map((b, j) => (j === 1 ? { ...b, weight: 42 } : b)) };
  const view = JSON.parse(serviceViewJson(changed, health, undefined));
  assert.equal(view.port, 8443);
  assert.equal(view.backends[1].weight, 42);
  assert.equal(view.backends[0].weight, 7);
});

test("a service's backends as text are what the schema serializer writes for their views, field order included", () => {
  const serialize = fastJson(BackendList);
  for (const s of services) {
    const live = stats.services.find((x) => x.name === s.name);
    for (const l of [live, undefined]) {
      assert.equal([...backendViewsChunks(s.name, s.backends, health, l, drains, rates)].join(''),
        serialize(backendViews(s.name, s.backends, health, l, drains, rates)), s.name);
    }
  }
});

test('one backend as text is what the schema serializer writes for its view, byte for byte', () => {
  const serialize = fastJson(BackendView);
  let compared = 0;
  for (const s of services) {
    const live = stats.services.find((x) => x.name === s.name);
    for (const b of s.backends) {
      for (const l of [live, undefined]) {
        const index = backendStatsFor(l, b);
        assert.equal(backendViewJson(s.name, b, health, index, drains, rates), serialize(backendView(s.name, b, health, index, drains, rates)),
          `${s.name} ${b.address}`);
        compared++;
      }
    }
  }
  // Down with an error to escape, drained and empty, weight 0, IPv6, without counters: all of them seen.
  assert.equal(compared, 2 * 24);
});

test("a backend's counters are found at its place, else by key: listed elsewhere, another port there, IPv6 spelled otherwise", () => {
  const tun = services.find((x) => x.name === 'tun')!;
  const web6 = services.find((x) => x.name === 'web6')!;
  const counted = (address: string, port: number, packets: number) => ({ id: packets, address, port, packets, bytes: 0, newFlows: 0, activeFlows: 0 });
  const listed = (backends: ReturnType<typeof counted>[]) => ({ backends }) as unknown as ServiceStats;
  // Each tun backend's packets are its last octet.
  const own = tun.backends.map((b) => counted(b.address, b.port, Number(b.address.split('.')[3])));
  for (const [how, list] of [['in order', own], ['reversed', [...own].reverse()], ['rotated', [...own.slice(7), ...own.slice(0, 7)]],
    ['the same addresses on another port first', [...own.map((x) => ({ ...x, port: 81, packets: -1 })), ...own]]] as const) {
    const index = backendStatsIndex(listed([...list]));
    tun.backends.forEach((b, j) => {
      assert.equal(index.get(b, j)?.packets, Number(b.address.split('.')[3]), `${how}: ${b.address} asked at ${j}`);
      assert.equal(index.get(b)?.packets, Number(b.address.split('.')[3]), `${how}: ${b.address} asked without a place`);
    });
  }
  const missing = backendStatsIndex(listed(own.slice(1)));
  assert.equal(missing.get(tun.backends[0], 0), undefined, 'not listed: none, not the one at its place');
  // The addon writes addresses normalized; one spelled otherwise is still found, by parsing.
  const long = backendStatsIndex(listed([counted('FD00:99:0:0:0:0:0:11', 80, 6)]));
  assert.equal(long.get(web6.backends[0], 0)?.packets, 6);
});

test('a big view comes in chunks of about CHUNK_CHARS that join into its text, the last holding the rest', () => {
  // 1,200 backends and 300 more services: over 200 KB of text, so several chunks, some cut inside a service.
  const big = validateConfig({
    eal: { lcores: '0@0,1@1' },
    ports: [{ name: 'p0', device: 'net_null0', address: '10.99.0.2/24', gateway: '10.99.0.1' }],
    services: [
      { name: 'big', vip: '10.98.0.2', port: 80, forwarding: 'tunnel', lookupTableSize: 65537,
        backends: Array.from({ length: 1200 }, (_, i) => ({ address: `10.60.${i >> 8}.${i & 255}`, port: 80 })) },
      ...Array.from({ length: 300 }, (_, i) => ({ name: `s${i}`, vip: `10.97.${i >> 8}.${i & 255}`, port: 80,
        backends: [{ address: `10.99.0.${10 + (i % 200)}`, port: 80 }] })),
    ],
  }).services;
  for (const [what, chunks, whole] of [
    ['list', [...serviceViewsChunks(big, health, undefined, drains, rates)], serviceViewsJson(big, health, undefined, drains, rates)],
    ['service', [...serviceViewChunks(big[0], health, undefined, drains, rates)], serviceViewJson(big[0], health, undefined, drains, rates)],
    ['backends', [...backendViewsChunks('big', big[0].backends, health, undefined, drains, rates)],
      fastJson(BackendList)(backendViews('big', big[0].backends, health, undefined, drains, rates))],
  ] as const) {
    assert.ok(chunks.length >= 3, `${what}: ${chunks.length} chunks`);
    assert.equal(chunks.join(''), whole, what);
    // Each but the last is cut once it reaches the size, after a whole backend (at most a few hundred characters more).
    for (const c of chunks.slice(0, -1)) assert.ok(c.length >= CHUNK_CHARS && c.length < CHUNK_CHARS + 1024, `${what}: ${c.length}`);
    assert.ok(chunks.at(-1)!.length > 0 && chunks.at(-1)!.length < CHUNK_CHARS + 1024, what);
  }
  assert.equal(JSON.parse(serviceViewsJson(big, health, undefined)).length, 301);
  // A small view is one chunk.
  assert.deepEqual([...serviceViewChunks(services[1], health, undefined)], [serviceViewJson(services[1], health, undefined)]);
});
