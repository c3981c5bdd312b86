// IPv6 through the REST API and the state file, against a real data plane on an
// in-process ring port whose port has an IPv6 address: IPv6 services and
// backends are created, addressed by bracketed keys, persisted and read back,
// refused with the field named when families mix, and their next hops listed
// by GET /api/v1/neighbors; an IPv6 nat service runs from the port's IPv6 pool.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { SluiceConfig } from '../../src/config';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import type { Dataplane } from '../../src/dataplane';
import { startRingApi, type RingApi } from '../helpers/ring-api';
import { servicesOnDisk } from '../helpers/state-on-disk';

let api: RingApi;
let cfg: SluiceConfig;
let dataplane: Dataplane;
let app: FastifyInstance;
let workDir: string;
let stateFile: StateFile;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-api-ipv6-'));
  stateFile = new StateFile(join(workDir, 'services.json'));
  api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64', gateway6: 'fe80::1',
      natPool: { addresses: ['10.99.0.240'], addresses6: ['fd00:99::240'] } }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [],
  }, 'api-ipv6', { stateFile });
  ({ cfg, dataplane, app } = api);
});

after(async () => {
  await api?.close();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

async function call(opts: InjectOptions) {
  const res = await app.inject(opts);
  return { status: res.statusCode, body: res.json() };
}

describe('IPv6 services over the API', () => {
  test('an IPv6 dsr service is created, persisted and read back from the state file', async () => {
    const created = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'web6', vip: 'fd00:99::100', port: 80,
      backends: [{ address: 'fd00:99::11', port: 80, mac: '02:00:00:00:01:11' }, { address: 'fd00:99::12', port: 80 }],
    } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const got = await call({ method: 'GET', url: '/api/v1/services/web6' });
    assert.equal(got.status, 200);
    assert.equal(got.body.vip, 'fd00:99::100');

    const saved = servicesOnDisk(stateFile.file);
    assert.ok(JSON.stringify(saved).includes('fd00:99::12'), 'the state file holds the IPv6 backend');
    const reread = new ServiceStore(cfg, dataplane, stateFile).initialServices();
    const web6 = reread.find((s) => s.name === 'web6');
    assert.ok(web6, 'read back from the state file');
    assert.deepEqual(web6.backends.map((b) => b.address), ['fd00:99::11', 'fd00:99::12']);
  });

  test('backends are addressed by bracketed IPv6 keys', async () => {
    const key = encodeURIComponent('[fd00:99::12]:80');
    const patched = await call({ method: 'PATCH', url: `/api/v1/services/web6/backends/${key}`, payload: { state: 'drain' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.state, 'drain');
    const added = await call({ method: 'POST', url: '/api/v1/services/web6/backends',
      payload: { address: 'fd00:99::13', port: 80 } });
    assert.equal(added.status, 201, JSON.stringify(added.body));
  });

  test('an IPv6 tunnel service takes an IPv6 source network, and refuses an IPv4 one naming the field', async () => {
    const ok = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'ipip6', vip: 'fd00:99::101', port: 80, forwarding: 'tunnel', tunnel: { sourceNetwork: 'fd00:5c:1::/112' },
      backends: [{ address: '2001:db8::11', port: 80 }],
    } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const bad = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'ipip6b', vip: 'fd00:99::102', port: 80, forwarding: 'tunnel', tunnel: { sourceNetwork: '172.16.0.0/16' },
      backends: [],
    } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'SLUICE_CONFIG_INVALID');
    assert.deepEqual(bad.body.details.map((d: { path: string }) => d.path), ['services.ipip6b.tunnel.sourceNetwork']);
    const mixed = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'mixed', vip: 'fd00:99::103', port: 80, backends: [{ address: '10.99.0.11', port: 80 }],
    } });
    assert.equal(mixed.status, 400);
    assert.match(mixed.body.details[0].reason, /10\.99\.0\.11 is IPv4 but the VIP is IPv6/);
  });

  test('an IPv6 nat service with a backend port other than the VIP\'s runs; a pool address as its VIP is refused', async () => {
    const ok = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'nat6', vip: 'fd00:99::104', port: 80, forwarding: 'nat', backends: [{ address: 'fd00:99::21', port: 8080 }],
    } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const running = dataplane.stats().services.find((s) => s.name === 'nat6');
    assert.deepEqual(running?.backends.map((b) => [b.address, b.port]), [['fd00:99::21', 8080]]);
    const bad = await call({ method: 'POST', url: '/api/v1/services', payload: {
      name: 'nat6b', vip: 'fd00:99::240', port: 80, forwarding: 'nat', backends: [],
    } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.details.map((d: { path: string; reason: string }) => [d.path, d.reason]),
      [['services.nat6b.vip', 'fd00:99::240 is a nat pool address of ports[0]']]);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/services/nat6' })).statusCode, 204);
  });

  test('GET /api/v1/neighbors lists the IPv6 next hops to resolve', async () => {
    const res = await call({ method: 'GET', url: '/api/v1/neighbors' });
    assert.equal(res.status, 200);
    const byAddress = new Map(res.body.map((n: { address: string }) => [n.address, n]));
    for (const address of ['fd00:99::12', 'fd00:99::13', 'fe80::1']) {
      const n = byAddress.get(address) as { wanted: boolean; resolved: boolean; port: string } | undefined;
      assert.ok(n, `${address} is listed: ${JSON.stringify(res.body)}`);
      assert.equal(n.wanted, true);
      assert.equal(n.resolved, false);
      assert.equal(n.port, 'p0');
    }
    assert.equal(byAddress.get('fd00:99::11'), undefined, 'a backend with a static MAC is not resolved');
    assert.equal(byAddress.get('2001:db8::11'), undefined, 'an off-link backend is reached through gateway6');
  });
});
