// The state file's journal (state-journal.ts): a group of changes appends what
// it altered with one fdatasync; a read replays the journal on the state file
// it names; a torn last group (a crash mid-append) is ignored; past its limit
// the journal is folded into a whole write; an orphaned journal is ignored.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig, type ServiceConfig } from '../../src/config';
import { StateFile } from '../../src/control/state-file';
import { journalOps } from '../../src/control/state-journal';
import { isSluiceError } from '../../src/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-journal-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONFIG = {
  eal: { lcores: '0@0,1@1' },
  ports: [{ name: 'p0', device: 'net_null0', address: '10.99.0.2/24', address6: 'fd00:99::2/64', gateway: '10.99.0.1' }],
};

function services(list: unknown[]): ServiceConfig[] {
  return validateConfig({ ...CONFIG, services: list }).services;
}

const initial = () => services([
  { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }] },
  { name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80 }] },
  { name: 'tun', vip: '10.98.0.1', port: 80, forwarding: 'tunnel',
    backends: Array.from({ length: 300 }, (_, i) => ({ address: `10.50.${i >> 8}.${i & 255}`, port: 80 })) },
]);

function fresh(name: string): string {
  return path.join(fs.mkdtempSync(path.join(dir, `${name}-`)), 'state.json');
}

/** Every kind of change the store makes, each as the store makes it (unchanged objects kept). */
function changes(s0: ServiceConfig[]): ServiceConfig[][] {
  const steps: ServiceConfig[][] = [];
  const weight = (s: ServiceConfig[], name: string, j: number, w: number) =>
    s.map((x) => (x.name !== name ? x : { ...x, backends: x.backends.map((b, k) => (k === j ? { ...b, weight: w } : b)) }));
  let s = weight(s0, 'tun', 7, 9); steps.push(s);
  s = weight(s, 'tun', 7, 10); steps.push(s);
  s = s.map((x) => (x.name !== 'web' ? x : { ...x, backends: [...x.backends, services([{ name: 'a', vip: '10.99.0.9', port: 80,
    backends: [{ address: '10.99.0.13', port: 80, weight: 3 }] }])[0].backends[0]] })); steps.push(s);
  s = s.map((x) => (x.name !== 'web' ? x : { ...x, backends: x.backends.filter((_, k) => k !== 0) })); steps.push(s);
  s = [...s, ...services([{ name: 'new', vip: '10.99.0.101', port: 80, backends: [] }])]; steps.push(s);
  s = s.filter((x) => x.name !== 'web6'); steps.push(s);
  s = s.map((x) => (x.name !== 'new' ? x : { ...x, lookupTableSize: 251 })); steps.push(s);
  return steps;
}

test('groups go to the journal; a read replays them; only what changed is written', async () => {
  const file = fresh('replay');
  const state = new StateFile(file);
  const s0 = initial();
  await state.writeAsync(s0);
  const stateText = fs.readFileSync(file, 'utf8');
  let last = s0;
  for (const step of changes(s0)) {
    await state.writeAsync(step);
    assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(step)));
    last = step;
  }
  assert.equal(fs.readFileSync(file, 'utf8'), stateText, 'the state file itself was not rewritten');
  assert.deepEqual(state.counts, { appends: 7, fullWrites: 1 });
  // One backend of 300: its own text, not the service's.
  const lines = fs.readFileSync(`${file}.journal`, 'utf8').split('\n');
  assert.ok(lines[1].length < 200, lines[1]);
  // A group with nothing changed writes nothing.
  await state.writeAsync(last);
  assert.equal(state.counts.appends, 7);
});

test('a reorder cannot be written as ops: the state file is written whole', async () => {
  const s0 = initial();
  assert.equal(journalOps(s0, [s0[1], s0[0], s0[2]]), undefined);
  const tun = { ...s0[2], backends: [s0[2].backends[1], s0[2].backends[0], ...s0[2].backends.slice(2)] };
  assert.deepEqual(journalOps(s0, [s0[0], s0[1], tun]), [['s', tun]]);
  const file = fresh('reorder');
  const state = new StateFile(file);
  await state.writeAsync(s0);
  await state.writeAsync([s0[1], s0[0], s0[2]]);
  assert.deepEqual(state.counts, { appends: 0, fullWrites: 2 });
  assert.deepEqual(new StateFile(file).read()!.map((s) => (s as ServiceConfig).name), ['web6', 'web', 'tun']);
});

