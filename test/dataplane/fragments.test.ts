// IP fragments through a real worker lcore on an in-process ring port
// (worker/fragments.cc): every fragment of a datagram goes where its first
// fragment went, which is where the whole datagram's flow goes, in dsr, tunnel
// (ipip and GUE) and nat, IPv4 and IPv6; later fragments that come first wait
// for it, or time out; hostile fragments are dropped and counted by reason, and a full fragment
// table leaves the flow table alone. What the backend gets is put back
// together (helpers/fragments.ts) and compared with what the client sent.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NativeFragments, NativeService, NativeTunnel } from '../../src/native/types';
import { fragmentFrame, fragments, reassemble, udpChecksumValid } from '../helpers/fragments';
import { decodeTunnel6 } from '../helpers/ndp-packets';
import * as pk from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const PORT6 = 'fd00:99::2';
const CLIENT4 = '192.168.7.9';
const CLIENT6 = '2001:db8:c::9';
const POOL4 = '10.99.0.200';
const POOL6 = 'fd00:99::200';
const FRAGMENTS: NativeFragments = { enabled: true, entriesPerLcore: 8, holdMs: 250, heldBytesPerLcore: 16384 };

const VIP = { dsr: '10.99.0.100', tunnel: '10.99.0.101', nat: '10.99.0.102', gue: '10.99.0.103' };
const VIP6 = { dsr: 'fd00:99::100', tunnel: 'fd00:99::101', nat: 'fd00:99::102', gue: 'fd00:99::103' };
const GUE_PORT = 6080;
const ipip4: NativeTunnel = { encapsulation: 'ipip', guePort: 6080, sourceNetwork: '172.16.0.0', sourcePrefixLength: 16 };
const ipip6: NativeTunnel = { encapsulation: 'ipip', guePort: 6080, sourceNetwork: 'fd00:5c::', sourcePrefixLength: 96 };
const gue4: NativeTunnel = { ...ipip4, encapsulation: 'gue' };
const gue6: NativeTunnel = { ...ipip6, encapsulation: 'gue' };
const v6backend = (i: number, port = 53) => backend(i, { address: `fd00:99::${(0x11 + i).toString(16)}`, port });

// Two backends or more per dsr and tunnel service, so that a fragment sent
// by a hash of its own (addresses only, say) could go astray.
const services: NativeService[] = [
  service([backend(0, { port: 53 }), backend(1, { port: 53 }), backend(2, { port: 53 })],
    { id: 0, name: 'dsr4', vip: VIP.dsr, port: 53, protocol: 'udp' }),
  service([backend(3, { port: 53 }), backend(4, { port: 53 })],
    { id: 1, name: 'tunnel4', vip: VIP.tunnel, port: 53, protocol: 'udp', forwarding: 'tunnel', tunnel: ipip4 }),
  service([backend(5, { port: 5353 })], { id: 2, name: 'nat4', vip: VIP.nat, port: 53, protocol: 'udp', forwarding: 'nat' }),
  service([v6backend(6), v6backend(7), v6backend(8)], { id: 3, name: 'dsr6', vip: VIP6.dsr, port: 53, protocol: 'udp' }),
  service([v6backend(9), v6backend(10)],
    { id: 4, name: 'tunnel6', vip: VIP6.tunnel, port: 53, protocol: 'udp', forwarding: 'tunnel', tunnel: ipip6 }),
  service([v6backend(11, 5353)], { id: 5, name: 'nat6', vip: VIP6.nat, port: 53, protocol: 'udp', forwarding: 'nat' }),
  service([backend(12), backend(13)], { id: 6, name: 'web', vip: VIP.dsr, port: 80, protocol: 'tcp' }),
  service([backend(14, { port: 53 }), backend(15, { port: 53 }), backend(16, { port: 53 })],
    { id: 7, name: 'gue4', vip: VIP.gue, port: 53, protocol: 'udp', forwarding: 'tunnel', tunnel: gue4 }),
  service([v6backend(17), v6backend(18), v6backend(19)],
    { id: 8, name: 'gue6', vip: VIP6.gue, port: 53, protocol: 'udp', forwarding: 'tunnel', tunnel: gue6 }),
];
const backendByMac = new Map(services.flatMap((s) => s.backends).map((b) => [b.mac!, b]));

let dp: RingDataplane;

