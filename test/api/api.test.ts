// The REST API and /metrics against a real data plane on an in-process ring
// port: every route through inject(), a few over a real socket, a table of bad
// requests that must each be refused with a code naming the field and change
// nothing, bearer auth, and metrics that move when frames go through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/api/app';
import { validateConfig, type SluiceConfig } from '../../src/config';
import type { BackendHealth, HealthView } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { addon } from '../../src/native/addon';
import * as pk from '../helpers/packets';
import { CLIENT_MAC } from '../helpers/ring-dataplane';

const VERSION = '9.9.9-test';
const TOKEN = 'correct horse battery staple';
const WEB_VIP = '10.99.0.100';
const CLIENT_NET = '172.16.0.0/12';

class FakeHealth implements HealthView {
  readonly marks = new Map<string, BackendHealth>();
  backend(service: string, key: string): BackendHealth {
    return this.marks.get(`${service}/${key}`) ?? { status: 'unchecked', streak: 0, transitions: 0 };
  }
  totals() {
    return { up: 1, down: 2, probes: 30, probeFailures: 4 };
  }
}

const webService = () => ({
  name: 'web',
  vip: WEB_VIP,
  port: 80,
  backends: [
    { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
    { address: '10.99.0.12', port: 80, mac: '02:00:00:00:01:02', weight: 50 },
  ],
});

let cfg: SluiceConfig;
let dataplane: Dataplane;
let store: ServiceStore;
const health = new FakeHealth();
let app: FastifyInstance;
let authApp: FastifyInstance;

before(async () => {
  cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', natPool: { addresses: ['10.99.0.240'] } }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [webService()],
  });
  dataplane = new Dataplane();
  dataplane.start(cfg, `api-${process.pid}`);
  store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  app = buildApp({ store, dataplane, health, version: VERSION, config: cfg });
  authApp = buildApp({ store, dataplane, health, version: VERSION, config: cfg, token: TOKEN });
  await Promise.all([app.ready(), authApp.ready()]);
});

after(async () => {
  await Promise.all([app?.close(), authApp?.close()]);
  dataplane?.stop();
});

async function call(opts: InjectOptions, on: FastifyInstance = app) {
  const res = await on.inject(opts);
  const isJson = (res.headers['content-type'] ?? '').toString().startsWith('application/json');
  return { status: res.statusCode, headers: res.headers, body: isJson ? res.json() : res.body };
}

const get = (url: string) => call({ method: 'GET', url });

