// A counter is declared once, in native/common/lcore_counters.h's lists; every
// layer takes it from there. These tests read those lists (parsed from the
// header, and as the addon compiled them) and check each counter reaches every
// layer, and that no layer has one the lists lack: the TypeScript catalogue and
// types (src/native/counters.generated.ts), the REST schemas and GET
// /api/v1/stats, the Prometheus registry, and the totals over lcores. The
// data-plane objects are fakes built from the header's lists (no EAL): every
// value is distinct, so a value read from the wrong counter shows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { buildApp } from '../../src/api/app';
import { createMetrics } from '../../src/api/metrics';
import { StatsView } from '../../src/api/schemas/dataplane';
import { BackendCountersSchema, ServiceCountersSchema } from '../../src/api/schemas/services';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import type { Dataplane } from '../../src/dataplane';
import type { ServiceStore } from '../../src/control/store';
import { addon, type DataplaneStats, type LcoreStats } from '../../src/native/addon';
import { CATALOGUE, catalogueDifferences } from '../../src/native/counters';
import { lcoreTotals } from '../../src/native/lcore-totals';

// Compiled to dist/test/unit/, so the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Entry {
  field?: string;
  name: string;
  kind: string;
  group?: string;
  metric: string;
  api?: string;
  help: string;
}
interface Lists {
  lcore: Entry[];
  lcoreDerived: Entry[];
  service: Entry[];
  backend: Entry[];
}
interface Generator {
  parse(text?: string): Lists;
  render(lists: Lists): string;
  OUTPUT: string;
}

const gen = require(path.join(ROOT, 'scripts', 'gen-counters.js')) as Generator;
const lists = gen.parse();

/** What the addon shows per lcore: listed counters but internal ones, then the derived values. */
const lcoreValues = [...lists.lcore.filter((e) => e.kind !== 'internal'), ...lists.lcoreDerived];
const drops = lists.lcore.find((e) => e.kind === 'drops')!;
const numbers = lcoreValues.filter((e) => e.kind !== 'drops');
const nest = (group: string | undefined) => (group === 'flows' || group === 'nat' ? group : undefined);
const keys = (schema: { properties: object }) => Object.keys(schema.properties).sort();
const sorted = (names: Iterable<string>) => [...names].sort();