before(() => {
  dp = new RingDataplane({ workers: 1, address6: PORT6, prefixLength6: 64, fragments: FRAGMENTS,
    natPool: { addresses: [POOL4], addresses6: [POOL6], portMin: 20000, portMax: 29999 } });
  dp.native.setServices(services);
});
after(() => dp?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Each test starts with the fragment table's entries (8 of them) expired. holdMs
// is long for a balancer (10 by default) so that a slow test machine's
// exchanges between two steps of a test do not outlast it.
beforeEach(() => sleep(FRAGMENTS.holdMs + 10));

const stats = () => totals(dp.native.stats());
const drops = (reason: string) => stats().drops[reason] ?? 0;
const counter = (name: 'fragmentsForwarded' | 'fragmentsHeld') => dp.native.stats().lcores.reduce((n, l) => n + l[name], 0);

async function exchange(frames: Buffer[]): Promise<Buffer[]> {
  return (await dp.exchange(frames, 0)).filter((f) => pk.decodeFrame(f).arp === undefined &&
    pk.decodeFrame(f).ipv6?.proto !== pk.IPPROTO_ICMPV6);
}

let nextId = 0x4000;
/** A UDP datagram of `size` payload bytes from the client to `vip`:53, cut into fragments of 1232 bytes. */
function datagram(vip: string, sport: number, size = 4000) {
  const v6 = vip.includes(':');
  const src = v6 ? CLIENT6 : CLIENT4;
  const payload = Buffer.alloc(size, sport & 0xff);
  for (let i = 0; i < size; i += 97) payload[i] = i & 0xff;
  const segment = pk.udp({ sport, dport: 53, payload }, { src, dst: vip });
  const d = { srcMac: CLIENT_MAC, dstMac: dp.mac, src, dst: vip, proto: pk.IPPROTO_UDP, id: nextId++, segment,
    fragmentSize: 1232 };
  const whole = pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src, dst: vip, sport, dport: 53,
    payload: Buffer.from('whole') });
  return { d, frames: fragments(d), whole };
}

/** The backend a dsr frame went to, by its destination MAC. */
function dsrBackend(f: Buffer): string {
  const b = backendByMac.get(pk.decodeFrame(f).dstMac!);
  assert.ok(b !== undefined, `sent to ${pk.decodeFrame(f).dstMac}, no backend's MAC`);
  return b.address;
}

/** The backend a tunnelled frame went to, and the inner packet (IP header on). */
function tunnelled(f: Buffer): { backend: string; inner: Buffer } {
  const d = pk.decodeFrame(f);
  if (d.ipv4 !== undefined) {
    assert.equal(d.ipv4.proto, pk.IPPROTO_IPIP);
    assert.ok(d.ipv4.checksumValid);
    return { backend: d.ipv4.dst, inner: f.subarray(14 + d.ipv4.ihl * 4) };
  }
  assert.equal(d.ipv6!.nextHeader, 41, 'IPv6 in IPv6');
  return { backend: pk.normalizeIp(d.ipv6!.dst), inner: f.subarray(14 + 40) };
}

