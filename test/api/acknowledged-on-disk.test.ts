// A change is acknowledged only once the group that holds it is on disk, also
// when a health verdict gave the data plane the changes waiting (setHealth)
// before their step: the group then written must not take the changes made
// during its write. The data plane is a stand-in (test/helpers/fake-addon.ts);
// the state file's writes wait for the test to end them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServiceConfig } from '../../src/config';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon } from '../helpers/fake-addon';
import { threeServices as cfg } from '../helpers/three-services';

/** Writes nothing: each write waits until end(). */
class GatedStateFile extends StateFile {
  readonly written: (readonly ServiceConfig[])[] = [];
  private pending: (() => void)[] = [];

  override writeAsync(services: readonly ServiceConfig[]): Promise<void> {
    this.written.push(services);
    return new Promise((resolve) => this.pending.push(resolve));
  }

  get waiting(): number {
    return this.pending.length;
  }

  end(): void {
    this.pending.shift()!();
  }
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a change made while a group is written after a health verdict waits for its own group', async () => {
  const dataplane = new Dataplane(fakeAddon());
  dataplane.start(cfg);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-acked-'));
  try {
    const state = new GatedStateFile(path.join(dir, 'state.json'));
    const store = new ServiceStore(cfg, dataplane, state);
    store.started(cfg.services);

    store.updateBackend('web', '10.99.0.10:80', { weight: 5 });
    const first = store.persisted();
    // In the same turn: the verdict applies the change before its step does.
    store.setHealth('api', '10.99.0.12:80', false);
    await turns(3);
    assert.equal(state.waiting, 1, "the first change's group is being written");

    store.updateBackend('dns', '10.99.0.14:80', { weight: 7 });
    let second = 'waiting';
    store.persisted().then(() => { second = 'acknowledged'; }, () => { second = 'refused'; });
    state.end();
    await first;
    await turns(5);
    assert.equal(state.written.length, 2, 'the second change has a write of its own');
    assert.equal(second, 'waiting', 'not acknowledged before its write ends');
    assert.equal(state.written[1].find((s) => s.name === 'dns')!.backends[0].weight, 7);
    state.end();
    await turns(3);
    assert.equal(second, 'acknowledged');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
