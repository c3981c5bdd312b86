// End to end: real HTTP clients in the sluice-client namespace, a `sluice run`
// daemon on net_af_packet (two queue pairs, two worker lcores) and three real
// HTTP backends in their own namespaces, wired for direct server return on one
// bridged segment (src/testbed/topology.ts). Changes go through the REST API.
// Every test prints its counts as `# ...` lines.
//
// Own process, root, 2 MiB hugepages. One test bed and one daemon for the file;
// leftovers of a crashed run (namespaces, interfaces, the daemon) are cleared
// first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_CHECK, testbedConfig } from '../src/testbed/config';
import { BACKENDS, CLIENT_NS, SERVICE_PORT, VIP, down, startBackendServer, up, type BackendSpec } from '../src/testbed/topology';
import { spawnIn } from '../src/testbed/netns';
import { startDaemon, type DaemonProcess } from './helpers/daemon-process';

const WORK = join(tmpdir(), 'sluice-e2e');
const DAEMON_PID_FILE = join(WORK, 'daemon.pid');
const URL_VIP = `http://${VIP}/`;
const LOAD_CLIENT = join(__dirname, 'helpers', 'load-client.js');
const STICKY_CLIENT = join(__dirname, 'helpers', 'sticky-client.js');
/** Equal weights (or any ratio) must hold per backend within this fraction of the expected count. */
const SPLIT_TOLERANCE = 0.15;
const WARMUP_MS = 20_000;
/** A client run's own bound on top of its duration or request count. */
const CLIENT_SLACK_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let daemon: DaemonProcess | undefined;
const servers = new Map<string, ChildProcess>();
const clients = new Set<ChildProcess>();

interface LoadResult {
  requests: number;
  failures: number;
  byBackend: Record<string, number>;
  failuresBy: Record<string, number>;
  errors: string[];
  elapsedMs: number;
}

interface StickyResult {
  requests: number;
  failures: number;
  byBackend: Record<string, number>;
  sockets: number;
  errors: string[];
}

function backend(name: string): BackendSpec {
  const b = BACKENDS.find((x) => x.name === name);
  assert.ok(b, name);
  return b;
}

const backendPath = (b: BackendSpec) => `/api/v1/services/web/backends/${encodeURIComponent(`${b.address}:${SERVICE_PORT}`)}`;

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${daemon!.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

const patchBackend = (b: BackendSpec, patch: { weight?: number; state?: string }) => api('PATCH', backendPath(b), patch);

async function healthOf(b: BackendSpec): Promise<string> {
  const view = (await api('GET', backendPath(b))) as { health: { status: string } };
  return view.health.status;
}

/** Polls `cond` every `everyMs` until it holds; false after `ms`. */
async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

/** Runs the load client in the client namespace; resolves with its JSON result. */
function load(args: { requests?: number; durationMs?: number; concurrency: number; keepalive?: boolean }): Promise<LoadResult> {
  const argv = [LOAD_CLIENT, '--url', URL_VIP, '--concurrency', String(args.concurrency)];
  if (args.requests !== undefined) argv.push('--requests', String(args.requests));
  if (args.durationMs !== undefined) argv.push('--duration-ms', String(args.durationMs));
  if (args.keepalive) argv.push('--keepalive');
  const child = spawnIn(CLIENT_NS, process.execPath, argv);
  clients.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const bound = (args.durationMs ?? 0) + CLIENT_SLACK_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), bound);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clients.delete(child);
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch {
        reject(new Error(`load client failed (${code ?? signal}), bound ${bound} ms: ${out}${err}`));
      }
    });
  });
}

interface Sticky {
  first: string;
  stop(): Promise<StickyResult>;
}

