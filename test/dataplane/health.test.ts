// Health checks against real TCP and HTTP servers on loopback addresses that stop
// and start, with a real data plane on a ring port: verdicts within fall × interval
// and rise × interval, and the lookup table following them, shown by the backend
// MACs that new and existing flows reach.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { validateConfig, type ServiceConfig } from '../../src/config';
import { HealthChecker, parseStatusRange, type ProbeFn } from '../../src/control/health';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { addon } from '../../src/native/addon';
import * as pk from '../helpers/packets';
import { totals } from '../helpers/ring-dataplane';

// A /8 makes every loopback address on-link for the data plane's dsr check, and
// Linux answers on all of 127/8 without configuration, so each backend is a real
// server on its own address.
const PORT_CIDR = '127.0.0.2/8';
const CLIENT_MAC = '02:00:00:00:00:99';
const INTERVAL = 100;
const FALL = 3;
const RISE = 2;
const BACKEND_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${10 + i}`);

const native = addon();
let dp: Dataplane;
let store: ServiceStore;
let portMac: string;
/** one port for every service and backend: dsr needs backend port == service port */
let PORT: number;

const logs: { level: number; msg: string; service?: string; backend?: string; reason?: string }[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; returns the milliseconds from `t0` (by default the call) until it did. */
async function waitFor(cond: () => boolean, what: string, t0 = performance.now(), timeoutMs = 5000): Promise<number> {
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
  return performance.now() - t0;
}

async function freePortOnAll(addresses: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, addresses[0], r));
    const port = (probe.address() as net.AddressInfo).port;
    const held = [probe];
    try {
      for (const a of addresses.slice(1)) {
        const s = net.createServer();
        await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, a, resolve));
        held.push(s);
      }
      return port;
    } catch {
      // taken on some address: try another
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
  }
  throw new Error('no port free on every test address');
}

type Kind = 'tcp' | 'http' | 'silent';

/** A backend server that can stop and start on its address; `status` answers HTTP GETs of /health. */
class BackendServer {
  status = 200;
  connections = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly address: string, readonly kind: Kind) {}

  get mac(): string {
    return macOf(this.address);
  }

  async start(): Promise<this> {
    const server = this.kind === 'http'
      ? http.createServer((req, res) => {
        res.statusCode = req.url === '/health' ? this.status : 404;
        res.end();
      })
      : net.createServer((s) => {
        // silent: reads and never says a word
        if (this.kind === 'tcp') s.end();
        else s.resume();
      });
    server.on('connection', (s: net.Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(PORT, this.address, resolve));
    this.server = server;
    return this;
  }

  openSockets(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

const macOf = (address: string) => `02:00:00:00:02:${Number(address.split('.')[3]).toString(16).padStart(2, '0')}`;

/** Servers started in one test, all stopped at its end whatever happens. */
async function withServers<T>(fn: (started: (s: BackendServer) => Promise<BackendServer>) => Promise<T>): Promise<T> {
  const all: BackendServer[] = [];
  try {
    return await fn(async (s) => {
      all.push(s);
      return s.start();
    });
  } finally {
    await Promise.all(all.map((s) => s.stop()));
  }
}

interface BackendSpec { address: string; healthCheck?: Record<string, unknown> }

function serviceSpec(name: string, vip: string, backends: BackendSpec[], healthCheck: Record<string, unknown>) {
  return {
    name, vip, port: PORT, lookupTableSize: 251,
    // initialState up: these tests watch rise and fall from a backend that takes
    // traffic at once; 'added while running' has its own test with the default.
    healthCheck: { intervalMs: INTERVAL, timeoutMs: 100, rise: RISE, fall: FALL, initialState: 'up', ...healthCheck },
    backends: backends.map((b) => ({
      address: b.address, port: PORT, mac: macOf(b.address), ...(b.healthCheck ? { healthCheck: b.healthCheck } : {}),
    })),
  };
}

const key = (address: string) => `${address}:${PORT}`;

/** A checker and a service for one test; both are gone at its end. */
async function withChecker<T>(spec: ReturnType<typeof serviceSpec>,
                              fn: (h: HealthChecker, svc: ServiceConfig) => Promise<T>): Promise<T> {
  const svc = store.createService(spec);
  const h = new HealthChecker(store, logger);
  h.start();
  try {
    return await fn(h, svc);
  } finally {
    h.stop();
    store.deleteService(spec.name);
  }
}

let flowSeed = 1000;

/** `n` flows to the VIP from fresh clients; the same list can be sent again with other flags. */
function newFlows(vip: string, n: number) {
  return pk.randomFlows(n, flowSeed++, { vip, vport: PORT, proto: 'tcp', clientNet: '172.16.0.0/12' });
}

/** Sends one segment per flow through the ring port; returns the MAC each flow left towards. */
async function send(flows: pk.Flow[], flags: pk.TcpFlags): Promise<Map<string, string>> {
  native.capture('p0');
  const frames = flows.map((f) => pk.tcpFrame({
    srcMac: CLIENT_MAC, dstMac: portMac, src: f.src, dst: f.dst, sport: f.sport, dport: f.dport, flags,
  }));
  const before = totals(native.stats()).rx;
  assert.equal(native.inject('p0', frames, 0), frames.length);
  const deadline = Date.now() + 5000;
  while (totals(native.stats()).rx < before + frames.length) {
    if (Date.now() > deadline) assert.fail('the worker did not receive every frame');
    await sleep(2);
  }
  // Each loop iteration ends with a tx flush: two more iterations and all is out.
  const done = totals(native.stats()).iterations + 2;
  while (totals(native.stats()).iterations < done) await sleep(1);
  const seen = new Map<string, string>();
  for (const frame of native.capture('p0')) {
    const d = pk.decodeFrame(frame);
    if (d.tcp === undefined || d.ipv4 === undefined) continue;
    seen.set(`${d.ipv4.src}:${d.tcp.sport}`, d.dstMac!);
  }
  assert.equal(seen.size, flows.length, 'every flow was forwarded');
  return seen;
}

function countByMac(m: Map<string, string>): Map<string, number> {
  const c = new Map<string, number>();
  for (const mac of m.values()) c.set(mac, (c.get(mac) ?? 0) + 1);
  return c;
}

before(async () => {
  PORT = await freePortOnAll(BACKEND_ADDRESSES);
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: PORT_CIDR }],
    flowTable: { entriesPerLcore: 65536 },
    dataplane: { idleSleepMaxUs: 50 },
  });
  dp = new Dataplane(native);
  dp.start(cfg, `health-${process.pid}`);
  portMac = dp.ports()[0].mac;
  store = new ServiceStore(cfg, dp);
  store.started(cfg.services);
});
after(() => dp?.stop());

describe('tcp checks', () => {
  test('a stopped backend is down within fall × interval, its flows re-pick, and it is back after rise × interval', async () => {
    const [a, b, c] = BACKEND_ADDRESSES;
    const vip = '192.0.2.1';
    await withServers(async (started) => {
      const servers = await Promise.all([a, b, c].map((x) => started(new BackendServer(x, 'tcp'))));
      const victim = servers[1];
      await withChecker(serviceSpec('tcp-web', vip, [a, b, c].map((address) => ({ address })), { type: 'tcp' }), async (h) => {
        await waitFor(() => [a, b, c].every((x) => h.backend('tcp-web', key(x)).status === 'up'), 'every backend up');
        const flows = newFlows(vip, 1500);
        const first = await send(flows, 'S');
        assert.ok((countByMac(first).get(victim.mac) ?? 0) > 300, 'the victim had its share of flows');

        const logsBefore = logs.length;
        // The clock starts before the stop: the socket stops listening within the call, and
        // a busy event loop can finish the call after the first failed probe.
        const stopped = performance.now();
        await victim.stop();
        const downMs = await waitFor(() => !store.isHealthy('tcp-web', { address: b, port: PORT }), 'the store to mark it down', stopped);
        const limit = (FALL + 1) * INTERVAL + 300;
        console.log(`# down after ${downMs.toFixed(0)} ms (fall ${FALL} × interval ${INTERVAL} = ${FALL * INTERVAL} ms, limit ${limit})`);
        assert.ok(downMs <= limit, `down after ${downMs} ms`);
        assert.ok(downMs >= (FALL - 1) * INTERVAL - 20, `fewer than ${FALL} failures are not enough: down after ${downMs} ms`);
        const health = h.backend('tcp-web', key(b));
        assert.equal(health.status, 'down');
        assert.equal(health.transitions, 1);
        assert.match(health.lastError ?? '', /ECONNREFUSED/);
        const warn = logs.slice(logsBefore).find((l) => l.msg === 'backend down');
        assert.equal(warn?.level, 40, 'logged at warn');
        assert.equal(warn?.service, 'tcp-web');
        assert.equal(warn?.backend, key(b));
        assert.match(warn?.reason ?? '', /3 failed probes in a row, last: .*ECONNREFUSED/);

        const fresh = countByMac(await send(newFlows(vip, 1500), 'S'));
        assert.equal(fresh.get(victim.mac) ?? 0, 0, 'no new flow goes to the down backend');
        const again = await send(flows, 'A');
        for (const [flow, mac] of first) {
          if (mac === victim.mac) assert.notEqual(again.get(flow), victim.mac, `flow ${flow} re-picked`);
          else assert.equal(again.get(flow), mac, `flow ${flow} on a healthy backend stays`);
        }

        const restarted = performance.now();
        await victim.start();
        const upMs = await waitFor(() => store.isHealthy('tcp-web', { address: b, port: PORT }), 'the store to mark it up', restarted);
        const upLimit = (RISE + 1) * INTERVAL + 300;
        console.log(`# up after ${upMs.toFixed(0)} ms (rise ${RISE} × interval ${INTERVAL} = ${RISE * INTERVAL} ms, limit ${upLimit})`);
        assert.ok(upMs <= upLimit, `up after ${upMs} ms`);
        assert.ok(upMs >= (RISE - 1) * INTERVAL - 20, `one success is not enough: up after ${upMs} ms`);
        assert.equal(h.backend('tcp-web', key(b)).status, 'up');
        assert.equal(h.backend('tcp-web', key(b)).transitions, 2);
        assert.ok(logs.slice(logsBefore).some((l) => l.msg === 'backend up' && l.level === 30 && l.backend === key(b)));
        const back = countByMac(await send(newFlows(vip, 1500), 'S'));
        assert.ok((back.get(victim.mac) ?? 0) > 300, 'new flows reach it again');

        const t = h.totals();
        assert.deepEqual([t.down, t.up], [1, 1]);
        assert.ok(t.probeFailures >= FALL && t.probes > t.probeFailures, JSON.stringify(t));
        assert.equal(h.backend('tcp-web', key(a)).transitions, 0);
      });
    });
  });

  test('rise and fall count results in a row; unchecked counts as up; a refused verdict is retried', async () => {
    // Scripted results make every step deterministic; the store and data plane are real.
    let pending: ((error: string | undefined) => void) | undefined;
    const step: ProbeFn = (_target, _check, done) => {
      pending = done;
      return () => { pending = undefined; };
    };
    const svc = store.createService(serviceSpec('scripted', '192.0.2.2', [{ address: BACKEND_ADDRESSES[0] }], { type: 'tcp' }));
    const h = new HealthChecker(store, logger, { probe: step, jitter: () => 0 });
    const k = key(BACKEND_ADDRESSES[0]);
    const b = svc.backends[0];
    /** answers the next probes in order: 'pass' or an error */
    const feed = async (...results: string[]) => {
      for (const r of results) {
        await waitFor(() => pending !== undefined, 'a probe');
        const done = pending!;
        pending = undefined;
        done(r === 'pass' ? undefined : r);
      }
    };
    try {
      h.start();
      assert.equal(h.backend('scripted', k).status, 'unchecked');
      await feed('e1', 'e2');
      assert.deepEqual([h.backend('scripted', k).status, h.backend('scripted', k).streak], ['unchecked', 2]);
      assert.ok(store.isHealthy('scripted', b), 'unchecked takes traffic');
      await feed('pass');
      assert.deepEqual([h.backend('scripted', k).status, h.backend('scripted', k).streak], ['up', 0]);
      await feed('e1', 'e2', 'pass', 'e1', 'e2');
      assert.equal(h.backend('scripted', k).status, 'up', 'a success in between restarts the count');
      await feed('e3');
      assert.equal(h.backend('scripted', k).status, 'down');
      assert.equal(store.isHealthy('scripted', b), false);
      await feed('pass', 'e4', 'pass');
      assert.deepEqual([h.backend('scripted', k).status, h.backend('scripted', k).streak], ['down', 1]);

      const setHealth = store.setHealth;
      store.setHealth = () => { throw new Error('data plane refused'); };
      try {
        await feed('pass');
        assert.equal(h.backend('scripted', k).status, 'down', 'not up while the store refuses');
        assert.ok(logs.some((l) => l.msg.startsWith('could not apply health verdict') && l.level === 50));
      } finally {
        store.setHealth = setHealth;
      }
      await feed('pass');
      assert.equal(h.backend('scripted', k).status, 'up', 'the next success applies it');
      assert.equal(store.isHealthy('scripted', b), true);
      const t = h.totals();
      assert.deepEqual([t.up, t.down, t.probeFailures], [1, 1, 8]);
      assert.ok(t.probes >= 14 && t.probes <= 15, `${t.probes} probes`);
      assert.equal(h.backend('scripted', k).transitions, 2);
    } finally {
      h.stop();
      store.deleteService('scripted');
    }
  });
});

