// QUIC-LB through the worker lcores (a ring port, the real addon): a UDP
// service's datagrams go to the backend their destination connection ID names,
// whatever the client's address and port, for each of the draft's algorithms
// (connection IDs from its test vectors); an Initial's client-chosen ID, an
// unknown server ID and a disabled backend's ID are balanced as flows. In nat,
// a new session starts on the backend the connection ID names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as pk from '../helpers/packets';
import { formatMac, udpFrame } from '../helpers/packets';
import { backend6 } from '../fixtures/ipv6';
import { backend, backendMac, CLIENT_MAC, RingDataplane, service } from '../helpers/ring-dataplane';
import type { NativeBackend, NativeService } from '../../src/native/types';

const VECTOR_KEY = '8f95f09245765f80256934e50c66207f';
/** draft-ietf-quic-load-balancers-21's vectors: server ID and connection ID (tools/testbed/quic_lb.py checks them too). */
const VECTORS = {
  plaintext: { configId: 1, serverIdLength: 5, nonceLength: 5, algorithm: 'plaintext' as const, serverId: '350d28b420', cid: '2a350d28b42003487d970b' },
  singlePass: { configId: 2, serverIdLength: 8, nonceLength: 8, algorithm: 'single-pass' as const, key: VECTOR_KEY, serverId: 'ed793a51d49b8f5f', cid: '504dd2d05a7b0de9b2b9907afb5ecf8cc3' },
  fourPass: { configId: 1, serverIdLength: 10, nonceLength: 5, algorithm: 'four-pass' as const, key: VECTOR_KEY, serverId: 'ed793a51d49b8f5fab65', cid: '2fcc381bc74cb4fbad2823a3d1f8fed2' },
};

let dp: RingDataplane;
const VIP = { plaintext: '10.99.0.100', singlePass: '10.99.0.101', fourPass: '10.99.0.102' };
const VIP6 = 'fd00:99::100';

/** Three backends; the vector's server ID is backends[1]'s, the others have IDs of their own. */
function quicService(id: number, kind: keyof typeof VECTORS, first: number, extra: Partial<NativeBackend>[] = []): NativeService {
  const { serverId, cid: _cid, ...quicLb } = VECTORS[kind];
  const other = (k: number) => (k.toString(16).padStart(2, '0')).repeat(quicLb.serverIdLength);
  const ids = [other(0xa0 + first), serverId, other(0xb0 + first)];
  return service([0, 1, 2].map((k) => backend(first + k, { port: 443, serverId: ids[k], ...extra[k] })),
    { id, name: kind, vip: VIP[kind], port: 443, protocol: 'udp', quicLb });
}

/** The four-pass vector on an IPv6 VIP, its backends 9, 10, 11. */
function quicService6(): NativeService {
  const s = quicService(3, 'fourPass', 9);
  return { ...s, name: 'fourPass6', vip: VIP6, backends: s.backends.map((b, k) => backend6(9 + k, { port: 443, serverId: b.serverId })) };
}

/** nat with the plaintext configuration: backends 12, 13, 14 on port 4433, server IDs 0a…, 0b…, 0c…. */
const NAT_VIP = '10.99.0.103';
const NAT_POOL = '10.99.0.200';
const NAT_SERVER_IDS = ['0a0a0a0a0a', '0b0b0b0b0b', '0c0c0c0c0c'];
const natCid = (k: number) => `2a${NAT_SERVER_IDS[k]}03487d970b`;
function quicNatService(): NativeService {
  const { serverId: _s, cid: _c, ...quicLb } = VECTORS.plaintext;
  return service([0, 1, 2].map((k) => backend(12 + k, { port: 4433, serverId: NAT_SERVER_IDS[k] })),
    { id: 4, name: 'plaintextNat', vip: NAT_VIP, port: 443, protocol: 'udp', forwarding: 'nat', quicLb });
}

const services = (extra: Partial<NativeBackend>[] = []) => [quicService(0, 'plaintext', 0, extra),
  quicService(1, 'singlePass', 3), quicService(2, 'fourPass', 6), quicService6(), quicNatService()];

before(() => {
  dp = new RingDataplane({ address6: 'fd00:99::2', natPool: { addresses: [NAT_POOL], portMin: 20000, portMax: 29999 } });
  dp.native.setServices(services());
});
after(() => dp?.stop());

