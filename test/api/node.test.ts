// GET /api/v1/node and the memory budget against a real data plane on a ring
// port (2 workers, IPv6, nat pools of both families, limits.lookupTablesMb 1):
// the memory it reports is what the config says it allocates; a change over a
// limit is refused with SLUICE_LIMIT_EXCEEDED naming it and changes nothing; a
// change within it succeeds; the addon refuses an over-budget set by itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { nodeText } from '../../src/cli/commands';
import { estimateMemory, MIB, validateConfig, type ServiceConfig, type SluiceConfig } from '../../src/config';
import type { ServiceStore } from '../../src/control/store';
import type { Dataplane } from '../../src/dataplane';
import { startRingApi, type RingApi } from '../helpers/ring-api';

const MAX_SLOTS = 16777259;

const service = (name: string, vip: string, extra: object = {}) => ({
  name, vip, port: 80, backends: [
    { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
    { address: '10.99.0.12', port: 80, mac: '02:00:00:00:01:02' },
  ], ...extra,
});

let api: RingApi;
let cfg: SluiceConfig;
let dataplane: Dataplane;
let store: ServiceStore;
let app: FastifyInstance;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1,2@1', hugepages: false, memoryMb: 512 },
    ports: [{
      name: 'p0', device: 'ring', queues: 2, address: '10.99.0.2/24', address6: 'fd00:99::2/64',
      natPool: { addresses: ['10.99.0.240/30'], addresses6: ['fd00:99::1:0/126'], portRange: [20000, 29999] },
    }],
    flowTable: { entriesPerLcore: 16384 },
    dataplane: { idleSleepMaxUs: 50 },
    // Two services of the default 65,537 slots: 512 KiB, and 256 KiB kept to rebuild one.
    limits: { lookupTablesMb: 1 },
    services: [service('web', '10.99.0.100'), service('api', '10.99.0.101')],
  }, 'node');
  ({ cfg, dataplane, store, app } = api);
});

after(async () => {
  await api?.close();
});

async function call(opts: InjectOptions) {
  const res = await app.inject(opts);
  return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
}