describe('the lists', () => {
  test('are read from the header: every kind, group and list is there', () => {
    assert.ok(lists.lcore.length >= 30 && lists.lcoreDerived.length >= 5, 'the lcore lists are read whole');
    assert.deepEqual(sorted(new Set(lists.lcore.map((e) => e.kind))), ['counter', 'drops', 'gauge', 'internal']);
    assert.deepEqual(sorted(new Set(lcoreValues.map((e) => e.group!))), ['flows', 'icmp', 'loop', 'nat', 'top']);
    assert.deepEqual(lists.service.map((e) => e.name), ['packets', 'bytes', 'newFlows', 'activeFlows']);
    assert.deepEqual(lists.backend.map((e) => e.name), ['packets', 'bytes', 'newFlows', 'activeFlows']);
  });

  test('the parser reads comments and split strings, and refuses what it cannot read rather than skip it', () => {
    const header = (line: string) => [
      '#define SLUICE_LCORE_COUNTERS(X) \\',
      '  X(rx_packets, rxPackets, counter, top, "sluice_lcore_rx_packets_total", stats, "packets") \\',
      '  X(drops, drops, drops, top, "sluice_lcore_drops_total", stats, "drops") \\',
      line,
      '#define SLUICE_LCORE_DERIVED(X) X(txPackets, counter, top, "sluice_lcore_tx_packets_total", stats, "sent")',
      '#define SLUICE_SERVICE_COUNTERS(X) X(packets, packets, counter, "sluice_service_packets_total", "packets")',
      '#define SLUICE_BACKEND_COUNTERS(X) X(packets, packets, counter, "sluice_backend_packets_total", "packets")',
    ].join('\n');
    const line = '  X(rx_bytes, rxBytes, counter, top, "sluice_lcore_rx_bytes_total", none, "bytes")';
    assert.deepEqual(gen.parse(header(line)).lcore[2], { field: 'rx_bytes', name: 'rxBytes', kind: 'counter',
      group: 'top', metric: 'sluice_lcore_rx_bytes_total', api: 'none', help: 'bytes' });
    const split = '  /* a note, (with) "quotes" */ X(rx_bytes, rxBytes, gauge, top, "", none, "by" "tes \\"in\\"")';
    assert.deepEqual(gen.parse(header(split)).lcore[2],
      { field: 'rx_bytes', name: 'rxBytes', kind: 'gauge', group: 'top', metric: '', api: 'none', help: 'bytes "in"' });
    const broken = {
      'a column short': line.replace(', none,', ','),
      'an unknown kind': line.replace('counter,', 'countr,'),
      'an unknown group': line.replace('top,', 'flow,'),
      'a counter metric without _total': line.replace('_total"', '"'),
      'a metric twice': line.replace('rx_bytes_total', 'rx_packets_total'),
      'a name used twice': line.replace('rxBytes', 'rxPackets'),
      'a name that is not camelCase': line.replace('rxBytes', 'rx_bytes'),
      'a // comment': `${line} // bytes`,
      'text outside X()': `${line} Y(a)`,
    };
    for (const [what, text] of Object.entries(broken)) assert.throws(() => gen.parse(header(text)), Error, what);
  });

  test('src/native/counters.generated.ts is what scripts/gen-counters.js makes of the header', () => {
    const have = readFileSync(path.join(ROOT, gen.OUTPUT), 'utf8');
    assert.ok(have === gen.render(lists), `${gen.OUTPUT} is stale: run node scripts/gen-counters.js`);
    assert.deepEqual(JSON.parse(JSON.stringify(CATALOGUE)), lists, 'the compiled TypeScript catalogue');
  });

  test('the addon was compiled from the same lists, and loads only with them', () => {
    const native = addon();  // throws when its catalogue differs from ours
    const { examples: _examples, ...catalogue } = native.counters;
    assert.deepEqual(JSON.parse(JSON.stringify(catalogue)), lists);
    assert.deepEqual(catalogueDifferences(native.counters), []);
    const missing = { ...native.counters, lcore: native.counters.lcore.slice(1) };
    assert.match(catalogueDifferences(missing).join('\n'), /lcore: the addon lacks .*rxPackets/);
    const renamed = { ...native.counters, service: native.counters.service.map((e) => ({ ...e, name: `${e.name}X` })) };
    assert.equal(catalogueDifferences(renamed).length, 2 * lists.service.length);
  });
});

describe('the addon', () => {
  // stats() needs a running data plane; the addon builds these examples with the same code.
  const { examples } = addon().counters;
  const names = (entries: Entry[]) => entries.map((e) => e.name);

  test('its lcore objects hold every lcore value of the lists where its group says, and nothing else', () => {
    const at = (group?: string) => names(lcoreValues.filter((e) => nest(e.group) === group));
    assert.deepEqual(sorted(Object.keys(examples.lcore)), sorted(['lcore', 'flows', 'nat', ...at(undefined)]));
    assert.deepEqual(sorted(Object.keys(examples.lcore.flows)), sorted(at('flows')));
    assert.deepEqual(sorted(Object.keys(examples.lcore.nat)), sorted(at('nat')));
    assert.deepEqual(Object.keys(examples.lcore.drops), addon().dropReasons());
    for (const e of numbers.filter((x) => x.field !== undefined)) {
      assert.equal(lcoreValueOf(examples.lcore, e), 0, e.name);
    }
  });

  test('its service and backend objects hold every service and backend counter', () => {
    assert.deepEqual(examples.service, Object.fromEntries(names(lists.service).map((n) => [n, 0])));
    assert.deepEqual(examples.backend, Object.fromEntries(names(lists.backend).map((n) => [n, 0])));
  });
});

