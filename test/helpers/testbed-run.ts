// What the namespace tests (e2e, crash-restart) share: their own test bed, set
// up after clearing a crashed run's leftovers and torn down on exit or signal;
// the load and sticky clients inside sluice-client; polling.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execIn, spawnIn } from '../../tools/testbed/netns';
import { BACKENDS, CLIENT_NS, VIP, down, up } from '../../tools/testbed/topology';
import type { DaemonProcess } from './daemon-process';

export const URL_VIP = `http://${VIP}/`;
const LOAD_CLIENT = join(__dirname, 'load-client.js');
const STICKY_CLIENT = join(__dirname, 'sticky-client.js');
/** A client run's own bound on top of its duration or request count. */
const CLIENT_SLACK_MS = 30_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Client processes still running; killClients() ends them (also from an 'exit' handler). */
const clients = new Set<ChildProcess>();

export function killClients(): void {
  for (const c of clients) c.kill('SIGKILL');
  clients.clear();
}

export interface LoadResult {
  requests: number;
  failures: number;
  byBackend: Record<string, number>;
  failuresBy: Record<string, number>;
  errors: string[];
  elapsedMs: number;
}

export interface StickyConnection {
  /** the connection's own port, which names its flow */
  localPort?: number;
  first?: string;
  requests: number;
  failures: number;
  byBackend: Record<string, number>;
  errors: string[];
  lastAnswerAt?: number;
  maxWaitMs: number;
}

export interface StickyResult {
  requests: number;
  failures: number;
  byBackend: Record<string, number>;
  sockets: number;
  errors: string[];
  connections: StickyConnection[];
}

/** Polls `cond` every `everyMs` until it holds; false after `ms`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

/** A client script in the client namespace, tracked until it exits, its output collected. */
function startClient(argv: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawnIn(CLIENT_NS, process.execPath, argv);
  clients.add(child);
  child.on('exit', () => clients.delete(child));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return { child, out: () => out, err: () => err };
}

/** A REST call to the test bed's daemon; anything but 2xx fails the test. Resolves with the parsed body. */
export async function daemonApi(d: DaemonProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${d.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * Waits until the daemon has resolved every one of `addresses` as a neighbor:
 * what a test bed whose services have no health check waits for instead.
 */
export async function waitForNeighbors(d: DaemonProcess, addresses: readonly string[]): Promise<void> {
  const resolved = await waitFor(async () => {
    const list = (await daemonApi(d, 'GET', '/api/v1/neighbors')) as { address: string; resolved: boolean }[];
    return addresses.every((a) => list.some((n) => n.address === a && n.resolved));
  }, 15_000, 200);
  assert.ok(resolved, `backends' MACs not resolved within 15 s\n${d.output().slice(-3000)}`);
}

/** Runs the load client in the client namespace; resolves with its JSON result. */
export function load(args: { requests?: number; durationMs?: number; concurrency: number; keepalive?: boolean; timeoutMs?: number; url?: string }): Promise<LoadResult> {
  const argv = [LOAD_CLIENT, '--url', args.url ?? URL_VIP, '--concurrency', String(args.concurrency)];
  if (args.requests !== undefined) argv.push('--requests', String(args.requests));
  if (args.durationMs !== undefined) argv.push('--duration-ms', String(args.durationMs));
  if (args.timeoutMs !== undefined) argv.push('--timeout-ms', String(args.timeoutMs));
  if (args.keepalive) argv.push('--keepalive');
  const { child, out, err } = startClient(argv);
  const bound = (args.durationMs ?? 0) + (args.timeoutMs ?? 0) + CLIENT_SLACK_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), bound);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clients.delete(child);
      try {
        resolve(JSON.parse(out()) as LoadResult);
      } catch {
        reject(new Error(`load client failed (${code ?? signal}), bound ${bound} ms: ${out()}${err()}`));
      }
    });
  });
}

export interface Sticky {
  /** the backend of the first connection's first answer */
  first: string;
  /** each connection's first backend */
  firsts: string[];
  /** each connection's local port */
  ports: number[];
  stop(): Promise<StickyResult>;
}

