// The CLI against a real API over a socket (buildApp on 127.0.0.1:0 with the
// fake addon of test/helpers/fake-addon.ts; no EAL): the version of the daemon,
// aliases, drain/disable/enable, a tunnel service with every health check
// option, services set, backend overrides, the read commands, why a backend is
// down (its last probe's error) and how far a drain is (active flows,
// emptySince), the API's coded errors passed on, service and backend names for
// the completion, and stats --watch waiting through a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import type { DrainView } from '../../src/control/drain-watch';
import type { BackendHealth, HealthView } from '../../src/control/health-view';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon } from '../helpers/fake-addon';
import { CLI, cliAt } from '../helpers/cli-process';

const DAEMON_VERSION = '9.8.7-test';

const DOWN: BackendHealth = {
  status: 'down', lastProbeAt: '2026-01-02T03:04:05.000Z', lastError: 'connect ECONNREFUSED 10.99.0.12:80', streak: 3, transitions: 1,
};
/** 10.99.0.12 is down with an error; every other backend unchecked. */
const health: HealthView = {
  backend: (service, key) => (service === 'web' && key === '10.99.0.12:80' ? DOWN : { status: 'unchecked', streak: 0, transitions: 0 }),
  totals: () => ({ up: 0, down: 1, probes: 3, probeFailures: 3 }),
};
/** 10.99.0.13, once drained, has been empty since this time; 10.99.0.14 holds 7 flows. */
const EMPTY_SINCE = '2026-01-02T03:00:00.000Z';
const drains: DrainView = {
  emptySince: (service, key) => (service === 'web' && key === '10.99.0.13:80' ? EMPTY_SINCE : undefined),
};

/** The API on `port` (0: any); resolves once it listens. */
async function listening(port = 0): Promise<{ app: FastifyInstance; port: number }> {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{
      name: 'web', vip: '10.99.0.100', port: 80,
      backends: [{ address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }, { address: '10.99.0.13', port: 80 },
        { address: '10.99.0.14', port: 80, state: 'drain' }],
    }],
  });
  const addon = fakeAddon();
  // 10.99.0.14 still holds flows: the counters the fake reports are 0 otherwise.
  addon.adjust = (s) => {
    for (const b of s.backends) if (b.address === '10.99.0.14') b.activeFlows = 7;
    return s;
  };
  const dataplane = new Dataplane(addon);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  const app = buildApp({ store, dataplane, health, drains, version: DAEMON_VERSION, config: cfg });
  await app.listen({ host: '127.0.0.1', port });
  return { app, port: (app.server.address() as net.AddressInfo).port };
}


