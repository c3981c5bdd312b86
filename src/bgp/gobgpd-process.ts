// One supervised gobgpd: spawned with no config file (it is configured over
// gRPC), its API on 127.0.0.1 only, and unable to outlive this Node process.
//
// Bounding it: gobgpd runs under `setpriv --pdeathsig SIGKILL` (util-linux),
// which sets PR_SET_PDEATHSIG and execs gobgpd, so the kernel kills gobgpd when
// the thread that spawned it (Node's main thread, which runs libuv's spawn)
// ends, however it ends: `kill -9` of Node included. Its BGP sessions then
// close and its peers drop its routes.
//
// Restarts: a gobgpd that exits unexpectedly is started again after a delay
// that doubles from restartDelayMs.initial to .max (reset once one has run for
// stableMs), and `onStart` configures each new one (a new gobgpd knows nothing).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '../logger';
import { SluiceError } from '../errors';
import { GobgpClient } from './gobgp-client';
import { gobgpdVersion, type GobgpdVersion } from './gobgp-version';
import { tcpListenersOf } from './proc-sockets';

export const API_HOST = '127.0.0.1';

export interface GobgpdProcessOptions {
  logger: Logger;
  /** The gRPC API's port on 127.0.0.1; a free one if not given (chosen again at a restart if taken). */
  apiPort?: number;
  /** The gobgpd binary. Default `gobgpd` (on PATH). */
  binary?: string;
  /** How long gobgpd's API has to answer after a spawn (ms). Default 10000. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (ms). Default 3000. */
  stopTimeoutMs?: number;
  /** Delay before a restart: doubled from `initial` up to `max` (ms). Default 500 and 30000. */
  restartDelayMs?: { initial: number; max: number };
  /** A gobgpd that ran this long (ms) resets the delay. Default 30000. */
  stableMs?: number;
  /** Each gRPC call's deadline (ms). Default the client's (5000). */
  callDeadlineMs?: number;
  /** gobgpd's own log level. Default `info`. */
  gobgpdLogLevel?: 'panic' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /**
   * Configures each gobgpd once its API answers, at start and after every
   * restart (start the global instance, add peers, announce paths). If it
   * throws at start, start() fails; after a restart, that gobgpd is stopped
   * and another tried.
   */
  onStart?: (client: GobgpClient) => Promise<void>;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, API_HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** gobgpd's JSON log levels (logrus) that Sluice logs at warn; the rest at debug. */
const LOUD = new Set(['warning', 'warn', 'error', 'fatal', 'panic']);

export class GobgpdProcess {
  private readonly log: Logger;
  private readonly binary: string;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly delay: { initial: number; max: number };
  private readonly stableMs: number;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private apiClient: GobgpClient | undefined;
  private port: number | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private spawnedAt = 0;
  private restartCount = 0;
  private apiListenFailed = false;
  /** gobgpd's last warning or error of the current spawn, quoted when a start fails. */
  private lastProblem: string | undefined;
  version: GobgpdVersion | undefined;

  constructor(private readonly options: GobgpdProcessOptions) {
    this.log = options.logger.bindings().component === 'bgp' ? options.logger : options.logger.child({ component: 'bgp' });
    this.binary = options.binary ?? 'gobgpd';
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 3000;
    this.delay = options.restartDelayMs ?? { initial: 500, max: 30_000 };
    this.stableMs = options.stableMs ?? 30_000;
    this.port = options.apiPort;
  }

  /** The running gobgpd's pid (undefined between a death and its restart). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** "127.0.0.1:PORT" once started. */
  get apiAddress(): string | undefined {
    return this.port === undefined ? undefined : `${API_HOST}:${this.port}`;
  }

  /** How many times gobgpd was started again after exiting on its own. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The client of the running gobgpd; SLUICE_BGP_SPEAKER while none runs. */
  get client(): GobgpClient {
    if (!this.apiClient || !this.child) throw new SluiceError('SLUICE_BGP_SPEAKER', 'gobgpd is not running');
    return this.apiClient;
  }

  /** Checks the version, spawns gobgpd, waits for its API and runs onStart. */
  async start(): Promise<void> {
    if (this.child || this.restartTimer) throw new SluiceError('SLUICE_INTERNAL', 'gobgpd is already started');
    this.stopping = false;
    this.version = await gobgpdVersion(this.binary);
    await this.spawnReady();
    this.log.info({ pid: this.pid, api: this.apiAddress, version: this.version.text }, 'gobgpd started');
  }

