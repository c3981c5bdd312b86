// A stuck worker lcore, made with the addon's test hook (stallLcore): within
// about a second /readyz answers 503 naming it, GET /api/v1/node counts it out
// of the alive ones and /metrics sets sluice_lcore_stuck; once it runs again
// all is as before. The other lcore forwards throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { LcoreLiveness, STUCK_AFTER_MS } from '../../src/control/liveness';
import { addon } from '../../src/native/addon';
import { startRingApi, type RingApi } from '../helpers/ring-api';

let api: RingApi;
let app: FastifyInstance;
let liveness: LcoreLiveness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1,2@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', queues: 2, address: '10.99.0.2/24' }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [],
  }, 'liveness', { liveness: (dataplane) => (liveness = new LcoreLiveness({ lcores: () => dataplane.lcores() }, 50)) });
  app = api.app;
  liveness.start();
});

after(async () => {
  liveness?.stop();
  await api?.close();
});

const get = async (url: string) => {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: url === '/metrics' ? res.body : res.json() };
};

test('a stuck lcore: /readyz 503 naming it within about a second, /node and /metrics say so; then it recovers', async () => {
  await sleep(200);
  assert.equal((await get('/readyz')).status, 200);
  addon().stallLcore(2, 3000);
  const stalled = performance.now();
  let ready = await get('/readyz');
  while (ready.status === 200 && performance.now() - stalled < 2500) {
    await sleep(20);
    ready = await get('/readyz');
  }
  const detectedMs = performance.now() - stalled;
  assert.equal(ready.status, 503, JSON.stringify(ready.body));
  assert.deepEqual(ready.body.lcoresStuck, [2]);
  assert.match(ready.body.reason, /^stuck worker lcore 2 \(1\.\d s\): its loop stopped moving$/);
  assert.ok(detectedMs > STUCK_AFTER_MS && detectedMs < STUCK_AFTER_MS + 500, `detected after ${detectedMs.toFixed(0)} ms`);
  console.log(`# stuck lcore detected after ${detectedMs.toFixed(0)} ms`);

  const node = (await get('/api/v1/node')).body;
  assert.equal(node.lcores.total, 2);
  assert.equal(node.lcores.alive, 1);
  assert.deepEqual(node.lcores.stuck.map((s: { lcore: number }) => s.lcore), [2]);
  const metrics = (await get('/metrics')).body as string;
  assert.match(metrics, /^sluice_lcore_stuck\{lcore="2"\} 1$/m);
  assert.match(metrics, /^sluice_lcore_stuck\{lcore="1"\} 0$/m);

  // The stall ends 3 s after it began; the next looks see the loop move.
  const deadline = stalled + 6000;
  while ((await get('/readyz')).status !== 200 && performance.now() < deadline) await sleep(50);
  assert.equal((await get('/readyz')).status, 200);
  assert.equal((await get('/api/v1/node')).body.lcores.alive, 2);
});

test('the hook refuses what is not a worker lcore or a sane duration, coded', () => {
  assert.throws(() => addon().stallLcore(0, 10), { code: 'SLUICE_INVALID_ARGUMENT', message: /lcore 0 is not a worker lcore/ });
  assert.throws(() => addon().stallLcore(1, 0), { code: 'SLUICE_INVALID_ARGUMENT' });
  assert.throws(() => addon().stallLcore(1, 10001), { code: 'SLUICE_INVALID_ARGUMENT' });
});
