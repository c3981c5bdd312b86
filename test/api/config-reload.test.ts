// POST /api/v1/config/reload and GET /api/v1/config through buildApp, with the
// daemon's own reload (configReload) on a config file in a temporary
// directory and the data plane a stand-in (test/helpers/fake-addon.ts): the
// file's services replace the running ones (API changes included) in one
// snapshot and one state file write, the answer says what changed, and an
// invalid file or one that changes anything but services changes nothing.
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parse, stringify } from 'yaml';
import { buildApp } from '../../src/api/app';
import { serveReload } from '../../src/api/routes/config';
import { loadConfigFile } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { configReload } from '../../src/daemon';
import { Dataplane } from '../../src/dataplane';
import { captureLog } from '../helpers/captured-log';
import { fakeAddon, type FakeAddon } from '../helpers/fake-addon';
import { servicesOnDisk, stateTextOnDisk } from '../helpers/state-on-disk';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-reload-'));
const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((a) => a.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function rawConfig(sub: string): Raw {
  return {
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    stateFile: path.join(sub, 'state.json'),
    services: [
      { name: 'web', vip: '10.99.0.100', port: 80, backends: [
        { address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }] },
      { name: 'dns', vip: '10.99.0.101', port: 53, protocol: 'udp', backends: [{ address: '10.99.0.21', port: 53 }] },
    ],
  };
}

interface Rig {
  app: FastifyInstance;
  file: string;
  addon: FakeAddon;
  store: ServiceStore;
  state: string;
  logs: { level: number; msg: string }[];
  write(raw: Raw): void;
}

let n = 0;
function rig(withReload = true): Rig {
  const sub = fs.mkdtempSync(path.join(dir, `r${n++}-`));
  const file = path.join(sub, 'sluice.yaml');
  const write = (raw: Raw) => fs.writeFileSync(file, stringify(raw));
  write(rawConfig(sub));
  const cfg = loadConfigFile(file);
  const addon = fakeAddon();
  const dataplane = new Dataplane(addon);
  const store = new ServiceStore(cfg, dataplane, new StateFile(cfg.stateFile!));
  const services = store.initialServices();
  dataplane.start({ ...cfg, services }, 'reload-test');
  store.started(services);
  const { logger, lines: logs } = captureLog('info');
  if (withReload) serveReload(store, configReload(file, cfg, store, logger));
  const app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, version: 't', config: cfg });
  apps.push(app);
  return { app, file, addon, store, state: cfg.stateFile!, logs, write };
}

const edit = (r: Rig, change: (raw: Raw) => void) => {
  const raw = parse(fs.readFileSync(r.file, 'utf8')) as Raw;
  change(raw);
  r.write(raw);
};

async function reload(r: Rig) {
  const res = await r.app.inject({ method: 'POST', url: '/api/v1/config/reload' });
  return { status: res.statusCode, body: res.json() };
}

async function services(r: Rig) {
  const res = await r.app.inject({ method: 'GET', url: '/api/v1/services' });
  return (res.json() as { name: string; vip: string; backends: { key: string; weight: number }[] }[])
    .map((s) => ({ name: s.name, vip: s.vip, backends: s.backends.map((b) => `${b.key} w${b.weight}`) }));
}

