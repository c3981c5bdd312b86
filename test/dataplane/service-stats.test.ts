// The services' and backends' counters as the control plane reads them
// (Dataplane.stats(), serviceStats(), backendStats()): the addon packs them into
// arrays and src/native/service-stats.ts makes the objects again. Every number
// of every service and backend is checked against what the test sent and what
// came out, with every counter different from its neighbours', so one read from
// another counter's, backend's or service's place shows; and the objects' fields
// in the order they always had. Against the real addon on a ring port: IPv4 and
// IPv6 backends, backends on another port, a service with none between others,
// and flows closed by RST so that new and active flows differ.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dataplane } from '../../src/dataplane';
import type { BackendStats, ServiceStats } from '../../src/native/addon';
import { BACKEND_COUNTERS, SERVICE_COUNTERS } from '../../src/native/counters';
import type { NativeBackend, NativeService } from '../../src/native/types';
import * as pk from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service } from '../helpers/ring-dataplane';

const PORT6 = 'fd00:99::2';

function backend6(i: number): NativeBackend {
  return backend(i, { address: `fd00:99::${(0x11 + i).toString(16)}` });
}

// Ids with gaps, so an id read from a service's place rather than its own shows.
const services: NativeService[] = [
  service([backend(0), backend(1), backend(2)], { id: 0, name: 'web' }),
  service([], { id: 3, name: 'empty', vip: '10.99.0.101', protocol: 'udp' }),
  service([backend6(3), backend6(4)], { id: 5, name: 'web6', vip: 'fd00:99::100', protocol: 'udp' }),
  service([backend(5, { port: 53 })], { id: 6, name: 'dns', vip: '10.99.0.102', port: 53, protocol: 'udp' }),
];
/** flows sent to each service with backends */
const FLOWS: Record<string, number> = { web: 61, web6: 37, dns: 11 };

let dp: RingDataplane;
let dataplane: Dataplane;
let expected: ServiceStats[];