for (const family of ['IPv4', 'IPv6'] as const) {
  const vip = family === 'IPv4' ? VIP : VIP6;
  describe(`fragments in order, ${family}`, () => {
    test('dsr: every fragment to the backend of the datagram\'s flow, unchanged but for the MACs', async () => {
      for (const sport of [41000, 41001, 41002, 41003]) {
        const { frames, whole } = datagram(vip.dsr, sport);
        const [wholeOut] = await exchange([whole]);
        const forwarded = counter('fragmentsForwarded');
        const out = await exchange(frames);
        assert.equal(out.length, frames.length);
        assert.equal(counter('fragmentsForwarded') - forwarded, frames.length);
        for (const [i, f] of out.entries()) {
          assert.equal(dsrBackend(f), dsrBackend(wholeOut), `fragment ${i} of port ${sport}`);
          assert.deepEqual(f.subarray(12), frames[i].subarray(12), 'the IP packet unchanged');
        }
      }
    });

    test('tunnel: each fragment encapsulated to the datagram\'s backend, unchanged inside', async () => {
      const seen = new Set<string>();
      for (const sport of [42000, 42001, 42002, 42003]) {
        const { frames, whole } = datagram(vip.tunnel, sport);
        const [wholeOut] = await exchange([whole]);
        const out = await exchange(frames);
        assert.equal(out.length, frames.length);
        for (const [i, f] of out.entries()) {
          const t = tunnelled(f);
          assert.equal(t.backend, tunnelled(wholeOut).backend, `fragment ${i} of port ${sport}`);
          assert.deepEqual(t.inner, frames[i].subarray(14));
          seen.add(t.backend);
        }
      }
      assert.ok(seen.size >= 1);
    });

    test('tunnel over GUE: each fragment in GUE to the datagram\'s backend, from the first\'s outer source port', async () => {
      const decode = (f: Buffer) => (family === 'IPv4' ? pk.decodeTunnel(f, GUE_PORT) : decodeTunnel6(f, GUE_PORT));
      const backends = new Set<string>();
      for (const sport of [42100, 42101, 42102, 42103, 42104, 42105]) {
        const { frames, whole } = datagram(vip.gue, sport);
        const wholeOut = decode((await exchange([whole]))[0]);
        assert.equal(wholeOut?.encapsulation, 'gue');
        const out = await exchange(frames);
        assert.equal(out.length, frames.length);
        for (const [i, f] of out.entries()) {
          const t = decode(f);
          assert.equal(t?.encapsulation, 'gue', `fragment ${i} of port ${sport} in GUE`);
          const dst: string = (t!.outer.ipv4 ?? t!.outer.ipv6)!.dst;
          const wholeDst: string = (wholeOut!.outer.ipv4 ?? wholeOut!.outer.ipv6)!.dst;
          assert.equal(dst, wholeDst, `fragment ${i} of port ${sport}: the datagram's backend`);
          assert.equal(t!.outer.udp!.sport, wholeOut!.outer.udp!.sport, 'the flow\'s outer source port, as the NIC\'s RSS at the backend wants');
          assert.deepEqual(t!.innerPacket, frames[i].subarray(14), 'the fragment unchanged inside');
          backends.add(dst);
        }
      }
      assert.ok(backends.size >= 2, `six flows over three backends reach more than one: ${[...backends]}`);
    });

    test('nat: addresses rewritten in every fragment, ports and checksum in the first; reassembled intact', async () => {
      const { d, frames } = datagram(vip.nat, 43000);
      const out = await exchange(frames);
      assert.equal(out.length, frames.length);
      const r = reassemble(out);
      const b = services.find((s) => s.vip === vip.nat)!.backends[0];
      assert.equal(pk.normalizeIp(r.src), pk.normalizeIp(family === 'IPv4' ? POOL4 : POOL6));
      assert.equal(pk.normalizeIp(r.dst), pk.normalizeIp(b.address));
      assert.equal(r.segment.readUInt16BE(2), 5353, 'the backend\'s port');
      assert.ok(r.segment.readUInt16BE(0) >= 20000 && r.segment.readUInt16BE(0) <= 29999, 'a pool port');
      assert.ok(udpChecksumValid(r), 'the UDP checksum holds over the whole rewritten datagram');
      assert.deepEqual(r.segment.subarray(8), d.segment.subarray(8), 'the payload unchanged');
      for (const f of out) assert.equal(pk.decodeFrame(f).dstMac, b.mac);
      // The same flow's next datagram keeps its session.
      const again = reassemble(await exchange(datagram(vip.nat, 43000).frames));
      assert.equal(again.segment.readUInt16BE(0), r.segment.readUInt16BE(0));
    });
  });
}

describe('fragments out of order', () => {
  test('later fragments first are held, then forwarded behind their first', async () => {
    const { frames } = datagram(VIP.dsr, 44000);
    const before = stats();
    assert.deepEqual(await exchange([frames[2], frames[1]]), []);
    assert.equal(counter('fragmentsHeld'), 2);
    const out = await exchange([frames[0], frames[3]]);
    assert.equal(out.length, 4);
    assert.equal(counter('fragmentsHeld'), 0);
    assert.deepEqual(out.map((f) => f.subarray(12)), [frames[0], frames[2], frames[1], frames[3]].map((f) => f.subarray(12)),
      'the first, then the held ones in arrival order, then the rest');
    assert.equal(new Set(out.map(dsrBackend)).size, 1);
    assert.equal(stats().forwarded - before.forwarded, 4);
  });

  test('nat and IPv6: held fragments are rewritten as the first was', async () => {
    for (const vip of [VIP.nat, VIP6.nat, VIP6.tunnel]) {
      const { frames } = datagram(vip, 44100);
      assert.deepEqual(await exchange(frames.slice(1)), []);
      const out = await exchange([frames[0]]);
      assert.equal(out.length, frames.length, vip);
      if (vip === VIP6.tunnel) {
        assert.equal(new Set(out.map((f) => tunnelled(f).backend)).size, 1);
      } else {
        assert.ok(udpChecksumValid(reassemble(out)), vip);
      }
    }
  });

  test('a held fragment whose first never comes is dropped after holdMs (fragment_timeout)', async () => {
    const { frames } = datagram(VIP.dsr, 44200);
    const before = drops('fragment_timeout');
    assert.deepEqual(await exchange([frames[1]]), []);
    assert.equal(counter('fragmentsHeld'), 1);
    const deadline = Date.now() + 2000;
    while (drops('fragment_timeout') === before && Date.now() < deadline) await sleep(5);
    assert.equal(drops('fragment_timeout') - before, 1);
    assert.equal(counter('fragmentsHeld'), 0);
    // Its first, late, is balanced as a datagram of its own would be.
    assert.equal((await exchange([frames[0]])).length, 1);
  });
});

