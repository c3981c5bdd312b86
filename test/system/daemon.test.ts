// The daemon as an operator runs it: state survives a clean restart and a kill -9
// at any moment, a broken state file stops the start, and the CLI works against
// it, with and without a token.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { CLI, daemonConfig, startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import { servicesOnDisk } from '../helpers/state-on-disk';

let dir: string;
const running: DaemonProcess[] = [];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-daemon-'));
});
afterEach(async () => {
  for (const d of running.splice(0)) if (d.child.exitCode === null) await d.kill9();
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  // Daemons killed with SIGKILL could not remove their EAL runtime directories.
  removeStaleRuntimeDirs();
});

async function start(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const d = await startDaemon(dir, config, env);
  running.push(d);
  return d;
}

async function api(d: DaemonProcess, method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(`${d.url}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const summary = (services: { name: string; backends: { address: string; weight: number; state: string }[] }[]) =>
  services.map((s) => ({ name: s.name, backends: s.backends.map((b) => `${b.address} w${b.weight} ${b.state}`) }));

describe('persistent state', () => {
  test('a clean restart comes back with the same services, backends, weights and admin states', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'clean-'));
    const cfg = daemonConfig(sub);
    let d = await start(cfg);
    assert.equal((await api(d, 'POST', '/api/v1/services', { name: 'dns', vip: '10.99.0.100', port: 53, protocol: 'udp' })).status, 201);
    assert.equal((await api(d, 'POST', '/api/v1/services/dns/backends', { address: '10.99.0.21', port: 53, weight: 7, mac: '02:00:00:00:00:21' })).status, 201);
    assert.equal((await api(d, 'PATCH', '/api/v1/services/web/backends/10.99.0.11%3A80', { state: 'drain', weight: 3 })).status, 200);
    const before = summary((await api(d, 'GET', '/api/v1/services')).body);
    assert.equal(await d.stop(), 0);

    d = await start(cfg);
    assert.match(d.output(), /services restored from the state file/);
    assert.deepEqual(summary((await api(d, 'GET', '/api/v1/services')).body), before);
    assert.deepEqual(before, [
      { name: 'web', backends: ['10.99.0.11 w3 drain'] },
      { name: 'dns', backends: ['10.99.0.21 w7 active'] },
    ]);
  });

  for (let round = 1; round <= 3; round++) {
    test(`kill -9 during a stream of changes leaves the old or the new state (round ${round})`, async () => {
      const sub = fs.mkdtempSync(path.join(dir, `kill-${round}-`));
      const cfg = daemonConfig(sub);
      const d = await start(cfg);
      let acknowledged = 0;
      let stop = false;
      const stream = (async () => {
        for (let i = 0; !stop && i < 2000; i++) {
          const r = await api(d, 'POST', '/api/v1/services/web/backends', {
            address: `10.99.${1 + (i >> 8)}.${i & 255}`, port: 80, mac: '02:00:00:00:00:42',
          }).catch(() => undefined);
          if (r?.status !== 201) break;
          acknowledged++;
        }
      })();
      await new Promise((r) => setTimeout(r, 200 + round * 150));
      await d.kill9();
      stop = true;
      await stream;
      const doc = { services: servicesOnDisk(cfg.stateFile as string) };
      const added = doc.services[0].backends.length - 1;
      console.log(`# round ${round}: ${acknowledged} changes acknowledged before kill -9; state file holds ${added}`);
      assert.ok(acknowledged > 0, 'changes were made before the kill');
      // Every acknowledged change was on disk before its response; at most one more was in flight.
      assert.ok(added === acknowledged || added === acknowledged + 1, `${added} vs ${acknowledged}`);
      const leftovers = fs.readdirSync(sub).filter((f) => f.endsWith('.tmp'));
      const restarted = await start(cfg);
      const services = (await api(restarted, 'GET', '/api/v1/services')).body as { backends: unknown[] }[];
      assert.equal(services[0].backends.length, added + 1, 'the restart restored exactly what the file holds');
      assert.ok(leftovers.length <= 1, 'at most the one temp file of the interrupted write');
      await restarted.stop();
    });
  }

  test('a broken state file stops the start with SLUICE_STATE_READ and is left alone', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'broken-'));
    const cfg = daemonConfig(sub);
    fs.writeFileSync(cfg.stateFile as string, '{"version": 1, "services": [');
    const file = path.join(sub, 'c.yaml');
    fs.writeFileSync(file, JSON.stringify(cfg));
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SLUICE_STATE_READ/);
    assert.match(r.stderr, /not JSON/);
    assert.equal(fs.readFileSync(cfg.stateFile as string, 'utf8'), '{"version": 1, "services": [');
  });

  test('a state file that breaks the rules (dsr port mismatch) stops the start naming the field', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'invalid-'));
    const cfg = daemonConfig(sub);
    fs.writeFileSync(cfg.stateFile as string, JSON.stringify({ version: 1, services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 81 }] }] }));
    const file = path.join(sub, 'c.yaml');
    fs.writeFileSync(file, JSON.stringify(cfg));
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /services\.web\.backends\[0\]/);
  });
});