describe('http checks', () => {
  test('status inside expectStatus is up, outside is down; per-backend range and path honoured', async () => {
    const [a, b, c] = BACKEND_ADDRESSES;
    const vip = '192.0.2.3';
    await withServers(async (started) => {
      const [sa, sb] = await Promise.all([a, b, c].map((x) => started(new BackendServer(x, 'http'))));
      sb.status = 503;
      const spec = serviceSpec('http-web', vip, [
        { address: a },
        { address: b, healthCheck: { expectStatus: '500-599' } },
        { address: c, healthCheck: { path: '/missing' } },
      ], { type: 'http', path: '/health', expectStatus: '200-399' });
      await withChecker(spec, async (h) => {
        await waitFor(() => h.backend('http-web', key(a)).status === 'up' && h.backend('http-web', key(b)).status === 'up'
          && h.backend('http-web', key(c)).status === 'down', 'a and b up, c down');
        assert.match(h.backend('http-web', key(c)).lastError ?? '', /status 404, expected 200-399/);
        const fresh = countByMac(await send(newFlows(vip, 600), 'S'));
        assert.equal(fresh.get(macOf(c)) ?? 0, 0, 'no new flow to the backend whose path is missing');
        assert.ok((fresh.get(macOf(b)) ?? 0) > 100, 'the 503 backend with range 500-599 takes traffic');

        sa.status = 500;
        const downMs = await waitFor(() => h.backend('http-web', key(a)).status === 'down', 'a down on 500');
        console.log(`# http 500: down after ${downMs.toFixed(0)} ms`);
        assert.match(h.backend('http-web', key(a)).lastError ?? '', /status 500, expected 200-399/);
        assert.equal(store.isHealthy('http-web', { address: a, port: PORT }), false);

        sa.status = 204;
        const upMs = await waitFor(() => h.backend('http-web', key(a)).status === 'up', 'a up on 204');
        console.log(`# http 204: up after ${upMs.toFixed(0)} ms`);
        sa.status = 399;
        await sleep(FALL * INTERVAL * 2);
        assert.equal(h.backend('http-web', key(a)).status, 'up', '399 is inside 200-399');
        assert.equal(h.backend('http-web', key(a)).streak, 0);
        sb.status = 200;
        await waitFor(() => h.backend('http-web', key(b)).status === 'down', 'b down on 200 (outside 500-599)');
      });
    });
  });

  test('a server that accepts but never answers fails by timeout; a tcp check on it passes', async () => {
    const [a, b] = BACKEND_ADDRESSES;
    await withServers(async (started) => {
      const silent = await started(new BackendServer(a, 'silent'));
      // b is the same kind of server but checked with a bare connect
      await started(new BackendServer(b, 'silent'));
      const spec = serviceSpec('mute', '192.0.2.4', [{ address: a }, { address: b, healthCheck: { type: 'tcp' } }],
        { type: 'http', path: '/health', timeoutMs: 50 });
      await withChecker(spec, async (h) => {
        const ms = await waitFor(() => h.backend('mute', key(a)).status === 'down', 'the silent backend down');
        console.log(`# silent http server: down after ${ms.toFixed(0)} ms (timeout 50 ms)`);
        assert.equal(h.backend('mute', key(a)).lastError, 'no answer within 50 ms');
        await waitFor(() => h.backend('mute', key(b)).status === 'up', 'the tcp-checked backend up');
        assert.ok(silent.connections >= FALL);
        // Timed-out probes close their connections rather than pile them up.
        await waitFor(() => silent.openSockets() <= 1, 'at most the probe in flight open');
      });
    });
  });

  test('a path Node would refuse to send (beyond Latin-1) is refused when the service is made', () => {
    const [a] = BACKEND_ADDRESSES;
    assert.throws(() => store.createService(serviceSpec('odd-path', '192.0.2.10', [{ address: a }], { type: 'http', path: '/h\u20acalth' })),
      { code: 'SLUICE_CONFIG_INVALID', message: /services\.odd-path\.healthCheck\.path: must be an absolute path of printable ASCII/ });
    assert.ok(!store.list().some((s) => s.name === 'odd-path'));
  });
});