describe('the REST schemas', () => {
  const lcore = StatsView.properties.lcores.items;
  const shown = (group?: string) =>
    sorted(lcoreValues.filter((e) => e.api === 'stats' && nest(e.group) === group).map((e) => e.name));

  test('GET /api/v1/stats shows each lcore value the lists mark api: stats, and no other', () => {
    assert.deepEqual(keys(lcore), sorted(['lcore', 'flows', 'nat', ...shown(undefined)]));
    assert.deepEqual(keys(lcore.properties.flows), shown('flows'));
    assert.deepEqual(keys(lcore.properties.nat), shown('nat'));
    assert.equal(drops.api, 'stats');
    for (const e of numbers.filter((x) => x.api === 'stats')) {
      const where = nest(e.group);
      const schema = (where === undefined ? lcore : lcore.properties[where]).properties as Record<string, object>;
      const want = { type: 'integer', minimum: 0, description: e.help };
      assert.deepEqual(JSON.parse(JSON.stringify(schema[e.name])), want, e.name);
    }
  });

  test('services and backends show every service and backend counter, and no other', () => {
    const service = StatsView.properties.services.items;
    const backend = service.properties.backends.items;
    const serviceNames = lists.service.map((e) => e.name);
    const backendNames = lists.backend.map((e) => e.name);
    assert.deepEqual(keys(service), sorted(['name', 'backends', 'rates', ...serviceNames]));
    assert.deepEqual(keys(backend), sorted(['address', 'port', 'weight', 'state', 'health', 'rates', ...backendNames]));
    assert.deepEqual(keys(ServiceCountersSchema), sorted(serviceNames));
    assert.deepEqual(keys(BackendCountersSchema), sorted(backendNames));
  });
});

/** Fake counters: lcore `l`'s value of the i-th number is (l + 1) * 1000 + i, so every one is distinct. */
function fakeLcore(l: number): LcoreStats {
  const out: Record<string, unknown> = { lcore: l, flows: {}, nat: {}, drops: { truncated: 7 + l, tx_full: 11 + l } };
  numbers.forEach((e, i) => {
    const where = nest(e.group);
    ((where === undefined ? out : out[where]) as Record<string, number>)[e.name] = (l + 1) * 1000 + i;
  });
  return out as unknown as LcoreStats;
}

const lcoreValueOf = (l: LcoreStats, e: Entry) => {
  const where = nest(e.group);
  return ((where === undefined ? l : l[where]) as unknown as Record<string, number>)[e.name];
};

function fakeStats(): DataplaneStats {
  const counters = (entries: Entry[], base: number) => Object.fromEntries(entries.map((e, i) => [e.name, base + i]));
  return {
    lcores: [fakeLcore(1), fakeLcore(2)],
    ports: [],
    services: [{
      id: 0,
      name: 'web',
      ...counters(lists.service, 500),
      backends: [{ id: 0, address: '10.0.0.1', port: 80, ...counters(lists.backend, 600) }],
    }],
    mempools: [],
    generation: 1,
    retiredSnapshots: 0,
  } as unknown as DataplaneStats;
}

const fakeDataplane = (stats: DataplaneStats) => ({ stats: () => stats, ports: () => [] }) as unknown as Dataplane;
const fakeStore = {
  list: () => [{ name: 'web', backends: [{ address: '10.0.0.1', port: 80, weight: 100, state: 'active' }] }],
} as unknown as ServiceStore;

