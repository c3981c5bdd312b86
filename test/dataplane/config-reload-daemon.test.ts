// The daemon as an operator reloads it: `sluice run` on a ring port, its config
// file edited, then SIGHUP (and `sluice reload`): the services change through
// the API, the daemon lives on, an invalid edit or one outside services is
// refused and logged with nothing changed; `sluice config export` writes what
// runs; a start whose state file shadows an edited config says so; and SIGTERM
// twice within a second (GNU timeout) still stops cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { DPDK_RUNTIME_ROOT, removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { CLI, daemonConfig, startDaemon, type DaemonProcess } from '../helpers/daemon-process';

let dir: string;
const running: DaemonProcess[] = [];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-reload-daemon-'));
});
after(async () => {
  for (const d of running.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill9();
  fs.rmSync(dir, { recursive: true, force: true });
  removeStaleRuntimeDirs();
});

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function services(d: DaemonProcess) {
  const res = await fetch(`${d.url}/api/v1/services`);
  const list = (await res.json()) as { name: string; backends: { key: string; weight: number }[] }[];
  return list.map((s) => `${s.name}: ${s.backends.map((b) => `${b.key} w${b.weight}`).join(', ')}`);
}

async function until(what: string, d: DaemonProcess, ok: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${d.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cli = (d: DaemonProcess, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, '--api', d.url], { encoding: 'utf8' });

test('SIGHUP and `sluice reload` apply an edited config file; bad edits are refused and logged; SIGTERM twice stops cleanly', async () => {
  const sub = fs.mkdtempSync(path.join(dir, 'run-'));
  const d = await startDaemon(sub, daemonConfig(sub));
  running.push(d);
  const file = path.join(sub, fs.readdirSync(sub).find((f) => f.endsWith('.yaml'))!);
  const edit = (change: (raw: Raw) => void) => {
    const raw = parse(fs.readFileSync(file, 'utf8')) as Raw;
    change(raw);
    fs.writeFileSync(file, stringify(raw));
  };
  assert.deepEqual(await services(d), ['web: 10.99.0.11:80 w100']);

  // 1. An edit and SIGHUP: applied, logged, the daemon lives on.
  edit((raw) => {
    raw.services[0].backends[0].weight = 5;
    raw.services.push({ name: 'api', vip: '10.99.0.101', port: 8080,
      backends: [{ address: '10.99.0.12', port: 8080, mac: '02:00:00:00:00:12' }] });
  });
  d.child.kill('SIGHUP');
  await until('the reload', d, async () => (await services(d)).length === 2);
  assert.deepEqual(await services(d), ['web: 10.99.0.11:80 w5', 'api: 10.99.0.12:8080 w100']);
  await until('the reload\'s log line', d, () => d.output().includes('config reloaded: 1 added (api), 1 changed (web), 0 unchanged'));
  assert.equal(d.child.exitCode, null, 'SIGHUP did not end the daemon');
  assert.equal((await fetch(`${d.url}/healthz`)).status, 200);

  // 2. An invalid edit: refused, logged at error, nothing changed, still running.
  edit((raw) => {
    raw.services[1].port = 'eighty';
    raw.services[0].vip = '10.99.0.2';
  });
  const before = await services(d);
  d.child.kill('SIGHUP');
  await until('the refusal', d, () => d.output().includes('reload refused; nothing changed'));
  const refusal = d.output().split('\n').find((l) => l.includes('reload refused'))!;
  assert.match(refusal, /"level":50/);
  assert.match(refusal, /SLUICE_CONFIG_INVALID/);
  assert.match(refusal, /services\[1\]\.port: must be an integer/);
  assert.match(refusal, /services\[0\]\.vip: 10\.99\.0\.2 is the own address/, 'the rules\' problems too, in the same pass');
  assert.deepEqual(await services(d), before);
  assert.equal(d.child.exitCode, null);

  // 3. A change outside services through `sluice reload`: refused naming the field.
  edit((raw) => {
    raw.services[1].port = 8080;
    raw.services[0].vip = '10.99.0.100';
    raw.flowTable.entriesPerLcore = 32768;
  });
  let r = cli(d, 'reload');
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /flowTable\.entriesPerLcore changed, which only a restart applies.*\[SLUICE_RELOAD_REFUSED\]/);
  assert.deepEqual(await services(d), before);

  // 4. Fixed, through `sluice reload`: it prints what changed.
  edit((raw) => {
    raw.flowTable.entriesPerLcore = 16384;
    raw.services[1].backends[0].weight = 9;
  });
  r = cli(d, 'reload');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 changed \(api\), 1 unchanged\n {2}api: backends changed 10\.99\.0\.12:8080/);

  // 5. `sluice config export`: what runs, as a config file that checks valid.
  r = cli(d, 'config', 'export');
  assert.equal(r.status, 0, r.stderr);
  const exported = parse(r.stdout) as Raw;
  assert.equal(exported.services[1].backends[0].weight, 9);
  assert.equal(exported.flowTable.entriesPerLcore, 16384);
  const exportedFile = path.join(sub, 'exported.yml');
  fs.writeFileSync(exportedFile, r.stdout);
  const check = spawnSync(process.execPath, [CLI, 'check', '--config', exportedFile], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /valid: 1 port, 2 services, 2 backends; sluice run would use the state file .* the same services as the config file/);

  // 6. SIGTERM twice within a second, as GNU timeout sends it: still a clean stop.
  const prefix = `sluice-${d.child.pid}`;
  d.child.kill('SIGTERM');
  await until('the stop', d, () => d.output().includes('"msg":"stopping"'));
  d.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => {
    if (d.child.exitCode !== null) resolve(d.child.exitCode);
    else d.child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 0, d.output().slice(-3000));
  assert.equal(d.child.signalCode, null);
  assert.match(d.output(), /stopping already: a repeated signal within 1 s is ignored/);
  // The last line says the stop was orderly (its pipe may deliver it after the exit).
  await until('the stopped line', d, () => /"msg":"stopped"/.test(d.output()));
  assert.equal(fs.existsSync(path.join(DPDK_RUNTIME_ROOT, prefix)), false, 'the runtime directory was removed');

  // 7. A start whose state file differs from an edited config file: the state
  // file runs, and the log says what differs and which wins.
  const cfg = daemonConfig(sub);
  (cfg.services as Raw[]).push({ name: 'extra', vip: '10.99.0.105', port: 80, backends: [] });
  const again = await startDaemon(sub, cfg);
  running.push(again);
  const line = again.output().split('\n').find((l) => l.includes('differ from the config file'));
  assert.ok(line, again.output());
  assert.match(line, /"wins":"stateFile"/);
  assert.match(line, /differ from the config file's and run: 1 added \(api\), 1 removed \(extra\), 1 changed \(web\), 0 unchanged/);
  assert.deepEqual(await services(again), ['web: 10.99.0.11:80 w5', 'api: 10.99.0.12:8080 w9']);
  assert.equal(await again.stop(), 0);
});
