// The control plane at scale, against the operator's `sluice run` on a ring port
// (no traffic: this measures the REST API, the store, the state file and the
// snapshot builds, not the data path):
//
//   node dist/tools/bench/control-plane.js [--services N] [--backends N] [--seconds S] [--checkout DIR] [--cpu-prof DIR]
//
// It creates N - 1 services of one backend each, one request at a time, then
// one tunnel service of --backends backends (tunnel, so its backends can be
// anywhere behind the port's gateway): N services in all, and the data plane
// takes at most 1,024. It reads the big service and the whole list, runs
// PATCHes of the big service's backends from 50 concurrent clients for S
// seconds, then, with nothing else running, times PATCHes from their
// acknowledgement to the worker lcores running the generation they made
// (GET /api/v1/lcores shows each lcore's). Throughout, one more client asks
// /healthz every 50 ms: the API must stay responsive whatever else it is doing.
// The daemon's resident memory is read from /proc at the end. --checkout runs
// the `sluice` of another built checkout (a before/after comparison); --cpu-prof
// writes the daemon's V8 CPU profile (node --cpu-prof) into DIR when it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../src/node-flags';
import { median } from './median';

const ROOT = path.resolve(__dirname, '../../..');
export const PATCH_CLIENTS = 50;
/** The PATCHes' first second opens 50 connections and compiles their path: its worst is reported, not its percentiles. */
export const PATCH_WARMUP_MS = 1000;
const HEALTHZ_EVERY_MS = 50;
/** PATCHes timed from acknowledgement to the lcores, one at a time */
export const TO_LCORE_CHANGES = 200;
const GETS = 5;

/** The targets: what an operator of a large installation needs. */
export const CONTROL_PLANE_TARGETS = {
  getMs: 50,
  patchP99Ms: 50,
  toLcoreP99Ms: 5,
  healthzMaxMs: 100,
  createSec: 10,
} as const;

export interface ControlPlaneResult {
  /** in all, the big one included */
  services: number;
  backends: number;
  /** creating the `services` services, one POST after another, the big one last */
  createSec: number;
  /** the first and the last POST of a one-backend service: how a change's cost grows with the state */
  firstPostMs: number;
  lastPostMs: number;
  /** POST of the one service with `backends` backends */
  bigPostMs: number;
  /** GET of that service, and of the list of all services: median and worst of 5 */
  bigGetMs: number;
  bigGetMaxMs: number;
  listMs: number;
  listMaxMs: number;
  patches: number;
  patchErrors: number;
  patchPerSec: number;
  patchP50Ms: number;
  patchP99Ms: number;
  /** PATCHes answered in the warm-up (PATCH_WARMUP_MS), and the slowest of them */
  warmupPatches: number;
  warmupMaxMs: number;
  /**
   * The daemon's CPU time per PATCH over that phase: its main thread's (the
   * event loop, which every request and change passes through) and all its
   * threads' (the lcore, table builds ahead, the state file's writes). Less
   * noisy than latency on a shared machine: 50 clients waiting on one loop
   * see about 50 times the loop's cost per PATCH.
   */
  patchCpuMs: { eventLoop: number; process: number };
  /**
   * From a PATCH's acknowledgement to GET /api/v1/lcores showing every lcore on
   * its generation (an upper bound: one such GET included); absent when the
   * daemon's lcores do not show their generation.
   */
  toLcore?: { changes: number; p50Ms: number; p99Ms: number; maxMs: number; inUseAtAck: number; lcoresGetMs: number };
  healthzRequests: number;
  healthzP99Ms: number;
  healthzMaxMs: number;
  /** requests to /healthz that failed (refused, reset, non-200, no answer within 5 s) */
  healthzFailures: number;
  rssMiB: number;
  command: string;
}

