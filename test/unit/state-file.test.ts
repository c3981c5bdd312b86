// The state file across a renamed field: a file an older Sluice wrote is read
// with the field under its new name (the file is Sluice's own: a restart after
// an upgrade keeps its services), while a config or request that uses the old
// name is refused, naming the new one (config.test.ts, api tests).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateFile } from '../../src/control/state-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-state-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function stateWith(services: unknown[]): StateFile {
  const file = path.join(dir, `state-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ version: 1, savedAt: '2025-01-01T00:00:00.000Z', services }));
  return new StateFile(file);
}

test('maglevTableSize in a state file is read as lookupTableSize', () => {
  const read = stateWith([{ name: 'web', vip: '10.99.0.100', port: 80, maglevTableSize: 251, backends: [] }]).read();
  assert.deepEqual(read, [{ name: 'web', vip: '10.99.0.100', port: 80, lookupTableSize: 251, backends: [] }]);
});

test('a state file with the new name, or neither, is read as it is', () => {
  const services = [
    { name: 'web', vip: '10.99.0.100', port: 80, lookupTableSize: 251, backends: [] },
    { name: 'dns', vip: '10.99.0.101', port: 53, backends: [] },
  ];
  assert.deepEqual(stateWith(services).read(), services);
});

test('both names: the new one is kept and the old one left for validation to refuse', () => {
  const service = { name: 'web', vip: '10.99.0.100', port: 80, lookupTableSize: 251, maglevTableSize: 65537, backends: [] };
  assert.deepEqual(stateWith([service]).read(), [service]);
});

test('temp files a killed Sluice left next to the state file are removed at start, nothing else', async () => {
  const sub = fs.mkdtempSync(path.join(dir, 'orphans-'));
  const file = path.join(sub, 'state.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, savedAt: '2025-01-01T00:00:00.000Z', services: [] }));
  // A pid that cannot be running (above pid_max), ours, and a live one (our parent's).
  const dead = path.join(sub, '.state.json.4194399999.tmp');
  const own = path.join(sub, `.state.json.${process.pid}.tmp`);
  const alive = path.join(sub, `.state.json.${process.ppid}.tmp`);
  const others = ['.other.json.4194399999.tmp', '.state.json.notapid.tmp', 'state.json.bak', '.state.json.12.tmp.keep']
    .map((n) => path.join(sub, n));
  for (const f of [dead, own, alive, ...others]) fs.writeFileSync(f, '{"half":');

  const state = new StateFile(file);
  assert.deepEqual(state.removeOrphanedTemps().sort(), [dead, own].sort());
  assert.deepEqual(fs.readdirSync(sub).sort(), ['state.json', ...[alive, ...others].map((f) => path.basename(f))].sort());
  assert.deepEqual(state.read(), [], 'the state file itself is untouched');

  // A writer killed between its write and rename leaves exactly this name behind.
  await state.writeAsync([]);
  assert.ok(!fs.existsSync(own), 'a completed write leaves no temp file');
  assert.deepEqual(new StateFile(path.join(sub, 'missing-dir', 'state.json')).removeOrphanedTemps(), []);
});