before(async () => {
  dp = new RingDataplane({ address6: PORT6, tcpClosingTimeoutSec: 1 });
  dp.native.setServices(services);
  dataplane = new Dataplane(dp.native);
  const sent = new Map<string, Buffer[]>();
  for (const [k, s] of services.entries()) {
    if (s.backends.length === 0) continue;
    const clientNet = s.vip.includes(':') ? 'fd00:77::/64' : '172.16.0.0/12';
    const flows = pk.randomFlows(FLOWS[s.name], 100 + k, { vip: s.vip, vport: s.port, proto: s.protocol, clientNet });
    // Each flow 1 to 3 packets of its own size: no two counters of a service or backend alike.
    sent.set(s.name, flows.flatMap((f, i) => Array.from({ length: 1 + (i % 3) }, (_, n) => {
      const o = { srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst: s.vip, sport: f.sport, dport: s.port,
        payload: Buffer.alloc(1 + ((i * 7 + n) % 50), 0x61) };
      if (s.protocol === 'udp') return pk.udpFrame(o);
      // Every fourth TCP flow is reset: it ends, so its backend's active flows leave it.
      return pk.tcpFrame({ ...o, flags: n === 0 ? 'S' : i % 4 === 0 ? 'R' : 'A' });
    })));
  }
  const all = [...sent.values()].flat();
  const out = await dp.exchange(all);
  assert.equal(out.length, all.length, 'every frame was forwarded');
  const closed = new Set(all.filter((f) => ((pk.decodeFrame(f).tcp?.flags ?? 0) & pk.tcpFlags('R')) !== 0).map(flowOf));
  expected = services.map((s) => expectedService(s, sent.get(s.name) ?? [], out, closed));
  const web = expected[0];
  const deadline = Date.now() + 10_000;
  while (dataplane.serviceStats('web')!.activeFlows !== web.activeFlows && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(() => dp?.stop());

const flowOf = (f: Buffer) => pk.flowKey(pk.decodeFrame(f));

/** What the counters must say: from the frames sent to the service and those that reached each backend. */
function expectedService(s: NativeService, sent: Buffer[], out: Buffer[], closed: Set<string | undefined>): ServiceStats {
  const backends = s.backends.map((b): BackendStats => {
    const reached = out.filter((f) => pk.decodeFrame(f).dstMac === b.mac);
    return { id: b.id, address: pk.normalizeIp(b.address), port: b.port, ...counts(reached, closed) };
  });
  return { id: s.id, name: s.name, ...counts(sent, closed), backends };
}

function counts(frames: Buffer[], closed: Set<string | undefined>):
  { packets: number; bytes: number; newFlows: number; activeFlows: number } {
  const flows = new Set(frames.map(flowOf));
  return { packets: frames.length, bytes: frames.reduce((a, f) => a + f.length, 0), newFlows: flows.size,
    activeFlows: [...flows].filter((f) => !closed.has(f)).length };
}

/** Equal values, and equal fields in equal order at every level. */
function assertSame(actual: unknown, wanted: unknown, what: string): void {
  assert.deepStrictEqual(actual, wanted, what);
  assert.equal(JSON.stringify(actual), JSON.stringify(wanted), `${what}: the fields' order`);
}

test('the expectations cover every counter, and the traffic reached every backend', () => {
  assert.deepEqual(SERVICE_COUNTERS.map((e) => e.name), ['packets', 'bytes', 'newFlows', 'activeFlows']);
  assert.deepEqual(BACKEND_COUNTERS.map((e) => e.name), ['packets', 'bytes', 'newFlows', 'activeFlows']);
  for (const s of expected) for (const b of s.backends) assert.ok(b.packets > 0, `${s.name} ${b.address} had traffic`);
  for (const b of expected[0].backends) {
    assert.ok(b.packets > b.newFlows && b.newFlows > b.activeFlows, `web ${b.address}: several packets a flow, some flows reset`);
  }
  assert.equal(new Set(services.flatMap((s) => s.backends.map((b) => b.mac))).size, 6, 'one MAC a backend, to tell them apart');
});

test("stats(): every service's and backend's counters, fields in their order", () => {
  const stats = dataplane.stats();
  assert.deepEqual(Object.keys(stats), ['lcores', 'ports', 'services', 'mempools', 'generation', 'retiredSnapshots']);
  assertSame(stats.services, expected, 'stats().services');
  assert.ok(stats.lcores.length > 0 && stats.ports.length === 1 && stats.mempools.length > 0, 'the rest as it was');
});

test('the objects have the fields of the addon\'s examples, after what identifies them', () => {
  const { examples } = dp.native.counters;
  const [web] = dataplane.stats().services;
  assert.deepEqual(Object.keys(web), ['id', 'name', ...Object.keys(examples.service), 'backends']);
  assert.deepEqual(Object.keys(web.backends[0]), ['id', 'address', 'port', ...Object.keys(examples.backend)]);
});

test('serviceStats(name): each service as stats() has it; none of an unknown name', () => {
  for (const s of expected) assertSame(dataplane.serviceStats(s.name), s, `serviceStats('${s.name}')`);
  assert.equal(dataplane.serviceStats('nowhere'), undefined);
});

test('serviceStats(name, address, port): the service with that backend alone, IPv6 and other ports too', () => {
  for (const s of expected) {
    for (const b of s.backends) {
      assertSame(dataplane.backendStats(s.name, b), { ...s, backends: [b] }, `backendStats('${s.name}', ${b.address})`);
    }
  }
  const [v6] = expected.filter((s) => s.name === 'web6');
  const spelled = { address: v6.backends[1].address.replace('::', ':0:0:0:0:0:').toUpperCase(), port: v6.backends[1].port };
  assertSame(dataplane.backendStats('web6', spelled), { ...v6, backends: [v6.backends[1]] }, 'an address spelled out');
  assertSame(dataplane.backendStats('web', { address: '10.99.0.250', port: 80 }), { ...expected[0], backends: [] },
    'no such backend');
  assert.throws(() => dp.native.serviceStats('web', 'nowhere', 80),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT');
});