describe('none and overrides', () => {
  test('type none is unchecked and takes traffic; a backend can opt out of, or into, its service\'s check', async () => {
    const [a, b, c] = BACKEND_ADDRESSES;
    const vip = '192.0.2.5';
    await withServers(async (started) => {
      await started(new BackendServer(a, 'tcp'));
      // b and c have no server at all
      const spec = serviceSpec('mixed', vip, [{ address: a }, { address: b, healthCheck: { type: 'none' } }, { address: c }],
        { type: 'tcp' });
      await withChecker(spec, async (h) => {
        await waitFor(() => h.backend('mixed', key(c)).status === 'down', 'c (no server) down');
        assert.equal(h.backend('mixed', key(a)).status, 'up');
        const skipped = h.backend('mixed', key(b));
        assert.equal(skipped.status, 'unchecked');
        assert.equal(skipped.lastProbeAt, undefined, 'never probed');
        assert.ok(store.isHealthy('mixed', { address: b, port: PORT }));
        const fresh = countByMac(await send(newFlows(vip, 900), 'S'));
        assert.ok((fresh.get(macOf(b)) ?? 0) > 200, 'the unchecked backend takes traffic');
        assert.equal(fresh.get(macOf(c)) ?? 0, 0);

        // The override is a setting like any other: changing it takes effect at once.
        store.updateBackend('mixed', key(b), { healthCheck: { type: 'tcp' } });
        await waitFor(() => h.backend('mixed', key(b)).status === 'down', 'b down once checked');
        store.updateBackend('mixed', key(c), { healthCheck: { type: 'none' } });
        // The checker follows what runs: the change is in force once acknowledged.
        await store.persisted();
        assert.equal(h.backend('mixed', key(c)).status, 'unchecked', 'checks off: unchecked once in force');
        assert.ok(store.isHealthy('mixed', { address: c, port: PORT }), 'and it takes traffic again');
        const now = countByMac(await send(newFlows(vip, 900), 'S'));
        assert.equal(now.get(macOf(b)) ?? 0, 0);
        assert.ok((now.get(macOf(c)) ?? 0) > 200);
      });
    });

    // A whole service with checks off: nothing is probed, everything takes traffic.
    const spec = serviceSpec('unchecked', '192.0.2.6', [{ address: b }, { address: c }], { type: 'none' });
    await withChecker(spec, async (h) => {
      await sleep(3 * INTERVAL);
      assert.equal(h.totals().probes, 0);
      for (const x of [b, c]) assert.deepEqual(h.backend('unchecked', key(x)), { status: 'unchecked', streak: 0, transitions: 0 });
      const fresh = countByMac(await send(newFlows('192.0.2.6', 600), 'S'));
      assert.deepEqual([...fresh.keys()].sort(), [macOf(b), macOf(c)].sort());
    });
  });

  test('a port override probes another port than the traffic port', async () => {
    const [a] = BACKEND_ADDRESSES;
    const admin = http.createServer((req, res) => {
      res.statusCode = req.url === '/ready' ? 200 : 404;
      res.end();
    });
    await new Promise<void>((r) => admin.listen(0, a, r));
    const adminPort = (admin.address() as net.AddressInfo).port;
    try {
      // Nothing listens on the traffic port; only the override's port answers.
      const spec = serviceSpec('admin-port', '192.0.2.7', [{ address: a, healthCheck: { port: adminPort } }],
        { type: 'http', path: '/ready' });
      await withChecker(spec, async (h) => {
        await waitFor(() => h.backend('admin-port', key(a)).status === 'up', 'up through the admin port');
      });
    } finally {
      await new Promise((r) => admin.close(r));
    }
  });
});

