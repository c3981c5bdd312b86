// The tier test bed as a whole, for `npm start -- --nodes N` and
// test/system/tier.test.ts: the network (tier-topology.ts), the backends'
// HTTP servers, the FRR router (tier-router.ts), and N `sluice run` processes,
// each started inside its own namespace with its API forwarded to the root
// namespace's 127.0.0.1:(apiBasePort + K - 1) (tier-api.ts).
//
// Tier.start() clears a crashed run's leftovers first and removes everything
// it made if it fails; teardown() is synchronous (an 'exit' handler can run it)
// and idempotent. Every child runs under `setpriv --pdeathsig SIGKILL`, so a
// `kill -9` of the owner leaves at most namespaces, which the next run removes.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { DAEMON_NODE_FLAGS } from '../../src/node-flags';
import { spawnIn, spawnReady } from './netns';
import { ApiForward } from './tier-api';
import { kernelPathSupported, tierNodeConfig } from './tier-config';
import { FrrRouter, kernelNextHops } from './tier-router';
import {
  TIER_BACKENDS, TIER_VIP, nodeSpec, tierDown, tierUp, type KernelPath, type TierNodeSpec,
} from './tier-topology';
import type { BackendSpec } from './topology';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const BACKEND_SERVER = path.join(__dirname, 'backend-server.js');
const NODE_START_MS = 30_000;
const NODE_STOP_MS = 20_000;
const KEEP_OUTPUT = 400_000;

export interface TierOptions {
  nodes: number;
  /** a directory of its own: configs, state files, logs, sockets, FRR's files */
  work: string;
  /** node K's API on 127.0.0.1:(apiBasePort + K - 1), in its namespace and in the root one */
  apiBasePort: number;
  /** default: what the daemon supports */
  kernelPath?: KernelPath;
  holdTimeSec?: number;
  /** changes node K's config before it is written (extra neighbors, ...) */
  nodeConfig?: (k: number, config: Record<string, unknown>) => Record<string, unknown>;
}

export class TierNode {
  proc: ChildProcess | undefined;
  private out = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: TierNodeSpec, readonly url: string, readonly configFile: string, readonly logFile: string) {}

  get k(): number {
    return this.spec.k;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** What the daemon printed (its JSON log lines), since it was last started. */
  output(): string {
    return this.out;
  }

  /** `sluice run` inside the node's namespace; resolves once it logged "sluice running". */
  async start(): Promise<void> {
    if (this.running) throw new Error(`node ${this.k} is running already`);
    this.out = '';
    const child = spawnIn(this.spec.netns, 'setpriv',
      ['--pdeathsig', 'SIGKILL', process.execPath, ...DAEMON_NODE_FLAGS, CLI, 'run', '--config', this.configFile]);
    this.proc = child;
    const log = fs.createWriteStream(this.logFile, { flags: 'a' });
    const keep = (d: Buffer) => {
      this.out += d;
      if (this.out.length > KEEP_OUTPUT) this.out = this.out.slice(-KEEP_OUTPUT / 2);
      log.write(d);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => {
      log.end();
      resolve();
    }));
    const deadline = Date.now() + NODE_START_MS;
    while (!this.out.includes('"msg":"sluice running"')) {
      if (!this.running || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`node ${this.k} did not start (exit ${child.exitCode ?? child.signalCode}):\n${this.out.slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (an orderly stop: withdraw, then stop) and wait; SIGKILL after NODE_STOP_MS. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.proc!.kill('SIGTERM');
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), NODE_STOP_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL and wait: its gobgpd dies with it (parent-death signal). */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.proc!.kill('SIGKILL');
    await this.exited;
  }

  killSync(): void {
    if (this.running) this.proc!.kill('SIGKILL');
  }

  /** A REST call through the forwarded API; resolves with the status and parsed body. */
  async api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(`${this.url}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (metrics): the text.
    }
    return { status: res.status, json };
  }
}

export class Tier {
  readonly nodes: TierNode[] = [];
  readonly backends: readonly BackendSpec[] = TIER_BACKENDS;
  readonly servers = new Map<string, ChildProcess>();
  router: FrrRouter | undefined;
  private readonly forwards: ApiForward[] = [];
  private tornDown = false;

  private constructor(readonly o: TierOptions, readonly kernelPath: KernelPath) {}

  static async start(o: TierOptions): Promise<Tier> {
    const t = new Tier(o, o.kernelPath ?? kernelPathSupported());
    try {
      await t.build();
    } catch (err) {
      t.teardown();
      throw err;
    }
    return t;
  }

  private async build(): Promise<void> {
    const { work, nodes, apiBasePort } = this.o;
    tierDown();
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const specs = tierUp(nodes, this.kernelPath);
    for (const b of this.backends) await this.startBackend(b.name);
    this.router = await FrrRouter.start(path.join(work, 'frr'), specs);
    for (const spec of specs) {
      const port = apiBasePort + spec.k - 1;
      const dir = path.join(work, `n${spec.k}`);
      fs.mkdirSync(dir, { recursive: true });
      let cfg = tierNodeConfig(spec, {
        kernelPath: this.kernelPath, apiListen: `127.0.0.1:${port}`, stateFile: path.join(dir, 'state.json'),
        holdTimeSec: this.o.holdTimeSec,
      });
      if (this.o.nodeConfig) cfg = this.o.nodeConfig(spec.k, cfg);
      const file = path.join(dir, 'sluice.yaml');
      fs.writeFileSync(file, stringify(cfg));
      this.forwards.push(await ApiForward.start(spec.netns, port, path.join(dir, 'api.sock')));
      this.nodes.push(new TierNode(spec, `http://127.0.0.1:${port}`, file, path.join(dir, 'sluice.log')));
    }
    // One at a time: each starts its own EAL on the shared cores.
    for (const n of this.nodes) await n.start();
  }

  /** Backend `name`'s HTTP server in its namespace (port 80), ending with this process at the latest. */
  async startBackend(name: string): Promise<void> {
    const b = this.backends.find((x) => x.name === name);
    if (b === undefined) throw new Error(`no backend ${name}`);
    this.servers.set(name, await spawnReady(b.netns, 'setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, BACKEND_SERVER, b.name, '80'],
      'listening', 10_000));
  }

  stopBackend(name: string): void {
    this.servers.get(name)?.kill('SIGKILL');
    this.servers.delete(name);
  }

  node(k: number): TierNode {
    const n = this.nodes[k - 1];
    if (n === undefined) throw new Error(`no node ${k}`);
    return n;
  }

  /** The next hops the router's kernel has for the VIP (each a node's address), sorted. */
  nextHops(prefix = TIER_VIP): string[] {
    return kernelNextHops(prefix);
  }

  /** Until the router's kernel routes the VIP to exactly these nodes; the time it took, or undefined after `ms`. */
  async waitNextHops(ks: number[], ms: number, everyMs = 20): Promise<number | undefined> {
    const want = ks.map((k) => nodeSpec(k).address).sort().join(',');
    const t0 = performance.now();
    const deadline = Date.now() + ms;
    for (;;) {
      if ([...this.nextHops()].sort().join(',') === want) return performance.now() - t0;
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Synchronous and idempotent: kills every process it started and removes every namespace. */
  teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const n of this.nodes) n.killSync();
    for (const s of this.servers.values()) s.kill('SIGKILL');
    for (const f of this.forwards) f.close();
    this.router?.stop();
    try {
      tierDown();
    } finally {
      fs.rmSync(this.o.work, { recursive: true, force: true });
    }
  }
}