test('a torn last group (a crash mid-append) is ignored; the groups before it are kept', async () => {
  const file = fresh('torn');
  const state = new StateFile(file);
  const s0 = initial();
  await state.writeAsync(s0);
  const [s1, s2] = changes(s0);
  await state.writeAsync(s1);
  await state.writeAsync(s2);
  const journal = fs.readFileSync(`${file}.journal`, 'utf8');
  const whole = journal.length;
  const lastLine = journal.slice(0, -1).lastIndexOf('\n') + 1;
  // Cut anywhere inside the last group, its newline included: s1 stands.
  for (const cut of [lastLine + 1, lastLine + 5, whole - 2, whole - 1]) {
    fs.writeFileSync(`${file}.journal`, journal.slice(0, cut));
    assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(s1)), `cut at ${cut} of ${whole}`);
  }
  // Zeros where the group should be (a file extended, its data never written).
  fs.writeFileSync(`${file}.journal`, journal.slice(0, lastLine) + '\0'.repeat(40));
  assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(s1)));
  // A header cut mid-write: no group yet.
  fs.writeFileSync(`${file}.journal`, journal.slice(0, 10));
  assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(s0)));
  // A bad line before the last is not a crash's doing: refused, naming the journal.
  fs.writeFileSync(`${file}.journal`, journal.slice(0, lastLine) + '{"bad"\n' + journal.slice(lastLine));
  assert.throws(() => new StateFile(file).read(), (err: unknown) =>
    isSluiceError(err, 'SLUICE_STATE_READ') && err.message.includes(`${file}.journal`));
});

test('past its limit the journal is folded into the state file, in the background of the group that passed it', async () => {
  const file = fresh('compact');
  const state = new StateFile(file, { bytes: 0, groups: 3 });
  const s0 = initial();
  await state.writeAsync(s0);
  const steps = changes(s0);
  for (const step of steps.slice(0, 4)) await state.writeAsync(step);
  // The fourth group passed the limit: acknowledged from the journal, then folded.
  assert.equal(state.counts.appends, 4);
  await state.writeAsync(steps[4]);
  assert.equal(state.counts.fullWrites, 2, 'folded before the next group');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(doc.services, JSON.parse(JSON.stringify(steps[3])), 'the state file holds what the journal did');
  assert.equal(fs.readFileSync(`${file}.journal`, 'utf8').split('\n').length, 3, 'the journal started again: its header and one group');
  assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(steps[4])));
  await state.close();
});

test('an orphaned journal (its state file replaced) is ignored, and a new process writes the state whole first', async () => {
  const file = fresh('orphan');
  const state = new StateFile(file);
  const s0 = initial();
  await state.writeAsync(s0);
  const [s1] = changes(s0);
  await state.writeAsync(s1);
  const journal = fs.readFileSync(`${file}.journal`, 'utf8');
  // A crash after a whole write's rename, before the journal's removal: the journal names the old file.
  const next = new StateFile(file);
  assert.deepEqual(next.read(), JSON.parse(JSON.stringify(s1)));
  // The new process goes back to s0: its first write is whole, with a savedAt of its own.
  await next.writeAsync(s0);
  assert.equal(next.counts.fullWrites, 1);
  assert.ok(!fs.existsSync(`${file}.journal`));
  fs.writeFileSync(`${file}.journal`, journal);
  assert.deepEqual(new StateFile(file).read(), JSON.parse(JSON.stringify(s0)), 'the old journal (s1) is not replayed on it');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.notEqual(doc.savedAt, JSON.parse(journal.split('\n')[0]).base);
  // No state file, only a journal: nothing to restore.
  fs.rmSync(file);
  assert.equal(new StateFile(file).read(), undefined);
});
