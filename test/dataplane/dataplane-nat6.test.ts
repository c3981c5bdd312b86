// Golden tests for nat forwarding over IPv6, through two real worker lcores on an
// in-process ring port: client packets to an IPv6 VIP come out to a backend port
// that differs from the VIP's, from an IPv6 pool address:port; the backend's
// replies come out as from the VIP. Both are compared field by field and byte for
// byte with frames the test builder makes from the expected fields (so the TCP
// and UDP checksums over the changed pseudo-header are checked), and decoded by
// tshark with checksum validation on. Replies injected on the other worker's
// queue are handed to the lcore owning their pool port. An IPv4 nat service on
// the same port shares the counters and keeps working beside them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeService } from '../../src/native/types';
import * as nd from '../helpers/ndp-packets';
import { assertNatAccounting, natCounters, natFrame as frame, natGolden, type NatEndpoint, type Segment } from '../helpers/nat-frames';
import * as pk from '../helpers/packets';
import { dropDelta, tsharkDecode } from '../helpers/golden';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const PORT6 = 'fd00:99::2';
const VIP6 = 'fd00:99::100';
const VIP4 = '10.99.0.100';
const POOL4 = ['10.99.0.200'];
const POOL6 = ['fd00:99::200', 'fd00:99::201'];
const CLIENT6 = '2001:db8:c::9';
const PORT_MIN = 20000;
const PORT_MAX = 29999;
const WORKERS = 2;

const tcpBackend = backend(0, { address: 'fd00:99::11', port: 8080 });
const udpBackend = backend(1, { address: 'fd00:99::12', port: 5353 });
const backend4 = backend(2, { port: 8080 });
const services: NativeService[] = [
  service([tcpBackend], { id: 0, name: 'web6', vip: VIP6, port: 80, forwarding: 'nat' }),
  service([udpBackend], { id: 1, name: 'dns6', vip: VIP6, port: 53, protocol: 'udp', forwarding: 'nat' }),
  service([backend4], { id: 2, name: 'web4', vip: VIP4, port: 80, forwarding: 'nat' }),
];

