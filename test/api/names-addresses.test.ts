// Names and addresses the API must refuse, against a real data plane on an
// in-process ring port: a service name a URL or the CLI cannot carry ("." and
// "..", which clients resolve away, or one like an option), and VIPs and
// backends that are not one host's unicast address (unspecified, multicast,
// broadcast, reserved, loopback, link-local, a port subnet's network or
// broadcast address), IPv4 and IPv6. Each is refused with a code and a reason
// naming the field, and changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Dataplane } from '../../src/dataplane';
import { startRingApi, type RingApi } from '../helpers/ring-api';

let api: RingApi;
let dataplane: Dataplane;
let app: FastifyInstance;

before(async () => {
  api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64' }],
    dataplane: { idleSleepMaxUs: 50 },
    services: [
      { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' }] },
      { name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80, mac: '02:00:00:00:01:02' }] },
    ],
  }, 'api-names');
  ({ dataplane, app } = api);
});

after(async () => {
  await api?.close();
});

async function call(opts: InjectOptions) {
  const res = await app.inject(opts);
  return { status: res.statusCode, body: res.json() };
}

/** What a refused request must not change: the services as the API shows them, and the data plane's generation. */
async function state() {
  const res = await call({ method: 'GET', url: '/api/v1/services' });
  assert.equal(res.status, 200);
  const services = (res.body as { stats?: unknown; backends: { stats?: unknown }[] }[])
    .map(({ stats: _s, backends, ...rest }) => ({ ...rest, backends: backends.map(({ stats: _b, ...b }) => b) }));
  return { services, generation: dataplane.stats().generation };
}

interface Refused {
  name: string;
  method: 'POST' | 'PUT';
  url: string;
  payload?: unknown;
  code: string;
  /** must appear in the message: the field and the reason */
  says: string;
}

const svc = (extra: Record<string, unknown>) => ({ name: 'new', vip: '10.99.0.150', port: 80, ...extra });
const NAME_RULE = 'body/name must be 1 to 32 of A-Z a-z 0-9 _ . -, starting with a letter or digit';

