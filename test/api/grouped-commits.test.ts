// State file writes are grouped: concurrent changes share one write + fsync +
// rename, each is answered only once its group is on disk, and a group whose
// write fails is rolled back (store and data plane) with every request in it
// refused SLUICE_STATE_WRITE. Counts writes, never times anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { validateConfig, type ServiceConfig, type SluiceConfig } from '../../src/config';
import type { HealthView } from '../../src/control/health-view';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { SluiceError } from '../../src/errors';
import { servicesOnDisk, stateTextOnDisk } from '../helpers/state-on-disk';

const N = 50;
const health: HealthView = {
  backend: () => ({ status: 'unchecked', streak: 0, transitions: 0 }),
  totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
};

/** Counts group writes; fails them while `failing` is set. */
class CountingStateFile extends StateFile {
  writes = 0;
  failing = false;
  override async writeAsync(services: readonly ServiceConfig[]): Promise<void> {
    this.writes++;
    if (this.failing) {
      await new Promise((r) => setTimeout(r, 5));
      throw new SluiceError('SLUICE_STATE_WRITE', `${this.file}: disk full (test)`);
    }
    return super.writeAsync(services);
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-groups-'));
const file = path.join(dir, 'state.json');
let cfg: SluiceConfig;
let dataplane: Dataplane;
let state: CountingStateFile;
let store: ServiceStore;
let app: FastifyInstance;
const address = (i: number) => `10.99.1.${i + 1}`;

before(async () => {
  cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/16' }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [{
      name: 'web', vip: '10.99.0.100', port: 80,
      backends: Array.from({ length: N }, (_, i) => ({ address: address(i), port: 80, mac: '02:00:00:00:01:01' })),
    }],
  });
  // A temp file a Sluice killed mid-write left: gone once the store starts.
  fs.writeFileSync(path.join(dir, '.state.json.4194399999.tmp'), '{"half":');
  dataplane = new Dataplane();
  dataplane.start(cfg, `groups-${process.pid}`);
  state = new CountingStateFile(file);
  store = new ServiceStore(cfg, dataplane, state);
  store.started(store.initialServices());
  app = buildApp({ store, dataplane, health, version: 'groups', config: cfg });
  await app.ready();
});

after(async () => {
  await app?.close();
  dataplane?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const onDisk = (): ServiceConfig[] => servicesOnDisk<ServiceConfig>(file);
const weightsOnDisk = () => new Map(onDisk()[0].backends.map((b) => [b.address, b.weight]));
const patch = (i: number, weight: number) =>
  app.inject({ method: 'PATCH', url: `/api/v1/services/web/backends/${address(i)}:80`, payload: { weight } });

test('the store removed the orphaned temp file at start', () => {
  assert.deepEqual(fs.readdirSync(dir), []);
});

test(`${N} concurrent PATCHes: fewer writes than changes, every acknowledged change on disk`, async () => {
  state.writes = 0;
  const answers = await Promise.all(Array.from({ length: N }, (_, i) => patch(i, 1000 + i)));
  for (const r of answers) assert.equal(r.statusCode, 200, r.body);
  assert.ok(state.writes >= 1 && state.writes < N, `${state.writes} state file writes for ${N} changes`);
  const weights = weightsOnDisk();
  for (let i = 0; i < N; i++) assert.equal(weights.get(address(i)), 1000 + i, `backend ${address(i)}`);
  assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no temp file left');
});

test('a failed group write refuses its changes with SLUICE_STATE_WRITE and rolls them back', async () => {
  const before = stateTextOnDisk(file);
  const generation = dataplane.stats().generation;
  state.failing = true;
  let answers;
  try {
    answers = await Promise.all([
      patch(0, 7), patch(1, 7), patch(2, 7),
      app.inject({ method: 'DELETE', url: `/api/v1/services/web/backends/${address(3)}:80` }),
    ]);
  } finally {
    state.failing = false;
  }
  for (const r of answers) {
    assert.equal(r.statusCode, 500, r.body);
    assert.equal(r.json().code, 'SLUICE_STATE_WRITE');
  }
  assert.equal(stateTextOnDisk(file), before, 'the state file is unchanged');
  const shown = (await app.inject({ method: 'GET', url: '/api/v1/services/web' })).json();
  assert.deepEqual(shown.backends.map((b: { address: string; weight: number }) => [b.address, b.weight]),
    onDisk()[0].backends.map((b) => [b.address, b.weight]), 'the API shows what is on disk');
  assert.ok(dataplane.stats().generation > generation, 'the data plane was given the rolled-back services');

  // The next change goes through, on top of the rolled-back state.
  const ok = await patch(1, 8);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(weightsOnDisk().get(address(1)), 8);
  assert.equal(weightsOnDisk().get(address(0)), 1000);
  assert.equal(onDisk()[0].backends.length, N);
});
