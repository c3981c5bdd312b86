// A state file that cannot be written, through the API: the client gets a
// coded 500 without the path or the errno text, the log gets both, and the
// change is rolled back. The data plane is a stand-in (test/helpers/fake-addon.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { captureLog } from '../helpers/captured-log';
import { fakeAddon } from '../helpers/fake-addon';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-state-write-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('SLUICE_STATE_WRITE: a generic coded 500 for the client, the path and errno in the log, nothing changed', async () => {
  // Its directory is a regular file: every write fails (EEXIST or ENOTDIR).
  const blocker = path.join(dir, 'not-a-directory');
  fs.writeFileSync(blocker, '');
  const stateFile = new StateFile(path.join(blocker, 'state.json'));
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] }],
  });
  const dataplane = new Dataplane(fakeAddon());
  const store = new ServiceStore(cfg, dataplane, stateFile);
  store.started(cfg.services);
  const { logger, raw: lines } = captureLog('info');
  const app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, version: 't', config: cfg, logger });
  try {
    const before = (await app.inject({ method: 'GET', url: '/api/v1/services' })).json();
    const res = await app.inject({ method: 'POST', url: '/api/v1/services',
      payload: { name: 'new', vip: '10.99.0.150', port: 80 } });
    assert.equal(res.statusCode, 500, res.body);
    const body = res.json();
    assert.equal(body.code, 'SLUICE_STATE_WRITE');
    assert.equal(body.statusCode, 500);
    assert.equal(body.details, undefined);
    assert.match(body.message, /the server log has the details/);
    assert.ok(!res.body.includes(dir), `no path in the body: ${res.body}`);
    assert.doesNotMatch(res.body, /E[A-Z]{3,}|already exists|not a directory|state\.json/);
    assert.ok(lines.some((l) => l.includes('"level":50') && l.includes(blocker) && /EEXIST|ENOTDIR/.test(l)),
      'the log has the path and the reason');
    const names = (list: { name: string }[]) => list.map((x) => x.name);
    assert.deepEqual(names((await app.inject({ method: 'GET', url: '/api/v1/services' })).json()), names(before));
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/services/new' })).statusCode, 404, 'rolled back');
  } finally {
    await app.close();
  }
});