  /** Stops gobgpd (SIGTERM, then SIGKILL after stopTimeoutMs) and any restart due. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const pid = this.pid;
    await this.killChild();
    if (pid !== undefined) this.log.info({ pid }, 'gobgpd stopped');
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    this.apiClient?.close();
    this.apiClient = undefined;
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    if (this.child === child) this.child = undefined;
  }

  /** One spawn, ready when its API answers on the port it holds, configured by onStart. */
  private async spawnReady(): Promise<void> {
    if (this.port === undefined || (this.options.apiPort === undefined && this.apiListenFailed)) {
      this.port = await freeLocalPort();
    }
    this.apiListenFailed = false;
    this.lastProblem = undefined;
    const port = this.port;
    const args = [
      '--pdeathsig', 'SIGKILL', '--', this.binary,
      `--api-hosts=${API_HOST}:${port}`, '--pprof-disable', `--log-level=${this.options.gobgpdLogLevel ?? 'info'}`,
    ];
    const child = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.spawnedAt = Date.now();
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', (code, signal) => this.onExit(child, code, signal));
      // After 'exit', once its output is read too: a failed start quotes its last words.
      child.once('close', () => resolve());
    });
    for (const stream of [child.stdout, child.stderr]) this.forwardLines(stream as Readable);

    const client = new GobgpClient({ address: `${API_HOST}:${port}`, deadlineMs: this.options.callDeadlineMs });
    this.apiClient = client;
    const deadline = Date.now() + this.startTimeoutMs;
    let why = `its API did not answer on ${API_HOST}:${port} within ${this.startTimeoutMs} ms`;
    let ready = false;
    while (Date.now() < deadline) {
      if (spawnError) {
        why = `setpriv could not be run (${spawnError.message}); it is in util-linux`;
        break;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        why = `it exited (${child.exitCode ?? child.signalCode}) before its API answered`;
        break;
      }
      if (this.apiListenFailed) {
        why = `its API could not listen on ${API_HOST}:${port} (in use?)`;
        break;
      }
      if (await client.ping(500)) {
        // The port answers; make sure it is this gobgpd that holds it.
        if (child.pid !== undefined && tcpListenersOf(child.pid).some((l) => l.address === API_HOST && l.port === port)) {
          ready = true;
          break;
        }
      }
      await sleep(100);
    }
    if (!ready) {
      await this.discard();
      if (this.lastProblem) why += ` (gobgpd: ${this.lastProblem})`;
      throw new SluiceError('SLUICE_BGP_SPEAKER', `gobgpd could not be started: ${why}`, { api: `${API_HOST}:${port}` });
    }
    if (this.options.onStart) {
      try {
        await this.options.onStart(client);
      } catch (err) {
        await this.discard();
        throw err instanceof SluiceError ? err
          : new SluiceError('SLUICE_BGP_SPEAKER', `gobgpd could not be configured: ${(err as Error).message}`);
      }
    }
  }

  /** Stops a gobgpd that did not become ready, without a restart. */
  private async discard(): Promise<void> {
    const stopping = this.stopping;
    this.stopping = true;
    await this.killChild();
    this.stopping = stopping;
  }

  private forwardLines(stream: Readable): void {
    const rl = readline.createInterface({ input: stream });
    rl.on('line', (line) => {
      if (line.trim() === '') return;
      let entry: { level?: string; msg?: string; Topic?: string; [k: string]: unknown } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        entry = undefined;
      }
      if (!entry || typeof entry !== 'object') {
        this.log.warn({ gobgpd: line }, 'gobgpd output');
        return;
      }
      const { level, msg, time: _time, ...fields } = entry;
      if (entry.Topic === 'grpc' && msg === 'listen failed') this.apiListenFailed = true;
      if (LOUD.has(String(level))) {
        const reason = fields.Error ?? fields.Err;
        this.lastProblem = reason === undefined ? String(msg) : `${String(msg)}: ${String(reason)}`;
      }
      if (LOUD.has(String(level))) this.log.warn({ gobgpd: fields, gobgpdLevel: level }, `gobgpd: ${msg ?? ''}`);
      else this.log.debug({ gobgpd: fields, gobgpdLevel: level }, `gobgpd: ${msg ?? ''}`);
    });
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.apiClient?.close();
    this.apiClient = undefined;
    if (this.stopping) return;
    if (Date.now() - this.spawnedAt >= this.stableMs) this.failures = 0;
    const delay = Math.min(this.delay.max, this.delay.initial * 2 ** this.failures);
    this.failures++;
    this.log.warn({ pid: child.pid, code, signal, restartInMs: delay }, 'gobgpd exited; restarting it');
    this.scheduleRestart(delay);
  }

  private scheduleRestart(delay: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.spawnReady().then(() => {
        this.restartCount++;
        this.log.info({ pid: this.pid, api: this.apiAddress, restarts: this.restartCount }, 'gobgpd restarted');
      }, (err: Error) => {
        if (this.stopping) return;
        const next = Math.min(this.delay.max, this.delay.initial * 2 ** this.failures);
        this.failures++;
        this.log.warn({ err: err.message, restartInMs: next }, 'gobgpd restart failed; trying again');
        this.scheduleRestart(next);
      });
    }, delay);
    this.restartTimer.unref();
  }
}