describe('the CLI against the API', () => {
  let app: FastifyInstance;
  let url: string;
  const cli = (...args: string[]) => cliAt(url, ...args);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async <T>(...args: string[]) => JSON.parse(await ok(...args, '--json')) as T;

  before(async () => {
    ({ app } = await listening());
    url = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
  });
  after(() => app.close());

  test('version: the CLI\'s and, labelled, the daemon\'s', async () => {
    const out = await ok('version');
    assert.match(out, /^sluice \S+ \(this CLI\)$/m);
    assert.match(out, new RegExp(`^sluice ${DAEMON_VERSION} \\(the daemon at ${url}\\)$`, 'm'));
    assert.equal((await json<{ daemon: { version: string } }>('version')).daemon.version, DAEMON_VERSION);
  });

  test('services show: a down backend with its last probe\'s error; drains with flows left or emptySince', async () => {
    await ok('backends', 'drain', 'web', '10.99.0.13:80');
    const out = await ok('services', 'show', 'web');
    const line = (key: string) => out.split('\n').find((l) => l.startsWith(key)) ?? '';
    assert.match(line('10.99.0.12:80'), /100\s+active\s+down\s+0\s.*last probe failed: connect ECONNREFUSED 10\.99\.0\.12:80$/);
    assert.match(line('10.99.0.13:80'), new RegExp(`drain\\s+unchecked\\s.*empty since ${EMPTY_SINCE}$`));
    assert.match(line('10.99.0.14:80'), /drain\s+unchecked\s+7\s.*7 active flows left$/);
    assert.match(line('10.99.0.11:80'), /100\s+active\s+unchecked\s+0\s+0\s+0$/);
    assert.equal(await ok('services', 'get', 'web'), out, 'get is show');
    assert.equal(await ok('backends', 'ls', 'web'), out.slice(out.indexOf('BACKEND')), 'backends ls: the same table');

    const one = await ok('backends', 'show', 'web', '10.99.0.12:80');
    assert.match(one, /health: down, last probe 2026-01-02T03:04:05\.000Z failed: connect ECONNREFUSED 10\.99\.0\.12:80, streak 3, 1 transitions/);
    assert.match(await ok('backends', 'get', 'web', '10.99.0.13:80'), new RegExp(`empty since ${EMPTY_SINCE}`));

    const h = await ok('health');
    assert.match(h, /web\s+10\.99\.0\.12:80\s+none\s+down\s+3\s+1\s+2026-01-02T03:04:05\.000Z\s+connect ECONNREFUSED 10\.99\.0\.12:80/);
    assert.match(await ok('health', 'web'), /10\.99\.0\.11:80\s+none\s+unchecked/);
    await ok('backends', 'enable', 'web', '10.99.0.13:80');
  });

  test('drain, disable, enable and their set forms', async () => {
    const state = async () => (await json<{ state: string }>('backends', 'show', 'web', '10.99.0.11:80')).state;
    assert.match(await ok('backends', 'drain', 'web', '10.99.0.11:80'), /backend 10\.99\.0\.11:80 of web: weight 100, drain/);
    assert.equal(await state(), 'drain');
    await ok('backends', 'disable', 'web', '10.99.0.11:80');
    assert.equal(await state(), 'disabled');
    await ok('backends', 'enable', 'web', '10.99.0.11:80');
    assert.equal(await state(), 'active');
    await ok('backends', 'set', 'web', '10.99.0.11:80', '--drain', '--weight', '7');
    assert.deepEqual(await json<{ state: string; weight: number }>('backends', 'show', 'web', '10.99.0.11:80').then((b) => [b.state, b.weight]), ['drain', 7]);
    await ok('backends', 'set', 'web', '10.99.0.11:80', '--enable', '--weight', '100');
  });

  test('quic-lb config: each backend\'s server ID with the config and key its server needs; a service without quicLb is refused', async () => {
    const key = '8f95f09245765f80256934e50c66207f';
    const created = await fetch(`${url}/api/v1/services`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'quic', vip: '10.99.0.110', port: 443, protocol: 'udp', healthCheck: { type: 'none' },
        quicLb: { configId: 2, serverIdLength: 8, nonceLength: 8, algorithm: 'single-pass', key },
        backends: [{ address: '10.99.0.31', port: 443, serverId: 'ED793A51D49B8F5F' }, { address: '10.99.0.32', port: 443 }] }),
    });
    assert.equal(created.status, 201, await created.text());
    const out = await ok('quic-lb', 'config', 'quic');
    assert.match(out, new RegExp(`^service quic: config ID 2, single-pass, server ID 8 octets, nonce 8, connection IDs 17 octets, key ${key}$`, 'm'));
    assert.match(out, /^10\.99\.0\.31:443\s+ED793A51D49B8F5F$/m);
    assert.match(out, /^10\.99\.0\.32:443\s+- \(routed by 5-tuple only\)$/m);
    const config = await json<{ configId: number; key: string; connectionIdLength: number; servers: { backend: string; serverId?: string }[] }>('quic-lb', 'config', 'quic');
    assert.deepEqual([config.configId, config.key, config.connectionIdLength], [2, key, 17]);
    assert.deepEqual(config.servers, [{ backend: '10.99.0.31:443', serverId: 'ED793A51D49B8F5F' }, { backend: '10.99.0.32:443' }]);
    const refused = await cli('quic-lb', 'config', 'web');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /service "web" has no quicLb.*\[SLUICE_NOT_FOUND\]/);
    await ok('services', 'rm', 'quic');
  });

  test('a tunnel service with every health check option; services set; list, remove and delete', async () => {
    await ok('services', 'add', 'tun', '--vip', '10.99.0.101', '--port', '80', '--forwarding', 'tunnel', '--encapsulation', 'gue',
      '--gue-port', '7000', '--tunnel-source', '10.99.0.2', '--lookup-table-size', '251',
      '--health', 'http', '--health-path', '/healthz', '--health-interval-ms', '500', '--health-timeout-ms', '300',
      '--health-rise', '3', '--health-fall', '4', '--health-expect-status', '200-299', '--health-port', '8080',
      '--health-initial-state', 'up', '--backend', '10.99.0.21:80', '--backend', '10.99.0.22:80');
    type Svc = { forwarding: string; lookupTableSize: number; tunnel: unknown; healthCheck: unknown; backends: { key: string }[] };
    let s = await json<Svc>('services', 'show', 'tun');
    assert.equal(s.forwarding, 'tunnel');
    assert.equal(s.lookupTableSize, 251);
    assert.deepEqual(s.tunnel, { encapsulation: 'gue', guePort: 7000, source: '10.99.0.2' });
    assert.deepEqual(s.healthCheck, { type: 'http', path: '/healthz', intervalMs: 500, timeoutMs: 300, rise: 3, fall: 4,
      expectStatus: '200-299', port: 8080, initialState: 'up' });
    assert.deepEqual(s.backends.map((b) => b.key), ['10.99.0.21:80', '10.99.0.22:80']);
    const text = await ok('services', 'show', 'tun');
    assert.match(text, /^tun: 10\.99\.0\.101:80\/tcp tunnel, lookup table 251 slots/);
    assert.match(text, /^tunnel: gue port 7000, source 10\.99\.0\.2$/m);
    assert.match(text, /^health check: http, GET \/healthz expecting 200-299, port 8080, every 500 ms, timeout 300 ms, rise 3, fall 4/m);

    // services set: the fields given change, the rest (backends too) stay.
    await ok('services', 'set', 'tun', '--health-interval-ms', '1000', '--gue-port', '7001');
    s = await json<Svc>('services', 'show', 'tun');
    assert.deepEqual(s.healthCheck, { type: 'http', path: '/healthz', intervalMs: 1000, timeoutMs: 300, rise: 3, fall: 4,
      expectStatus: '200-299', port: 8080, initialState: 'up' });
    assert.deepEqual(s.tunnel, { encapsulation: 'gue', guePort: 7001, source: '10.99.0.2' });
    // What the merged service breaks is the API's to say, field by field.
    const refused = await cli('services', 'set', 'tun', '--encapsulation', 'ipip', '--source-network', '172.17.0.0/16');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /services\.tun\.tunnel\.guePort: applies to encapsulation gue only/);
    assert.match(refused.stderr, /\[SLUICE_CONFIG_INVALID\]/);
    assert.equal(s.backends.length, 2);

    // A backend's override and MAC (the service replaced), its weight (PATCH); add with a state.
    await ok('backends', 'set', 'tun', '10.99.0.21:80', '--health-path', '/b', '--health-fall', '9', '--mac', '02:00:00:00:00:21');
    await ok('backends', 'add', 'tun', '10.99.0.23:80', '--weight', '5', '--health', 'tcp', '--drain');
    const b = await json<{ backends: { key: string; mac?: string; weight: number; state: string; healthCheck?: unknown }[] }>('services', 'show', 'tun');
    assert.deepEqual(b.backends.find((x) => x.key === '10.99.0.21:80')?.healthCheck, { path: '/b', fall: 9 });
    assert.equal(b.backends.find((x) => x.key === '10.99.0.21:80')?.mac, '02:00:00:00:00:21');
    const added = b.backends.find((x) => x.key === '10.99.0.23:80');
    assert.deepEqual([added?.weight, added?.state, added?.healthCheck], [5, 'drain', { type: 'tcp' }]);
    assert.match(await ok('services', 'show', 'tun'), /^ {2}10\.99\.0\.21:80: health check override: fall 9, path \/b$/m);

    assert.deepEqual((await json<{ name: string }[]>('services', 'list')).map((x) => x.name), ['web', 'tun']);
    await ok('backends', 'remove', 'tun', '10.99.0.23:80');
    await ok('backends', 'delete', 'tun', '10.99.0.22:80');
    assert.deepEqual((await json<{ key: string }[]>('backends', 'list', 'tun')).map((x) => x.key), ['10.99.0.21:80']);
    await ok('services', 'delete', 'tun');
    assert.deepEqual((await json<{ name: string }[]>('services', 'ls')).map((x) => x.name), ['web']);
  });

  test('the API\'s own validation: its coded error naming the field, exit 1, nothing changed', async () => {
    const before = await ok('services', 'ls', '--json');
    const cases: [string[], RegExp][] = [
      [['services', 'add', 'x', '--vip', '10.99.0.102', '--port', '80', '--lookup-table-size', '1000'], /lookupTableSize.*\[SLUICE_/],
      [['services', 'add', 'x', '--vip', '10.99.0.102', '--port', '80', '--health-rise', '0'], /healthCheck\/rise.*\[SLUICE_BAD_REQUEST\]/],
      [['services', 'add', 'x', '--vip', '10.99.0.102', '--port', '80', '--gue-port', '70000'], /tunnel\/guePort.*\[SLUICE_BAD_REQUEST\]/],
      [['services', 'set', 'web', '--health-path', 'no-slash'], /healthCheck\/path.*\[SLUICE_BAD_REQUEST\]/],
      [['backends', 'set', 'web', '10.99.0.11:80', '--weight', '70000'], /weight.*\[SLUICE_BAD_REQUEST\]/],
      [['backends', 'set', 'web', '10.99.0.99:80', '--mac', '02:00:00:00:00:99'], /no backend 10\.99\.0\.99:80.*\[SLUICE_NOT_FOUND\]/],
      [['backends', 'drain', 'web', '10.99.0.99:80'], /\[SLUICE_NOT_FOUND\]/],
      [['services', 'show', 'nosuch'], /\[SLUICE_NOT_FOUND\]/],
      [['stats', 'nosuch'], /\[SLUICE_NOT_FOUND\]/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(await ok('services', 'ls', '--json'), before);
  });

  test('read commands: lcores, ports, neighbors, health, metrics, stats of one service', async () => {
    assert.equal(await ok('lcores'), 'no worker lcores\n');
    assert.equal(await ok('ports'), 'no ports\n');
    assert.equal(await ok('neighbors'), 'no neighbors\n');
    assert.deepEqual(await json('lcores'), []);
    assert.match(await ok('metrics'), new RegExp(`^sluice_build_info\\{version="${DAEMON_VERSION.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
    const one = await ok('stats', 'web');
    assert.match(one, /^web\s/m);
    assert.match(one, /^ {2}10\.99\.0\.14:80\s+100\s+drain\s+unchecked\s.*\s7$/m, 'a backend\'s active flows');
    assert.doesNotMatch(one, /LCORE|drops:/, 'one service\'s rows only');
    assert.match(await ok('stats'), /drops: none/);
  });

  test('names for the completion: services, and one service\'s backends', async () => {
    assert.equal(await ok('__complete', 'services'), 'web\n');
    assert.equal(await ok('__complete', 'backends', 'web'), '10.99.0.11:80\n10.99.0.12:80\n10.99.0.13:80\n10.99.0.14:80\n');
    assert.equal(await ok('__complete', 'backends', 'nosuch'), '');
  });
});

describe('stats --watch through a daemon restart', () => {
  test('one line says it waits, screens resume once the API answers again, Ctrl-C ends it with exit 0', async () => {
    let { app, port } = await listening();
    const url = `http://127.0.0.1:${port}`;
    const w = spawn(process.execPath, [CLI, 'stats', '--watch', '--interval', '0.2', '--api', url], { env: { ...process.env, SLUICE_TOKEN: '' } });
    let out = '';
    let err = '';
    w.stdout.on('data', (d) => (out += d));
    w.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => w.on('exit', (code) => resolve(code)));
    const screens = () => (out.match(/SERVICE \/ BACKEND/g) ?? []).length;
    const until = async (what: string, check: () => boolean, ms = 20_000) => {
      for (const deadline = Date.now() + ms; !check();) {
        assert.ok(Date.now() < deadline, `timed out waiting for ${what}; stdout: ${out.slice(-500)}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until('the first screens', () => screens() >= 2);
      await app.close();
      await until('the line saying it waits', () => /waiting for it/.test(err));
      const seen = screens();
      // Several intervals without a daemon: still one line.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(screens(), seen, 'no screen while nothing answers');
      assert.equal(w.exitCode, null, 'still running');
      ({ app, port } = await listening(port));
      await until('screens again', () => screens() >= seen + 2);
      assert.equal((err.match(/waiting for it/g) ?? []).length, 1, err);
      assert.match(err, new RegExp(`^sluice: cannot reach the Sluice API at ${url} \\(ECONNREFUSED\\): waiting for it, trying every 0\\.2s \\(Ctrl-C stops\\)$`, 'm'));
      assert.match(err, new RegExp(`^sluice: the Sluice API at ${url} answers again$`, 'm'));
      w.kill('SIGINT');
      assert.equal(await exited, 0, err);
    } finally {
      w.kill('SIGKILL');
      await app.close();
    }
  });
});
