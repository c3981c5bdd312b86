// A state file Sluice cannot use stops the start with SLUICE_STATE_READ naming
// it: a FIFO is refused at once (not waited on), and services that break the
// config's rules are the state file's fault, not the config file's.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../src/config';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { isSluiceError } from '../../src/errors';
import { fakeAddon } from '../helpers/fake-addon';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-state-read-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a state file that is a FIFO: SLUICE_STATE_READ naming it, at once', () => {
  const fifo = path.join(dir, 'state.fifo');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  assert.throws(() => new StateFile(fifo).read(), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_STATE_READ'), String(err));
    assert.ok(err.message.includes(fifo), err.message);
    assert.match(err.message, /not a regular file/);
    return true;
  });
  assert.ok(Date.now() - started < 1000, 'no wait for a writer');
});

test('a state file whose services break the rules: SLUICE_STATE_READ naming the state file, not a config error', () => {
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, savedAt: '2025-01-01T00:00:00.000Z',
    services: [{ name: 'web', vip: '224.0.0.1', port: 80, backends: [] }] }));
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [],
  });
  const store = new ServiceStore(cfg, new Dataplane(fakeAddon()), new StateFile(file));
  assert.throws(() => store.initialServices(), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_STATE_READ'), String(err));
    assert.ok(err.message.includes(file), err.message);
    assert.deepEqual((err.details as { path: string }[]).map((d) => d.path), ['services.web.vip']);
    return true;
  });
});
