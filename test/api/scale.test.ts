// One large service must not cost work quadratic in its backends: a POST and
// GETs of a 4,096-backend service through inject(), counting address
// normalisations (the step the views, store and metrics repeat per backend)
// rather than timing anything. A scan per backend would make them ~n²/2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
// require, not import: the spy replaces the export every module reads at call time.
import { countAddressParses, type AddressParses } from '../helpers/address-parses';
import { startRingApi, type RingApi } from '../helpers/ring-api';

const N = 4096;
let api: RingApi;
let app: FastifyInstance;
let parses: AddressParses | undefined;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', gateway: '10.99.0.1' }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [],
  }, 'scale');
  app = api.app;
  parses = countAddressParses();
});

after(async () => {
  parses?.stop();
  await api?.close();
});

const backendAddress = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

/** Address parses one request may make: a bounded number per backend. */
async function work(method: 'GET' | 'POST', url: string, payload?: object): Promise<{ status: number; n: number; body: unknown }> {
  parses!.reset();
  const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, n: parses!.count, body: res.json() };
}

test(`a ${N}-backend tunnel service is created and read with work linear in its backends`, async () => {
  const backends = Array.from({ length: N }, (_, i) => ({ address: backendAddress(i + 1), port: 80 }));
  const created = await work('POST', '/api/v1/services',
    { name: 'big', vip: '10.99.0.100', port: 80, forwarding: 'tunnel', backends });
  assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
  assert.equal((created.body as { backends: unknown[] }).backends.length, N);
  // Today's code parses each address about 20 times on a create (validation,
  // ids, data plane, views); a scan per backend would be ~8 million.
  assert.ok(created.n < 40 * N, `POST parsed addresses ${created.n} times for ${N} backends`);

  for (const url of ['/api/v1/services/big', '/api/v1/services/big/backends', '/api/v1/services',
    '/api/v1/stats', `/api/v1/services/big/backends/${backendAddress(N)}:80`]) {
    const read = await work('GET', url);
    assert.equal(read.status, 200, url);
    assert.ok(read.n < 10 * N, `GET ${url} parsed addresses ${read.n} times for ${N} backends`);
  }
  const one = await work('GET', `/api/v1/services/big/backends/${backendAddress(7)}:80`);
  assert.equal((one.body as { key: string }).key, `${backendAddress(7)}:80`);

  parses!.reset();
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, new RegExp(`backend="${backendAddress(N).replace(/\./g, '\\.')}:80"`));
  assert.ok(parses!.count < 10 * N, `GET /metrics parsed addresses ${parses!.count} times for ${N} backends`);
});
