// Property-based fuzzing of the REST API (issue #24), in process through
// inject(): sequences of schema-aware random requests over the real routes
// (test/helpers/api-arbitraries.ts: near-valid bodies with one field mutated,
// hostile names and backend keys, bad JSON, wrong content types and tokens).
// Every answer is below 500; every 4xx is a coded JSON error whose code maps to
// its status; a read or a refusal leaves the whole state (GET /services, the
// store, what the data plane was given, its generation, the state file's bytes)
// as it was; afterwards /healthz answers and a valid create and delete work.
// The data plane is a stand-in (test/helpers/fake-addon.ts), so this is quick.
// Reproducible: SLUICE_FUZZ_SEED and SLUICE_FUZZ_RUNS replay or widen a run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { validateConfig, type ServiceConfig, type SluiceConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import type { DataplaneMemory } from '../../src/native/addon';
import { fakeAddon, type FakeAddon } from '../helpers/fake-addon';
import {
  checkResponse, describeRequest, fuzzParams, mustNotChange, requestArb, type FuzzRequest, type FuzzResponse,
} from '../helpers/api-arbitraries';
import { stateTextOnDisk } from '../helpers/state-on-disk';

const TOKEN = 'fuzz-token';
const BODY_LIMIT = 65536;
const AUTH = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let stateFile: string;
let fake: FakeAddon;
let dataplane: Dataplane;
let store: ServiceStore;
let app: FastifyInstance;
let baseline: ServiceConfig[];

/** The stand-in has no memory(); GET /api/v1/node needs one (a real data plane answers it). */
function withMemory(addon: FakeAddon): FakeAddon {
  const memory = (): DataplaneMemory => ({
    lookupTables: { tables: addon.applied.length, bytes: 0, liveBytes: 0 },
    lcores: [{ lcore: 1, flowTableBytes: 0, flowTable6Bytes: 0, fragmentTableBytes: 0, natSessionBytes: 0, natSession6Bytes: 0 }],
    mempools: [],
    limits: { lookupTableBytes: 1 << 29, flowTableBytes: 1 << 30, natSessionBytes: 1 << 30 },
  } as DataplaneMemory);
  return Object.assign(addon, { memory });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rest-fuzz-'));
  stateFile = path.join(dir, 'state.json');
  const cfg: SluiceConfig = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{
      name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64',
      natPool: { addresses: ['10.99.0.240/30'], addresses6: ['fd00:99::1:0/126'] },
    }],
    flowTable: { entriesPerLcore: 16384 },
    services: [
      {
        name: 'web', vip: '10.99.0.100', port: 80,
        backends: [
          { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
          { address: '10.99.0.12', port: 80, weight: 50, state: 'drain' },
        ],
      },
      { name: 'api', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80 }] },
    ],
    stateFile,
  });
  fake = withMemory(fakeAddon());
  dataplane = new Dataplane(fake);
  store = new ServiceStore(cfg, dataplane, new StateFile(stateFile));
  baseline = store.initialServices();
  dataplane.applyServices(baseline);
  store.started(baseline);
  app = buildApp({
    store, dataplane, health: NO_HEALTH_CHECKS, version: '0.0.0-fuzz', config: cfg, token: TOKEN, bodyLimitBytes: BODY_LIMIT,
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

/** Back to the services the run began with, in the store and the stand-in data plane. */
function reset(): void {
  dataplane.applyServices(baseline);
  store.started(baseline);
}

async function send(req: FuzzRequest): Promise<FuzzResponse> {
  const res = await app.inject({
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    ...(req.body === undefined ? {} : { payload: req.body }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

/** Everything a request could change. */
async function snapshot(): Promise<unknown> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/services', headers: AUTH });
  assert.equal(res.statusCode, 200, res.body);
  return {
    api: res.json(),
    store: JSON.parse(JSON.stringify(store.list())),
    applied: JSON.parse(JSON.stringify(fake.applied)),
    generation: fake.generation,
    setServicesCalls: fake.setServicesCalls,
    file: stateTextOnDisk(stateFile),
  };
}

test('random request sequences: no 5xx, every 4xx coded, reads and refusals change nothing', async () => {
  const { seed, numRuns } = fuzzParams(800, 24_0001);
  const seen = { total: 0, ok: 0, refused: 0, changes: 0, byStatus: new Map<number, number>() };
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fc.array(requestArb(TOKEN), { minLength: 1, maxLength: 6 }), async (reqs) => {
      reset();
      for (const req of reqs) {
        const before = await snapshot();
        const res = await send(req);
        seen.total++;
        seen.byStatus.set(res.status, (seen.byStatus.get(res.status) ?? 0) + 1);
        if (res.status < 400) seen.ok++;
        else seen.refused++;
        if (!mustNotChange(req, res.status)) seen.changes++;
        checkResponse(req, res);
        if (mustNotChange(req, res.status)) {
          assert.deepStrictEqual(await snapshot(), before,
            `state changed by ${describeRequest(req)}\n  -> ${res.status} ${res.body.slice(0, 300)}`);
        }
      }
    }),
    { seed, numRuns },
  );
  const statuses = [...seen.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`# rest-fuzz: seed ${seed}, ${numRuns} runs, ${seen.total} requests in ${Date.now() - started} ms; ` +
    `${seen.ok} accepted (${seen.changes} changes), ${seen.refused} refused; ${statuses}`);
  // A fuzzer whose every request is refused tests only the refusals.
  assert.ok(seen.ok > seen.total / 20, `too few requests accepted (${seen.ok} of ${seen.total}): the generators drifted`);
  assert.ok(seen.refused > seen.total / 5, `too few requests refused (${seen.refused} of ${seen.total})`);
  assert.ok(seen.changes > seen.total / 50, `too few changes accepted (${seen.changes} of ${seen.total})`);
});

test('after the fuzzing the API answers: /healthz 200, a valid create and delete work', async () => {
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: 'ok' });
  const body = { name: 'after-fuzz', vip: '10.99.0.120', port: 8080, backends: [{ address: '10.99.0.30', port: 8080 }] };
  const created = await app.inject({ method: 'POST', url: '/api/v1/services', headers: AUTH, payload: body });
  assert.equal(created.statusCode, 201, created.body);
  const got = await app.inject({ method: 'GET', url: '/api/v1/services/after-fuzz', headers: AUTH });
  assert.equal(got.statusCode, 200, got.body);
  const deleted = await app.inject({ method: 'DELETE', url: '/api/v1/services/after-fuzz', headers: AUTH });
  assert.equal(deleted.statusCode, 204, deleted.body);
  const gone = await app.inject({ method: 'GET', url: '/api/v1/services/after-fuzz', headers: AUTH });
  assert.equal(gone.statusCode, 404, gone.body);
});
