// Control-plane isolation: the data plane's rate while the REST API is loaded,
// against the same daemon unloaded. The daemon is the operator's `sluice run`;
// autocannon (pinned to core 0 with taskset, away from the worker's core 1)
// loads GET /api/v1/stats, which reads every counter of every lcore.
//
// Unloaded and loaded windows alternate (U L U L U L U), and each loaded window
// is compared with the mean of the unloaded ones on either side of it: this
// machine's speed drifts by more than the 5% the target allows within a minute,
// and one unloaded window followed by one loaded one measured the drift as often
// as the load.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { median } from './median';

const ROOT = resolve(__dirname, '../../..');
const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');
const LOADED_WINDOWS = 3;

/** One loaded window, between the two unloaded windows around it. */
export interface IsolationWindow {
  unloadedBeforeMpps: number;
  loadedMpps: number;
  unloadedAfterMpps: number;
  /** loadedMpps over the mean of the two unloaded windows. */
  ratio: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface IsolationResult {
  /** Medians over the windows. */
  unloadedMpps: number;
  loadedMpps: number;
  /** The median of the windows' ratios. */
  ratio: number;
  /** Mean over the loaded windows. */
  requestsPerSec: number;
  /** The median window's p50, and the worst window's p99. */
  p50Ms: number;
  p99Ms: number;
  /** Over all loaded windows. */
  errors: number;
  windows: IsolationWindow[];
  connections: number;
  commands: string[];
}

/** What autocannon reported for one loaded window. */
export interface LoadedWindow {
  mpps: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/**
 * `unloaded` has one window more than `loaded`: unloaded[i] and unloaded[i + 1]
 * are the windows on either side of loaded[i].
 */
export function summarizeIsolation(unloaded: number[], loaded: LoadedWindow[], connections: number,
  commands: string[]): IsolationResult {
  if (loaded.length === 0 || unloaded.length !== loaded.length + 1) {
    throw new RangeError(`need one unloaded window more than loaded ones, got ${unloaded.length} and ${loaded.length}`);
  }
  const windows = loaded.map((l, i): IsolationWindow => ({
    unloadedBeforeMpps: unloaded[i], loadedMpps: l.mpps, unloadedAfterMpps: unloaded[i + 1],
    ratio: l.mpps / ((unloaded[i] + unloaded[i + 1]) / 2),
    requestsPerSec: l.requestsPerSec, p50Ms: l.p50Ms, p99Ms: l.p99Ms, errors: l.errors,
  }));
  return {
    unloadedMpps: median(unloaded), loadedMpps: median(loaded.map((l) => l.mpps)),
    ratio: median(windows.map((w) => w.ratio)),
    requestsPerSec: loaded.reduce((a, l) => a + l.requestsPerSec, 0) / loaded.length,
    p50Ms: median(loaded.map((l) => l.p50Ms)), p99Ms: Math.max(...loaded.map((l) => l.p99Ms)),
    errors: loaded.reduce((a, l) => a + l.errors, 0), windows, connections, commands,
  };
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
    const connections = 10;
    const cannonArgs = ['-c', '0', AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds), `${base}/api/v1/stats`];
    const unloaded: number[] = [];
    const loaded: LoadedWindow[] = [];
    const unloadedWindow = async () => {
      const a = await sample(base);
      await sleep(seconds * 1000);
      unloaded.push(mpps(a, await sample(base)));
    };
    await unloadedWindow();
    for (let i = 0; i < LOADED_WINDOWS; i++) {
      const a = await sample(base);
      const cannon = spawn('taskset', cannonArgs, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      cannon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => cannon.on('exit', r));
      const b = await sample(base);
      if (code !== 0) throw new Error(`autocannon exited with ${code}`);
      const report = JSON.parse(out) as { latency: { p50: number; p99: number }; requests: { average: number }; errors: number; non2xx: number };
      loaded.push({ mpps: mpps(a, b), requestsPerSec: report.requests.average, p50Ms: report.latency.p50,
        p99Ms: report.latency.p99, errors: report.errors + report.non2xx });
      await unloadedWindow();
    }
    return summarizeIsolation(unloaded, loaded, connections,
      [`node ${daemonArgs.join(' ')}`, `taskset ${cannonArgs.join(' ')}  # ${LOADED_WINDOWS} times, between unloaded windows`]);
  } finally {
    daemon.kill('SIGTERM');
    const stopped = await Promise.race([new Promise((r) => daemon.once('exit', r)), sleep(15000).then(() => 'timeout')]);
    if (stopped === 'timeout') daemon.kill('SIGKILL');
  }
}