/** The p-th percentile (0..100) by nearest rank; 0 for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The big service's backends: distinct addresses off the port's subnet, behind its gateway; a tunnel keeps the port. */
export function bigBackends(n: number, port: number): { address: string; port: number }[] {
  return Array.from({ length: n }, (_, i) => ({ address: `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port }));
}

export function daemonConfig(dir: string): Record<string, unknown> {
  return {
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/16', gateway: '10.99.0.1' }],
    dataplane: { idleSleepMaxUs: 200 },
    flowTable: { entriesPerLcore: 16384 },
    api: { listen: '127.0.0.1:0' },
    stateFile: path.join(dir, 'state.json'),
    services: [],
  };
}

async function startDaemon(dir: string, checkout: string, cpuProf?: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const file = path.join(dir, 'sluice.json');
  fs.writeFileSync(file, JSON.stringify(daemonConfig(dir)));
  const cli = path.join(checkout, 'dist', 'src', 'cli.js');
  const prof = cpuProf === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`];
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...prof, cli, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Only the start-up line is wanted; the request log of a long run would fill memory.
  let out = '';
  const keep = (d: Buffer) => {
    if (out.length < 1 << 20) out += d;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('"msg":"sluice running"'));
    if (line) {
      const url = (JSON.parse(line) as { api: string }).api;
      return {
        url,
        child,
        stop: async () => {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(t);
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sluice run did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One request, timed to its last byte. node:http with a keep-alive agent rather
 * than fetch: fetch costs the client about as much CPU a request as the daemon
 * spends answering it, and on this two-core machine the client's own queueing
 * would be counted as the daemon's latency.
 */
function timed(url: string, init: Request = {}, agent = defaultAgent): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const req = http.request(url, {
      agent,
      method: init.method ?? 'GET',
      headers: { ...init.headers, ...(body === undefined ? {} : { 'content-length': body.length }) },
      ...(init.timeoutMs === undefined ? {} : { timeout: init.timeoutMs }),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

interface Request {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

const defaultAgent = new http.Agent({ keepAlive: true });

function json(method: string, body: unknown): Request {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

async function expectOk(what: string, p: ReturnType<typeof timed>): Promise<number> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return r.ms;
}

/** /healthz every 50 ms until stopped, each answer's latency kept. */
function watchHealthz(url: string): { stop(): Promise<{ latencies: number[]; failures: number }> } {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  // A connection of its own, never queued behind the PATCHes' sockets.
  const healthzAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const r = await timed(`${url}/healthz`, { timeoutMs: 5000 }, healthzAgent);
        if (r.status === 200) latencies.push(r.ms);
        else failures++;
      } catch {
        failures++;
      }
      const wait = HEALTHZ_EVERY_MS - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { latencies, failures };
    },
  };
}

/** CPU time (user + system) in ms: of the process's main thread (the event loop) and of all its threads. */
function cpuMs(pid: number): { main: number; all: number } {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const ticks = (file: string) => {
    const text = fs.readFileSync(file, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const msPerTick = 1000 / 100;  // USER_HZ, 100 on Linux
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`) * msPerTick, all: ticks(`/proc/${pid}/stat`) * msPerTick };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The least configuration generation over the lcores; undefined when the daemon does not show it. */
async function lcoreGeneration(api: string): Promise<number | undefined> {
  const r = await timed(`${api}/lcores`);
  if (r.status !== 200) throw new Error(`GET /lcores: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  const gens = (JSON.parse(r.body) as { generation?: number }[]).map((l) => l.generation);
  return gens.length === 0 || gens.some((g) => g === undefined) ? undefined : Math.min(...(gens as number[]));
}

/**
 * PATCHes one at a time, each timed from its acknowledgement until GET /lcores
 * shows every lcore on the generation it made (one more than before it, as
 * nothing else changes the services meanwhile).
 */
async function changeToLcore(api: string, big: { address: string; port: number }[], n: number):
  Promise<ControlPlaneResult['toLcore']> {
  const samples: number[] = [];
  const gets: number[] = [];
  let inUseAtAck = 0;
  for (let i = 0; i < n; i++) {
    const before = await lcoreGeneration(api);
    if (before === undefined) return undefined;
    const b = big[i % big.length];
    await expectOk('PATCH', timed(`${api}/services/big/backends/${b.address}:${b.port}`, json('PATCH', { weight: 1 + (i % 100) })));
    const acked = performance.now();
    for (let polls = 0; ; polls++) {
      const g0 = performance.now();
      const g = await lcoreGeneration(api);
      gets.push(performance.now() - g0);
      if (g !== undefined && g > before) {
        if (polls === 0) inUseAtAck++;
        samples.push(performance.now() - acked);
        break;
      }
      if (performance.now() - acked > 5000) throw new Error(`the lcores did not reach generation ${before + 1} within 5 s`);
    }
  }
  return {
    changes: n, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples),
    inUseAtAck, lcoresGetMs: median(gets),
  };
}

export interface ControlPlaneOptions {
  services: number;
  backends: number;
  seconds: number;
  /** the checkout whose dist/src/cli.js runs the daemon */
  checkout?: string;
  /** a directory for the daemon's CPU profile */
  cpuProf?: string;
}

export async function controlPlane(o: ControlPlaneOptions): Promise<ControlPlaneResult> {
  const { services, backends, seconds } = o;
  const checkout = o.checkout ?? ROOT;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cp-bench-'));
  const daemon = await startDaemon(dir, checkout, o.cpuProf);
  const api = `${daemon.url}/api/v1`;
  const healthz = watchHealthz(daemon.url);
  try {
    const t0 = performance.now();
    const posts: number[] = [];
    for (let i = 0; i < services - 1; i++) {
      const vip = `10.98.${i >> 8}.${i & 255}`;
      posts.push(await expectOk(`create service ${i}`, timed(`${api}/services`, json('POST', {
        name: `s${i}`, vip, port: 80, healthCheck: { type: 'none' },
        backends: [{ address: `10.99.${1 + (i >> 8)}.${i & 255}`, port: 80, mac: '02:00:00:00:00:01' }],
      }))));
    }
    const big = bigBackends(backends, 443);
    const bigPostMs = await expectOk('create the big service', timed(`${api}/services`, json('POST', {
      name: 'big', vip: '10.97.0.1', port: 443, forwarding: 'tunnel', healthCheck: { type: 'none' }, backends: big,
    })));
    const createSec = (performance.now() - t0) / 1000;

    const gets: number[] = [];
    const lists: number[] = [];
    for (let i = 0; i < GETS; i++) {
      gets.push(await expectOk('GET the big service', timed(`${api}/services/big`)));
      lists.push(await expectOk('GET every service', timed(`${api}/services`)));
    }

    const patchLatencies: number[] = [];
    let patchErrors = 0;
    let warmupPatches = 0;
    let warmupMaxMs = 0;
    const measuredFrom = performance.now() + PATCH_WARMUP_MS;
    const until = measuredFrom + seconds * 1000;
    let next = 0;
    let cpu0: { main: number; all: number } | undefined;
    const client = async () => {
      while (performance.now() < until) {
        const b = big[next++ % big.length];
        const weight = 1 + (next % 100);
        const started = performance.now();
        // The warm-up's PATCHes open the connections and compile the path: counted apart.
        const measured = started >= measuredFrom;
        if (measured) cpu0 ??= cpuMs(daemon.child.pid!);
        try {
          const r = await timed(`${api}/services/big/backends/${b.address}:${b.port}`, json('PATCH', { weight }));
          if (r.status >= 300) patchErrors++;
          else if (measured) patchLatencies.push(r.ms);
          else {
            warmupPatches++;
            warmupMaxMs = Math.max(warmupMaxMs, r.ms);
          }
        } catch {
          patchErrors++;
        }
      }
    };
    await Promise.all(Array.from({ length: PATCH_CLIENTS }, client));
    const cpu1 = cpuMs(daemon.child.pid!);
    const patchSec = (performance.now() - measuredFrom) / 1000;
    cpu0 ??= cpu1;

    const toLcore = await changeToLcore(api, big, TO_LCORE_CHANGES);

    const h = await healthz.stop();
    return {
      services, backends, createSec, firstPostMs: posts[0] ?? 0, lastPostMs: posts[posts.length - 1] ?? 0, bigPostMs,
      bigGetMs: median(gets), bigGetMaxMs: Math.max(...gets), listMs: median(lists), listMaxMs: Math.max(...lists),
      patches: patchLatencies.length, patchErrors, patchPerSec: patchLatencies.length / patchSec, warmupPatches, warmupMaxMs,
      patchP50Ms: percentile(patchLatencies, 50), patchP99Ms: percentile(patchLatencies, 99),
      patchCpuMs: {
        eventLoop: (cpu1.main - cpu0.main) / Math.max(1, patchLatencies.length),
        process: (cpu1.all - cpu0.all) / Math.max(1, patchLatencies.length),
      },
      ...(toLcore === undefined ? {} : { toLcore }),
      healthzRequests: h.latencies.length, healthzP99Ms: percentile(h.latencies, 99),
      healthzMaxMs: h.latencies.length ? Math.max(...h.latencies) : 0, healthzFailures: h.failures,
      rssMiB: rssMiB(daemon.child.pid!),
      command: `node dist/tools/bench/control-plane.js --services ${services} --backends ${backends} --seconds ${seconds}`,
    };
  } finally {
    await healthz.stop();
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** BENCHMARKS.md's section for these figures, each against its target. */
export function renderControlPlane(r: ControlPlaneResult): string[] {
  const t = CONTROL_PLANE_TARGETS;
  const f1 = (x: number) => x.toFixed(1);
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  const small = r.services - 1;
  const lines = [
    `\`sluice run\` on a ring port with ${small} services of one backend each and one tunnel service of`,
    `${r.backends} backends (${r.services} services, the data plane's limit); a state file; ${PATCH_CLIENTS} concurrent clients`,
    `for the PATCHes; /healthz asked every ${HEALTHZ_EVERY_MS} ms throughout (\`${r.command}\`).`,
    '',
    '| Measure | Value | Target | |',
    '|---|---:|---:|---|',
    `| Create ${r.services} services, one POST after another (${small} of one backend, then the big one) | ${f1(r.createSec)} s | ${t.createSec} s | ${verdict(r.createSec <= t.createSec)} |`,
    `| POST of the 1st and of the ${small}th one-backend service | ${f1(r.firstPostMs)} / ${f1(r.lastPostMs)} ms | — | |`,
    `| POST of the ${r.backends}-backend service | ${f1(r.bigPostMs)} ms | — | |`,
    `| GET of the ${r.backends}-backend service, median / worst of ${GETS} | ${f1(r.bigGetMs)} / ${f1(r.bigGetMaxMs)} ms | ${t.getMs} ms | ${verdict(r.bigGetMaxMs <= t.getMs)} |`,
    `| GET of all ${r.services} services, median / worst of ${GETS} | ${f1(r.listMs)} / ${f1(r.listMaxMs)} ms | ${t.getMs} ms | ${verdict(r.listMaxMs <= t.getMs)} |`,
    `| PATCH latency p50 / p99 after a ${PATCH_WARMUP_MS / 1000} s warm-up (${r.patches} PATCHes, ${f1(r.patchPerSec)}/s, ${r.patchErrors} errors) | ${f1(r.patchP50Ms)} / ${f1(r.patchP99Ms)} ms | p99 ${t.patchP99Ms} ms | ${verdict(r.patchP99Ms <= t.patchP99Ms && r.patchErrors === 0)} |`,
    `| Slowest PATCH of the warm-up (${r.warmupPatches} PATCHes on ${PATCH_CLIENTS} new connections) | ${f1(r.warmupMaxMs)} ms | — | |`,
    `| Daemon CPU time per PATCH in that phase: event loop / all threads | ${r.patchCpuMs.eventLoop.toFixed(2)} / ${r.patchCpuMs.process.toFixed(2)} ms | — | |`,
  ];
  const l = r.toLcore;
  lines.push(l === undefined
    ? `| Acknowledged change to the lcores using it | not shown by this build | p99 ${t.toLcoreP99Ms} ms | |`
    : `| Acknowledged change to the lcores using it, p50 / p99 / worst (${l.changes} PATCHes; ${l.inUseAtAck} in use at the first look) | ${f1(l.p50Ms)} / ${f1(l.p99Ms)} / ${f1(l.maxMs)} ms | p99 ${t.toLcoreP99Ms} ms | ${verdict(l.p99Ms <= t.toLcoreP99Ms)} |`);
  lines.push(
    `| /healthz p99 / worst (${r.healthzRequests} answers, ${r.healthzFailures} failed) | ${f1(r.healthzP99Ms)} / ${f1(r.healthzMaxMs)} ms | ${t.healthzMaxMs} ms | ${verdict(r.healthzMaxMs <= t.healthzMaxMs && r.healthzFailures === 0)} |`,
    `| Resident memory of the daemon at the end | ${f1(r.rssMiB)} MiB | — | |`,
  );
  if (l !== undefined) {
    lines.push('', `The change-to-lcore figures are upper bounds: each includes one \`GET /api/v1/lcores\` (median`,
      `${f1(l.lcoresGetMs)} ms), the first of which is sent at the acknowledgement. A change is applied to the data`,
      'plane before its state-file write, so the lcores usually run it before it is acknowledged.');
  }
  return lines;
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`control-plane: ${name} takes a whole number >= 1\n`);
    process.exit(2);
  }
  return v;
}

if (require.main === module) {
  const services = argValue('--services', 1024);
  const backends = argValue('--backends', 4096);
  const seconds = argValue('--seconds', 10);
  const at = process.argv.indexOf('--checkout');
  const checkout = at > 0 ? path.resolve(process.argv[at + 1]) : undefined;
  const p = process.argv.indexOf('--cpu-prof');
  const cpuProf = p > 0 ? path.resolve(process.argv[p + 1]) : undefined;
  controlPlane({ services, backends, seconds, checkout, cpuProf }).then(
    (r) => console.log(renderControlPlane(r).join('\n')),
    (err: unknown) => {
      process.stderr.write(`control-plane: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