describe('added while running (initialState down, the default)', () => {
  test('a backend takes no new flows until its first probe passes; one whose first probe fails is down', async () => {
    const [a, b, c] = BACKEND_ADDRESSES;
    const vip = '192.0.2.10';
    await withServers(async (started) => {
      await started(new BackendServer(a, 'tcp'));
      await started(new BackendServer(c, 'tcp'));
      const h = new HealthChecker(store, logger);
      h.start();
      try {
        // c takes traffic at once (its override), so every flow has somewhere to go;
        // a is held before the data plane ever has it: no probe has finished yet.
        const svc = store.createService(serviceSpec('joining', vip,
          [{ address: a }, { address: c, healthCheck: { initialState: 'up' } }], { type: 'tcp', initialState: undefined }));
        assert.equal(svc.healthCheck.initialState, 'down', 'the default');
        assert.equal(store.isHealthy('joining', { address: a, port: PORT }), false);
        assert.equal(store.isHealthy('joining', { address: c, port: PORT }), true);
        await store.persisted();
        assert.equal(h.backend('joining', key(a)).status, 'unknown');
        const before = countByMac(await send(newFlows(vip, 200), 'S'));
        assert.equal(before.get(macOf(a)) ?? 0, 0, 'no new flow before its first probe');
        await waitFor(() => h.backend('joining', key(a)).status === 'up', 'a up after one probe');
        assert.equal(h.backend('joining', key(a)).transitions, 1);
        assert.ok((countByMac(await send(newFlows(vip, 400), 'S')).get(macOf(a)) ?? 0) > 100, 'then it takes traffic');

        // Nothing listens on b: its first probe fails and it goes down, never having had a flow.
        store.addBackend('joining', { address: b, port: PORT, mac: macOf(b) });
        await store.persisted();
        assert.equal(h.backend('joining', key(b)).status, 'unknown');
        assert.equal(countByMac(await send(newFlows(vip, 200), 'S')).get(macOf(b)) ?? 0, 0);
        await waitFor(() => h.backend('joining', key(b)).status === 'down', 'b down after one failed probe');
        assert.match(h.backend('joining', key(b)).lastError ?? '', /ECONNREFUSED/);
        assert.equal(store.isHealthy('joining', { address: b, port: PORT }), false);
        assert.equal(store.heldAs('joining', key(b)), 'down');
      } finally {
        h.stop();
        store.deleteService('joining');
      }
    });
  });
});

