#!/usr/bin/env node
// `npm start`. With no arguments: builds the namespace test bed (client, three
// HTTP backends, a bridge; tools/testbed/topology.ts), runs the balancer on it with
// the REST API on 127.0.0.1:9090, prints what to try, and removes everything on
// Ctrl-C, SIGTERM, a failed start or a crash. A run after a kill -9 clears the
// leftovers first. With `--config FILE` (the last one wins) it is `sluice run`.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { CliError } from '../src/cli/api-client';
import { runDaemon } from '../src/cli/run';
import { createLogger } from '../src/logger';
import { testbedConfig } from './testbed/config';
import { BACKENDS, CLIENT_NS, VIP, down, startBackendServer, up } from './testbed/topology';

const API_LISTEN = '127.0.0.1:9090';
const WORK = path.join(os.tmpdir(), 'sluice-demo');
const READY_WAIT_MS = 10_000;

const servers: ChildProcess[] = [];
/** Only the demo's own test bed is ever removed; `--config` touches no namespace. */
let ownsTestbed = false;
let tornDown = false;

/** Synchronous and idempotent: it also runs from the process's 'exit' event. */
function teardown(): void {
  if (!ownsTestbed || tornDown) return;
  tornDown = true;
  for (const s of servers) s.kill('SIGKILL');
  try {
    down();
  } catch (err) {
    process.stderr.write(`sluice demo: teardown: ${(err as Error).message}\n`);
  }
  fs.rmSync(WORK, { recursive: true, force: true });
}

/** Until every backend is up by its health check (the balancer has ARPed them by then too). */
async function waitHealthy(api: string): Promise<boolean> {
  const deadline = Date.now() + READY_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${api}/api/v1/services/web`, { signal: AbortSignal.timeout(1000) });
      const svc = (await res.json()) as { backends: { health: { status: string } }[] };
      if (svc.backends.every((b) => b.health.status === 'up')) return true;
    } catch {
      // Not answering yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function demo(): Promise<void> {
  if (process.getuid?.() !== 0) throw new CliError('the demo builds network namespaces: run it as root', 1);
  const log = createLogger();
  // Until the daemon installs its own handlers, a signal just tears down.
  const early = () => {
    teardown();
    process.exit(130);
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  process.on('exit', teardown);

  ownsTestbed = true;
  down();
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  up();
  for (const b of BACKENDS) servers.push(await startBackendServer(b));
  const configFile = path.join(WORK, 'sluice.yaml');
  fs.writeFileSync(configFile, stringify(testbedConfig({ apiListen: API_LISTEN, stateFile: path.join(WORK, 'state.json') })));

  process.removeListener('SIGINT', early);
  process.removeListener('SIGTERM', early);
  const daemon = await runDaemon(configFile, { log, afterStop: teardown });
  const healthy = await waitHealthy(daemon.url);
  process.stdout.write(`
Sluice is balancing ${VIP}:80 over ${BACKENDS.map((b) => `${b.name} (${b.address})`).join(', ')}
in direct server return, on net_af_packet over the veth sluice-lb.${healthy ? '' : '\n(not every backend passed its health check yet)'}

Try, in another terminal:
  ip netns exec ${CLIENT_NS} curl http://${VIP}/
  node dist/src/cli.js stats --watch
  node dist/src/cli.js backends set web ${BACKENDS[0].address}:80 --drain
  ip netns exec ${BACKENDS[1].netns} ss -tn          # connections on b2
API docs: ${daemon.url}/docs

Ctrl-C stops the balancer and removes the namespaces and interfaces.

`);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', multiple: true } } });
  const config = values.config?.at(-1);
  if (config !== undefined) {
    await runDaemon(config);
    return;
  }
  await demo();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  teardown();
  process.stderr.write(`sluice: ${err instanceof CliError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