describe('POST /api/v1/config/reload', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });

  test('applies the file\'s services in one snapshot and one state write, and says what changed', async () => {
    const calls = r.addon.setServicesCalls;
    edit(r, (raw) => {
      raw.services[0].backends[1].weight = 7;                         // web: a backend changed
      raw.services[0].backends.push({ address: '10.99.0.13', port: 80 }); // web: a backend added
      raw.services[0].backends.shift();                                 // web: a backend removed
      raw.services.splice(1, 1);                                        // dns removed
      raw.services.push({ name: 'api', vip: '10.99.0.102', port: 8080, backends: [{ address: '10.99.0.31', port: 8080 }] });
    });
    const { status, body } = await reload(r);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, {
      file: r.file,
      changed: true,
      diff: {
        added: ['api'],
        removed: ['dns'],
        changed: [{ name: 'web', fields: [], backends: { added: ['10.99.0.13:80'], removed: ['10.99.0.11:80'], changed: ['10.99.0.12:80'] } }],
        unchanged: 0,
      },
    });
    assert.equal(r.addon.setServicesCalls, calls + 1, 'one snapshot for the whole reload');
    assert.deepEqual(await services(r), [
      { name: 'web', vip: '10.99.0.100', backends: ['10.99.0.12:80 w7', '10.99.0.13:80 w100'] },
      { name: 'api', vip: '10.99.0.102', backends: ['10.99.0.31:8080 w100'] },
    ]);
    const saved = { services: servicesOnDisk(r.state) };
    assert.deepEqual(saved.services.map((s) => s.name), ['web', 'api'], 'the state file follows the reload');
    const line = r.logs.find((l) => l.msg.startsWith('config reloaded'));
    assert.ok(line, JSON.stringify(r.logs));
    assert.match(line.msg, /1 added \(api\), 1 removed \(dns\), 1 changed \(web\)/);
  });

  test('makes the file the truth: changes made through the API since are replaced', async () => {
    const add = await r.app.inject({ method: 'POST', url: '/api/v1/services',
      payload: { name: 'extra', vip: '10.99.0.110', port: 80, backends: [] } });
    assert.equal(add.statusCode, 201, add.body);
    const { status, body } = await reload(r);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.diff.removed, ['extra']);
    assert.deepEqual(body.diff.unchanged, 2);
    assert.deepEqual((await services(r)).map((s) => s.name), ['web', 'dns']);
  });

  test('a file whose services already run: nothing applied, nothing written', async () => {
    const calls = r.addon.setServicesCalls;
    const before = stateTextOnDisk(r.state);
    const { status, body } = await reload(r);
    assert.equal(status, 200);
    assert.equal(body.changed, false);
    assert.equal(body.diff.unchanged, 2);
    assert.equal(r.addon.setServicesCalls, calls);
    assert.equal(stateTextOnDisk(r.state), before);
  });

  test('unchanged services stay the same objects: sent to the data plane by id', async () => {
    const web = r.store.get('web');
    edit(r, (raw) => (raw.services[1].backends[0].weight = 3));
    assert.equal((await reload(r)).status, 200);
    assert.equal(r.store.get('web'), web);
    assert.equal(r.addon.sent.filter((s) => typeof s === 'number').length, 1, 'web went by id');
  });

  const refused = async (change: (raw: Raw) => void, status: number, code: string, message: RegExp) => {
    const add = await r.app.inject({ method: 'POST', url: '/api/v1/services',
      payload: { name: 'extra', vip: '10.99.0.110', port: 80, backends: [] } });
    assert.equal(add.statusCode, 201);
    const before = await services(r);
    const state = stateTextOnDisk(r.state);
    const calls = r.addon.setServicesCalls;
    edit(r, change);
    const res = await reload(r);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.code, code);
    assert.match(res.body.message, message);
    assert.deepEqual(await services(r), before, 'nothing changed');
    assert.equal(stateTextOnDisk(r.state), state, 'the state file is as it was');
    assert.equal(r.addon.setServicesCalls, calls, 'the data plane was not touched');
    return res.body;
  };

  test('an invalid file: 400 SLUICE_CONFIG_INVALID with every problem, nothing changed', async () => {
    const body = await refused((raw) => {
      raw.services[0].backends[0].port = 'eighty';
      raw.services[1].vip = '10.99.0.2';
      raw.services.push({ name: 'new', vip: '10.99.0.120', port: 80, colour: 'red' });
    }, 400, 'SLUICE_CONFIG_INVALID', /services\[0\]\.backends\[0\]\.port: must be an integer/);
    assert.deepEqual(body.details, [
      { path: 'services[0].backends[0].port', reason: 'must be an integer' },
      { path: 'services[2].colour', reason: 'unknown field' },
      { path: 'services[1].vip', reason: '10.99.0.2 is the own address of ports[0] (p0); a VIP must be a separate address' },
    ]);
  });

  test('a file that cannot be parsed: 400 SLUICE_CONFIG_READ, nothing changed', async () => {
    const before = await services(r);
    fs.writeFileSync(r.file, 'services: [\n');
    const res = await reload(r);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'SLUICE_CONFIG_READ');
    assert.deepEqual(await services(r), before);
  });

  test('a change outside services: 409 SLUICE_RELOAD_REFUSED naming the fields, nothing changed', async () => {
    const body = await refused((raw) => {
      raw.flowTable = { entriesPerLcore: 4096 };
      raw.ports[0].mtu = 9000;
      raw.services[0].backends[0].weight = 1;
    }, 409, 'SLUICE_RELOAD_REFUSED', /ports\[0\]\.mtu, flowTable\.entriesPerLcore changed, which only a restart applies/);
    assert.deepEqual(body.details.map((d: { path: string }) => d.path), ['ports[0].mtu', 'flowTable.entriesPerLcore']);
  });

  test('a service set the data plane refuses: its error, nothing changed', async () => {
    const calls = r.addon.setServicesCalls;
    edit(r, (raw) => (raw.services[0].backends[0].weight = 9));
    r.addon.refuse = (set) => (set.some((s) => s.backends.some((b) => b.weight === 9))
      ? Object.assign(new Error('no more ids'), { code: 'SLUICE_RESOURCE_EXHAUSTED' }) : undefined);
    const res = await reload(r);
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.code, 'SLUICE_RESOURCE_EXHAUSTED');
    assert.ok(r.addon.setServicesCalls > calls);
    assert.deepEqual((await services(r))[0].backends, ['10.99.0.11:80 w100', '10.99.0.12:80 w100']);
  });
});

describe('GET /api/v1/config', () => {
  test('the running configuration: the config with the services as they run now', async () => {
    const r = rig();
    await r.app.inject({ method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.11%3A80', payload: { weight: 5 } });
    const res = await r.app.inject({ method: 'GET', url: '/api/v1/config' });
    assert.equal(res.statusCode, 200, res.body);
    const cfg = res.json() as Raw;
    assert.equal(cfg.ports[0].name, 'p0');
    assert.equal(cfg.flowTable.entriesPerLcore, 1048576);
    assert.equal(cfg.services[0].backends[0].weight, 5);
    // Written back as a file, it loads as the same configuration.
    const again = path.join(dir, 'exported.yaml');
    fs.writeFileSync(again, stringify(cfg));
    assert.deepEqual(JSON.parse(JSON.stringify(loadConfigFile(again))), cfg);
  });

  test('an app without a reload answers 404 for one', async () => {
    const r = rig(false);
    const res = await r.app.inject({ method: 'POST', url: '/api/v1/config/reload' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'SLUICE_NOT_FOUND');
  });
});
