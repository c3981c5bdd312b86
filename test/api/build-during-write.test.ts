// While a group of changes is being written to the state file, the lookup
// tables of the changes made meanwhile are built (Dataplane.prebuild), so the
// write's end is followed at once by their apply and write. They still reach
// the data plane only after the group before them is on disk, and a write that
// fails refuses them too. The data plane is a stand-in (test/helpers/fake-addon.ts);
// the state file's writes wait for the test to let them end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServiceConfig } from '../../src/config';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { SluiceError } from '../../src/errors';
import { fakeAddon } from '../helpers/fake-addon';
import { threeServices } from '../helpers/three-services';

const cfg = threeServices;

/** Writes nothing: each write waits until end(), or fails with fail(). */
class GatedStateFile extends StateFile {
  readonly written: (readonly ServiceConfig[])[] = [];
  private pending: { resolve: () => void; reject: (err: Error) => void }[] = [];

  override writeAsync(services: readonly ServiceConfig[]): Promise<void> {
    this.written.push(services);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  end(): void {
    this.pending.shift()!.resolve();
  }

  fail(): void {
    this.pending.shift()!.reject(new SluiceError('SLUICE_STATE_WRITE', 'disk full (test)'));
  }
}

function setUp() {
  const native = fakeAddon();
  const dataplane = new Dataplane(native);
  dataplane.start(cfg);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ahead-'));
  const state = new GatedStateFile(path.join(dir, 'state.json'));
  const store = new ServiceStore(cfg, dataplane, state);
  store.started(cfg.services);
  return { native, store, state, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const settled = (p: Promise<void>) => p.then(() => 'ok', (err: unknown) => (err as { code?: string }).code);
const weightsOf = (services: readonly ServiceConfig[], name: string) =>
  services.find((s) => s.name === name)!.backends.map((b) => b.weight);

test('changes made during a write have their tables built meanwhile and are applied once it ends', async () => {
  const { native, store, state, done } = setUp();
  try {
    store.updateBackend('web', '10.99.0.10:80', { weight: 5 });
    const first = settled(store.persisted());
    await turns(3);
    assert.equal(state.waiting, 1, 'the first group is being written');
    const calls = native.setServicesCalls;

    store.updateBackend('api', '10.99.0.12:80', { weight: 6 });
    const second = settled(store.persisted());
    await turns(3);
    assert.deepEqual(native.prebuilt.map((p) => p.map((s) => s.name)), [['web'], ['api']],
      "the second change's tables were built while the first group is written");
    assert.equal(native.setServicesCalls, calls, 'but it is not applied before the group before it is on disk');
    assert.equal(state.written.length, 1);

    state.end();
    assert.equal(await first, 'ok');
    await turns(3);
    assert.equal(native.setServicesCalls, calls + 1, 'applied as soon as the write ended');
    assert.equal(native.prebuilt.length, 2, 'with the tables built meanwhile: no build after the write');
    assert.equal(state.waiting, 1, 'and its group is being written');
    assert.deepEqual(weightsOf(state.written[1], 'api'), [6, 100]);
    state.end();
    assert.equal(await second, 'ok');
  } finally {
    done();
  }
});

test('a write that fails refuses the changes built ahead after it, and what runs goes back to what is on disk', async () => {
  const { native, store, state, done } = setUp();
  try {
    store.updateBackend('web', '10.99.0.10:80', { weight: 5 });
    const first = settled(store.persisted());
    await turns(3);
    store.updateBackend('api', '10.99.0.12:80', { weight: 6 });
    const second = settled(store.persisted());
    await turns(3);
    assert.equal(native.prebuilt.length, 2, 'built ahead');

    state.fail();
    assert.equal(await first, 'SLUICE_STATE_WRITE');
    assert.equal(await second, 'SLUICE_STATE_WRITE');
    await turns(3);
    assert.equal(state.waiting, 0, 'nothing more is written');
    assert.deepEqual(weightsOf(store.list(), 'web'), [100, 100]);
    assert.deepEqual(weightsOf(store.list(), 'api'), [100, 100]);
    const running = native.applied.find((s) => s.name === 'api')!;
    assert.deepEqual(running.backends.map((b) => b.weight), [100, 100], 'the data plane runs what is on disk');

    // The next change goes through on top of it.
    store.updateBackend('dns', '10.99.0.14:80', { weight: 7 });
    const third = settled(store.persisted());
    await turns(3);
    state.end();
    assert.equal(await third, 'ok');
    assert.deepEqual(weightsOf(state.written.at(-1)!, 'dns'), [7, 100]);
    assert.deepEqual(weightsOf(state.written.at(-1)!, 'api'), [100, 100]);
  } finally {
    done();
  }
});

test('a write that fails while the next tables are still being built: those changes are refused and never applied', async () => {
  const { native, store, state, done } = setUp();
  try {
    store.updateBackend('web', '10.99.0.10:80', { weight: 5 });
    const first = settled(store.persisted());
    await turns(3);
    let open!: () => void;
    native.prebuildGate = new Promise((resolve) => { open = resolve; });
    store.updateBackend('api', '10.99.0.12:80', { weight: 6 });
    const second = settled(store.persisted());
    await turns(3);
    assert.equal(native.prebuilt.length, 2, 'the tables are being built');
    const calls = native.setServicesCalls;

    state.fail();
    assert.equal(await first, 'SLUICE_STATE_WRITE');
    assert.equal(await second, 'SLUICE_STATE_WRITE');
    native.prebuildGate = undefined;
    open();
    await turns(5);
    assert.equal(native.setServicesCalls, calls + 1, 'only the roll-back reached the data plane');
    assert.deepEqual(native.applied.find((s) => s.name === 'api')!.backends.map((b) => b.weight), [100, 100]);
    assert.equal(state.waiting, 0);
  } finally {
    done();
  }
});
