// POST /api/v1/node/drain and /undrain, and the drain fields of GET
// /api/v1/node, against a real data plane on a ring port (one worker): the
// states and their idempotence, the flows left per lcore from the lcores'
// gauges, the data plane forwarding old and new flows alike while the node
// drains, the BGP speaker waited for before the answer, sluice_node_draining,
// the token, the coded refusals, and the response schemas.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app';
import { NodeDrainView, NodeView } from '../../src/api/schemas/node';
import type { BgpView } from '../../src/bgp/view';
import { validateConfig, type SluiceConfig } from '../../src/config';
import { NodeDrain } from '../../src/control/node-drain';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { addon } from '../../src/native/addon';
import * as pk from '../helpers/packets';
import { UNCHECKED } from '../helpers/ring-api';
import { CLIENT_MAC } from '../helpers/ring-dataplane';

const TOKEN = 'drain token';
const WEB_VIP = '10.99.0.100';

let cfg: SluiceConfig;
let dataplane: Dataplane;
let store: ServiceStore;
let node: NodeDrain;
let app: FastifyInstance;
let authApp: FastifyInstance;
let bare: FastifyInstance;
let changes = 0;
/** What the stand-in speaker has applied: the drain state as of its last settled(). */
let speakerSawDraining: boolean | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Not a type guard: the bodies stay `any` to be read field by field. */
const matches = (schema: typeof NodeView | typeof NodeDrainView, body: unknown): boolean => Value.Check(schema, body);

before(async () => {
  cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    dataplane: { idleSleepMaxUs: 50 },
    flowTable: { entriesPerLcore: 16384 },
    services: [{ name: 'web', vip: WEB_VIP, port: 80, backends: [
      { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
      { address: '10.99.0.12', port: 80, mac: '02:00:00:00:01:02' },
    ] }],
  });
  dataplane = new Dataplane();
  dataplane.start(cfg, `node-drain-${process.pid}`);
  store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  node = new NodeDrain();
  node.on('change', () => changes++);
  // A speaker that takes 50 ms to apply a change: the routes must answer after it.
  const bgp: BgpView = {
    status: () => ({ enabled: true }),
    settled: async () => {
      await sleep(50);
      speakerSawDraining = node.draining();
    },
  };
  const common = { store, dataplane, health: UNCHECKED, version: '0.0.0-test', config: cfg };
  app = buildApp({ ...common, nodeDrain: node, bgp });
  authApp = buildApp({ ...common, nodeDrain: node, bgp, token: TOKEN });
  bare = buildApp(common);
  await Promise.all([app.ready(), authApp.ready(), bare.ready()]);
});

after(async () => {
  await Promise.all([app?.close(), authApp?.close(), bare?.close()]);
  dataplane?.stop();
});

async function call(opts: InjectOptions, on: FastifyInstance = app) {
  const res = await on.inject(opts);
  return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
}
const post = (what: 'drain' | 'undrain', on = app, headers: Record<string, string> = {}) =>
  call({ method: 'POST', url: `/api/v1/node/${what}`, headers }, on);
const nodeView = async () => {
  const r = await call({ method: 'GET', url: '/api/v1/node' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(matches(NodeView, r.body), 'GET /api/v1/node matches its schema');
  return r.body;
};
const metricsText = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
const drainingGauge = async () => Number(/^sluice_node_draining (\d+)$/m.exec(await metricsText())?.[1]);

let seed = 1;
/** `n` new TCP flows (a SYN each) into the ring port; resolves once the worker has forwarded them, with the frames it sent. */
async function newFlows(n: number): Promise<Buffer[]> {
  const mac = dataplane.ports()[0].mac;
  const frames = pk.randomFlows(n, seed++, { vip: WEB_VIP, vport: 80, proto: 'tcp', clientNet: '172.16.0.0/12' })
    .map((f) => pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: mac, src: f.src, dst: WEB_VIP, sport: f.sport, dport: 80, flags: 'S' }));
  return forward(frames);
}

async function forward(frames: Buffer[]): Promise<Buffer[]> {
  const forwarded = () => dataplane.stats().lcores.reduce((a, l) => a + l.forwarded, 0);
  const target = forwarded() + frames.length;
  assert.equal(addon().inject('p0', frames, 0), frames.length, 'the ring port takes every frame');
  const deadline = Date.now() + 10_000;
  while (forwarded() < target) {
    if (Date.now() > deadline) throw new Error(`forwarded ${forwarded()} of ${target}`);
    await sleep(5);
  }
  return addon().capture('p0');
}

