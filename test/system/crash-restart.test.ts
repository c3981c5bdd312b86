// Crash and restart under load, on the namespace test bed (tools/testbed): a
// `sluice run` daemon with a state file, services changed through the API, open
// keep-alive connections through the VIP and a stream of new connections; then
// kill -9, and a restart with the same config and state file. The restored
// state must be what the API acknowledged, and every keep-alive connection to an
// unchanged backend must answer again on its own socket from its own backend:
// the flow tables died with the process, so this holds only if the lookup table picks the
// same backend from persisted data alone (keys and weights; backend ids are
// re-assigned at start and the pick does not depend on them: see
// native/tables/lookup_table.h). Prints failed requests, recovery time and connections kept.
//
// One case per forwarding mode: dsr, and tunnel with ipip and with GUE, whose
// backends decapsulate in user space (tools/testbed/decapsulator.ts: this kernel
// has no ipip or fou module).
//
// Own process, root, 2 MiB hugepages; leftovers of a crashed run are cleared first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { testbedConfig } from '../../tools/testbed/config';
import { GUE_PORT, startDecapsulator } from '../../tools/testbed/decapsulator';
import { BACKENDS, SERVICE_PORT, startBackendServer, type BackendSpec } from '../../tools/testbed/topology';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import { daemonApi, load, print, setUpTestbed, sleep, sticky, tearDownTestbedSync, waitFor, warmUp } from '../helpers/testbed-run';

const WORK = join(tmpdir(), 'sluice-crash-restart');
const DAEMON_PID_FILE = join(WORK, 'daemon.pid');
const WARMUP_MS = 20_000;
const KEPT_ALIVE = 12;
/** A request in flight during the outage waits for TCP to retransmit it: generous, but no reconnect. */
const OUTAGE_TIMEOUT_MS = 30_000;

interface Mode {
  name: string;
  forwarding: 'dsr' | 'tunnel';
  tunnel?: { encapsulation: 'ipip' | 'gue'; guePort?: number };
}
const MODES: Mode[] = [
  { name: 'dsr', forwarding: 'dsr' },
  { name: 'tunnel ipip', forwarding: 'tunnel', tunnel: { encapsulation: 'ipip' } },
  { name: 'tunnel gue', forwarding: 'tunnel', tunnel: { encapsulation: 'gue', guePort: GUE_PORT } },
];

const serviceMode = (m: Mode) => ({ forwarding: m.forwarding, ...(m.tunnel === undefined ? {} : { tunnel: m.tunnel }) });

let daemon: DaemonProcess | undefined;
const servers: ChildProcess[] = [];

const api = (method: string, path: string, body?: unknown) => daemonApi(daemon!, method, path, body);

const backendUrl = (b: BackendSpec) => `/api/v1/services/web/backends/${encodeURIComponent(`${b.address}:${SERVICE_PORT}`)}`;

interface ServiceView {
  name: string;
  stats?: unknown;
  rates?: unknown;
  backends: { health: unknown; stats?: unknown; rates?: unknown }[];
}

/** The desired state as the API shows it: health is re-learned and counters (and their rates) restart, so all are left out. */
async function desiredState(): Promise<unknown> {
  const list = (await api('GET', '/api/v1/services')) as ServiceView[];
  return list.map(({ stats: _s, rates: _r, backends, ...s }) => ({ ...s,
    backends: backends.map(({ health: _h, stats: _b, rates: _br, ...b }) => b) }));
}

async function allUp(): Promise<boolean> {
  const views = await Promise.all(BACKENDS.map((b) => api('GET', backendUrl(b)) as Promise<{ health: { status: string } }>));
  return views.every((v) => v.health.status === 'up');
}

async function startAndRecord(config: Record<string, unknown>): Promise<DaemonProcess> {
  const d = await startDaemon(WORK, config);
  writeFileSync(DAEMON_PID_FILE, String(d.child.pid));
  return d;
}

function teardownSync(): void {
  tearDownTestbedSync(daemon, WORK);
  daemon = undefined;
  for (const s of servers.splice(0)) s.kill('SIGKILL');
}

before(async () => {
  await setUpTestbed(WORK, DAEMON_PID_FILE, teardownSync);
  for (const b of BACKENDS) servers.push(await startBackendServer(b), await startDecapsulator(b));
});

after(async () => {
  try {
    if (daemon) console.log(`# daemon exit code ${await daemon.stop()}`);
  } finally {
    teardownSync();
    removeStaleRuntimeDirs();
  }
});

