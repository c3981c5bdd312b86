// dashboards/sluice.json, the Grafana dashboard over /metrics: every metric
// its PromQL (panels and variables) names is one the app exports, so a
// renamed metric cannot leave a panel silently empty; it covers each family
// the dashboard is for; every panel queries the imported data source.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startRingApi, type RingApi } from '../helpers/ring-api';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'dashboards', 'sluice.json'), 'utf8'));

interface Panel { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[]; panels?: Panel[] }

const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
const queries = (): string[] => [
  ...panels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.flatMap((v: { query?: unknown }) => (typeof v.query === 'object' && v.query !== null
    ? [(v.query as { query: string }).query] : [])),
];
/** sluice_* names in PromQL; a name followed by ( would be a function, and no function is named so. */
const metricNames = (expr: string): string[] => [...expr.matchAll(/\b(sluice_[a-z0-9_]+)\b/g)].map((m) => m[1]);

let api: RingApi;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', queues: 1, address: '10.99.0.2/24',
      natPool: { addresses: ['10.99.0.240/30'], portRange: [20000, 29999] } }],
    flowTable: { entriesPerLcore: 16384 },
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' }] }],
  }, 'grafana');
});

after(() => api?.close());

test('the name extractor finds names and only names', () => {
  assert.deepEqual(metricNames('sum by (reason) (rate(sluice_lcore_drops_total{instance=~"$i"}[1m])) / sluice_x_total'),
    ['sluice_lcore_drops_total', 'sluice_x_total']);
});

test('every metric the Grafana dashboard queries is in /metrics', async () => {
  const res = await api.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  // A family is listed by its # TYPE line even while it has no series (no BGP, no kernel interface here).
  const exported = new Set([...res.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  assert.ok(exported.size > 40, `${exported.size} families in /metrics`);
  const used = new Set(queries().flatMap(metricNames));
  assert.ok(used.size >= 30, `only ${used.size} metrics used`);
  assert.deepEqual([...used].filter((n) => !exported.has(n)), [], 'queried but not exported');
});

test('it covers each family it is for', () => {
  const used = [...new Set(queries().flatMap(metricNames))];
  for (const family of ['sluice_service_', 'sluice_backend_', 'sluice_lcore_drops_total', 'sluice_lcore_busy_ratio', 'sluice_nat_',
    'sluice_flow_admissions_', 'sluice_bgp_', 'sluice_kernel_interface_', 'sluice_port_']) {
    assert.ok(used.some((n) => n.startsWith(family)), `no panel queries ${family}*`);
  }
});

test('every panel queries the data source chosen at import', () => {
  assert.deepEqual(dashboard.__inputs.map((i: { name: string }) => i.name), ['DS_PROMETHEUS']);
  const withTargets = panels(dashboard.panels).filter((p) => p.type !== 'row');
  assert.ok(withTargets.length > 20);
  for (const p of withTargets) {
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok((p.targets ?? []).length > 0 && p.targets!.every((t) => t.expr.length > 0 && t.datasource?.uid === '${DS_PROMETHEUS}'), p.title);
  }
});