describe('node drain and undrain', () => {
  let flowsBefore = 0;

  test('active at start: no drain fields, the flows per lcore from the lcores\' gauges, the gauge 0', async () => {
    await newFlows(12);
    const n = await nodeView();
    assert.equal(n.state, 'active');
    assert.deepEqual([n.drainingSince, n.drainingForSec, n.drainedBy], [undefined, undefined, undefined]);
    const gauges = dataplane.lcores().map((l) => ({ lcore: l.lcore, active: l.flows.active, natSessions: l.nat.sessionsActive }));
    assert.deepEqual(n.flows.lcores, gauges);
    assert.equal(n.flows.active, 12, 'the 12 flows just opened');
    assert.equal(n.flows.natSessions, 0);
    flowsBefore = n.flows.active;
    assert.equal(await drainingGauge(), 0);
  });

  test('drain: 200 draining once the speaker applied it, since now, by api; the gauge 1; GET /node says so', async () => {
    const t0 = Date.now();
    const r = await post('drain');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(matches(NodeDrainView, r.body), 'the answer matches its schema');
    assert.equal(speakerSawDraining, true, 'answered after the speaker settled on the drain');
    assert.equal(r.body.state, 'draining');
    assert.equal(r.body.drainedBy, 'api');
    const since = Date.parse(r.body.drainingSince);
    assert.ok(since >= t0 - 5 && since <= Date.now(), r.body.drainingSince);
    assert.equal(r.body.flows.active, flowsBefore, 'the flows left are those still in the tables');
    assert.equal(changes, 1);
    assert.equal(await drainingGauge(), 1);
    const n = await nodeView();
    assert.equal(n.state, 'draining');
    assert.equal(n.drainingSince, r.body.drainingSince);
  });

  test('draining, the data plane forwards packets of old flows and new flows alike', async () => {
    const mac = dataplane.ports()[0].mac;
    // The first SYNs again: packets of flows the tables hold.
    seed = 1;
    const old = await newFlows(12);
    assert.equal(old.length, 12, 'every packet of an existing flow forwarded');
    const fresh = await newFlows(20);
    assert.equal(fresh.length, 20, 'every new flow forwarded: nothing is black-holed');
    for (const f of fresh) assert.notEqual(f.subarray(0, 6).toString('hex'), mac.replace(/:/g, ''), 'sent on to a backend');
    assert.equal((await nodeView()).flows.active, flowsBefore + 20);
  });

  test('drain again: 200, the same state, the drain\'s start unchanged, no change event', async () => {
    const first = (await nodeView()).drainingSince;
    await sleep(120);
    const r = await post('drain');
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'draining');
    assert.equal(r.body.drainingSince, first);
    assert.ok(r.body.drainingForSec >= 0.1, `${r.body.drainingForSec} s`);
    assert.equal(changes, 1);
  });

  test('undrain: active, the drain fields gone, the gauge 0; again: 200 active, no change event', async () => {
    const r = await post('undrain');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(matches(NodeDrainView, r.body));
    assert.equal(speakerSawDraining, false, 'answered after the speaker settled on the undrain');
    assert.deepEqual({ ...r.body, flows: undefined }, { state: 'active', flows: undefined });
    assert.equal(changes, 2);
    assert.equal(await drainingGauge(), 0);
    const again = await post('undrain');
    assert.equal(again.status, 200);
    assert.equal(again.body.state, 'active');
    assert.equal(changes, 2);
  });

  test('both need the token like every write: 401 without, nothing changes; 200 with', async () => {
    for (const what of ['drain', 'undrain'] as const) {
      const r = await post(what, authApp);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'SLUICE_UNAUTHORIZED');
      assert.equal((await post(what, authApp, { authorization: 'Bearer wrong' })).status, 401);
    }
    assert.equal(node.status().state, 'active', 'no drain without the token');
    assert.equal(changes, 2);
    assert.equal((await post('drain', authApp, { authorization: `Bearer ${TOKEN}` })).body.state, 'draining');
    assert.equal((await post('undrain', authApp, { authorization: `Bearer ${TOKEN}` })).body.state, 'active');
  });

  test('coded refusals: a query parameter 400, GET 405, an app without a node to drain 404; nothing changes', async () => {
    const q = await call({ method: 'POST', url: '/api/v1/node/drain?force=true' });
    assert.equal(q.status, 400);
    assert.equal(q.body.code, 'SLUICE_BAD_REQUEST');
    const get = await call({ method: 'GET', url: '/api/v1/node/drain' });
    assert.equal(get.status, 405);
    assert.equal(get.body.code, 'SLUICE_METHOD_NOT_ALLOWED');
    const none = await post('drain', bare);
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'SLUICE_NOT_FOUND');
    assert.equal((await call({ method: 'GET', url: '/api/v1/node' }, bare)).body.state, 'active');
    assert.equal(node.status().state, 'active');
  });

  test('in the OpenAPI document with their schemas and codes', async () => {
    const doc = (await call({ method: 'GET', url: '/openapi.json' })).body;
    for (const what of ['drain', 'undrain']) {
      const op = doc.paths[`/api/v1/node/${what}`]?.post;
      assert.ok(op, `POST /api/v1/node/${what} is documented`);
      assert.equal(op.responses['200'].content['application/json'].schema.title, 'NodeDrain');
      assert.match(op.responses['404'].description, /SLUICE_NOT_FOUND/);
    }
    assert.match(doc.paths['/api/v1/node/undrain'].post.responses['503'].description, /SLUICE_SHUTTING_DOWN/);
    assert.ok(doc.paths['/api/v1/node'].get.responses['200'].content['application/json'].schema.properties.state);
  });

  test('a stop\'s drain cannot be undrained: 503 SLUICE_SHUTTING_DOWN, still draining', async () => {
    node.drain('stop');
    const r = await post('undrain');
    assert.equal(r.status, 503);
    assert.equal(r.body.code, 'SLUICE_SHUTTING_DOWN');
    const n = await nodeView();
    assert.deepEqual([n.state, n.drainedBy], ['draining', 'stop']);
    assert.match(await metricsText(), /^sluice_node_draining 1$/m);
    // A drain asked for meanwhile is a drain already: 200, still the stop's.
    assert.equal((await post('drain')).body.drainedBy, 'stop');
  });
});