/** A 1-RTT (short header) datagram to `cid`, or an Initial (long header) when `initial`. */
function quicFrame(vip: string, cid: string, src: string, sport: number, initial = false): Buffer {
  const id = Buffer.from(cid, 'hex');
  const header = initial
    ? Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, id.length]), id, Buffer.from([0])])
    : Buffer.concat([Buffer.from([0x40]), id]);
  return udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src, dst: vip, sport, dport: 443,
    payload: Buffer.concat([header, Buffer.alloc(40, 0x5a)]) });
}

const counts = () => {
  const l = dp.native.stats().lcores;
  return { routed: l.reduce((a, x) => a + x.quicLbRouted, 0), unrouted: l.reduce((a, x) => a + x.quicLbUnrouted, 0) };
};
const macs = (out: Buffer[]) => out.map((f) => formatMac(f.subarray(0, 6)));

test('every algorithm: a connection ID reaches the backend it names from any client address and port', async () => {
  for (const [kind, first] of [['plaintext', 0], ['singlePass', 3], ['fourPass', 6]] as const) {
    const before = counts();
    // One connection, its client moving: 16 addresses and ports.
    const frames = Array.from({ length: 16 }, (_, i) =>
      quicFrame(VIP[kind], VECTORS[kind].cid, `172.16.${i}.${10 + i}`, 40000 + 97 * i));
    const out = await dp.exchange(frames);
    assert.deepEqual(macs(out), Array(16).fill(backendMac(first + 1)), `${kind}: all to the backend of server ID ${VECTORS[kind].serverId}`);
    assert.equal(counts().routed - before.routed, 16);
  }
});

test('IPv6, extension headers before UDP or not: the connection ID reaches its backend from any client address and port', async () => {
  const before = counts();
  const frames = Array.from({ length: 16 }, (_, i) => {
    const src = `2001:db8:c::${(i + 1).toString(16)}`;
    const payload = Buffer.concat([Buffer.from([0x40]), Buffer.from(VECTORS.fourPass.cid, 'hex'), Buffer.alloc(40, 0x5a)]);
    const udp = pk.udp({ sport: 40000 + 97 * i, dport: 443, payload }, { src, dst: VIP6 });
    const extHeaders: pk.Ipv6ExtHeader[] = i % 2 === 0 ? [] : [{ type: 0 }, { type: 60 }];
    return pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: 0x86dd }, pk.ipv6({ src, dst: VIP6, nextHeader: 17, extHeaders }, udp));
  });
  const out = await dp.exchange(frames);
  assert.deepEqual(macs(out), Array(16).fill(backendMac(10)), 'all to the backend of the four-pass vector\'s server ID');
  assert.equal(counts().routed - before.routed, 16);
});

test("without a connection ID it can route (an Initial's client-chosen ID, an unknown server ID), a datagram is a flow", async () => {
  const before = counts();
  // Config bits 0b111: a client-chosen Initial ID the servers never issued.
  const initial = await dp.exchange(Array.from({ length: 4 }, () => quicFrame(VIP.plaintext, 'e0112233445566778899', '172.16.50.1', 50000, true)));
  assert.equal(new Set(macs(initial)).size, 1, 'the same 5-tuple, the same backend');
  const unknown = await dp.exchange(Array.from({ length: 4 }, () => quicFrame(VIP.plaintext, '2affffffffff03487d970b', '172.16.50.2', 50001)));
  assert.equal(new Set(macs(unknown)).size, 1);
  assert.equal(counts().unrouted - before.unrouted, 8);
  assert.equal(counts().routed - before.routed, 0);
  // The same unknown ID from many 5-tuples spreads over the backends: it is balanced, not routed.
  const spread = await dp.exchange(Array.from({ length: 64 }, (_, i) => quicFrame(VIP.plaintext, '2affffffffff03487d970b', `172.17.${i}.1`, 30000 + i)));
  assert.ok(new Set(macs(spread)).size > 1, 'spread by 5-tuple');
});