/** Starts the one-socket keep-alive client; resolves once its first answer named a backend. */
async function sticky(): Promise<Sticky> {
  const child = spawnIn(CLIENT_NS, process.execPath, [STICKY_CLIENT, '--url', URL_VIP, '--interval-ms', '50', '--max-ms', '60000']);
  clients.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>);
  const ok = await waitFor(() => lines().some((l) => l.event === 'first' || l.event === 'summary'), 10_000);
  const first = lines().find((l) => l.event === 'first');
  if (!ok || first === undefined) {
    child.kill('SIGKILL');
    throw new Error(`sticky client got no first answer: ${out}${err}`);
  }
  return {
    first: first.backend as string,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      clients.delete(child);
      const summary = lines().find((l) => l.event === 'summary');
      assert.ok(summary, `sticky client printed no summary: ${out}${err}`);
      return summary as unknown as StickyResult;
    },
  };
}

function print(what: string, r: LoadResult | StickyResult): void {
  const errors = r.errors.length > 0 ? ` errors=${JSON.stringify(r.errors)}` : '';
  const by = 'failuresBy' in r && r.failures > 0 ? ` failuresBy=${JSON.stringify(r.failuresBy)}` : '';
  const time = 'elapsedMs' in r ? ` in ${r.elapsedMs} ms` : '';
  console.log(`# ${what}: requests=${r.requests} failures=${r.failures} split=${JSON.stringify(r.byBackend)}${by}${time}${errors}`);
}

function assertSplit(r: LoadResult, weights: Record<string, number>): void {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  for (const [name, w] of Object.entries(weights)) {
    const expected = (r.requests * w) / total;
    const got = r.byBackend[name] ?? 0;
    assert.ok(Math.abs(got - expected) <= expected * SPLIT_TOLERANCE,
      `${name}: ${got} connections, expected ${expected.toFixed(0)} ± ${SPLIT_TOLERANCE * 100}% (${JSON.stringify(r.byBackend)})`);
  }
}

async function startServer(b: BackendSpec): Promise<void> {
  servers.set(b.name, await startBackendServer(b));
}

/** Kills the daemon of a run that crashed before its after hook (by its recorded pid only). */
async function killLeftoverDaemon(): Promise<void> {
  if (!existsSync(DAEMON_PID_FILE)) return;
  const pid = Number(readFileSync(DAEMON_PID_FILE, 'utf8'));
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
  await waitFor(() => !existsSync(`/proc/${pid}`), 5000);
  // A killed EAL leaves its runtime directory behind.
  rmSync(`/var/run/dpdk/sluice-${pid}`, { recursive: true, force: true });
}

/** Synchronous, so it also runs from an 'exit' handler after a crash. */
function teardownSync(): void {
  for (const c of clients) c.kill('SIGKILL');
  clients.clear();
  if (daemon !== undefined && daemon.child.exitCode === null && daemon.child.signalCode === null) {
    daemon.child.kill('SIGKILL');
    // A killed EAL leaves its runtime directory (named by the daemon's pid) behind.
    rmSync(`/var/run/dpdk/sluice-${daemon.child.pid}`, { recursive: true, force: true });
  }
  daemon = undefined;
  servers.clear();
  down();
  rmSync(WORK, { recursive: true, force: true });
}

before(async () => {
  await killLeftoverDaemon();
  down();
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  process.once('exit', teardownSync);
  // Ctrl-C or the runner's SIGTERM: nothing of the test bed may outlive the file.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      teardownSync();
      process.exit(130);
    });
  }
  up();
  for (const b of BACKENDS) await startServer(b);
  daemon = await startDaemon(WORK, testbedConfig({ apiListen: '127.0.0.1:0', stateFile: join(WORK, 'state.json') }));
  writeFileSync(DAEMON_PID_FILE, String(daemon.child.pid));
  // The balancer learns the backends' MACs by ARP (a request a second while
  // unresolved) and the first probes need rise × interval: warm up until every
  // backend is up and a small run reaches all three without a failure.
  let last: LoadResult | undefined;
  const ready = await waitFor(async () => {
    const health = await Promise.all(BACKENDS.map(healthOf));
    if (health.some((h) => h !== 'up')) return false;
    last = await load({ requests: 60, concurrency: 6 });
    return last.failures === 0 && BACKENDS.every((b) => (last!.byBackend[b.name] ?? 0) > 0);
  }, WARMUP_MS, 250);
  if (last) print('warm-up', last);
  assert.ok(ready, `test bed not ready within ${WARMUP_MS} ms\n${daemon.output().slice(-3000)}`);
});