const nodeBody = async () => {
  const res = await call({ method: 'GET', url: '/api/v1/node' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};
const node = async () => (await nodeBody()).memory;

/** What a refused change must leave as it was: the services, the data plane's generation, its tables. */
async function observable() {
  const services = (await call({ method: 'GET', url: '/api/v1/services' })).body
    .map(({ name, lookupTableSize }: ServiceConfig) => ({ name, lookupTableSize }));
  // Retired tables are freed on the poll timer's schedule: not part of a change.
  const { tables, bytes, reserveBytes } = (await node()).lookupTables;
  return { services, generation: dataplane.stats().generation, lookupTables: { tables, bytes, reserveBytes } };
}

const slotsOf = () => store.list().reduce((sum, s) => sum + s.lookupTableSize, 0);

describe('GET /api/v1/node', () => {
  test('names the node: host, pid, version, uptime, and its worker lcores, all alive', async () => {
    const n = await nodeBody();
    // No traffic yet, and an app without a NodeDrain: active, no flows on either lcore.
    const noFlows = { active: 0, natSessions: 0 };
    assert.deepEqual({ ...n, memory: undefined, uptimeSec: 0 }, { name: hostname(), pid: process.pid, version: '0.0.0-test',
      uptimeSec: 0, state: 'active', flows: { ...noFlows, lcores: [{ lcore: 1, ...noFlows }, { lcore: 2, ...noFlows }] },
      lcores: { total: 2, alive: 2, stuck: [] }, memory: undefined });
    assert.ok(n.uptimeSec > 0 && n.uptimeSec <= process.uptime() + 0.1, `${n.uptimeSec} s`);
  });

  test('reports each kind of memory as the config sizes it and the counters report it', async () => {
    const m = await node();
    assert.deepEqual(m.lookupTables, { tables: 2, bytes: 4 * slotsOf(), reserveBytes: 4 * 65537,
      retiredBytes: m.lookupTables.retiredBytes, limitBytes: MIB });
    assert.equal(m.lookupTables.bytes, 2 * 262148);

    const e = estimateMemory(cfg);
    assert.deepEqual(m.flowTables.lcores, e.lcores.map((l) => ({ lcore: l.lcore, ipv4Bytes: l.flowTableBytes,
      ipv6Bytes: l.flowTable6Bytes, fragmentBytes: l.fragmentTableBytes })));
    assert.ok(m.flowTables.lcores.every((l: { fragmentBytes: number }) => l.fragmentBytes > 0), 'fragments are on by default');
    assert.deepEqual(m.natSessions.lcores, e.lcores.map((l) => ({ lcore: l.lcore, ipv4Bytes: l.natSessionBytes, ipv6Bytes: l.natSession6Bytes })));
    assert.deepEqual([m.flowTables.bytes, m.natSessions.bytes], [e.flowTablesBytes, e.natSessionsBytes]);
    assert.deepEqual([m.flowTables.limitBytes, m.natSessions.limitBytes], [4096 * MIB, 5120 * MIB]);
    assert.ok(m.flowTables.lcores.every((l: { ipv6Bytes: number }) => l.ipv6Bytes > 0), 'a port has address6');
    assert.ok(m.natSessions.lcores.every((l: { ipv4Bytes: number; ipv6Bytes: number }) => l.ipv4Bytes > 0 && l.ipv6Bytes > 0));

    const stats = dataplane.stats();
    assert.deepEqual(m.flowTables.lcores.map((l: { ipv4Bytes: number }) => l.ipv4Bytes), stats.lcores.map((l) => l.flows.memoryBytes),
      'the IPv4 tables are the lcore stats\' flows.memoryBytes');
    assert.deepEqual(m.mbufPools.pools.map((p: { name: string; mbufs: number }) => [p.name, p.mbufs]),
      stats.mempools.map((p) => [p.name, p.size]));
    for (const p of m.mbufPools.pools) assert.ok(p.bytes >= p.mbufs * 2048, `${p.name}: ${p.bytes} bytes for ${p.mbufs} mbufs`);
    assert.equal(m.mbufPools.bytes, m.mbufPools.pools.reduce((a: number, p: { bytes: number }) => a + p.bytes, 0));

    const rss = process.memoryUsage.rss();
    assert.ok(m.residentBytes > 0 && Math.abs(m.residentBytes - rss) < rss / 10, `${m.residentBytes} vs ${rss}`);
    assert.equal(m.hugepagesBytes, 0, 'eal.hugepages: false');
  });

  test('is in the OpenAPI document with its response schema', async () => {
    const doc = (await call({ method: 'GET', url: '/openapi.json' })).body;
    const get = doc.paths['/api/v1/node']?.get;
    assert.ok(get, 'GET /api/v1/node is documented');
    assert.equal(get.responses['200'].content['application/json'].schema.title, 'Node');
    assert.match(get.responses['409'].description, /SLUICE_LIMIT_EXCEEDED/);
  });

  test('sluice node prints each kind against its limit, then each lcore', async () => {
    const text = nodeText(await nodeBody());
    assert.match(text, new RegExp(`^${hostname()}: pid ${process.pid}, Sluice 0\\.0\\.0-test, up \\d+ s; worker lcores 2 of 2 alive$`, 'm'));
    assert.match(text, /^active: VIPs announced as bgp\.announce says; 0 flows \(lcore 1: 0, lcore 2: 0\)$/m);
    assert.match(text, /^lookup tables \(2\) +0\.5 MiB +1\.0 MiB +75\.0% with 0\.3 MiB kept to rebuild the largest$/m);
    assert.match(text, /^flow tables +\d+\.\d MiB +4096\.0 MiB/m);
    assert.match(text, /^LCORE +FLOWS +FLOWS IPV6 +NAT +NAT IPV6\n1 .*\n2 /m);
  });
});

describe('the lookup tables\' budget through the API', () => {
  const expectRefused = async (opts: InjectOptions, need: RegExp) => {
    const before = await observable();
    const res = await call(opts);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'SLUICE_LIMIT_EXCEEDED');
    assert.match(res.body.message, /^limits\.lookupTablesMb: the lookup tables \(4 bytes a slot: /);
    assert.match(res.body.message, need);
    assert.deepEqual(res.body.details.map((d: { path: string }) => d.path), ['limits.lookupTablesMb']);
    assert.deepEqual(await observable(), before, 'nothing changed: services, generation, tables');
  };

  test('POST of a 16,777,259-slot service is refused with 409 naming the limit, and nothing changes', async () => {
    await expectRefused({ method: 'POST', url: '/api/v1/services', payload: service('huge', '10.99.0.102', { lookupTableSize: MAX_SLOTS }) },
      /"huge" of 16777259 slots, during a change\) need 128\.51 MiB, more than the limit of 1 MiB$/);
  });

  test('PUT growing a service to 16,777,259 slots is refused the same way', async () => {
    await expectRefused({ method: 'PUT', url: '/api/v1/services/web', payload: service('web', '10.99.0.100', { lookupTableSize: MAX_SLOTS }) },
      /"web" of 16777259 slots, during a change\) need 128\.26 MiB, more than the limit of 1 MiB$/);
  });

  test('the budget is exact: a third 65,537-slot service is 16 bytes too many; 251 slots fit, and a change within it succeeds', async () => {
    await expectRefused({ method: 'POST', url: '/api/v1/services', payload: service('third', '10.99.0.103') },
      /need 1\.01 MiB, more than the limit of 1 MiB$/);
    const before = await node();
    const created = await call({ method: 'POST', url: '/api/v1/services', payload: service('small', '10.99.0.103', { lookupTableSize: 251 }) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const m = await node();
    assert.equal(m.lookupTables.tables, 3);
    assert.equal(m.lookupTables.bytes, before.lookupTables.bytes + 4 * 251);
    assert.equal(m.lookupTables.bytes, 4 * slotsOf());
    assert.equal((await call({ method: 'DELETE', url: '/api/v1/services/small' })).status, 204);
    assert.equal((await node()).lookupTables.bytes, 4 * slotsOf());
  });

  test('back-to-back changes within the budget all succeed, the tables alive never past the limit', async () => {
    // Each change rebuilds web's table; the one it replaces lives until the
    // workers let go of it. Retired tables pile up faster than the 100 ms poll
    // frees them, so the addon must wait for them to fit the next one.
    for (let i = 0; i < 30; i++) {
      const res = await call({ method: 'PATCH', url: '/api/v1/services/web/backends/10.99.0.11:80',
        payload: { weight: i % 2 === 0 ? 50 : 100 } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const live = dataplane.memory().lookupTables.liveBytes;
      assert.ok(live <= MIB, `${live} bytes of tables alive after change ${i}`);
    }
  });

  test('the addon itself refuses a set whose tables would go past the limit it was given, before building them', () => {
    const before = { generation: dataplane.stats().generation, memory: dataplane.memory().lookupTables };
    const huge = validateConfig({ ...cfg, limits: { lookupTablesMb: 1024 },
      services: [...store.list(), service('huge', '10.99.0.102', { lookupTableSize: MAX_SLOTS })] }).services;
    assert.throws(() => dataplane.applyServices(huge), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SLUICE_LIMIT_EXCEEDED');
      assert.match(err.message, /^services\[2\]\.lookupTableSize: a table of 16777259 slots \(67109036 bytes\) would take the lookup tables alive to \d+ bytes, beyond their limit of 1048576 bytes \(limits\.lookupTablesMb\)$/);
      return true;
    });
    assert.equal(dataplane.stats().generation, before.generation, 'nothing was published');
    const after = dataplane.memory().lookupTables;
    assert.deepEqual([after.tables, after.bytes], [before.memory.tables, before.memory.bytes], 'nothing was published');
    assert.ok(after.liveBytes <= before.memory.liveBytes, 'nothing was built (retired tables may have been freed for room)');
    dataplane.applyServices(store.list());  // the ids back to the store's set
  });
});