test('a drained backend keeps its connections; a disabled one loses them to the flow table', async () => {
  dp.native.setServices(services([{}, { state: 'drain' }]));
  const drained = await dp.exchange([quicFrame(VIP.plaintext, VECTORS.plaintext.cid, '172.16.60.1', 60000)]);
  assert.deepEqual(macs(drained), [backendMac(1)]);
  dp.native.setServices(services([{}, { state: 'disabled' }]));
  const before = counts();
  const disabled = await dp.exchange(Array.from({ length: 32 }, (_, i) => quicFrame(VIP.plaintext, VECTORS.plaintext.cid, `172.18.${i}.1`, 30000 + i)));
  assert.equal(disabled.length, 32);
  assert.ok(!macs(disabled).includes(backendMac(1)), 'never to the disabled backend');
  assert.equal(counts().unrouted - before.unrouted, 32);
  dp.native.setServices(services());
});

test('nat: a new session starts on the backend the connection ID names, so a client that moves keeps its server', async () => {
  const before = counts();
  // One connection, its client moving: 16 addresses and ports, 16 sessions.
  const frames = Array.from({ length: 16 }, (_, i) => quicFrame(NAT_VIP, natCid(1), `172.19.${i}.${10 + i}`, 40000 + 97 * i));
  const out = (await dp.exchange(frames)).map((f) => pk.decodeFrame(f));
  assert.deepEqual(out.map((d) => d.dstMac), Array(16).fill(backendMac(13)), 'all to the backend of server ID 0b0b0b0b0b');
  for (const d of out) {
    assert.equal(d.ipv4!.src, NAT_POOL, 'from the pool');
    assert.equal(d.ipv4!.dst, '10.99.0.24');
    assert.equal(d.udp!.dport, 4433, 'to the backend\'s port');
  }
  assert.equal(new Set(out.map((d) => d.udp!.sport)).size, 16, 'a session, and a pool port, per client address and port');
  assert.equal(counts().routed - before.routed, 16);
});

test('nat: a session keeps its backend; only a new one asks the connection ID, and an unknown ID is balanced', async () => {
  // An unknown server ID opens sessions on the lookup table's picks.
  const before = counts();
  const spread = await dp.exchange(Array.from({ length: 64 }, (_, i) =>
    quicFrame(NAT_VIP, '2affffffffff03487d970b', `172.20.${i}.1`, 30000 + i)));
  assert.ok(new Set(macs(spread)).size > 1, 'spread by 5-tuple');
  assert.equal(counts().unrouted - before.unrouted, 64);
  // The first of those sessions, on backend k, sees a connection ID naming another backend: the session wins.
  const k = [12, 13, 14].findIndex((b) => backendMac(b) === macs(spread)[0]);
  const other = (k + 1) % 3;
  const again = await dp.exchange([quicFrame(NAT_VIP, natCid(other), '172.20.0.1', 30000)]);
  assert.deepEqual(macs(again), [backendMac(12 + k)]);
  assert.equal(counts().routed - before.routed, 0, 'an open session does not decode connection IDs');
  assert.equal(counts().unrouted - before.unrouted, 64);
});

test('the data plane refuses what QUIC-LB cannot route, naming the field, and keeps running what it ran', () => {
  const generation = dp.native.stats().generation;
  const refused = (s: NativeService, field: RegExp) => assert.throws(() => dp.native.setServices([s]),
    (err: unknown) => (err as { code?: string }).code === 'SLUICE_INVALID_ARGUMENT' && field.test((err as Error).message));
  const base = quicService(0, 'plaintext', 0);
  refused({ ...base, protocol: 'tcp' }, /services\[0\]\.quicLb: QUIC-LB routes UDP services only/);
  refused({ ...base, quicLb: { ...base.quicLb!, algorithm: 'single-pass', key: VECTOR_KEY } }, /services\[0\]\.quicLb: single-pass needs/);
  refused({ ...base, backends: [base.backends[0], { ...base.backends[1], serverId: base.backends[0].serverId }] },
    /services\[0\]\.backends\[1\]\.serverId: is another backend's server ID/);
  refused({ ...base, backends: [{ ...base.backends[0], serverId: 'abc' }] }, /services\[0\]\.backends\[0\]\.serverId/);
  refused({ ...service([backend(0, { port: 443, serverId: 'aa' })]), port: 443, protocol: 'udp' }, /serverId: applies only to a service with quicLb/);
  assert.equal(dp.native.stats().generation, generation);
});