after(async () => {
  try {
    if (daemon) {
      const code = await daemon.stop();
      console.log(`# daemon exit code ${code}`);
    }
  } finally {
    teardownSync();
  }
});

describe('end to end through net_af_packet with DSR', () => {
  test('thousands of requests over many concurrent connections all succeed', async () => {
    const fresh = await load({ requests: 3000, concurrency: 50 });
    print('3000 requests, new connection each, 50 concurrent', fresh);
    const kept = await load({ requests: 3000, concurrency: 50, keepalive: true });
    print('3000 requests over 50 keep-alive connections', kept);
    for (const r of [fresh, kept]) {
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assert.equal(r.requests, 3000);
      assert.equal(Object.values(r.byBackend).reduce((a, b) => a + b, 0), 3000);
    }
  });

  test('equal weights split new connections within ±15%', async () => {
    const r = await load({ requests: 3000, concurrency: 30 });
    print('equal weights, 3000 new connections', r);
    assert.equal(r.failures, 0, JSON.stringify(r.errors));
    assertSplit(r, { b1: 1, b2: 1, b3: 1 });
  });

  test('weights 1:2:1 show as that ratio', async () => {
    await patchBackend(backend('b2'), { weight: 200 });
    try {
      const r = await load({ requests: 3000, concurrency: 30 });
      print('weights 100:200:100, 3000 new connections', r);
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assertSplit(r, { b1: 1, b2: 2, b3: 1 });
    } finally {
      await patchBackend(backend('b2'), { weight: 100 });
    }
  });

  test('a keep-alive connection stays on its backend while the others are added, removed and drained', async () => {
    const s = await sticky();
    const mine = backend(s.first);
    const [y, z] = BACKENDS.filter((b) => b !== mine);
    const step = async (what: string, f: () => Promise<unknown>) => {
      await f();
      console.log(`# sticky on ${mine.name}: ${what}`);
      // New connections meanwhile, so the change is seen to take effect.
      const r = await load({ requests: 150, concurrency: 10 });
      assert.equal(r.failures, 0, `${what}: ${JSON.stringify(r.errors)}`);
    };
    try {
      await step(`remove ${y.name}`, () => api('DELETE', backendPath(y)));
      await step(`add ${y.name} back`, () => api('POST', '/api/v1/services/web/backends', { address: y.address, port: SERVICE_PORT }));
      await step(`drain ${z.name}`, () => patchBackend(z, { state: 'drain' }));
      await step(`weight 300 on ${z.name} (active)`, () => patchBackend(z, { state: 'active', weight: 300 }));
      await step(`weight 100 on ${z.name}`, () => patchBackend(z, { weight: 100 }));
    } finally {
      const r = await s.stop();
      print(`long-lived keep-alive connection (started on ${mine.name})`, r);
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assert.deepEqual(Object.keys(r.byBackend), [mine.name]);
      assert.ok(r.requests >= 20, `only ${r.requests} requests`);
    }
  });

  test('drain: new connections avoid the drained backend while its open connection finishes', async () => {
    const s = await sticky();
    const drained = backend(s.first);
    await patchBackend(drained, { state: 'drain' });
    try {
      const r = await load({ requests: 1500, concurrency: 30 });
      print(`new connections with ${drained.name} drained`, r);
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assert.equal(r.byBackend[drained.name], undefined);
      const k = await load({ requests: 1500, concurrency: 30, keepalive: true });
      print(`keep-alive connections with ${drained.name} drained`, k);
      assert.equal(k.failures, 0, JSON.stringify(k.errors));
      assert.equal(k.byBackend[drained.name], undefined);
    } finally {
      const r = await s.stop();
      print(`open connection on the drained ${drained.name}`, r);
      await patchBackend(drained, { state: 'active' });
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assert.deepEqual(Object.keys(r.byBackend), [drained.name]);
    }
  });

  test('a backend killed mid-load is marked down within fall × interval, then nothing fails; restarted, it rejoins', async () => {
    const victim = backend('b2');
    const bound = HEALTH_CHECK.fall * HEALTH_CHECK.intervalMs;
    const during = load({ durationMs: 4000, concurrency: 20 });
    await sleep(1000);
    servers.get(victim.name)!.kill('SIGKILL');
    const killedAt = Date.now();
    const downInTime = await waitFor(async () => (await healthOf(victim)) === 'down', 10_000, 25);
    const downAfter = Date.now() - killedAt;
    console.log(`# ${victim.name} killed; marked down after ${downAfter} ms (fall × interval = ${bound} ms, probe timeout ${HEALTH_CHECK.timeoutMs} ms)`);
    assert.ok(downInTime, `${victim.name} never marked down`);
    // The last good probe may have been up to one interval before the kill.
    assert.ok(downAfter <= bound + HEALTH_CHECK.intervalMs, `down after ${downAfter} ms`);
    const whileDying = await during;
    print(`load across the kill of ${victim.name} (failures allowed before it is marked down)`, whileDying);

    const afterDown = await load({ requests: 2000, concurrency: 30 });
    print(`after ${victim.name} is down`, afterDown);
    assert.equal(afterDown.failures, 0, JSON.stringify(afterDown.errors));
    assert.equal(afterDown.byBackend[victim.name], undefined);

    await startServer(victim);
    const restartedAt = Date.now();
    assert.ok(await waitFor(async () => (await healthOf(victim)) === 'up', 10_000, 25), `${victim.name} never came back`);
    console.log(`# ${victim.name} restarted; up after ${Date.now() - restartedAt} ms (rise × interval = ${HEALTH_CHECK.rise * HEALTH_CHECK.intervalMs} ms)`);
    const back = await load({ requests: 3000, concurrency: 30 });
    print(`after ${victim.name} rejoined`, back);
    assert.equal(back.failures, 0, JSON.stringify(back.errors));
    assertSplit(back, { b1: 1, b2: 1, b3: 1 });
  });

  test('config changes under load make no request to an unaffected backend fail', async () => {
    const changed = backend('b3');
    // New connections while b3's weight and state change (nothing is removed:
    // every request must succeed); keep-alive connections through that and
    // b3's removal and return (only connections that were on b3 may break).
    const fresh = load({ durationMs: 3500, concurrency: 20 });
    const kept = load({ durationMs: 6000, concurrency: 30, keepalive: true });
    const changes: [string, () => Promise<unknown>][] = [
      ['weight 50', () => patchBackend(changed, { weight: 50 })],
      ['drain', () => patchBackend(changed, { state: 'drain' })],
      ['active', () => patchBackend(changed, { state: 'active' })],
      ['weight 100', () => patchBackend(changed, { weight: 100 })],
      ['b1 weight 150', () => patchBackend(backend('b1'), { weight: 150 })],
      ['b1 weight 100', () => patchBackend(backend('b1'), { weight: 100 })],
    ];
    await sleep(400);
    for (const [what, f] of changes) {
      await f();
      console.log(`# change under load: ${what}`);
      await sleep(400);
    }
    const r1 = await fresh;
    print('new connections during weight/state changes', r1);
    await api('DELETE', backendPath(changed));
    console.log(`# change under load: remove ${changed.name}`);
    await sleep(700);
    await api('POST', '/api/v1/services/web/backends', { address: changed.address, port: SERVICE_PORT });
    console.log(`# change under load: add ${changed.name} back`);
    const r2 = await kept;
    print('keep-alive connections during all changes', r2);
    assert.equal(r1.failures, 0, JSON.stringify(r1.errors));
    assert.deepEqual(Object.keys(r2.failuresBy).filter((k) => k !== changed.name), [], JSON.stringify(r2.errors));
    assert.ok((r2.byBackend.b1 ?? 0) > 0 && (r2.byBackend.b2 ?? 0) > 0);
  });
});