describe('the CLI against a running daemon', () => {
  const TOKEN = 's3cret-token-for-tests';
  let d: DaemonProcess;
  before(async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'cli-'));
    d = await startDaemon(sub, daemonConfig(sub, { api: { listen: '127.0.0.1:0', tokenEnv: 'SLUICE_TEST_TOKEN' } }), { SLUICE_TEST_TOKEN: TOKEN });
  });
  after(async () => {
    if (d.child.exitCode === null) await d.stop();
  });

  const cli = (args: string[], token: string | null = TOKEN) =>
    spawnSync(process.execPath, [CLI, ...args, '--api', d.url], {
      encoding: 'utf8',
      env: { ...process.env, SLUICE_TOKEN: token ?? '' },
    });

  test('without the token every command is refused with a hint; /healthz stays open', async () => {
    const r = cli(['services', 'ls'], null);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SLUICE_UNAUTHORIZED/);
    assert.match(r.stderr, /set SLUICE_TOKEN/);
    assert.equal(cli(['services', 'ls'], 'wrong').status, 1);
    assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
  });

  test('status shows readiness, ports and services', () => {
    const r = cli(['status']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: ready/);
    assert.match(r.stdout, /p0\s+net_ring/);
    assert.match(r.stdout, /web\s+10\.99\.0\.100\s+80\s+tcp\s+dsr\s+1/);
  });

  test('services add, ls, show and rm', () => {
    assert.equal(cli(['services', 'add', 'dns', '--vip', '10.99.0.100', '--port', '53', '--protocol', 'udp']).status, 0);
    const ls = cli(['services', 'ls', '--json']);
    assert.deepEqual((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name), ['web', 'dns']);
    const show = cli(['services', 'show', 'web']);
    assert.match(show.stdout, /10\.99\.0\.11:80\s+100\s+active\s+unchecked/);
    assert.equal(cli(['services', 'rm', 'dns']).status, 0);
    const gone = cli(['services', 'show', 'dns']);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /SLUICE_NOT_FOUND/);
  });

  test('backends add, set and rm', () => {
    const add = cli(['backends', 'add', 'web', '10.99.0.12:80', '--weight', '5', '--mac', '02:00:00:00:00:12']);
    assert.equal(add.status, 0, add.stderr);
    assert.equal(cli(['backends', 'set', 'web', '10.99.0.12:80', '--drain']).status, 0);
    assert.equal(cli(['backends', 'set', 'web', '10.99.0.12:80', '--weight', '9']).status, 0);
    let b = (JSON.parse(cli(['services', 'show', 'web', '--json']).stdout) as { backends: { key: string; weight: number; state: string }[] }).backends;
    assert.deepEqual(b.find((x) => x.key === '10.99.0.12:80'), { ...b.find((x) => x.key === '10.99.0.12:80'), weight: 9, state: 'drain' });
    assert.equal(cli(['backends', 'set', 'web', '10.99.0.12:80', '--disable']).status, 0);
    assert.equal(cli(['backends', 'set', 'web', '10.99.0.12:80', '--enable']).status, 0);
    const dup = cli(['backends', 'add', 'web', '10.99.0.12:80']);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /SLUICE_CONFLICT/);
    assert.equal(cli(['backends', 'rm', 'web', '10.99.0.12:80']).status, 0);
    b = (JSON.parse(cli(['services', 'show', 'web', '--json']).stdout) as { backends: { key: string; weight: number; state: string }[] }).backends;
    assert.deepEqual(b.map((x) => [x.key, x.state]), [['10.99.0.11:80', 'active']]);
  });

  test('bad input gets a clear message and changes nothing', () => {
    const before = cli(['services', 'ls', '--json']).stdout;
    const cases: [string[], RegExp, number][] = [
      [['backends', 'set', 'web', '10.99.0.11:80', '--weight', 'x'], /--weight takes a whole number/, 2],
      [['backends', 'set', 'web', '10.99.0.11:80', '--drain', '--disable'], /at most one/, 2],
      [['backends', 'add', 'web', 'not-an-address'], /not address:port/, 2],
      [['backends', 'add', 'web', '10.99.0.13:8080', '--mac', '02:00:00:00:00:13'], /backend port must equal the service port|port/, 1],
      [['services', 'add', 'x', '--vip', '10.99.0.100', '--port', '70000'], /port/, 1],
      [['services', 'add', 'x'], /needs --vip and --port/, 2],
      [['frobnicate'], /unknown command/, 2],
    ];
    for (const [args, message, code] of cases) {
      const r = cli(args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(cli(['services', 'ls', '--json']).stdout, before);
  });

  test('stats prints services and lcores; --watch refreshes until interrupted', async () => {
    const r = cli(['stats']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SERVICE \/ BACKEND/);
    assert.match(r.stdout, /10\.99\.0\.11:80/);
    assert.match(r.stdout, /LCORE/);
    const { spawn } = await import('node:child_process');
    const w = spawn(process.execPath, [CLI, 'stats', '--watch', '--interval', '0.2', '--api', d.url], { env: { ...process.env, SLUICE_TOKEN: TOKEN } });
    let out = '';
    const refreshes = () => (out.match(/SERVICE \/ BACKEND/g) ?? []).length;
    // Interrupted after its third refresh, however long a loaded machine takes to get there.
    await new Promise<void>((res) => {
      const deadline = setTimeout(res, 30_000);
      w.stdout.on('data', (x) => {
        out += x;
        if (refreshes() >= 3) {
          clearTimeout(deadline);
          res();
        }
      });
    });
    w.kill('SIGINT');
    const code = await new Promise<number | null>((res) => w.on('exit', (c) => res(c)));
    assert.equal(code, 0);
    assert.ok(refreshes() >= 3, `several refreshes within 30 s: ${refreshes()}`);
    assert.match(out, /\/s/, 'rates after the first refresh');
  });

  test('an unreachable daemon gets a clear message and exit 3', async () => {
    // A port that was just free: nothing listens there.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
    const { port } = probe.address() as { port: number };
    await new Promise((res) => probe.close(res));
    const r = spawnSync(process.execPath, [CLI, 'services', 'ls', '--api', `http://127.0.0.1:${port}`], { encoding: 'utf8' });
    assert.equal(r.status, 3);
    assert.ok(r.stderr.includes(`cannot reach the Sluice API at http://127.0.0.1:${port} (ECONNREFUSED); is the daemon running?`), r.stderr);
  });
});

