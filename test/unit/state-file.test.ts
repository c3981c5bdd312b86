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

test('the file is JSON.stringify(doc, null, 2) byte for byte, its texts kept per service and backend object', async () => {
  const { validateConfig } = await import('../../src/config');
  const services = validateConfig({
    eal: { lcores: '0@0,1@1' },
    ports: [{ name: 'p0', device: 'net_null0', address: '10.99.0.2/24', address6: 'fd00:99::2/64', gateway: '10.99.0.1' }],
    services: [
      { name: 'empty', vip: '10.99.0.100', port: 80, backends: [] },
      { name: 'web', vip: '10.99.0.101', port: 443, healthCheck: { type: 'http', path: '/h\\u0001' },
        backends: [{ address: '10.99.0.11', port: 443, weight: 7, healthCheck: { type: 'tcp' } },
          { address: '10.99.0.12', port: 443, state: 'drain', mac: '02:00:00:00:01:02' }] },
      { name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80 }] },
      { name: 'tun', vip: '10.98.0.1', port: 80, forwarding: 'tunnel',
        backends: Array.from({ length: 50 }, (_, i) => ({ address: `10.50.0.${i + 1}`, port: 80 })) },
    ],
  }).services;
  const file = path.join(dir, 'exact.json');
  const state = new StateFile(file);
  const expected = (list: unknown[]) => {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    return `${JSON.stringify({ version: doc.version, savedAt: doc.savedAt, services: list }, null, 2)}\n`;
  };
  await state.writeAsync(services);
  assert.equal(fs.readFileSync(file, 'utf8'), expected(services));
  // One backend of a kept service changed: the file is still exact.
  const changed = services.map((s) => (s.name !== 'tun' ? s
    : { ...s, backends: s.backends.map((b, i) => (i === 3 ? { ...b, weight: 42 } : b)) }));
  await state.writeAsync(changed);
  // That change went to the journal: the file is the first one, and a read replays the change on it.
  assert.equal(fs.readFileSync(file, 'utf8'), expected(services));
  assert.deepEqual(new StateFile(file).read(), changed);
  // Written whole again (a new process's first write), the file is exact.
  await new StateFile(file).writeAsync(changed);
  assert.equal(fs.readFileSync(file, 'utf8'), expected(changed));
  assert.ok(!fs.existsSync(`${file}.journal`), 'a whole write removes the journal');
  assert.deepEqual(new StateFile(file).read(), changed);
});