describe('following the store', () => {
  test('backends added and removed at runtime start and stop being probed; new settings take effect', async () => {
    const [a, b, c] = BACKEND_ADDRESSES;
    await withServers(async (started) => {
      const sa = await started(new BackendServer(a, 'tcp'));
      const sb = await started(new BackendServer(b, 'tcp'));
      await withChecker(serviceSpec('grow', '192.0.2.8', [{ address: a }], { type: 'tcp' }), async (h) => {
        await waitFor(() => h.backend('grow', key(a)).status === 'up', 'a up');
        assert.equal(sb.connections, 0);

        store.addBackend('grow', { address: b, port: PORT, mac: macOf(b) });
        await waitFor(() => h.backend('grow', key(b)).status === 'up', 'added b probed and up');
        store.addBackend('grow', { address: c, port: PORT, mac: macOf(c) });
        await waitFor(() => h.backend('grow', key(c)).status === 'down', 'added c (no server) down');

        store.deleteBackend('grow', key(c));
        await store.persisted();
        assert.deepEqual(h.backend('grow', key(c)), { status: 'unchecked', streak: 0, transitions: 0 }, 'forgotten');
        store.deleteBackend('grow', key(b));
        // A probe whose SYN left before the removal may still reach the server's
        // accept; only what starts afterwards counts.
        await sleep(INTERVAL / 2);
        const seen = sb.connections;
        const probes = h.totals().probes;
        await sleep(5 * INTERVAL);
        assert.equal(sb.connections, seen, 'a removed backend is not probed');
        assert.ok(h.totals().probes - probes <= 6, 'only a is probed now');

        // Re-added without a server yet: it starts afresh, unchecked, with traffic.
        store.addBackend('grow', { address: c, port: PORT, mac: macOf(c) });
        assert.equal(h.backend('grow', key(c)).status, 'unchecked');
        assert.ok(store.isHealthy('grow', { address: c, port: PORT }));

        // A longer interval slows probing at once.
        const svc = store.get('grow');
        store.replaceService('grow', { ...svc, healthCheck: { ...svc.healthCheck, intervalMs: 10000 } });
        await sleep(2 * INTERVAL);
        const slow = sa.connections;
        await sleep(5 * INTERVAL);
        assert.ok(sa.connections - slow <= 1, `${sa.connections - slow} probes in ${5 * INTERVAL} ms at a 10 s interval`);
      });
    });
  });

  test('stop() cancels every timer and probe in flight', async () => {
    const [a, b] = BACKEND_ADDRESSES;
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const listeners = store.listenerCount('change');
    await withServers(async (started) => {
      const silent = await started(new BackendServer(a, 'silent'));
      const sb = await started(new BackendServer(b, 'tcp'));
      const baseline = sockets();
      const spec = serviceSpec('stopping', '192.0.2.9', [{ address: a }, { address: b, healthCheck: { type: 'tcp' } }],
        { type: 'http', path: '/health', timeoutMs: 10000 });
      const svc = store.createService(spec);
      try {
        const h = new HealthChecker(store, logger);
        h.start();
        assert.equal(store.listenerCount('change'), listeners + 1);
        await waitFor(() => silent.openSockets() === 1 && sb.connections > 0, 'a probe hanging on the silent server');
        h.stop();
        assert.equal(store.listenerCount('change'), listeners);
        await waitFor(() => silent.openSockets() === 0, 'the hanging probe closed');
        const probes = h.totals().probes;
        const seen = [silent.connections, sb.connections];
        await sleep(5 * INTERVAL);
        assert.equal(h.totals().probes, probes, 'no probe after stop');
        assert.deepEqual([silent.connections, sb.connections], seen);
        await waitFor(() => sockets() <= baseline, 'no probe socket left');
        // Verdicts stay with the store; stopping does not put traffic back or take it away.
        assert.ok(store.isHealthy('stopping', svc.backends[0]));
      } finally {
        store.deleteService('stopping');
      }
    });
  });
});

test('parseStatusRange', () => {
  assert.deepEqual(parseStatusRange('200-399'), [200, 399]);
  assert.deepEqual(parseStatusRange('204'), [204, 204]);
  assert.deepEqual(parseStatusRange('399-200'), [200, 399]);
});