let dp: RingDataplane;
let workDir: string;
/** every frame the data plane sent in these tests, for tshark */
const captured: Buffer[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-nat6-test-'));
  dp = new RingDataplane({ workers: WORKERS, address6: PORT6, prefixLength6: 64,
    natPool: { addresses: POOL4, addresses6: POOL6, portMin: PORT_MIN, portMax: PORT_MAX } });
  dp.native.setServices(services);
});
after(() => {
  dp?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

const isSolicitation = (f: Buffer) => nd.decodeNd(f)?.type === 135;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Until every hand-off was taken by its owner and each lcore ran two more loop
 * iterations (each ends with a tx flush): dp.exchange waits on the slowest
 * lcore's count alone, which the owner may have passed before the hand-off.
 */
async function quiesce(): Promise<void> {
  while (nat().received < nat().sent) await sleep(1);
  const start = dp.native.stats().lcores.map((l) => l.iterations);
  while (dp.native.stats().lcores.some((l, i) => l.iterations < start[i] + 2)) await sleep(1);
}

/** What the data plane sent for `frames` (injected on rx queue `queue`), its ARP and NS requests left out. */
async function exchange(frames: Buffer[], queue = 0): Promise<Buffer[]> {
  const all = await dp.exchange(frames, queue);
  await quiesce();
  all.push(...dp.native.capture('p0'));
  const out = all.filter((f) => pk.decodeFrame(f).arp === undefined && !isSolicitation(f));
  captured.push(...out);
  return out;
}

const nat = () => natCounters(dp);

const client = (proto: 'tcp' | 'udp', sport: number, extra: Partial<Segment> = {}): Segment => ({
  proto, srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT6, sport, dst: VIP6, dport: proto === 'tcp' ? 80 : 53,
  ...extra,
});

const { forward: forwardFrom, reply, back, otherQueue } = natGolden({ ownMac: () => dp.mac, exchange, portMin: PORT_MIN,
  portMax: PORT_MAX, workers: WORKERS });
const forward = (seg: Segment, b: NatEndpoint, pool: readonly string[] = POOL6) => forwardFrom(seg, b, pool);

describe('nat forwarding over IPv6', () => {
  test('each lcore owns half of both pools', () => {
    const perFamily = (PORT_MAX - PORT_MIN + 1) / WORKERS;
    const lcores = dp.native.stats().lcores;
    assert.ok(lcores.every((l) => l.nat.sessionsCapacity === (POOL4.length + POOL6.length) * perFamily),
      `capacity per lcore: ${lcores.map((l) => l.nat.sessionsCapacity)}`);
  });

  test('TCP: forward to [backend]:8080 from the pool, reply back from [VIP]:80, on either lcore', async () => {
    const before = nat();
    const syn = client('tcp', 33000, { flags: 'S', seq: 1000, ack: 0, payload: Buffer.alloc(0) });
    const pool = await forward(syn, tcpBackend);
    assert.equal(pool.port % WORKERS, 0, 'the pool port belongs to the lcore that opened the session (queue 0)');
    await back(reply('tcp', tcpBackend, pool, { flags: 'SA', payload: Buffer.alloc(0) }), syn, 0);
    const data = client('tcp', 33000, { flags: 'PA', seq: 1001, ack: 5001 });
    assert.deepEqual(await forward(data, tcpBackend), pool, 'the flow keeps its session');
    await back(reply('tcp', tcpBackend, pool, { flags: 'PA', payload: Buffer.from('HTTP/1.1 200 OK') }), syn,
      otherQueue(pool.port));
    const now = nat();
    assert.equal(now.created - before.created, 1, 'one session');
    assert.equal(now.sent - before.sent, 1, 'one hand-off sent');
    assert.equal(now.received - before.received, 1, 'and received');
    assert.equal(now.perLcore[1].handoffsSent - before.perLcore[1].handoffsSent, 1, 'by the lcore that is not the owner');
    assert.equal(now.perLcore[0].handoffsReceived - before.perLcore[0].handoffsReceived, 1, 'to the owner');
  });

  test('TCP opened on the second lcore: its pool port is odd and replies on queue 0 are handed to it', async () => {
    const syn = client('tcp', 33001, { flags: 'S', ack: 0, payload: Buffer.alloc(0) });
    const out = await exchange([frame(syn)], 1);
    assert.equal(out.length, 1);
    const d = pk.decodeFrame(out[0]);
    const pool = { addr: d.ipv6!.src, port: d.tcp!.sport };
    assert.equal(pool.port % WORKERS, 1);
    const before = nat();
    await back(reply('tcp', tcpBackend, pool, { flags: 'SA', payload: Buffer.alloc(0) }), syn, 0);
    assert.equal(nat().perLcore[0].handoffsSent - before.perLcore[0].handoffsSent, 1);
  });

  test('UDP: [backend]:5353 from the pool and back; a UDP checksum of 0 is refused either way', async () => {
    const q = client('udp', 40001);
    const pool = await forward(q, udpBackend);
    await back(reply('udp', udpBackend, pool), q, 0);
    await back(reply('udp', udpBackend, pool), q, otherQueue(pool.port));
    const before = totals(dp.native.stats()).drops;
    const bare = [frame(client('udp', 40002, { udpChecksum: 0 })), frame(reply('udp', udpBackend, pool, { udpChecksum: 0 }))];
    assert.deepEqual(await exchange(bare), []);
    assert.deepEqual(dropDelta(dp, before), { bad_l4_header: 2 });
  });

  test('distinct client flows get distinct pool pairs from both pool addresses', async () => {
    const seen = new Set<string>();
    const addresses = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const pool = await forward(client('tcp', 50000 + i, { flags: 'S', ack: 0, payload: Buffer.alloc(0) }), tcpBackend);
      seen.add(`[${pool.addr}]:${pool.port}`);
      addresses.add(pool.addr);
    }
    assert.equal(seen.size, 40);
    assert.ok(addresses.size >= 1);
  });

  test('a neighbor solicitation for a pool address is answered; for another address it is not', async () => {
    const out = await exchange([nd.neighborSolicitFrame({ srcMac: tcpBackend.mac!, src: tcpBackend.address, target: POOL6[1] })]);
    assert.equal(out.length, 1);
    const expected = nd.neighborAdvertFrame({ srcMac: dp.mac, dstMac: tcpBackend.mac!, src: POOL6[1],
      dst: tcpBackend.address, target: POOL6[1] });
    assert.ok(out[0].equals(expected), `byte for byte:\n  got      ${out[0].toString('hex')}\n  expected ${expected.toString('hex')}`);
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([nd.neighborSolicitFrame({ srcMac: tcpBackend.mac!, src: tcpBackend.address,
      target: 'fd00:99::202' })]), []);
    assert.deepEqual(dropDelta(dp, before), { nd_ignored: 1 });
  });

  test('replies with no session, or from anyone but the session\'s backend, are dropped as nat_no_session', async () => {
    const q = client('udp', 40100);
    const pool = await forward(q, udpBackend);
    const stray = [
      frame(reply('udp', udpBackend, { addr: POOL6[0], port: PORT_MAX - 1 })),
      frame(reply('udp', udpBackend, { addr: POOL6[0], port: PORT_MAX })),
      frame(reply('udp', udpBackend, pool, { src: 'fd00:99::77' })),
      frame(reply('udp', udpBackend, pool, { sport: 5354 })),
      frame(reply('tcp', udpBackend, pool)),
      // The IPv4 pool's address with the IPv6 session's port: the families' sessions are apart.
      frame(reply('udp', { ...backend4, port: 5353 }, { addr: POOL4[0], port: pool.port })),
    ];
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange(stray), []);
    assert.deepEqual(dropDelta(dp, before), { nat_no_session: stray.length });
  });

  test('an ICMPv6 packet-too-big to the VIP quoting a nat flow is not passed on: nat backends never send as the VIP', async () => {
    const quoted = pk.ipPacketOf(frame({ proto: 'tcp', srcMac: dp.mac, dstMac: CLIENT_MAC, src: VIP6, sport: 80,
      dst: CLIENT6, dport: 33000, flags: 'A' }))!;
    const outer = { src: 'fd00:99::fe', dst: VIP6 };
    const ptb = pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: pk.ETHERTYPE_IPV6 },
      pk.ipv6({ ...outer, nextHeader: pk.IPPROTO_ICMPV6, hopLimit: 64 }, pk.icmpv6Error(2, 0, 1280, quoted, outer)));
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([ptb]), []);
    assert.deepEqual(dropDelta(dp, before), { icmp_ignored: 1 });
  });

  test('IPv4 nat beside it: from the IPv4 pool and back', async () => {
    const syn: Segment = { proto: 'tcp', srcMac: CLIENT_MAC, dstMac: dp.mac, src: '192.168.7.9', sport: 33000, dst: VIP4,
      dport: 80, flags: 'S', ack: 0, payload: Buffer.alloc(0) };
    const pool = await forward(syn, backend4, POOL4);
    await back(reply('tcp', backend4, pool, { flags: 'SA', payload: Buffer.alloc(0) }), syn, otherQueue(pool.port));
  });

  test('setServices refuses an IPv6 VIP or backend that is a pool address, and changes nothing', () => {
    const generation = dp.native.stats().generation;
    assert.throws(() => dp.native.setServices([service([tcpBackend], { vip: POOL6[0], forwarding: 'nat' })]),
      (e: Error & { code?: string }) => e.code === 'SLUICE_INVALID_ARGUMENT' && /the VIP is a nat pool address/.test(e.message));
    assert.throws(() => dp.native.setServices([service([{ ...tcpBackend, address: POOL6[1] }], { vip: VIP6, forwarding: 'nat' })]),
      (e: Error & { code?: string }) => e.code === 'SLUICE_INVALID_ARGUMENT' && /the address is a nat pool address/.test(e.message));
    assert.equal(dp.native.stats().generation, generation);
  });

  test('counters add up: every received packet forwarded, answered, handed off or dropped', () => assertNatAccounting(dp));
});