/** The services as the API shows them, counters left out: what a refused request must not change. */
async function observableState() {
  const res = await get('/api/v1/services');
  assert.equal(res.status, 200);
  const strip = (list: { stats?: unknown; backends: { stats?: unknown }[] }[]) =>
    list.map(({ stats: _s, backends, ...rest }) => ({ ...rest, backends: backends.map(({ stats: _b, ...b }) => b) }));
  return { services: strip(res.body), generation: dataplane.stats().generation };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Injects frames into the ring port and waits until the worker has taken them all. */
async function pushFrames(frames: Buffer[]): Promise<void> {
  const rx = () => dataplane.stats().lcores.reduce((a, l) => a + l.rxPackets, 0);
  const target = rx() + frames.length;
  assert.equal(addon().inject('p0', frames, 0), frames.length, 'the ring port takes every frame');
  const deadline = Date.now() + 10000;
  while (rx() < target) {
    if (Date.now() > deadline) throw new Error(`worker received ${rx()} of ${target} packets`);
    await sleep(5);
  }
  // The rx counter moves when a burst arrives; the rest when it is handled.
  // Two more loop iterations and every counter of that burst is in.
  const iterations = () => dataplane.stats().lcores[0].iterations;
  const settled = iterations() + 2;
  while (iterations() < settled) await sleep(1);
  addon().capture('p0');
}

function synFrames(n: number, seed: number, vip = WEB_VIP): { frames: Buffer[]; clients: string[] } {
  const mac = dataplane.ports()[0].mac;
  const flows = pk.randomFlows(n, seed, { vip, vport: 80, proto: 'tcp', clientNet: CLIENT_NET });
  return {
    frames: flows.map((f) =>
      pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: mac, src: f.src, dst: vip, sport: f.sport, dport: 80, flags: 'S' })),
    clients: flows.map((f) => f.src),
  };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `exposition line parses: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(): Promise<Sample[]> {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.body as string);
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

const enc = encodeURIComponent;

describe('services', () => {
  test('GET /api/v1/services lists the config\'s services with defaults, health and counters', async () => {
    const res = await get('/api/v1/services');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1);
    const web = res.body[0];
    assert.equal(web.name, 'web');
    assert.equal(web.protocol, 'tcp');
    assert.equal(web.forwarding, 'dsr');
    assert.equal(web.lookupTableSize, 65537);
    assert.equal(web.healthCheck.type, 'none');
    assert.deepEqual(web.backends.map((b: { key: string }) => b.key), ['10.99.0.11:80', '10.99.0.12:80']);
    assert.deepEqual(web.backends[1].health, { status: 'unchecked', streak: 0, transitions: 0 });
    assert.equal(web.backends[1].weight, 50);
    assert.equal(web.backends[0].state, 'active');
    assert.deepEqual(Object.keys(web.stats).sort(), ['activeFlows', 'bytes', 'newFlows', 'packets']);
    assert.deepEqual(Object.keys(web.backends[0].stats).sort(), ['activeFlows', 'bytes', 'newFlows', 'packets']);
  });

  test('a nat service with a backend port other than the VIP\'s: POST, GET, DELETE', async () => {
    const created = await call({
      method: 'POST',
      url: '/api/v1/services',
      payload: { name: 'natweb', vip: '10.99.0.102', port: 80, forwarding: 'nat',
        backends: [{ address: '10.99.0.24', port: 8080, mac: '02:00:00:00:02:04' }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(dataplane.stats().services.some((s) => s.name === 'natweb'), 'the data plane runs the new service');
    const fetched = await get('/api/v1/services/natweb');
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.forwarding, 'nat');
    assert.equal(fetched.body.backends[0].port, 8080);
    const ports = await get('/api/v1/ports');
    assert.equal(ports.body[0].natSteering, 'software');
    assert.equal((await call({ method: 'DELETE', url: '/api/v1/services/natweb' })).status, 204);
  });

  test('POST, GET, PUT and DELETE a service; each change reaches the data plane', async () => {
    const gen0 = dataplane.stats().generation;
    const created = await call({
      method: 'POST',
      url: '/api/v1/services',
      payload: { name: 'dns', vip: '10.99.0.101', port: 53, protocol: 'udp',
        backends: [{ address: '10.99.0.21', port: 53, mac: '02:00:00:00:02:01' }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.location, '/api/v1/services/dns');
    assert.equal(created.body.lookupTableSize, 65537, 'defaults are filled in');
    assert.equal(created.body.backends[0].weight, 100);
    assert.ok(dataplane.stats().generation > gen0);
    assert.ok(dataplane.stats().services.some((s) => s.name === 'dns'), 'the data plane runs the new service');

    const fetched = await get('/api/v1/services/dns');
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, created.body);

    const replaced = await call({
      method: 'PUT',
      url: '/api/v1/services/dns',
      payload: { vip: '10.99.0.101', port: 53, protocol: 'udp', backends: [
        { address: '10.99.0.22', port: 53, mac: '02:00:00:00:02:02', weight: 7 },
        { address: '10.99.0.23', port: 53, mac: '02:00:00:00:02:03' },
      ] },
    });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.name, 'dns', 'name comes from the URL when the body has none');
    assert.deepEqual(replaced.body.backends.map((b: { key: string; weight: number }) => [b.key, b.weight]),
      [['10.99.0.22:53', 7], ['10.99.0.23:53', 100]]);
    const live = dataplane.stats().services.find((s) => s.name === 'dns')!;
    assert.deepEqual(live.backends.map((b) => b.address), ['10.99.0.22', '10.99.0.23']);

    const { stats: _stats, ...asShown } = replaced.body;
    const roundTrip = await call({ method: 'PUT', url: '/api/v1/services/dns', payload: asShown });
    assert.equal(roundTrip.status, 400, 'read-only fields (key, health) are refused like any unknown field');
    assert.match(roundTrip.body.message, /^body\/backends\/0\/(key|health) is not a known field/);

    const del = await call({ method: 'DELETE', url: '/api/v1/services/dns' });
    assert.equal(del.status, 204);
    assert.equal(del.body, '');
    assert.equal((await get('/api/v1/services/dns')).status, 404);
    assert.ok(!dataplane.stats().services.some((s) => s.name === 'dns'));
    assert.deepEqual((await get('/api/v1/services')).body.map((s: { name: string }) => s.name), ['web']);
  });
});

describe('backends', () => {
  test('GET lists a service\'s backends; GET one by raw or URL-encoded address:port', async () => {
    const list = await get('/api/v1/services/web/backends');
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 2);
    const raw = await get('/api/v1/services/web/backends/10.99.0.12:80');
    const encoded = await get(`/api/v1/services/web/backends/${enc('10.99.0.12:80')}`);
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body, encoded.body);
    assert.equal(raw.body.key, '10.99.0.12:80');
    assert.equal(raw.body.mac, '02:00:00:00:01:02');
  });

  test('an IPv6 key in brackets parses (then is simply not there)', async () => {
    const res = await get(`/api/v1/services/web/backends/${enc('[2001:DB8::1]:80')}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'SLUICE_NOT_FOUND');
    assert.match(res.body.message, /\[2001:db8::1\]:80/, 'the key is normalized before lookup');
  });

  test('POST, PATCH (one field leaves the others), DELETE a backend', async () => {
    const created = await call({ method: 'POST', url: '/api/v1/services/web/backends',
      payload: { address: '10.99.0.13', port: 80, mac: '02:00:00:00:01:03', state: 'drain' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.location, `/api/v1/services/web/backends/${enc('10.99.0.13:80')}`);
    assert.equal(created.body.weight, 100);
    assert.equal(created.body.state, 'drain');
    assert.equal(created.body.health.status, 'unchecked');

    const weighted = await call({ method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.13:80',
      payload: { weight: 5 } });
    assert.equal(weighted.status, 200, JSON.stringify(weighted.body));
    assert.equal(weighted.body.weight, 5);
    assert.equal(weighted.body.state, 'drain', 'a PATCH without state keeps the state');
    const native = dataplane.stats().services.find((s) => s.name === 'web')!;
    assert.ok(native.backends.some((b) => b.address === '10.99.0.13'));

    const activated = await call({ method: 'PATCH', url: `/api/v1/services/web/backends/${enc('10.99.0.13:80')}`,
      payload: { state: 'active' } });
    assert.equal(activated.status, 200);
    assert.deepEqual([activated.body.weight, activated.body.state], [5, 'active']);
    assert.equal(store.backend('web', '10.99.0.13:80').state, 'active');

    const del = await call({ method: 'DELETE', url: '/api/v1/services/web/backends/10.99.0.13:80' });
    assert.equal(del.status, 204);
    assert.equal((await get('/api/v1/services/web/backends/10.99.0.13:80')).status, 404);
    assert.equal((await get('/api/v1/services/web/backends')).body.length, 2);
  });

  test('health comes from the health view', async () => {
    health.marks.set('web/10.99.0.12:80', { status: 'down', streak: 3, transitions: 2, lastError: 'connect refused',
      lastProbeAt: '2024-01-01T00:00:00.000Z' });
    try {
      const res = await get('/api/v1/services/web/backends/10.99.0.12:80');
      assert.deepEqual(res.body.health, { status: 'down', streak: 3, transitions: 2, lastError: 'connect refused',
        lastProbeAt: '2024-01-01T00:00:00.000Z' });
      const stats = await get('/api/v1/stats');
      assert.deepEqual(stats.body.services[0].backends.map((b: { health: string }) => b.health), ['unchecked', 'down']);
      const samples = await scrape();
      assert.equal(value(samples, 'sluice_backend_healthy', { service: 'web', backend: '10.99.0.12:80' }), 0);
      assert.equal(value(samples, 'sluice_backend_healthy', { service: 'web', backend: '10.99.0.11:80' }), 1);
      assert.equal(value(samples, 'sluice_backend_health_transitions_total', { backend: '10.99.0.12:80' }), 2);
    } finally {
      health.marks.clear();
    }
  });
});