describe('where the API listens', () => {
  const run = (sub: string, cfg: Record<string, unknown>) => {
    const file = path.join(sub, 'c.yaml');
    fs.writeFileSync(file, JSON.stringify(cfg));
    return spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 30000 });
  };

  test('beyond loopback without a token: refused before anything starts, naming api.listen and the token fields', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'open-'));
    const r = run(sub, daemonConfig(sub, { api: { listen: '0.0.0.0:0' } }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SLUICE_CONFIG_INVALID/);
    assert.match(r.stderr, /api\.listen: .*api\.tokenFile or api\.tokenEnv, or api\.allowUnauthenticated: true/);
  });

  test('an api.listen not of this host: SLUICE_LISTEN_FAILED before the data plane starts', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'busy-'));
    // 192.0.2.1 (TEST-NET-1) is no address of this host.
    const r = run(sub, daemonConfig(sub, { api: { listen: '192.0.2.1:9090', allowUnauthenticated: true } }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SLUICE_LISTEN_FAILED/);
    assert.match(r.stderr, /api\.listen: cannot listen on 192\.0\.2\.1:9090: EADDRNOTAVAIL/);
    assert.doesNotMatch(r.stdout + r.stderr, /port up/, 'the data plane never started');
  });

  test('allowUnauthenticated: true starts beyond loopback with a warning; /healthz answers', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'allowed-'));
    const d = await start(daemonConfig(sub, { api: { listen: '0.0.0.0:0', allowUnauthenticated: true } }));
    assert.match(d.output(), /"level":40.*the API listens beyond loopback without a token/);
    const port = new URL(d.url).port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal(await d.stop(), 0);
  });
});

