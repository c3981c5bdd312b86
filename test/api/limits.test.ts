// The API's bounds over real sockets (config api.*): a connection cap beyond
// which new sockets are closed while those within keep being answered, the idle,
// keep-alive and header timeouts, GET /api/v1/lcores without the per-service
// counters, and one log line per request at most at info.
// The data plane is a stand-in (test/helpers/fake-addon.ts): only the HTTP side
// is under test, so no EAL is needed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { captureLog } from '../helpers/captured-log';
import { fakeAddon } from '../helpers/fake-addon';
import { fakeApp } from '../helpers/fake-app';

const LONG = 60_000;
const apps: FastifyInstance[] = [];
const sockets: net.Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(apps.map((a) => a.close()));
});

async function listening(limits: AppOptions['limits'], logger?: AppOptions['logger']): Promise<{ app: FastifyInstance; port: number }> {
  const app = fakeApp({ limits, logger });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as net.AddressInfo).port };
}

/** A raw TCP connection, open once connected; `closed` settles when either side ends it. */
async function connect(port: number): Promise<{ socket: net.Socket; closed: Promise<void>; received: () => string }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let data = '';
  socket.on('data', (d) => (data += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed, received: () => data };
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('config api.*', () => {
  const base = {
    eal: { lcores: '0@0,1@1' },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
  };

  test('every connection and request is bounded by default', () => {
    const { api } = validateConfig(base);
    assert.equal(api.maxConnections, 1024);
    assert.equal(api.idleTimeoutMs, 10000);
    assert.equal(api.keepAliveTimeoutMs, 5000);
    assert.equal(api.headersTimeoutMs, 10000);
    assert.equal(api.requestTimeoutMs, 30000);
  });

  test('no cap and no timeout of 0 (unbounded) is accepted', () => {
    for (const field of ['maxConnections', 'idleTimeoutMs', 'keepAliveTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs']) {
      assert.throws(() => validateConfig({ ...base, api: { [field]: 0 } }), (err: { code?: string; details?: { path: string }[] }) => {
        assert.equal(err.code, 'SLUICE_CONFIG_INVALID');
        assert.equal(err.details?.[0].path, `api.${field}`);
        return true;
      }, field);
    }
  });
});

describe('the connection cap', () => {
  test('beyond api.maxConnections new sockets are closed at once; those within keep being answered', async () => {
    const CAP = 8;
    const EXTRA = 4;
    const { logger, lines } = captureLog();
    const { app, port } = await listening({ maxConnections: CAP, idleTimeoutMs: LONG, keepAliveTimeoutMs: LONG,
      headersTimeoutMs: LONG, requestTimeoutMs: LONG }, logger);
    // The probe's connection is one of the first CAP: the operator's monitoring
    // holds its connection and must keep getting answers whatever else connects.
    const probe = await connect(port);
    const idle = [];
    for (let i = 1; i < CAP; i++) idle.push(await connect(port));
    const open = () => new Promise<number>((resolve, reject) =>
      app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    for (const deadline = Date.now() + 5000; (await open()) < CAP;) {
      assert.ok(Date.now() < deadline, 'the server accepted the first connections');
      await new Promise((r) => setTimeout(r, 5));
    }

    const extra = [];
    for (let i = 0; i < EXTRA; i++) extra.push(await connect(port));
    for (const [i, e] of extra.entries()) {
      assert.ok(await within(e.closed, 5000), `connection ${CAP + i + 1} beyond the cap was closed`);
      assert.equal(e.received(), '', 'closed without an answer');
    }
    assert.ok(idle.every((c) => !c.socket.destroyed), 'the connections within the cap stay open');

    probe.socket.write('GET /healthz HTTP/1.1\r\nHost: sluice\r\n\r\n');
    await waitFor('the /healthz answer', () => probe.received().includes('\r\n\r\n'));
    assert.match(probe.received(), /^HTTP\/1\.1 200 /, '/healthz answers on a connection within the cap');

    const warn = lines.find((l) => l.msg === 'connections refused: api.maxConnections are open');
    assert.equal(warn?.level, 40, 'the refusal is logged at warn');
    assert.equal(warn?.maxConnections, CAP);
    assert.ok((warn?.dropped as number) >= 1);
  });
});

describe('timeouts', () => {
  test('a connection that sends nothing is closed after api.idleTimeoutMs', async () => {
    const { port } = await listening({ idleTimeoutMs: 200, keepAliveTimeoutMs: LONG, headersTimeoutMs: LONG, requestTimeoutMs: LONG });
    const c = await connect(port);
    assert.ok(await within(c.closed, 10_000), 'the idle connection was closed');
  });

  test('a kept-alive connection waiting for its next request is closed after api.keepAliveTimeoutMs', async () => {
    const { port } = await listening({ idleTimeoutMs: LONG, keepAliveTimeoutMs: 200, headersTimeoutMs: LONG, requestTimeoutMs: LONG });
    const c = await connect(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: sluice\r\n\r\n');
    await waitFor('the /healthz answer', () => c.received().includes('\r\n\r\n'));
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    assert.match(c.received(), /keep-alive/i, 'the answer offers to keep the connection');
    assert.ok(await within(c.closed, 10_000), 'the kept-alive connection was closed');
  });

  test('headers trickled in one byte at a time get 408 after api.headersTimeoutMs', async () => {
    // Every byte resets the idle timer: only the header deadline ends this.
    const { port } = await listening({ idleTimeoutMs: LONG, keepAliveTimeoutMs: LONG, headersTimeoutMs: 300, requestTimeoutMs: LONG });
    const c = await connect(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: sluice\r\nX-Slow: ');
    const trickle = setInterval(() => c.socket.writable && c.socket.write('a'), 50);
    try {
      assert.ok(await within(c.closed, 10_000), 'the slow connection was closed');
    } finally {
      clearInterval(trickle);
    }
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  });
});

describe('bounded reads', () => {
  test('GET /api/v1/lcores reads the lcores alone, not every service\'s and backend\'s counters', async () => {
    const cfg = validateConfig({
      eal: { lcores: '0@0,1@1' },
      ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    });
    const native = fakeAddon();
    const calls = { stats: 0, lcores: 0 };
    const { stats, lcores } = native;
    native.stats = () => (calls.stats++, stats());
    native.lcores = () => (calls.lcores++, lcores());
    const dataplane = new Dataplane(native);
    const store = new ServiceStore(cfg, dataplane);
    store.started(cfg.services);
    const app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, version: 't', config: cfg });
    apps.push(app);
    const res = await app.inject({ method: 'GET', url: '/api/v1/lcores' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(calls, { stats: 0, lcores: 1 });
  });
});

describe('request logging', () => {
  test('one line per request at most at info: changes that succeeded at info, reads and probes at debug', async () => {
    const { logger, lines } = captureLog();
    const { app } = await listening({}, logger);
    const info = () => lines.filter((l) => l.level >= 30);
    const count = async (method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: object) => {
      const before = lines.length;
      const res = await app.inject({ method, url, payload });
      return { status: res.statusCode, lines: lines.slice(before) };
    };

    const probe = await count('GET', '/healthz');
    assert.equal(probe.status, 200);
    assert.deepEqual(probe.lines.map((l) => [l.level, l.msg]), [[20, 'request']], '/healthz: one debug line');

    const read = await count('GET', '/api/v1/services');
    assert.equal(read.status, 200);
    assert.deepEqual(read.lines.map((l) => [l.level, l.msg]), [[20, 'request']]);

    const change = await count('PATCH', '/api/v1/services/web/backends/10.99.0.11:80', { weight: 5 });
    assert.equal(change.status, 200);
    assert.deepEqual(change.lines.filter((l) => l.level >= 30).map((l) => l.msg), ['request'], 'a change: one info line');
    const line = change.lines.find((l) => l.msg === 'request')!;
    assert.equal(line.method, 'PATCH');
    assert.equal(line.url, '/api/v1/services/web/backends/10.99.0.11:80');
    assert.equal(line.statusCode, 200);
    assert.equal(typeof line.ms, 'number');
    assert.deepEqual(line.audit, { object: 'backend web/10.99.0.11:80', before: { weight: 100, state: 'active' },
      after: { weight: 5, state: 'active' } }, 'the line says what changed, from what to what');

    const created = await count('POST', '/api/v1/services',
      { name: 'audited', vip: '10.99.0.150', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] });
    assert.equal(created.status, 201);
    assert.deepEqual(created.lines.find((l) => l.msg === 'request')!.audit, { object: 'service audited',
      after: { vip: '10.99.0.150', port: 80, protocol: 'tcp', forwarding: 'dsr', backends: 1 } });
    const deleted = await count('DELETE', '/api/v1/services/audited');
    assert.equal(deleted.status, 204);
    assert.deepEqual(deleted.lines.find((l) => l.msg === 'request')!.audit, { object: 'service audited',
      before: { vip: '10.99.0.150', port: 80, protocol: 'tcp', forwarding: 'dsr', backends: 1 } });

    const refused = await count('PATCH', '/api/v1/services/nope/backends/10.99.0.11:80', { weight: 5 });
    assert.equal(refused.status, 404);
    const refusedInfo = refused.lines.filter((l) => l.level >= 30);
    assert.equal(refusedInfo.length, 1, 'a refused change: one info line, the rejection');
    assert.equal(refusedInfo[0].method, 'PATCH', 'the rejection names the request');
    assert.equal(refusedInfo[0].url, '/api/v1/services/nope/backends/10.99.0.11:80');
    const unknown = await count('GET', '/api/v1/nothing-here');
    assert.equal(unknown.status, 404);
    assert.ok(unknown.lines.filter((l) => l.level >= 30).length <= 1, 'an unknown route: one info line at most');
    assert.ok(info().every((l) => l.msg !== 'incoming request' && l.msg !== 'request completed'), 'not fastify\'s two lines');
  });
});