for (const mode of MODES) {
  describe(`kill -9 under load and restart (${mode.name})`, () => {
    // The next mode starts its own daemon on the same interface.
    after(async () => {
      if (daemon) console.log(`# ${mode.name}: daemon exit code ${await daemon.stop()}`);
      daemon = undefined;
    });
    test('state is restored as acknowledged; keep-alive connections to unchanged backends answer again on the same socket', async () => {
      const stateFile = join(WORK, `state-${mode.name.replace(' ', '-')}.json`);
      const config = testbedConfig({ apiListen: '127.0.0.1:0', stateFile });
      for (const s of config.services as Record<string, unknown>[]) Object.assign(s, serviceMode(mode));
      daemon = await startAndRecord(config);

      // Changes through the API, not only the config's services. Removing b1 and
      // adding it back gives it a new backend id and moves it to the end of the
      // list: after the restart ids follow the state file's order, so ids and
      // order both differ from before the kill.
      const [b1, b2] = BACKENDS;
      await api('DELETE', backendUrl(b1));
      await api('POST', '/api/v1/services/web/backends', { address: b1.address, port: SERVICE_PORT });
      await api('PATCH', backendUrl(b2), { weight: 150 });
      await api('POST', '/api/v1/services', {
        name: 'spare', vip: '10.99.0.101', port: SERVICE_PORT, ...serviceMode(mode),
        backends: [{ address: BACKENDS[2].address, port: SERVICE_PORT, weight: 7 }],
      });

      const warm = await warmUp(allUp, WARMUP_MS);
      assert.ok(warm, `test bed not ready within ${WARMUP_MS} ms\n${daemon.output().slice(-3000)}`);
      const acknowledged = await desiredState();
      const fileBefore = readFileSync(stateFile, 'utf8');

      const kept = await sticky({ connections: KEPT_ALIVE, intervalMs: 100, timeoutMs: OUTAGE_TIMEOUT_MS, maxMs: 120_000 });
      console.log(`# ${KEPT_ALIVE} keep-alive connections on ${JSON.stringify(kept.firsts)}`);
      const stream = load({ durationMs: 14_000, concurrency: 8, timeoutMs: 3000 });
      await sleep(2000);

      const oldPid = daemon.child.pid;
      const killedAt = Date.now();
      await daemon.kill9();
      daemon = await startAndRecord(config);
      const restartedAt = Date.now();
      assert.match(daemon.output(), /services restored from the state file/);
      assert.ok(!existsSync(`/var/run/dpdk/sluice-${oldPid}`), 'the killed EAL\'s runtime directory was cleared');
      assert.deepEqual(await desiredState(), acknowledged, 'the restored state is what the API acknowledged');
      assert.equal(readFileSync(stateFile, 'utf8'), fileBefore, 'the restart did not rewrite the state file');

      const recovered = await waitFor(async () => (await load({ requests: 4, concurrency: 4, timeoutMs: 1000 })).failures === 0, 30_000, 0);
      const recoveryMs = Date.now() - killedAt;
      assert.ok(recovered, 'new connections succeed again after the restart');

      const during = await stream;
      // Every kept connection gets a few answers after the restart, or shows it has none.
      await sleep(3000);
      const result = await kept.stop();

      const unchanged = new Set(BACKENDS.map((b) => b.name));
      const onUnchanged = result.connections.filter((c) => c.first !== undefined && unchanged.has(c.first));
      const preserved = onUnchanged.filter((c) => c.failures === 0 && Object.keys(c.byBackend).length === 1 &&
        (c.lastAnswerAt ?? 0) > restartedAt);
      const longestWait = Math.max(...result.connections.map((c) => c.maxWaitMs));
      print('new connections across the kill and restart', during);
      print('keep-alive connections', result);
      console.log(`# ${mode.name}: daemon back after ${restartedAt - killedAt} ms; new connections succeed again ${recoveryMs} ms after the kill; ` +
        `${during.failures} of ${during.requests} new-connection requests failed; ` +
        `${preserved.length} of ${onUnchanged.length} keep-alive connections preserved (same socket, same backend), ` +
        `longest wait for one answer ${longestWait} ms`);

      assert.equal(result.sockets, KEPT_ALIVE, 'no reconnects');
      assert.equal(onUnchanged.length, KEPT_ALIVE);
      for (const c of result.connections) {
        assert.equal(c.failures, 0, `a connection on ${c.first} failed: ${JSON.stringify(c.errors)}`);
        assert.deepEqual(Object.keys(c.byBackend), [c.first], 'every answer came from the backend it started on');
        assert.ok((c.lastAnswerAt ?? 0) > restartedAt, `the connection on ${c.first} answered after the restart`);
      }
      assert.equal(preserved.length, KEPT_ALIVE);
      // New connections refused while nothing forwards are expected; afterwards none may fail.
      const after = await load({ requests: 600, concurrency: 20 });
      print('new connections after recovery', after);
      assert.equal(after.failures, 0, JSON.stringify(after.errors));
    });
  });
}