describe('hostile fragments', () => {
  const tcpDatagram = (id: number) =>
    ({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT4, dst: VIP.dsr, proto: pk.IPPROTO_TCP, id });

  test('a first fragment without the whole TCP header: fragment_too_small', async () => {
    const d = tcpDatagram(0x100);
    const segment = pk.tcp({ sport: 45000, dport: 80, flags: 'S', payload: Buffer.alloc(40) }, d);
    const before = drops('fragment_too_small');
    assert.deepEqual(await exchange([fragmentFrame(d, segment.subarray(0, 8), 0, true)]), []);
    assert.equal(drops('fragment_too_small') - before, 1);
  });

  test('a fragment over the TCP header, and a second first fragment: fragment_overlap', async () => {
    const d = tcpDatagram(0x101);
    const segment = pk.tcp({ sport: 45000, dport: 80, flags: 'PA', payload: Buffer.alloc(44) }, d);
    const before = drops('fragment_overlap');
    const out = await exchange([
      fragmentFrame(d, segment.subarray(0, 24), 0, true),
      fragmentFrame(d, segment.subarray(8, 24), 8, true),   // rewrites the ports' neighbours, flags included
      fragmentFrame(d, segment.subarray(0, 24), 0, true),   // the first again, perhaps with other ports
      fragmentFrame(d, segment.subarray(24), 24, false),
    ]);
    assert.equal(out.length, 2, 'the first and the last');
    assert.equal(drops('fragment_overlap') - before, 2);
  });

  test('held fragments are bounded (bytes, slots, a datagram\'s share): fragment_hold_full', async () => {
    const { d } = datagram(VIP.dsr, 46000, 40000);
    const later = Array.from({ length: 16 }, (_, i) =>
      fragmentFrame(d, d.segment.subarray(1232 * (i + 1), 1232 * (i + 2)), 1232 * (i + 1), true));
    const before = drops('fragment_hold_full');
    assert.deepEqual(await exchange(later), []);
    const held = counter('fragmentsHeld');
    assert.ok(held * (14 + 20 + 1232) <= FRAGMENTS.heldBytesPerLcore, `${held} held`);
    assert.ok(held > 0 && held < 16);
    assert.equal(drops('fragment_hold_full') - before, 16 - held);
    const timeouts = drops('fragment_timeout');
    while (counter('fragmentsHeld') > 0) await sleep(5);
    assert.equal(drops('fragment_timeout') - timeouts, held);
  });

  test('a full fragment table drops new datagrams and evicts no established flow', async () => {
    // An established flow, whose entry the flood must leave alone.
    const flow = pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT4, dst: VIP.dsr, sport: 47000, dport: 53 });
    const [first] = await exchange([flow]);
    const evictions = stats().evictions;
    const before = drops('fragment_table_full');
    const flood = Array.from({ length: 20 }, (_, i) => datagram(VIP.dsr, 47100 + i).frames[0]);
    const out = await exchange(flood);
    // Eight entries: eight first fragments are balanced, the other twelve refused.
    assert.equal(out.length, FRAGMENTS.entriesPerLcore);
    assert.equal(drops('fragment_table_full') - before, 20 - FRAGMENTS.entriesPerLcore);
    const hits = stats().hits;
    const [again] = await exchange([flow]);
    assert.equal(dsrBackend(again), dsrBackend(first));
    assert.equal(stats().hits - hits, 1, 'the flow was found, not picked again');
    assert.equal(stats().evictions, evictions);
  });

  test('fragments to no VIP are not held: ip_fragment', async () => {
    const { frames } = datagram('10.99.0.77', 48000);
    const before = drops('ip_fragment');
    assert.deepEqual(await exchange(frames), []);
    assert.equal(drops('ip_fragment') - before, frames.length);
    assert.equal(counter('fragmentsHeld'), 0);
  });
});