describe('tshark', () => {
  test('decodes every captured frame with valid TCP, UDP and ICMPv6 checksums', () => {
    const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
    assert.ok(tshark.error === undefined && tshark.status === 0,
      'tshark is not installed (scripts/setup.sh installs it); this test needs it');
    assert.ok(captured.length > 50, `${captured.length} frames`);
    const args = ['-n', '--disable-protocol', 'dns', '--disable-protocol', 'mdns', '--disable-protocol', 'http',
      '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
    const lines = tsharkDecode(join(workDir, 'nat6.pcap'), captured, args,
      ['ipv6.src', 'ipv6.dst', 'tcp.srcport', 'udp.srcport', 'tcp.checksum.status', 'udp.checksum.status']);
    // (The neighbor advertisement for a pool address goes to that backend too.)
    const toBackend = lines.filter((l) => l.split(';')[1] === tcpBackend.address && l.split(';')[2] !== '');
    assert.ok(toBackend.length > 40, 'tshark sees the translated packets to the backend');
    // 1: PROTO_CHECKSUM_E_GOOD
    assert.ok(toBackend.every((l) => l.split(';')[4] === '1'), `tshark found the TCP checksums good: ${toBackend.filter((l) => l.split(';')[4] !== '1')}`);
    const udpToBackend = lines.filter((l) => l.split(';')[1] === udpBackend.address);
    assert.ok(udpToBackend.length >= 2 && udpToBackend.every((l) => l.split(';')[5] === '1'),
      `tshark found the UDP checksums good: ${udpToBackend[0]}`);
    const toClient = lines.filter((l) => l.split(';')[1] === CLIENT6);
    assert.ok(toClient.length === 5 && toClient.every((l) => l.startsWith(`${VIP6};`)), `replies come from the VIP: ${toClient.length} ${toClient.filter((l) => !l.startsWith(`${VIP6};`))}`);
  });
});
