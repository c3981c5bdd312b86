// Control-plane isolation: the data plane's rate while the REST API is loaded,
// against the same daemon unloaded. The daemon is the operator's `sluice run`;
// autocannon (pinned to core 0 with taskset, away from the worker's core 1)
// loads GET /api/v1/stats, which reads every counter of every lcore.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');

export interface IsolationResult {
  unloadedMpps: number;
  loadedMpps: number;
  ratio: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  connections: number;
  commands: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RxSample { rx: number; inserts: number; atMs: number }

async function sample(base: string): Promise<RxSample> {
  const res = await fetch(`${base}/api/v1/stats`);
  if (!res.ok) throw new Error(`GET /api/v1/stats: ${res.status}`);
  const body = (await res.json()) as { lcores: { rxPackets: number; flows: { inserts: number } }[] };
  return {
    rx: body.lcores.reduce((a, l) => a + l.rxPackets, 0),
    inserts: body.lcores.reduce((a, l) => a + l.flows.inserts, 0),
    atMs: performance.now(),
  };
}

const mpps = (a: RxSample, b: RxSample) => (b.rx - a.rx) / (b.atMs - a.atMs) / 1000;

/** `config` is a benchmark config with an `api.listen` of 127.0.0.1:`port`; warm = flows to wait for. */
export async function isolation(configPath: string, port: number, warm: number, seconds: number): Promise<IsolationResult> {
  const base = `http://127.0.0.1:${port}`;
  const daemonArgs = [join(ROOT, 'dist/src/cli.js'), 'run', '--config', configPath];
  const daemon: ChildProcess = spawn(process.execPath, daemonArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const deadline = performance.now() + 120000;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`sluice run exited with ${daemon.exitCode}: ${stderr}`);
      try {
        if ((await sample(base)).inserts >= warm) break;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) throw new Error(`sluice run not warm after 120 s: ${stderr}`);
      await sleep(200);
    }
    const u0 = await sample(base);
    await sleep(seconds * 1000);
    const u1 = await sample(base);

    const connections = 10;
    const cannonArgs = ['-c', '0', AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds), `${base}/api/v1/stats`];
    const l0 = await sample(base);
    const cannon = spawn('taskset', cannonArgs, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    cannon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => cannon.on('exit', r));
    const l1 = await sample(base);
    if (code !== 0) throw new Error(`autocannon exited with ${code}`);
    const report = JSON.parse(out) as { latency: { p50: number; p99: number }; requests: { average: number }; errors: number; non2xx: number };
    const unloadedMpps = mpps(u0, u1);
    const loadedMpps = mpps(l0, l1);
    return {
      unloadedMpps, loadedMpps, ratio: loadedMpps / unloadedMpps, requestsPerSec: report.requests.average,
      p50Ms: report.latency.p50, p99Ms: report.latency.p99, errors: report.errors + report.non2xx, connections,
      commands: [`node ${daemonArgs.join(' ')}`, `taskset ${cannonArgs.join(' ')}`],
    };
  } finally {
    daemon.kill('SIGTERM');
    const stopped = await Promise.race([new Promise((r) => daemon.once('exit', r)), sleep(15000).then(() => 'timeout')]);
    if (stopped === 'timeout') daemon.kill('SIGKILL');
  }
}