interface BadCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** must appear in the message: the field or name at fault */
  names: string | RegExp;
}

const svc = (extra: Record<string, unknown>, drop: string[] = []) => {
  const s: Record<string, unknown> = { name: 'new', vip: '10.99.0.150', port: 80, ...extra };
  for (const k of drop) delete s[k];
  return s;
};
const be = (extra: Record<string, unknown>, drop: string[] = []) => {
  const b: Record<string, unknown> = { address: '10.99.0.30', port: 80, ...extra };
  for (const k of drop) delete b[k];
  return b;
};
const BACKEND = '/api/v1/services/web/backends/10.99.0.11:80';

const badCases: BadCase[] = [
  // POST /services: shape
  { name: 'port as a string is not coerced', method: 'POST', url: '/api/v1/services', payload: svc({ port: '80' }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/port must be integer' },
  { name: 'port above 65535', method: 'POST', url: '/api/v1/services', payload: svc({ port: 70000 }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/port must be <= 65535' },
  { name: 'port 0', method: 'POST', url: '/api/v1/services', payload: svc({ port: 0 }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/port must be >= 1' },
  { name: 'missing vip', method: 'POST', url: '/api/v1/services', payload: svc({}, ['vip']),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/vip is required' },
  { name: 'unknown field is refused, not stripped', method: 'POST', url: '/api/v1/services',
    payload: svc({ colour: 'red' }), status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/colour is not a known field' },
  { name: 'protocol not tcp or udp', method: 'POST', url: '/api/v1/services', payload: svc({ protocol: 'sctp' }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/protocol must be one of: tcp, udp' },
  { name: 'name with a space', method: 'POST', url: '/api/v1/services', payload: svc({ name: 'my web' }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/name must be 1 to 32 of A-Z a-z 0-9 _ . -' },
  { name: 'nested backend port as a string', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: [be({ port: 'eighty' })] }), status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/backends/0/port must be integer' },
  { name: 'unknown field in a backend', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: [be({ hostname: 'x' })] }), status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/backends/0/hostname is not a known field' },
  { name: 'health check type', method: 'POST', url: '/api/v1/services',
    payload: svc({ healthCheck: { type: 'icmp' } }), status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/healthCheck/type must be one of: tcp, http, none' },
  { name: 'body is a list', method: 'POST', url: '/api/v1/services', payload: [svc({})],
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body must be object' },
  { name: 'body is not JSON', method: 'POST', url: '/api/v1/services', payload: '{"name": "x",',
    headers: { 'content-type': 'application/json' }, status: 400, code: 'SLUICE_BAD_REQUEST', names: /JSON/ },
  { name: 'body is not JSON at all (text/plain)', method: 'POST', url: '/api/v1/services', payload: 'name=x',
    headers: { 'content-type': 'text/plain' }, status: 400, code: 'SLUICE_BAD_REQUEST', names: 'application/json' },
  { name: 'body in XML', method: 'POST', url: '/api/v1/services', payload: '<service/>',
    headers: { 'content-type': 'application/xml' }, status: 400, code: 'SLUICE_BAD_REQUEST', names: 'application/json' },
  { name: 'huge body', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: Array.from({ length: 30000 }, (_, i) => be({ address: `10.99.${i >> 8}.${i & 255}` })) }),
    status: 413, code: 'SLUICE_PAYLOAD_TOO_LARGE', names: /larger than 1048576 bytes/ },
  // POST /services: meaning
  { name: 'vip is not an address', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '10.99.0.999' }),
    status: 400, code: 'SLUICE_CONFIG_INVALID', names: 'services.new.vip' },
  { name: 'IPv6 vip', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '2001:db8::1' }),
    status: 400, code: 'SLUICE_CONFIG_INVALID', names: 'services.new.vip: 2001:db8::1 is IPv6 and no port has an IPv6 address' },
  { name: 'IPv6 backend of an IPv4 vip', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: [be({ address: 'fd00:99::11' })] }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.new.backends[0].address: fd00:99::11 is IPv6 but the VIP is IPv4' },
  { name: 'vip is the port\'s own address', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '10.99.0.2' }),
    status: 400, code: 'SLUICE_CONFIG_INVALID', names: 'services.new.vip' },
  { name: 'duplicate service name', method: 'POST', url: '/api/v1/services', payload: svc({ name: 'web' }),
    status: 409, code: 'SLUICE_CONFLICT', names: '"web"' },
  { name: 'vip:port/protocol already served', method: 'POST', url: '/api/v1/services',
    payload: svc({ vip: WEB_VIP }), status: 409, code: 'SLUICE_CONFLICT', names: '10.99.0.100:80/tcp' },
  { name: 'lookup table size not prime', method: 'POST', url: '/api/v1/services',
    payload: svc({ lookupTableSize: 1000 }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.new.lookupTableSize: must be prime' },
  { name: 'the table size under its old name', method: 'POST', url: '/api/v1/services',
    payload: svc({ maglevTableSize: 65537 }), status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/maglevTableSize was renamed to lookupTableSize' },
  { name: 'backend off-link', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: [be({ address: '192.0.2.1' })] }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.new.backends[0].address' },
  { name: 'same backend listed twice', method: 'POST', url: '/api/v1/services',
    payload: svc({ backends: [be({}), be({})] }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.new.backends[1]: backend 10.99.0.30:80 is listed twice' },
  { name: 'nat backend on a pool address', method: 'POST', url: '/api/v1/services',
    payload: svc({ forwarding: 'nat', backends: [be({ address: '10.99.0.240' })] }), status: 400,
    code: 'SLUICE_CONFIG_INVALID', names: 'services.new.backends[0].address: 10.99.0.240 is a nat pool address' },
  // PUT /services/:name
  { name: 'PUT name differs from the URL', method: 'PUT', url: '/api/v1/services/web', payload: svc({ name: 'other' }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: /name "other" differs from "web"/ },
  { name: 'PUT unknown service', method: 'PUT', url: '/api/v1/services/nope', payload: svc({}, ['name']),
    status: 404, code: 'SLUICE_NOT_FOUND', names: '"nope"' },
  { name: 'PUT port out of range', method: 'PUT', url: '/api/v1/services/web', payload: svc({ port: 65536 }, ['name']),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/port must be <= 65535' },
  { name: 'PUT unknown field', method: 'PUT', url: '/api/v1/services/web', payload: svc({ stats: {} }, ['name']),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/stats is not a known field' },
  { name: 'PUT the table size under its old name', method: 'PUT', url: '/api/v1/services/web',
    payload: svc({ maglevTableSize: 65537 }, ['name']), status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/maglevTableSize was renamed to lookupTableSize' },
  { name: 'PUT backend port differs from the service port (dsr)', method: 'PUT', url: '/api/v1/services/web',
    payload: { vip: WEB_VIP, port: 80, backends: [be({ port: 8080 })] }, status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.web.backends[0].port' },
  // services by name
  { name: 'GET unknown service', method: 'GET', url: '/api/v1/services/nope', status: 404, code: 'SLUICE_NOT_FOUND',
    names: '"nope"' },
  { name: 'DELETE unknown service', method: 'DELETE', url: '/api/v1/services/nope', status: 404,
    code: 'SLUICE_NOT_FOUND', names: '"nope"' },
  // POST /services/:name/backends
  { name: 'backends of an unknown service', method: 'GET', url: '/api/v1/services/nope/backends', status: 404,
    code: 'SLUICE_NOT_FOUND', names: '"nope"' },
  { name: 'add a backend to an unknown service', method: 'POST', url: '/api/v1/services/nope/backends',
    payload: be({}), status: 404, code: 'SLUICE_NOT_FOUND', names: '"nope"' },
  { name: 'duplicate backend', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ address: '10.99.0.11' }), status: 409, code: 'SLUICE_CONFLICT', names: '10.99.0.11:80' },
  { name: 'backend weight below 0', method: 'POST', url: '/api/v1/services/web/backends', payload: be({ weight: -1 }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/weight must be >= 0' },
  { name: 'backend weight as a string', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ weight: '5' }), status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/weight must be integer' },
  { name: 'backend weight not whole', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ weight: 1.5 }), status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/weight must be integer' },
  { name: 'backend state', method: 'POST', url: '/api/v1/services/web/backends', payload: be({ state: 'paused' }),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/state must be one of: active, drain, disabled' },
  { name: 'backend without port', method: 'POST', url: '/api/v1/services/web/backends', payload: be({}, ['port']),
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'body/port is required' },
  { name: 'backend address is not an address', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ address: 'backend-1.example' }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.web.backends[2].address' },
  { name: 'backend is the port\'s own address', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ address: '10.99.0.2' }), status: 400, code: 'SLUICE_CONFIG_INVALID',
    names: 'services.web.backends[2].address' },
  { name: 'backend MAC', method: 'POST', url: '/api/v1/services/web/backends', payload: be({ mac: 'zz:zz' }),
    status: 400, code: 'SLUICE_CONFIG_INVALID', names: 'services.web.backends[2].mac' },
  { name: 'backend port differs from the service port (dsr)', method: 'POST', url: '/api/v1/services/web/backends',
    payload: be({ port: 81 }), status: 400, code: 'SLUICE_CONFIG_INVALID', names: 'services.web.backends[2].port' },
  // backends by key
  { name: 'backend key without a port', method: 'GET', url: '/api/v1/services/web/backends/10.99.0.11',
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'backend "10.99.0.11"' },
  { name: 'backend key with port out of range', method: 'GET', url: '/api/v1/services/web/backends/10.99.0.11:99999',
    status: 400, code: 'SLUICE_BAD_REQUEST', names: '10.99.0.11:99999' },
  { name: 'IPv6 backend key without brackets', method: 'DELETE',
    url: `/api/v1/services/web/backends/${enc('2001:db8::1:80')}`, status: 400, code: 'SLUICE_BAD_REQUEST',
    names: '2001:db8::1:80' },
  { name: 'unknown backend', method: 'GET', url: '/api/v1/services/web/backends/10.99.0.99:80', status: 404,
    code: 'SLUICE_NOT_FOUND', names: '10.99.0.99:80' },
  { name: 'backend of an unknown service', method: 'GET', url: '/api/v1/services/nope/backends/10.99.0.11:80',
    status: 404, code: 'SLUICE_NOT_FOUND', names: '"nope"' },
  { name: 'DELETE unknown backend', method: 'DELETE', url: '/api/v1/services/web/backends/10.99.0.99:80',
    status: 404, code: 'SLUICE_NOT_FOUND', names: '10.99.0.99:80' },
  // PATCH
  { name: 'PATCH with nothing to change', method: 'PATCH', url: BACKEND, payload: {}, status: 400,
    code: 'SLUICE_BAD_REQUEST', names: 'body needs at least one of: weight, state' },
  { name: 'PATCH weight as a string', method: 'PATCH', url: BACKEND, payload: { weight: '5' }, status: 400,
    code: 'SLUICE_BAD_REQUEST', names: 'body/weight must be integer' },
  { name: 'PATCH weight above 65535', method: 'PATCH', url: BACKEND, payload: { weight: 65536 }, status: 400,
    code: 'SLUICE_BAD_REQUEST', names: 'body/weight must be <= 65535' },
  { name: 'PATCH state', method: 'PATCH', url: BACKEND, payload: { state: 'off' }, status: 400,
    code: 'SLUICE_BAD_REQUEST', names: 'body/state must be one of: active, drain, disabled' },
  { name: 'PATCH a field that is not weight or state', method: 'PATCH', url: BACKEND,
    payload: { weight: 1, mac: '02:00:00:00:00:01' }, status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body/mac is not a known field' },
  { name: 'PATCH a bad key', method: 'PATCH', url: '/api/v1/services/web/backends/nonsense', payload: { weight: 1 },
    status: 400, code: 'SLUICE_BAD_REQUEST', names: 'backend "nonsense"' },
  { name: 'PATCH an unknown backend', method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.99:80',
    payload: { weight: 1 }, status: 404, code: 'SLUICE_NOT_FOUND', names: '10.99.0.99:80' },
  { name: 'PATCH without a body', method: 'PATCH', url: BACKEND, status: 400, code: 'SLUICE_BAD_REQUEST',
    names: 'body must be object' },
  // routes
  { name: 'unknown route', method: 'GET', url: '/api/v1/servicez', status: 404, code: 'SLUICE_NOT_FOUND',
    names: 'GET /api/v1/servicez' },
  { name: 'a method the route does not take', method: 'PATCH', url: '/api/v1/services', payload: {}, status: 405,
    code: 'SLUICE_METHOD_NOT_ALLOWED', names: 'PATCH is not allowed on /api/v1/services; it takes GET, HEAD, POST' },
];

describe('bad requests are refused with a code naming the field, and change nothing', () => {
  for (const c of badCases) {
    test(`${c.method} ${c.url.length > 60 ? `${c.url.slice(0, 60)}…` : c.url}: ${c.name} -> ${c.status} ${c.code}`,
      async () => {
        const before = await observableState();
        const res = await call({ method: c.method, url: c.url, payload: c.payload as InjectOptions['payload'],
          headers: c.headers });
        assert.equal(res.status, c.status, JSON.stringify(res.body));
        assert.equal(res.body.code, c.code);
        assert.equal(res.body.statusCode, c.status);
        assert.equal(typeof res.body.error, 'string');
        if (typeof c.names === 'string') assert.ok(res.body.message.includes(c.names), `"${res.body.message}" names ${c.names}`);
        else assert.match(res.body.message, c.names);
        assert.ok(!/\n\s+at /.test(JSON.stringify(res.body)), 'no stack trace');
        assert.deepEqual(await observableState(), before, 'nothing changed');
      });
  }

  test('validation details list {path, reason} per field', async () => {
    const res = await call({ method: 'POST', url: '/api/v1/services', payload: svc({ port: 70000 }) });
    assert.deepEqual(res.body.details, [{ path: 'body/port', reason: 'must be <= 65535' }]);
    const sem = await call({ method: 'POST', url: '/api/v1/services', payload: svc({ vip: 'x' }) });
    assert.deepEqual(sem.body.details, [{ path: 'services.new.vip', reason: '"x" must be an IPv4 or IPv6 address' }]);
  });
});

describe('data plane views', () => {
  test('GET /api/v1/ports joins port info with its counters', async () => {
    const res = await get('/api/v1/ports');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1);
    const p = res.body[0];
    assert.equal(p.name, 'p0');
    assert.equal(p.mac, dataplane.ports()[0].mac);
    assert.equal(p.link.up, true);
    assert.equal(typeof p.driver, 'string');
    for (const k of ['rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxMissed', 'rxErrors', 'txErrors', 'rxNoMbuf']) {
      assert.equal(typeof p.stats[k], 'number', k);
    }
    assert.equal(typeof p.stats.xstats, 'object');
  });

  test('GET /api/v1/lcores lists each worker lcore with the queues it polls', async () => {
    await pushFrames(synFrames(8, 3).frames);
    const res = await get('/api/v1/lcores');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1);
    const l = res.body[0];
    assert.equal(l.lcore, 1);
    assert.deepEqual(l.rx, [{ port: 'p0', queue: 0 }]);
    assert.ok(l.busyRatio >= 0 && l.busyRatio <= 1);
    assert.equal(l.flows.capacity, cfg.flowTable.entriesPerLcore);
    assert.ok(l.rxPackets >= 8);
    // Mean nanoseconds per packet: positive once packets came in, and far below
    // a millisecond (seconds or raw cycles would be off by orders of magnitude).
    assert.deepEqual(Object.keys(l.nsPerPacket).sort(), ['process', 'receive']);
    for (const k of ['receive', 'process'] as const) {
      assert.ok(l.nsPerPacket[k] > 0 && l.nsPerPacket[k] < 1e6, `${k}: ${l.nsPerPacket[k]} ns per packet`);
    }
  });

  test('GET /api/v1/lcores shows the configuration generation each lcore runs; a change reaches it', async () => {
    const key = '10.99.0.11:80';
    const current = await get(`/api/v1/services/web/backends/${key}`);
    assert.equal(current.status, 200);
    // The same weight again: nothing observable changes, but the set is applied as a new generation.
    const patched = await call({ method: 'PATCH', url: `/api/v1/services/web/backends/${key}`,
      payload: { weight: current.body.weight } });
    assert.equal(patched.status, 200);
    const made = dataplane.stats().generation;
    const running = async () => (await get('/api/v1/lcores')).body[0].generation as number;
    const deadline = Date.now() + 5000;
    let seen = await running();
    while (seen < made && Date.now() < deadline) {
      await sleep(1);
      seen = await running();
    }
    assert.equal(seen, made, 'the worker lcore runs the generation the change made');
  });

  test('GET /api/v1/stats has exactly the documented shape', async () => {
    const res = await get('/api/v1/stats');
    assert.equal(res.status, 200);
    const s = res.body;
    assert.deepEqual(Object.keys(s).sort(), ['lcores', 'ports', 'services']);
    assert.deepEqual(Object.keys(s.ports[0]).sort(),
      ['name', 'rxBytes', 'rxErrors', 'rxMissed', 'rxPackets', 'txBytes', 'txErrors', 'txPackets']);
    assert.deepEqual(Object.keys(s.lcores[0]).sort(), ['drops', 'flows', 'forwarded', 'fragmentsForwarded', 'fragmentsHeld',
      'icmpErrorsRouted', 'icmpFragNeededSent', 'kernelHanded', 'lcore', 'localReplies', 'nat', 'quicLbRouted', 'quicLbUnrouted',
      'rxPackets', 'txPackets']);
    assert.deepEqual(Object.keys(s.lcores[0].nat).sort(), ['handoffsReceived', 'handoffsSent', 'sessionsActive',
      'sessionsCapacity', 'sessionsCreated', 'sessionsExpired']);
    assert.deepEqual(Object.keys(s.lcores[0].flows).sort(),
      ['active', 'evictions', 'expirations', 'hits', 'inserts', 'misses']);
    assert.ok(Object.keys(s.lcores[0].drops).length > 0, 'drop reasons are listed');
    assert.deepEqual(Object.keys(s.services[0]).sort(), ['activeFlows', 'backends', 'bytes', 'name', 'newFlows', 'packets']);
    assert.deepEqual(Object.keys(s.services[0].backends[0]).sort(),
      ['activeFlows', 'address', 'bytes', 'health', 'newFlows', 'packets', 'port', 'state', 'weight']);
    assert.deepEqual(s.services[0].backends.map((b: { weight: number }) => b.weight), [100, 50]);
  });
});

describe('metrics', () => {
  test('series exist with bounded labels; counters move with traffic; no client address in a label', async () => {
    const before = await scrape();
    const beforeStats = (await get('/api/v1/stats')).body;
    const { frames, clients } = synFrames(64, 7);
    await pushFrames(frames);
    const after = await scrape();

    assert.equal(value(after, 'sluice_build_info', { version: VERSION }), 1);
    assert.equal(value(after, 'sluice_dataplane_up'), 1);
    const rx = (s: Sample[]) => value(s, 'sluice_lcore_rx_packets_total', { lcore: '1' }) ?? NaN;
    assert.equal(rx(after) - rx(before), 64);
    // The lcore's busy time, split: both parts grew with the burst, by less than
    // the time the exchange took.
    for (const name of ['sluice_lcore_receive_seconds_total', 'sluice_lcore_process_seconds_total']) {
      const grew = (value(after, name, { lcore: '1' }) ?? NaN) - (value(before, name, { lcore: '1' }) ?? NaN);
      assert.ok(grew > 0 && grew < 10, `${name} grew by ${grew}`);
    }
    const portRx = (s: Sample[]) => value(s, 'sluice_port_rx_packets_total', { port: 'p0' }) ?? NaN;
    assert.ok(portRx(after) - portRx(before) >= 64, 'port rx moved');
    const svcFlows = (s: Sample[]) => value(s, 'sluice_service_new_flows_total', { service: 'web' }) ?? NaN;
    assert.equal(svcFlows(after) - svcFlows(before), 64);
    const backendFlows = (s: Sample[]) => s.filter((x) => x.name === 'sluice_backend_new_flows_total'
      && x.labels.service === 'web').reduce((a, x) => a + x.value, 0);
    assert.equal(backendFlows(after) - backendFlows(before), 64);
    assert.ok((value(after, 'sluice_service_active_flows', { service: 'web' }) ?? 0) >= 64);
    assert.ok((value(after, 'sluice_flow_table_active_flows', { lcore: '1' }) ?? 0) >= 64);
    assert.equal(value(after, 'sluice_flow_table_capacity_flows', { lcore: '1' }), cfg.flowTable.entriesPerLcore);
    assert.ok(after.some((x) => x.name === 'sluice_lcore_drops_total' && x.labels.lcore === '1'
      && x.labels.reason !== undefined), 'drops by lcore and reason');
    assert.equal(value(after, 'sluice_port_link_up', { port: 'p0' }), 1);
    assert.equal(value(after, 'sluice_backend_weight', { service: 'web', backend: '10.99.0.12:80' }), 50);
    assert.equal(value(after, 'sluice_backend_admin_state', { service: 'web', backend: '10.99.0.11:80', state: 'active' }), 1);
    assert.equal(value(after, 'sluice_backend_admin_state', { service: 'web', backend: '10.99.0.11:80', state: 'drain' }), 0);
    assert.equal(value(after, 'sluice_health_transitions_total', { direction: 'down' }), 2);
    assert.equal(value(after, 'sluice_health_probes_total'), 30);

    const allowed = new Set(['version', 'service', 'backend', 'lcore', 'port', 'reason', 'state', 'direction']);
    const clientSet = new Set(clients);
    for (const x of after) {
      assert.match(x.name, /^sluice_/);
      for (const [k, v] of Object.entries(x.labels)) {
        assert.ok(allowed.has(k), `label ${k} on ${x.name}`);
        assert.ok(!clientSet.has(v) && !v.startsWith('172.'), `client address in ${x.name}{${k}="${v}"}`);
      }
    }
    const counters = new Set(after.map((x) => x.name).filter((n) => n.endsWith('_total')));
    assert.ok(counters.size > 20, `${counters.size} counters`);

    // The JSON views see the same traffic.
    const afterStats = (await get('/api/v1/stats')).body;
    assert.equal(afterStats.services[0].newFlows - beforeStats.services[0].newFlows, 64);
    const web = (await get('/api/v1/services/web')).body;
    assert.ok(web.backends.every((b: { stats: { newFlows: number } }) => b.stats.newFlows > 0), 'both backends got flows');
  });

  test('HELP and TYPE lines: counters end in _total', async () => {
    const text = (await get('/metrics')).body as string;
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (m[2] === 'counter') assert.match(m[1], /_total$/);
      assert.match(text, new RegExp(`^# HELP ${m[1]} \\S`, 'm'));
    }
  });

  test('a removed backend\'s series go with it', async () => {
    await call({ method: 'POST', url: '/api/v1/services/web/backends',
      payload: { address: '10.99.0.14', port: 80, mac: '02:00:00:00:01:04' } });
    const withIt = await scrape();
    assert.equal(value(withIt, 'sluice_backend_weight', { backend: '10.99.0.14:80' }), 100);
    await call({ method: 'DELETE', url: '/api/v1/services/web/backends/10.99.0.14:80' });
    const without = await scrape();
    assert.ok(!without.some((x) => x.labels.backend === '10.99.0.14:80'));
  });
});

describe('probes and documents', () => {
  test('/healthz is 200 ok', async () => {
    assert.deepEqual((await get('/healthz')).body, { status: 'ok' });
  });

  test('/readyz is 200 on a running ring port', async () => {
    const res = await get('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ready' });
  });

  test('/openapi.json lists every route with its methods; /docs serves the UI', async () => {
    const res = await get('/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.version, VERSION);
    const methods = (p: string) => Object.keys(doc.paths[p] ?? {}).sort();
    assert.deepEqual(methods('/api/v1/services'), ['get', 'post']);
    assert.deepEqual(methods('/api/v1/services/{name}'), ['delete', 'get', 'put']);
    assert.deepEqual(methods('/api/v1/services/{name}/backends'), ['get', 'post']);
    assert.deepEqual(methods('/api/v1/services/{name}/backends/{backend}'), ['delete', 'get', 'patch']);
    for (const p of ['/api/v1/ports', '/api/v1/lcores', '/api/v1/stats', '/metrics', '/healthz', '/readyz']) {
      assert.deepEqual(methods(p), ['get'], p);
    }
    const post = doc.paths['/api/v1/services'].post;
    assert.ok(post.requestBody, 'request body documented');
    assert.deepEqual(Object.keys(post.responses).sort(), ['201', '400', '401', '409', '413', '500', '503']);
    const err = post.responses['409'].content['application/json'].schema;
    assert.deepEqual(Object.keys(err.properties).sort(), ['code', 'details', 'error', 'message', 'statusCode']);
    const docs = await call({ method: 'GET', url: '/docs/' });
    assert.equal(docs.status, 200);
    assert.match(String(docs.headers['content-type']), /text\/html/);
  });
});

describe('bearer token', () => {
  const withToken = (t: string) => ({ authorization: `Bearer ${t}` });

  test('without a token or with a wrong one: 401 SLUICE_UNAUTHORIZED', async () => {
    for (const headers of [{}, withToken('wrong'), withToken(`${TOKEN}x`), { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }]) {
      for (const url of ['/api/v1/services', '/metrics', '/readyz', '/openapi.json', '/api/v1/nothing-here']) {
        const res = await call({ method: 'GET', url, headers }, authApp);
        assert.equal(res.status, 401, `${url} with ${JSON.stringify(headers)}`);
        assert.equal(res.body.code, 'SLUICE_UNAUTHORIZED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      }
    }
    const before = await observableState();
    const post = await call({ method: 'POST', url: '/api/v1/services', payload: svc({}) }, authApp);
    assert.equal(post.status, 401);
    assert.deepEqual(await observableState(), before);
  });

  test('with the token: served; the scheme name is case-insensitive', async () => {
    assert.equal((await call({ method: 'GET', url: '/api/v1/services', headers: withToken(TOKEN) }, authApp)).status, 200);
    assert.equal((await call({ method: 'GET', url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } }, authApp))
      .status, 200);
  });

  test('/healthz needs no token', async () => {
    assert.equal((await call({ method: 'GET', url: '/healthz' }, authApp)).status, 200);
  });

  test('an empty token is refused at start', async () => {
    await assert.rejects(async () => {
      await buildApp({ store, dataplane, health, version: VERSION, token: '' }).ready();
    },
      { code: 'SLUICE_INVALID_ARGUMENT' });
  });
});

describe('over a real socket', () => {
  let net: FastifyInstance;
  let address: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const json = { ...auth, 'content-type': 'application/json' };

  before(async () => {
    net = buildApp({ store, dataplane, health, version: VERSION, config: cfg, token: TOKEN });
    address = await net.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => net?.close());

  test('/healthz is open, the API is not', async () => {
    assert.equal((await fetch(`${address}/healthz`)).status, 200);
    const denied = await fetch(`${address}/api/v1/services`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { code: string }).code, 'SLUICE_UNAUTHORIZED');
  });

  test('create a service, read and patch a backend by encoded key, delete', async () => {
    const created = await fetch(`${address}/api/v1/services`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'sock', vip: '10.99.0.102', port: 443,
        backends: [{ address: '10.99.0.40', port: 443, mac: '02:00:00:00:04:00' }] }),
    });
    assert.equal(created.status, 201);
    const key = enc('10.99.0.40:443');
    const b = await fetch(`${address}/api/v1/services/sock/backends/${key}`, { headers: auth });
    assert.equal(b.status, 200);
    assert.equal(((await b.json()) as { key: string }).key, '10.99.0.40:443');

    const coerced = await fetch(`${address}/api/v1/services/sock/backends/${key}`, {
      method: 'PATCH', headers: json, body: '{"weight":"3"}',
    });
    assert.equal(coerced.status, 400);
    assert.equal(((await coerced.json()) as { code: string }).code, 'SLUICE_BAD_REQUEST');
    const patched = await fetch(`${address}/api/v1/services/sock/backends/${key}`, {
      method: 'PATCH', headers: json, body: '{"weight":3}',
    });
    assert.equal(((await patched.json()) as { weight: number }).weight, 3);

    const metrics = await fetch(`${address}/metrics`, { headers: auth });
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await metrics.text(), /^sluice_backend_weight\{service="sock",backend="10\.99\.0\.40:443"\} 3$/m);

    const del = await fetch(`${address}/api/v1/services/sock`, { method: 'DELETE', headers: auth });
    assert.equal(del.status, 204);
    assert.equal((await fetch(`${address}/api/v1/services/sock`, { headers: auth })).status, 404);
  });

  test('a body over the limit is cut off with 413', async () => {
    const big = await fetch(`${address}/api/v1/services`, {
      method: 'POST', headers: json, body: `"${'x'.repeat(2 << 20)}"`,
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: string }).code, 'SLUICE_PAYLOAD_TOO_LARGE');
  });
});

describe('failures inside', () => {
  /** A data plane whose reads fail the way given; the store is the real one. */
  function appWith(fail: () => never, logLines?: string[]) {
    const broken = {
      stats: fail,
      ports: fail,
      neighbors: fail,
    } as unknown as Dataplane;
    const logger = logLines === undefined ? false : pino({ level: 'info' }, new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }));
    return buildApp({ store, dataplane: broken, health, version: VERSION, logger });
  }

  test('an unexpected error is a generic 500 SLUICE_INTERNAL; the log has the real one', async () => {
    const lines: string[] = [];
    const broken = appWith(() => {
      throw new TypeError('secret detail: cannot read /etc/shadow');
    }, lines);
    try {
      const res = await call({ method: 'GET', url: '/api/v1/stats' }, broken);
      assert.equal(res.status, 500);
      assert.equal(res.body.code, 'SLUICE_INTERNAL');
      assert.ok(!JSON.stringify(res.body).includes('secret'), 'nothing of the real error reaches the client');
      assert.ok(lines.some((l) => l.includes('secret detail')), 'the log has it');
    } finally {
      await broken.close();
    }
  });

  test('native SLUICE_INTERNAL messages stay in the log too', async () => {
    const broken = appWith(() => {
      throw Object.assign(new Error('std::out_of_range vector::_M_range_check'), { code: 'SLUICE_INTERNAL' });
    });
    try {
      const res = await call({ method: 'GET', url: '/api/v1/ports' }, broken);
      assert.equal(res.status, 500);
      assert.ok(!res.body.message.includes('vector'));
    } finally {
      await broken.close();
    }
  });

  test('a stopped data plane: 409 on its views, config views still answer, /readyz 503, /metrics says down', async () => {
    const broken = appWith(() => {
      // The addon's errors are plain Errors with a registry code.
      throw Object.assign(new Error('the data plane is not running'), { code: 'SLUICE_NOT_RUNNING' });
    });
    try {
      const stats = await call({ method: 'GET', url: '/api/v1/stats' }, broken);
      assert.equal(stats.status, 409);
      assert.equal(stats.body.code, 'SLUICE_NOT_RUNNING');
      const services = await call({ method: 'GET', url: '/api/v1/services' }, broken);
      assert.equal(services.status, 200);
      assert.equal(services.body[0].stats, undefined);
      assert.equal(services.body[0].backends[0].stats, undefined);
      const ready = await call({ method: 'GET', url: '/readyz' }, broken);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'not ready');
      const metrics = parseMetrics((await call({ method: 'GET', url: '/metrics' }, broken)).body as string);
      assert.equal(value(metrics, 'sluice_dataplane_up'), 0);
      assert.equal(value(metrics, 'sluice_backend_weight', { backend: '10.99.0.12:80' }), 50);
      assert.ok(!metrics.some((x) => x.name === 'sluice_lcore_rx_packets_total'));
    } finally {
      await broken.close();
    }
  });
});
