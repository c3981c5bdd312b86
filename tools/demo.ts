#!/usr/bin/env node
// `npm start`. With no arguments: builds the namespace test bed (client, three
// HTTP backends, a bridge; tools/testbed/topology.ts), runs the balancer on it with
// the REST API on 127.0.0.1:9090, prints what to try, and removes everything on
// Ctrl-C, SIGTERM, a failed start or a crash. A run after a kill -9 clears the
// leftovers first. With `--config FILE` (the last one wins) it is `sluice run`.
// With `--nodes N` (2 to 8) it is the tier test bed instead (docs/tier.md): N
// nodes announcing the VIP over BGP to an FRR router that spreads the client's
// connections over them (tools/testbed/tier.ts), node K's API on 127.0.0.1:909(K-1).
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
import { Tier } from './testbed/tier';
import { kernelRouteText } from './testbed/tier-router';
import { TIER_CLIENT_NS, TIER_VIP } from './testbed/tier-topology';
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

const TIER_WORK = path.join(os.tmpdir(), 'sluice-tier');
const TIER_API_BASE_PORT = 9090;
/** BGP sessions come up within seconds (the router connects at once); then health checks. */
const TIER_READY_WAIT_MS = 30_000;
let tier: Tier | undefined;

function tierTeardown(): void {
  try {
    tier?.teardown();
  } catch (err) {
    process.stderr.write(`sluice demo: teardown: ${(err as Error).message}\n`);
  }
}

async function tierDemo(nodes: number): Promise<void> {
  if (process.getuid?.() !== 0) throw new CliError('the tier test bed builds network namespaces: run it as root', 1);
  const stop = (code: number) => () => {
    tierTeardown();
    process.exit(code);
  };
  process.on('SIGINT', stop(0));
  process.on('SIGTERM', stop(0));
  process.on('exit', tierTeardown);
  process.stdout.write(`Building the tier test bed: ${nodes} nodes, an FRR router, a client and three backends...\n`);
  tier = await Tier.start({ nodes, work: TIER_WORK, apiBasePort: TIER_API_BASE_PORT });
  const all = tier.nodes.map((n) => n.k);
  const took = await tier.waitNextHops(all, TIER_READY_WAIT_MS, 100);
  const route = kernelRouteText(`${TIER_VIP}/32`);
  const apis = tier.nodes.map((n) => `  node ${n.k}: ${n.spec.netns}, ${n.spec.address}, API ${n.url}`).join('\n');
  const path_ = tier.kernelPath === 'tap'
    ? 'its BGP session and health probes go through its kernel interface sluice0 and its DPDK port'
    : 'this daemon has no kernelInterface yet: its BGP session and health probes use eth0 beside af_packet';
  process.stdout.write(`
Sluice tier: ${nodes} nodes announce ${TIER_VIP}:80 (direct server return over b1, b2, b3)
to the FRR router sluice-rtr (AS 65000), which spreads connections by an L4 hash.
${apis}
Each node runs \`sluice run\` inside its namespace on net_af_packet over eth0;
${path_}.
${took === undefined ? `(the router does not route the VIP to every node yet; ${TIER_READY_WAIT_MS / 1000} s passed)\n` : ''}
$ ip -n sluice-rtr route show ${TIER_VIP}
${route === '' ? '(no route yet)' : route}

Try, in another terminal:
  ip netns exec ${TIER_CLIENT_NS} curl http://${TIER_VIP}/
  node dist/src/cli.js --api ${tier.nodes[0].url} bgp
  node dist/src/cli.js --api ${tier.nodes[1].url} stats --watch
  vtysh --vty_socket ${tier.router!.dir} -c 'show bgp ipv4 unicast ${TIER_VIP}/32'
  node dist/src/cli.js --api ${tier.nodes[0].url} node drain     # its route leaves the router; undrain brings it back
  ip -n sluice-rtr route show ${TIER_VIP}

Node logs: ${TIER_WORK}/nK/sluice.log. Ctrl-C stops the nodes and removes every namespace.

`);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', multiple: true }, nodes: { type: 'string' } } });
  const config = values.config?.at(-1);
  if (config !== undefined) {
    await runDaemon(config);
    return;
  }
  if (values.nodes !== undefined) {
    const n = Number(values.nodes);
    if (!/^[0-9]+$/.test(values.nodes) || n < 2 || n > 8) throw new CliError(`--nodes: ${values.nodes} is not 2 to 8`, 2);
    await tierDemo(n);
    return;
  }
  await demo();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  teardown();
  tierTeardown();
  process.stderr.write(`sluice: ${err instanceof CliError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