describe('the layers', () => {
  test('GET /api/v1/stats returns each api: stats value from the counter of its name', async () => {
    const stats = fakeStats();
    const app = buildApp({ store: fakeStore, dataplane: fakeDataplane(stats), health: NO_HEALTH_CHECKS, version: 't' });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/stats' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      const shownNumbers = numbers.filter((e) => e.api === 'stats');
      body.lcores.forEach((got: LcoreStats, i: number) => {
        for (const e of shownNumbers) assert.equal(lcoreValueOf(got, e), lcoreValueOf(stats.lcores[i], e), e.name);
        assert.deepEqual(got.drops, stats.lcores[i].drops);
      });
      for (const e of lists.service) assert.equal(body.services[0][e.name], 500 + lists.service.indexOf(e), e.name);
      for (const e of lists.backend) {
        assert.equal(body.services[0].backends[0][e.name], 600 + lists.backend.indexOf(e), e.name);
      }
    } finally {
      await app.close();
    }
  });

  test('the Prometheus registry has every metric the lists name, of its kind, and each reads its counter', async () => {
    const stats = fakeStats();
    const metrics = createMetrics({ store: fakeStore, dataplane: fakeDataplane(stats), health: NO_HEALTH_CHECKS,
      version: 't' });
    const registered = new Map(metrics.registry.getMetricsAsArray().map((m) => [m.name, m]));
    const listed = [...lcoreValues, ...lists.service, ...lists.backend].filter((e) => e.metric !== '');
    for (const e of listed) {
      const m = registered.get(e.metric);
      assert.ok(m !== undefined, `${e.metric} (${e.name}) is not registered`);
      const counter = e.kind === 'counter' || e.kind === 'drops';
      assert.ok(counter ? m instanceof Counter : m instanceof Gauge, `${e.metric}: ${counter ? 'counter' : 'gauge'}`);
      assert.equal((m as unknown as { help: string }).help, e.help, e.metric);
    }
    // The reverse: every data-plane metric comes from the lists. Those below come
    // from the config, the health checker, the ports and their kernel interfaces, the lcores' liveness, the BGP speaker, the node's drain or the process.
    const elsewhere =
      /^sluice_(build_info|dataplane_|port_|kernel_interface_|health_|bgp_|node_draining$|lcore_stuck$|backend_(healthy|admin_state|weight|health_transitions_total)$)/;
    const fromLists = new Set(listed.map((e) => e.metric));
    assert.deepEqual(sorted([...registered.keys()].filter((n) => !elsewhere.test(n))), sorted(fromLists));

    const text = await metrics.scrape();
    const sample = (name: string, labels: string) => {
      const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
      assert.ok(m, `${name}{${labels}} in the scrape`);
      return Number(m[1]);
    };
    for (const l of stats.lcores) {
      for (const e of numbers.filter((x) => x.metric !== '')) {
        assert.equal(sample(e.metric, `lcore="${l.lcore}"`), lcoreValueOf(l, e), `${e.metric} lcore ${l.lcore}`);
      }
      assert.equal(sample(drops.metric, `lcore="${l.lcore}",reason="tx_full"`), l.drops.tx_full);
    }
    const svc = stats.services[0] as unknown as Record<string, number>;
    const be = stats.services[0].backends[0] as unknown as Record<string, number>;
    for (const e of lists.service) assert.equal(sample(e.metric, 'service="web"'), svc[e.name], e.metric);
    for (const e of lists.backend) {
      assert.equal(sample(e.metric, 'service="web",backend="10.0.0.1:80"'), be[e.name], e.metric);
    }
  });

  test('the totals over lcores have every lcore value: summed, iterations and generation the least, busyRatio the mean', () => {
    const stats = fakeStats();
    const totals = lcoreTotals(stats) as unknown as Record<string, unknown>;
    const [a, b] = stats.lcores;
    for (const e of numbers) {
      const [x, y] = [lcoreValueOf(a, e), lcoreValueOf(b, e)];
      const want = e.name === 'iterations' || e.name === 'generation' ? Math.min(x, y)
        : e.name === 'busyRatio' ? (x + y) / 2 : x + y;
      assert.equal(totals[e.name], want, e.name);
    }
    assert.deepEqual(totals.drops, { truncated: 7 + 1 + 7 + 2, tx_full: 11 + 1 + 11 + 2 });
    assert.equal(totals.dropped, 7 + 1 + 7 + 2 + 11 + 1 + 11 + 2);
    assert.equal(totals.rx, totals.rxPackets);
    assert.equal(totals.tx, totals.txPackets);
    const extra = ['rx', 'tx', 'drops', 'dropped'];
    assert.deepEqual(sorted(Object.keys(totals)), sorted([...numbers.map((e) => e.name), ...extra]));
  });
});