describe('start-up diagnostics', () => {
  /** `sluice run` on a config that must not start: its exit status and output, within `timeout` ms. */
  const refused = (sub: string, cfg: Record<string, unknown>, timeout = 20000) => {
    const file = path.join(sub, 'c.yaml');
    fs.writeFileSync(file, JSON.stringify(cfg));
    return spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout });
  };
  /** The data plane printed nothing: it never started. */
  const noDataplane = (r: { stdout: string; stderr: string }) =>
    assert.doesNotMatch(r.stdout + r.stderr, /EAL:|TELEMETRY|"dpdkType"|port up/, 'the data plane never started');

  test('a state file that breaks the rules: SLUICE_STATE_READ naming the state file and the field, not the config file', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'rules-'));
    const cfg = daemonConfig(sub);
    const stateFile = cfg.stateFile as string;
    fs.writeFileSync(stateFile, JSON.stringify({ version: 1, services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 81 }] }] }));
    const r = refused(sub, cfg);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[SLUICE_STATE_READ\]/);
    assert.ok(r.stderr.includes(`state file ${stateFile} breaks the config's rules`), r.stderr);
    assert.match(r.stderr, /services\.web\.backends\[0\]\.port/);
    assert.ok(!r.stderr.includes('c.yaml'), `the config file is not blamed: ${r.stderr}`);
  });

  test('a state file that is a FIFO: refused at once with SLUICE_STATE_READ, not waited on', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'fifo-'));
    const cfg = daemonConfig(sub);
    spawnSync('mkfifo', [cfg.stateFile as string]);
    const r = refused(sub, cfg, 10000);
    assert.equal(r.status, 1, `exit ${r.status} (null: it hung)\n${r.stderr}`);
    assert.match(r.stderr, /not a regular file.*\[SLUICE_STATE_READ\]/);
    noDataplane(r);
  });

  test('tokenFile and tokenEnv together: refused, naming both', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'two-tokens-'));
    const tokenFile = path.join(sub, 'token');
    fs.writeFileSync(tokenFile, 'from-the-file', { mode: 0o600 });
    const r = refused(sub, daemonConfig(sub, { api: { listen: '127.0.0.1:0', tokenFile, tokenEnv: 'SLUICE_TEST_TOKEN' } }));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /api: tokenFile and tokenEnv are both set; give one of them/);
    assert.match(r.stderr, /SLUICE_CONFIG_INVALID/);
    noDataplane(r);
  });

  test('a token file every user can read: the daemon starts and warns, naming the field and the mode', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'token-mode-'));
    const tokenFile = path.join(sub, 'token');
    fs.writeFileSync(tokenFile, 'readable-token\n');
    fs.chmodSync(tokenFile, 0o644);
    const d = await start(daemonConfig(sub, { api: { listen: '127.0.0.1:0', tokenFile } }));
    assert.match(d.output(), /"level":40[^\n]*api\.tokenFile [^\n]*token is readable by every user \(mode 644\)/);
    assert.equal((await api(d, 'GET', '/api/v1/services', undefined, 'readable-token')).status, 200);
    assert.equal(await d.stop(), 0);
  });

  test('an api.listen address in use: SLUICE_LISTEN_FAILED naming api.listen, before the data plane starts', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'in-use-'));
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', res));
    try {
      const { port } = busy.address() as { port: number };
      const r = refused(sub, daemonConfig(sub, { api: { listen: `127.0.0.1:${port}` } }));
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`api\\.listen: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      assert.match(r.stderr, /\[SLUICE_LISTEN_FAILED\]/);
      noDataplane(r);
    } finally {
      busy.close();
    }
  });

  test('a flow table the memory cannot hold: the field, the MiB it needed, and the real reason', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'flows-'));
    // 67108864 entries are about 2 GiB per lcore; the EAL has 512 MiB.
    const r = refused(sub, daemonConfig(sub, { flowTable: { entriesPerLcore: 67108864 } }), 60000);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /flowTable\.entriesPerLcore: cannot allocate a flow table of 67108864 entries \(\d+ MiB\)/);
    assert.match(r.stderr, /Cannot allocate memory/);
    assert.doesNotMatch(r.stderr, /No such file or directory/);
    assert.match(r.stderr, /\[SLUICE_RESOURCE_EXHAUSTED\]/);
  });
});
