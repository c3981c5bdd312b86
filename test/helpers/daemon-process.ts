// A `sluice run` child process on a ring port (no devices needed), for tests of
// the daemon as an operator runs it: restarts, kill -9, the CLI, auth.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

export interface DaemonProcess {
  url: string;
  /** the config file it runs (edit it and send SIGHUP to reload) */
  file: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait */
  kill9(): Promise<void>;
}

export function daemonConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/16' }],
    dataplane: { idleSleepMaxUs: 200 },
    flowTable: { entriesPerLcore: 16384 },
    api: { listen: '127.0.0.1:0' },
    stateFile: path.join(dir, 'state.json'),
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80, mac: '02:00:00:00:00:11' }] }],
    ...extra,
  };
}

export async function startDaemon(dir: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const file = path.join(dir, `sluice-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, stringify(config));
  return runDaemonFile(file, { env });
}

/**
 * `sluice run --config file`, through `prefix` (a command that execs the rest,
 * e.g. setpriv) if given; resolves once it runs.
 */
export async function runDaemonFile(file: string, o: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Promise<DaemonProcess> {
  const argv = [...(o.prefix ?? []), process.execPath, CLI, 'run', '--config', file];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30000;
  let url: string | undefined;
  while (url === undefined) {
    const line = out.split('\n').find((l) => l.includes('"msg":"sluice running"'));
    if (line) url = (JSON.parse(line) as { api: string }).api;
    else if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`daemon did not start (exit ${child.exitCode}):\n${out}`);
    } else await new Promise((r) => setTimeout(r, 20));
  }
  const wait = async () => {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([exited, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), 20000)))]);
    // A pending timer would keep the test process alive 20 s after its last test.
    clearTimeout(timer);
    if (r === 'timeout') {
      child.kill('SIGKILL');
      throw new Error(`daemon did not exit:\n${out}`);
    }
    return r;
  };
  return {
    url,
    file,
    child,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return wait();
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
