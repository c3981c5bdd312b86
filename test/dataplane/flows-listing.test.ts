// GET /api/v1/flows and `sluice flows` against a real data plane on a ring port
// with two workers: every connection the lcores remember (IPv4 and IPv6 flow
// tables, nat sessions) listed with its 5-tuple, service, backend, state, age
// and idle time; filtered by service, backend and client; bounded by limit; a
// backend removed since shows none; bad queries get a coded 4xx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { flows as flowsCommand } from '../../src/cli/commands';
import { addon } from '../../src/native/addon';
import { lcoreTotals } from '../../src/native/lcore-totals';
import * as pk from '../helpers/packets';
import { startRingApi, type RingApi } from '../helpers/ring-api';

const CLIENT_MAC = '02:00:00:00:00:99';
const mac = (i: number) => `02:00:00:00:01:${(i + 1).toString(16).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let api: RingApi;
let app: FastifyInstance;
const native = addon();
let portMac: string;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1,2@1', hugepages: false, memoryMb: 512 },
    ports: [{
      name: 'p0', device: 'ring', queues: 2, address: '10.99.0.2/24', address6: 'fd00:99::2/64',
      natPool: { addresses: ['10.99.0.240/30'], portRange: [20000, 29999] },
    }],
    flowTable: { entriesPerLcore: 16384 },
    dataplane: { idleSleepMaxUs: 50 },
    services: [
      { name: 'web', vip: '10.99.0.100', port: 80, backends: [
        { address: '10.99.0.11', port: 80, mac: mac(0) }, { address: '10.99.0.12', port: 80, mac: mac(1) }] },
      { name: 'dns', vip: '10.99.0.101', port: 53, protocol: 'udp', backends: [{ address: '10.99.0.13', port: 53, mac: mac(2) }] },
      { name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80, mac: mac(3) }] },
      { name: 'natweb', vip: '10.99.0.102', port: 80, forwarding: 'nat', backends: [{ address: '10.99.0.14', port: 8000, mac: mac(4) }] },
    ],
  }, 'flows');
  app = api.app;
  portMac = native.ports()[0].mac;
});

after(() => api?.close());

/** Injects frames on one rx queue (so onto one worker) and waits until the workers took them and flushed. */
async function send(frames: Buffer[], queue: number): Promise<void> {
  const before = lcoreTotals(native.stats()).rx;
  assert.equal(native.inject('p0', frames, queue), frames.length);
  const deadline = Date.now() + 10_000;
  while (lcoreTotals(native.stats()).rx < before + frames.length) {
    if (Date.now() > deadline) throw new Error('the workers did not receive the frames');
    await sleep(2);
  }
  const iterations = () => native.stats().lcores.map((l) => l.iterations);
  const target = iterations().map((n) => n + 2);
  while (iterations().some((n, i) => n < target[i])) await sleep(1);
  native.capture('p0');
}

const tcp = (src: string, sport: number, dst: string, dport: number, flags: string) =>
  pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: portMac, src, dst, sport, dport, flags });
const udp = (src: string, sport: number) =>
  pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: portMac, src, dst: '10.99.0.101', sport, dport: 53, payload: Buffer.from('q') });

interface Row {
  lcore: number; protocol: string; client: string; vip: string; service?: string; backend?: string; pool?: string;
  state: string; ageSec: number; idleSec: number;
}

async function list(query = ''): Promise<{ flows: Row[]; truncated: boolean }> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/flows${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}
const WEB = Array.from({ length: 20 }, (_, i) => i + 1);
const ALL = WEB.length + 4;
const byClient = (rows: Row[]) => new Map(rows.map((r) => [r.client, r]));

describe('GET /api/v1/flows', () => {
  before(async () => {
    // Ten web clients per worker, two dns clients, one IPv6 client, one nat client.
    await send(WEB.slice(0, 10).map((i) => tcp(`172.16.0.${i}`, 40000 + i, '10.99.0.100', 80, 'S')), 0);
    await send(WEB.slice(10).map((i) => tcp(`172.16.0.${i}`, 40000 + i, '10.99.0.100', 80, 'S')), 1);
    await send([udp('172.16.1.1', 5353), udp('172.16.1.2', 5354)], 0);
    await send([tcp('fd00:aa::5', 41000, 'fd00:99::100', 80, 'S')], 1);
    await send([tcp('172.16.2.1', 42000, '10.99.0.102', 80, 'S')], 0);
  });

  test('lists every connection the lcores remember: 5-tuple, service, backend, state, age, idle, lcore', async () => {
    const { flows, truncated } = await list();
    assert.equal(truncated, false);
    assert.equal(flows.length, ALL, JSON.stringify(flows));
    const rows = byClient(flows);
    for (const i of WEB) {
      const r = rows.get(`172.16.0.${i}:${40000 + i}`);
      assert.ok(r, `web client ${i} is listed`);
      assert.deepEqual({ ...r, backend: undefined, ageSec: 0, idleSec: 0 },
        { lcore: i <= 10 ? 1 : 2, protocol: 'tcp', client: `172.16.0.${i}:${40000 + i}`, vip: '10.99.0.100:80', service: 'web',
          backend: undefined, state: 'open', ageSec: 0, idleSec: 0 });
      assert.ok(['10.99.0.11:80', '10.99.0.12:80'].includes(r.backend!), r.backend);
      assert.ok(r.ageSec >= r.idleSec && r.idleSec >= 0 && r.ageSec < 60, `${r.ageSec} ${r.idleSec}`);
    }
    assert.deepEqual({ ...rows.get('172.16.1.1:5353'), ageSec: 0, idleSec: 0 }, { lcore: 1, protocol: 'udp', client: '172.16.1.1:5353',
      vip: '10.99.0.101:53', service: 'dns', backend: '10.99.0.13:53', state: 'open', ageSec: 0, idleSec: 0 });
    assert.deepEqual({ ...rows.get('[fd00:aa::5]:41000'), ageSec: 0, idleSec: 0 }, { lcore: 2, protocol: 'tcp',
      client: '[fd00:aa::5]:41000', vip: '[fd00:99::100]:80', service: 'web6', backend: '[fd00:99::11]:80', state: 'open',
      ageSec: 0, idleSec: 0 });
    const nat = rows.get('172.16.2.1:42000');
    assert.ok(nat?.pool, 'a nat session shows its pool address and port');
    assert.match(nat.pool, /^10\.99\.0\.24[0-3]:(2\d{4})$/);
    assert.deepEqual({ ...nat, pool: undefined, ageSec: 0, idleSec: 0 }, { lcore: 1, protocol: 'tcp', client: '172.16.2.1:42000',
      vip: '10.99.0.102:80', service: 'natweb', backend: '10.99.0.14:8000', pool: undefined, state: 'opening', ageSec: 0, idleSec: 0 });
    // What the lcores count as active is what they list.
    assert.equal(native.stats().lcores.reduce((n, l) => n + l.flows.active + l.nat.sessionsActive, 0), flows.length);
  });

  test('idle time restarts with each packet, age does not; FIN makes a flow closing', async () => {
    const before = byClient((await list()).flows);
    await sleep(300);
    await send([tcp('172.16.0.1', 40001, '10.99.0.100', 80, 'A')], 0);
    await send([tcp('172.16.0.2', 40002, '10.99.0.100', 80, 'FA')], 0);
    const rows = byClient((await list()).flows);
    const a = rows.get('172.16.0.1:40001')!;
    const other = rows.get('172.16.0.3:40003')!;
    assert.ok(a.idleSec < 0.25, `idle ${a.idleSec} s after a packet`);
    // An IPv4 flow's idle time is counted in whole units of its table's coarse
    // clock (128 ms at the default timeouts), so it may show up to one unit less.
    assert.ok(other.idleSec >= 0.3 - 0.128, `idle ${other.idleSec} s without one`);
    assert.ok(a.ageSec >= before.get('172.16.0.1:40001')!.ageSec + 0.3, `age ${a.ageSec} s kept growing`);
    assert.equal(a.state, 'open');
    assert.equal(rows.get('172.16.0.2:40002')!.state, 'closing');
    assert.equal(a.backend, before.get('172.16.0.1:40001')!.backend, 'the flow stays on its backend');
  });

  test('filters: service, one backend of it, a client (IPv4 or IPv6); they combine', async () => {
    const web = (await list('?service=web')).flows;
    assert.deepEqual(web.map((r) => r.service), Array(WEB.length).fill('web'));
    const all = byClient((await list()).flows);
    const on11 = [...all.values()].filter((r) => r.backend === '10.99.0.11:80').map((r) => r.client).sort();
    assert.ok(on11.length > 0 && on11.length < WEB.length, `${on11.length} of ${WEB.length} web flows on 10.99.0.11`);
    assert.deepEqual((await list('?service=web&backend=10.99.0.11:80')).flows.map((r) => r.client).sort(), on11);
    assert.deepEqual((await list('?client=172.16.0.5')).flows.map((r) => r.client), ['172.16.0.5:40005']);
    assert.deepEqual((await list('?client=FD00:AA:0::5')).flows.map((r) => r.client), ['[fd00:aa::5]:41000']);
    assert.deepEqual((await list('?service=dns&client=172.16.0.5')).flows, []);
  });

  test('limit bounds the rows and says when more matched', async () => {
    const three = await list('?limit=3');
    assert.equal(three.flows.length, 3);
    assert.equal(three.truncated, true);
    const every = await list(`?limit=${ALL}`);
    assert.equal(every.flows.length, ALL);
    assert.equal(every.truncated, false, 'exactly as many as matched is not truncated');
    assert.equal((await list(`?limit=${ALL - 1}`)).truncated, true);
  });

  test('a backend removed since: its flows are listed without one (their next packet picks another)', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/services/web/backends/10.99.0.12:80' });
    assert.equal(res.statusCode, 204, res.body);
    const web = (await list('?service=web')).flows;
    assert.equal(web.length, WEB.length);
    assert.ok(web.some((r) => r.backend === undefined), 'some web flows were on 10.99.0.12');
    assert.ok(web.every((r) => r.backend === undefined || r.backend === '10.99.0.11:80'));
  });

  test('bad queries: coded 400 or 404, and no lcore is asked', async () => {
    const cases: [string, number, string][] = [
      ['?backend=10.99.0.11:80', 400, 'SLUICE_BAD_REQUEST'],
      ['?service=nope', 404, 'SLUICE_NOT_FOUND'],
      ['?service=web&backend=10.99.0.99:80', 404, 'SLUICE_NOT_FOUND'],
      ['?service=web&backend=nonsense', 400, 'SLUICE_BAD_REQUEST'],
      ['?client=not-an-ip', 400, 'SLUICE_BAD_REQUEST'],
      ['?limit=0', 400, 'SLUICE_BAD_REQUEST'],
      ['?limit=10001', 400, 'SLUICE_BAD_REQUEST'],
      ['?limit=ten', 400, 'SLUICE_BAD_REQUEST'],
      ['?colour=red', 400, 'SLUICE_BAD_REQUEST'],
    ];
    for (const [query, status, code] of cases) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/flows${query}` });
      assert.equal(res.statusCode, status, `${query}: ${res.body}`);
      assert.equal(res.json().code, code, query);
    }
  });

  test('sluice flows prints a row per connection, and says when the listing was cut', async () => {
    const printed: string[] = [];
    const api = { request: async (method: string, path: string) => (await app.inject({ method: method as 'GET', url: path })).json() };
    await flowsCommand(api as never, { json: false, print: (t) => printed.push(t) }, { service: 'natweb', limit: '5' });
    const lines = printed.join('\n').split('\n');
    assert.match(lines[0], /^PROTO +CLIENT +VIP +SERVICE +BACKEND +POOL +STATE +AGE +IDLE +LCORE$/);
    assert.match(lines[1], /^tcp +172\.16\.2\.1:42000 +10\.99\.0\.102:80 +natweb +10\.99\.0\.14:8000 +10\.99\.0\.24[0-3]:2\d{4} +opening +\d+\.\ds +\d+\.\ds +1$/);
    assert.equal(lines.length, 2);
    printed.length = 0;
    await flowsCommand(api as never, { json: false, print: (t) => printed.push(t) }, { limit: '2' });
    assert.match(printed.join('\n'), /\nmore connections match: showing the first 2 \(--limit\)$/);
  });

  test('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const get = doc.paths['/api/v1/flows']?.get;
    assert.ok(get, 'GET /api/v1/flows is documented');
    assert.deepEqual(get.parameters.map((p: { name: string }) => p.name).sort(), ['backend', 'client', 'limit', 'service']);
    assert.match(get.responses['503'].description, /SLUICE_LCORE_TIMEOUT/);
  });
});