/** Starts the keep-alive client (to `url`, the VIP's by default); resolves once every connection's first answer named a backend. */
export async function sticky(opts: { connections?: number; intervalMs?: number; timeoutMs?: number; maxMs?: number; url?: string } = {}): Promise<Sticky> {
  const argv = [STICKY_CLIENT, '--url', opts.url ?? URL_VIP, '--connections', String(opts.connections ?? 1),
    '--interval-ms', String(opts.intervalMs ?? 50), '--max-ms', String(opts.maxMs ?? 60_000)];
  if (opts.timeoutMs !== undefined) argv.push('--timeout-ms', String(opts.timeoutMs));
  const { child, out, err } = startClient(argv);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lines = () => out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>);
  const ok = await waitFor(() => lines().some((l) => l.event === 'first' || l.event === 'summary'), 10_000);
  const first = lines().find((l) => l.event === 'first');
  if (!ok || first === undefined) {
    child.kill('SIGKILL');
    throw new Error(`sticky client got no first answer: ${out()}${err()}`);
  }
  return {
    first: first.backend as string,
    firsts: first.backends as string[],
    ports: first.ports as number[],
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      clients.delete(child);
      const summary = lines().find((l) => l.event === 'summary');
      assert.ok(summary, `sticky client printed no summary: ${out()}${err()}`);
      return summary as unknown as StickyResult;
    },
  };
}

export function print(what: string, r: LoadResult | StickyResult): void {
  const errors = r.errors.length > 0 ? ` errors=${JSON.stringify(r.errors)}` : '';
  const by = 'failuresBy' in r && r.failures > 0 ? ` failuresBy=${JSON.stringify(r.failuresBy)}` : '';
  const time = 'elapsedMs' in r ? ` in ${r.elapsedMs} ms` : '';
  console.log(`# ${what}: requests=${r.requests} failures=${r.failures} split=${JSON.stringify(r.byBackend)}${by}${time}${errors}`);
}

/** Kills the daemon of a run that crashed before its after hook (by its recorded pid only). */
export async function killLeftoverDaemon(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
  await waitFor(() => !existsSync(`/proc/${pid}`), 5000);
  // A killed EAL leaves its runtime directory behind.
  rmSync(`/var/run/dpdk/sluice-${pid}`, { recursive: true, force: true });
}

/** A test bed of a file's own beside the shared one: how it is built and removed, and what it started. */
export interface OwnTestbed {
  up(): void;
  down(): void;
  /** killed at teardown */
  processes?: Set<ChildProcess>;
}

const SHARED_TESTBED: OwnTestbed = { up, down };

/**
 * Builds the test bed (the shared one unless `bed` is given) in a clean `work`
 * directory after clearing what a crashed run left; `teardown` runs on exit,
 * Ctrl-C or the runner's SIGTERM, so nothing of the test bed outlives the file.
 */
export async function setUpTestbed(work: string, pidFile: string, teardown: () => void,
  bed: OwnTestbed = SHARED_TESTBED): Promise<void> {
  await killLeftoverDaemon(pidFile);
  bed.down();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  process.once('exit', teardown);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      teardown();
      process.exit(130);
    });
  }
  bed.up();
}

/** Synchronous, so it also runs from an 'exit' handler after a crash. */
export function tearDownTestbedSync(daemon: DaemonProcess | undefined, work: string, bed: OwnTestbed = SHARED_TESTBED): void {
  killClients();
  for (const p of bed.processes ?? []) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  bed.processes?.clear();
  if (daemon !== undefined && daemon.child.exitCode === null && daemon.child.signalCode === null) {
    daemon.child.kill('SIGKILL');
    // A killed EAL leaves its runtime directory (named by the daemon's pid) behind.
    rmSync(`/var/run/dpdk/sluice-${daemon.child.pid}`, { recursive: true, force: true });
  }
  bed.down();
  rmSync(work, { recursive: true, force: true });
}

/** Adds `p` to `processes` until it exits. */
export function track(processes: Set<ChildProcess>, p: ChildProcess): ChildProcess {
  processes.add(p);
  p.once('exit', () => processes.delete(p));
  return p;
}

/**
 * Root, and every command on the PATH: all that is missing in one message, so
 * a missing tool fails the file rather than skipping it.
 */
export function checkPrerequisites(commands: readonly string[], packages: string): void {
  const missing = commands.filter((cmd) => {
    try {
      execIn(undefined, 'sh', ['-c', `command -v ${cmd}`]);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, [], `missing ${missing.join(', ')}: Debian ${packages} (scripts/setup.sh installs them)`);
  assert.equal(process.getuid?.(), 0, 'needs root (network namespaces, DPDK)');
}

/**
 * The balancer learns the backends' MACs by ARP (a request a second while
 * unresolved) and the first probes need rise × interval: waits until `allUp`
 * and a small run reaches every backend without a failure. Returns that run,
 * or undefined after `ms`.
 */
export async function warmUp(allUp: () => Promise<boolean>, ms: number): Promise<LoadResult | undefined> {
  let last: LoadResult | undefined;
  const ready = await waitFor(async () => {
    if (!(await allUp())) return false;
    last = await load({ requests: 60, concurrency: 6 });
    return last.failures === 0 && BACKENDS.every((b) => (last!.byBackend[b.name] ?? 0) > 0);
  }, ms, 250);
  return ready ? last : undefined;
}