const refused: Refused[] = [
  // names
  { name: 'a service named "."', method: 'POST', url: '/api/v1/services', payload: svc({ name: '.' }), code: 'SLUICE_BAD_REQUEST', says: NAME_RULE },
  { name: 'a service named ".."', method: 'POST', url: '/api/v1/services', payload: svc({ name: '..' }), code: 'SLUICE_BAD_REQUEST', says: NAME_RULE },
  { name: 'a service named like an option', method: 'POST', url: '/api/v1/services', payload: svc({ name: '-rf' }), code: 'SLUICE_BAD_REQUEST', says: NAME_RULE },
  { name: 'a service name starting with "_"', method: 'POST', url: '/api/v1/services', payload: svc({ name: '_web' }), code: 'SLUICE_BAD_REQUEST', says: NAME_RULE },
  // IPv4 VIPs
  { name: 'VIP 0.0.0.0', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '0.0.0.0' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 0.0.0.0 is the unspecified address' },
  { name: 'VIP in 0.0.0.0/8', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '0.0.0.1' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 0.0.0.1 is in 0.0.0.0/8' },
  { name: 'multicast VIP 224.0.0.1', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '224.0.0.1' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 224.0.0.1 is a multicast address (224.0.0.0/4)' },
  { name: 'multicast VIP 239.255.255.250', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '239.255.255.250' }), code: 'SLUICE_CONFIG_INVALID', says: 'is a multicast address' },
  { name: 'VIP 255.255.255.255', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '255.255.255.255' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 255.255.255.255 is the broadcast address' },
  { name: 'VIP in 240.0.0.0/4', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '250.1.2.3' }), code: 'SLUICE_CONFIG_INVALID', says: 'is a reserved address (240.0.0.0/4)' },
  { name: 'loopback VIP', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '127.0.0.1' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 127.0.0.1 is a loopback address' },
  { name: 'link-local VIP', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '169.254.169.254' }), code: 'SLUICE_CONFIG_INVALID', says: 'is a link-local address (169.254.0.0/16)' },
  { name: 'VIP on the port subnet\'s broadcast address', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '10.99.0.255' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: 10.99.0.255 is the broadcast address of the subnet 10.99.0.0/24' },
  { name: 'VIP on the port subnet\'s network address', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '10.99.0.0' }), code: 'SLUICE_CONFIG_INVALID', says: 'is the network address of the subnet 10.99.0.0/24' },
  { name: 'PUT moves a VIP to a multicast address', method: 'PUT', url: '/api/v1/services/web', payload: { vip: '230.1.1.1', port: 80 }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web.vip: 230.1.1.1 is a multicast address' },
  // IPv6 VIPs
  { name: 'VIP ::', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '::' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: :: is the unspecified address' },
  { name: 'multicast VIP ff02::1', method: 'POST', url: '/api/v1/services', payload: svc({ vip: 'ff02::1' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: ff02::1 is a multicast address (ff00::/8)' },
  { name: 'VIP ::1', method: 'POST', url: '/api/v1/services', payload: svc({ vip: '::1' }), code: 'SLUICE_CONFIG_INVALID', says: 'services.new.vip: ::1 is the loopback address' },
  { name: 'link-local VIP fe80::1', method: 'POST', url: '/api/v1/services', payload: svc({ vip: 'fe80::1' }), code: 'SLUICE_CONFIG_INVALID', says: 'is a link-local address (fe80::/10)' },
  { name: 'VIP on the prefix\'s subnet-router anycast address', method: 'POST', url: '/api/v1/services', payload: svc({ vip: 'fd00:99::' }), code: 'SLUICE_CONFIG_INVALID', says: 'is the network address of the subnet fd00:99::/64' },
  // backends
  { name: 'a backend on its port subnet\'s broadcast address', method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '10.99.0.255', port: 80 }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web.backends[1].address: 10.99.0.255 is the broadcast address of the subnet 10.99.0.0/24' },
  { name: 'a backend on its port subnet\'s network address', method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '10.99.0.0', port: 80 }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web.backends[1].address: 10.99.0.0 is the network address of the subnet 10.99.0.0/24' },
  { name: 'a multicast backend', method: 'POST', url: '/api/v1/services/web/backends', payload: { address: '224.0.0.9', port: 80 }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web.backends[1].address: 224.0.0.9 is a multicast address' },
  { name: 'an IPv6 backend on its prefix\'s subnet-router anycast address', method: 'POST', url: '/api/v1/services/web6/backends', payload: { address: 'fd00:99::', port: 80 }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web6.backends[1].address: fd00:99:: is the network address of the subnet fd00:99::/64' },
  { name: 'PUT with a backend on the broadcast address', method: 'PUT', url: '/api/v1/services/web', payload: { vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.255', port: 80 }] }, code: 'SLUICE_CONFIG_INVALID', says: 'services.web.backends[0].address: 10.99.0.255 is the broadcast address' },
];

describe('refused with a code naming the field; nothing changes', () => {
  for (const c of refused) {
    test(`${c.name} -> 400 ${c.code}`, async () => {
      const before = await state();
      const res = await call({ method: c.method, url: c.url, payload: c.payload as InjectOptions['payload'] });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, c.code);
      assert.ok(String(res.body.message).includes(c.says), `"${res.body.message}" says "${c.says}"`);
      assert.deepEqual(await state(), before, 'nothing changed');
    });
  }
});

describe('what stays allowed', () => {
  test('a name with dots, dashes and underscores after its first character; a unicast VIP next to the broadcast address', async () => {
    const created = await call({ method: 'POST', url: '/api/v1/services', payload: svc({ name: 'a.b-c_1', vip: '10.99.0.254',
      backends: [{ address: '10.99.0.1', port: 80, mac: '02:00:00:00:01:03' }] }) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call({ method: 'GET', url: '/api/v1/services/a.b-c_1' })).status, 200);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/services/a.b-c_1' })).statusCode, 204);
  });
});
