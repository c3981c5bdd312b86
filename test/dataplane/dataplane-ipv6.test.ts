// Golden tests for IPv6 through real worker lcores on an in-process ring port:
// dsr, IPv6-in-IPv6 and GUE over IPv6 checked field by field and byte by byte
// against frames built independently with the test frame builders; ICMPv6
// packet-too-big past the MTU; neighbor solicitations for the port address and
// VIPs answered, advertisements learned and used as next hops; ICMPv6 echo.
// What was captured is also decoded by tshark with checksum validation on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeBackend, NativeService, NativeTunnel } from '../../src/native/types';
import * as nd from '../helpers/ndp-packets';
import * as pk from '../helpers/packets';
import { dropDelta, perFlow, tsharkDecode } from '../helpers/golden';
import { backend, backendMac, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const PORT6 = 'fd00:99::2';
const GATEWAY6 = 'fe80::1';
const GATEWAY6_MAC = '02:00:00:00:0f:06';
const MTU = 1500;
const GUE_PORT = 6080;
const OFF_LINK_BACKEND6 = '2001:db8:b::11';
const UNRESOLVED_BACKEND6 = 'fd00:99::70';
const UNRESOLVED_MAC = '02:00:00:00:07:70';
const SOURCE_NET6 = 'fd00:5c::';

const VIP6 = { dsr: 'fd00:99::100', ipip: 'fd00:99::101', gue: 'fd00:99::102', resolved: 'fd00:99::103',
  routed: 'fd00:99::104' };
const VIP4 = '10.99.0.100';

const ipipOptions: NativeTunnel = { encapsulation: 'ipip', guePort: GUE_PORT, sourceNetwork: SOURCE_NET6, sourcePrefixLength: 96 };
const gueOptions: NativeTunnel = { ...ipipOptions, encapsulation: 'gue' };

function backend6(i: number, extra: Partial<NativeBackend> = {}): NativeBackend {
  return backend(i, { address: `fd00:99::${(0x11 + i).toString(16)}`, ...extra });
}

// IPv4 dsr next to every IPv6 mode, each on its own VIP and backends.
const services: NativeService[] = [
  service([backend(0)], { id: 0, name: 'dsr4', vip: VIP4 }),
  service([backend6(1), backend6(2)], { id: 1, name: 'dsr6', vip: VIP6.dsr }),
  service([backend6(3), backend6(4)], { id: 2, name: 'ipip6', vip: VIP6.ipip, forwarding: 'tunnel', tunnel: ipipOptions }),
  service([backend6(5, { port: 53 }), backend6(6, { port: 53 })], { id: 3, name: 'gue6', vip: VIP6.gue, port: 53,
    protocol: 'udp', forwarding: 'tunnel', tunnel: gueOptions }),
  service([{ ...backend6(7), address: UNRESOLVED_BACKEND6, mac: undefined }], { id: 4, name: 'resolved6', vip: VIP6.resolved }),
  service([{ ...backend6(8), address: OFF_LINK_BACKEND6, mac: undefined }], { id: 5, name: 'routed6', vip: VIP6.routed,
    forwarding: 'tunnel', tunnel: ipipOptions }),
];
const backendByAddress = new Map(services.flatMap((s) => s.backends).map((b) => [pk.normalizeIp(b.address), b]));

let dp: RingDataplane;
let workDir: string;
/** every frame the data plane sent in these tests, for tshark */
const captured: Buffer[] = [];
/** the neighbor solicitations the data plane sent */
const solicitations: Buffer[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-ipv6-test-'));
  dp = new RingDataplane({ address6: `${PORT6}`, prefixLength6: 64, gateway6: GATEWAY6, mtu: MTU });
  dp.native.setServices(services);
});
after(() => {
  dp?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

const isSolicitation = (f: Buffer) => nd.decodeNd(f)?.type === 135;

/** What the data plane sent for `frames`, its own neighbor solicitations and ARP requests left out. */
async function exchange(frames: Buffer[]): Promise<Buffer[]> {
  const all = await dp.exchange(frames);
  solicitations.push(...all.filter(isSolicitation));
  const out = all.filter((f) => pk.decodeFrame(f).arp === undefined && !isSolicitation(f));
  captured.push(...out);
  return out;
}

interface ClientPacket {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto?: 'tcp' | 'udp';
  vlans?: number[];
  trafficClass?: number;
  /** TCP or UDP payload bytes */
  size?: number;
}

function clientFrame(c: ClientPacket): Buffer {
  const payload = Buffer.alloc(c.size ?? 0, 0x5a);
  const ip = { src: c.src, dst: c.dst };
  const l4 = c.proto === 'udp'
    ? pk.udp({ sport: c.sport, dport: c.dport, payload }, ip)
    : pk.tcp({ sport: c.sport, dport: c.dport, flags: 'PA', payload }, ip);
  const packet = pk.ipv6({ ...ip, nextHeader: c.proto === 'udp' ? pk.IPPROTO_UDP : pk.IPPROTO_TCP, hopLimit: 61,
    trafficClass: c.trafficClass ?? 0, flowLabel: 0x12345 }, l4);
  return pk.ether({ dst: dp.mac, src: CLIENT_MAC, vlans: c.vlans, type: pk.ETHERTYPE_IPV6 }, packet);
}

function flows(n: number, seed: number, dst: string, dport: number, proto: 'tcp' | 'udp'): ClientPacket[] {
  const rand = pk.mulberry32(seed);
  return Array.from({ length: n }, () => {
    const host = Math.floor(rand() * 0xffff) + 1;
    return { src: `2001:db8:c::${host.toString(16)}`, sport: 1024 + Math.floor(rand() * 60000), dst, dport, proto };
  });
}

const inSourceNet = (a: string) => pk.parseIp(a).subarray(0, 12).equals(pk.parseIp(SOURCE_NET6).subarray(0, 12));

/**
 * Checks one tunnelled frame field by field, then byte for byte against the frame
 * the builders make from the same fields; returns the decoded tunnel.
 */
function checkTunnelled(input: Buffer, out: Buffer, encapsulation: 'ipip' | 'gue', nextHopMac?: string): pk.DecodedTunnel {
  const t = nd.decodeTunnel6(out, GUE_PORT);
  assert.ok(t, `a ${encapsulation} frame: ${JSON.stringify(pk.decodeFrame(out))}`);
  assert.equal(t.encapsulation, encapsulation);
  const inner = pk.ipPacketOf(input)!;
  const inDecoded = pk.decodeFrame(input);
  const o = t.outer;
  const ip = o.ipv6!;
  const b = backendByAddress.get(ip.dst);
  assert.ok(b, `outer destination ${ip.dst} is a backend`);
  assert.equal(o.dstMac, nextHopMac ?? b.mac, 'destination MAC: the next hop');
  assert.equal(o.srcMac, dp.mac);
  assert.deepEqual(o.vlans, inDecoded.vlans, 'VLAN tags as they came in');
  assert.equal(o.error, undefined);
  assert.equal(ip.hopLimit, 64);
  assert.equal(ip.trafficClass, inDecoded.ipv6!.trafficClass, 'traffic class copied');
  assert.deepEqual(ip.extHeaders, []);
  const overhead = encapsulation === 'ipip' ? 40 : 48;
  assert.equal(ip.payloadLength, inner.length + overhead - 40);
  assert.equal(out.length, 14 + 4 * o.vlans.length + inner.length + overhead, 'no padding carried along');
  assert.ok(t.innerPacket.equals(inner), 'the inner packet is byte-identical');
  assert.equal(t.inner.error, undefined);

  const outer = { src: ip.src, dst: ip.dst, hopLimit: 64, trafficClass: ip.trafficClass, flowLabel: ip.flowLabel };
  let expected: Buffer;
  if (encapsulation === 'ipip') {
    assert.equal(ip.nextHeader, 41);
    expected = pk.ipv6({ ...outer, nextHeader: 41 }, inner);
  } else {
    assert.equal(ip.nextHeader, pk.IPPROTO_UDP);
    const udp = o.udp!;
    assert.equal(udp.dport, GUE_PORT);
    assert.ok(udp.sport >= 49152 && udp.sport <= 65535, `UDP source port ${udp.sport} is ephemeral`);
    assert.equal(udp.length, inner.length + 8);
    assert.notEqual(udp.checksum, 0, 'IPv6 requires a UDP checksum');
    assert.ok(udp.checksumValid, 'outer UDP checksum');
    expected = pk.ipv6({ ...outer, nextHeader: pk.IPPROTO_UDP },
      pk.udp({ sport: udp.sport, dport: GUE_PORT, payload: inner }, outer));
  }
  const frame = pk.ether({ dst: nextHopMac ?? b.mac!, src: dp.mac, vlans: inDecoded.vlans, type: pk.ETHERTYPE_IPV6 },
    expected);
  assert.ok(out.equals(frame), `byte for byte:\n  got      ${out.toString('hex')}\n  expected ${frame.toString('hex')}`);
  return t;
}

const flowOf = (t: pk.DecodedTunnel) => `${t.inner.ipv6!.src}:${(t.inner.tcp ?? t.inner.udp)!.sport}`;

const perFlowOf = <T>(tunnels: pk.DecodedTunnel[], pick: (t: pk.DecodedTunnel) => T) => perFlow(tunnels, flowOf, pick);

describe('neighbor discovery', () => {
  test('a solicitation for a VIP or the port address is answered with a solicited advertisement', async () => {
    for (const target of [VIP6.dsr, PORT6]) {
      const ns = nd.neighborSolicitFrame({ srcMac: CLIENT_MAC, src: 'fd00:99::99', target });
      const out = await exchange([ns]);
      assert.equal(out.length, 1, `one answer for ${target}`);
      const d = pk.decodeFrame(out[0]);
      assert.equal(d.dstMac, CLIENT_MAC);
      assert.equal(d.srcMac, dp.mac);
      assert.equal(d.ipv6!.src, target);
      assert.equal(d.ipv6!.dst, 'fd00:99::99');
      assert.equal(d.ipv6!.hopLimit, 255);
      const na = nd.decodeNd(out[0])!;
      assert.deepEqual(na, { type: 136, code: 0, flags: 0x60, target, option: { type: 2, mac: dp.mac }, checksumValid: true });
      const expected = nd.neighborAdvertFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, src: target, dst: 'fd00:99::99', target });
      assert.ok(out[0].equals(expected), `byte for byte:\n  got      ${out[0].toString('hex')}\n  expected ${expected.toString('hex')}`);
    }
  });

  test('a unicast solicitation (reachability probe) is answered too, and the asker is learned', async () => {
    const before = totals(dp.native.stats()).localReplies;
    const ns = nd.neighborSolicitFrame({ srcMac: CLIENT_MAC, src: 'fd00:99::98', target: VIP6.gue, dst: VIP6.gue, dstMac: dp.mac });
    const out = await exchange([ns]);
    assert.equal(out.length, 1);
    assert.equal(nd.decodeNd(out[0])?.type, 136);
    assert.equal(totals(dp.native.stats()).localReplies, before + 1);
    dp.native.poll();
    const learned = dp.native.neighbors().find((n) => n.address === 'fd00:99::98');
    assert.equal(learned?.mac, CLIENT_MAC, 'the source link-layer option is learned');
    assert.equal(learned?.wanted, false);
  });

  test('solicitations that fail RFC 4861 validation or ask for other addresses are counted drops', async () => {
    const base = { srcMac: CLIENT_MAC, src: 'fd00:99::99' };
    const cases: [Buffer, string][] = [
      [nd.neighborSolicitFrame({ ...base, target: 'fd00:99::4242' }), 'nd_ignored'],
      [nd.neighborSolicitFrame({ ...base, target: VIP6.dsr, hopLimit: 64 }), 'bad_nd'],
      [nd.neighborSolicitFrame({ ...base, target: VIP6.dsr, checksum: 0x1234 }), 'bad_nd'],
      [nd.neighborSolicitFrame({ ...base, target: VIP6.dsr, optionUnits: 0 }), 'bad_nd'],
      [nd.neighborSolicitFrame({ ...base, src: '::', target: VIP6.dsr }), 'bad_nd'],
    ];
    for (const [frame, reason] of cases) {
      const before = totals(dp.native.stats()).drops;
      assert.deepEqual(await exchange([frame]), []);
      assert.deepEqual(dropDelta(dp, before), { [reason]: 1 });
    }
  });

  test('an unresolved IPv6 backend is solicited; its advertisement resolves it and forwarding starts', async () => {
    const packet = clientFrame({ src: '2001:db8:c::1', sport: 1111, dst: VIP6.resolved, dport: 80 });
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([packet]), []);
    assert.deepEqual(dropDelta(dp, before), { neighbor_unresolved: 1 }, 'dropped until the backend is resolved');

    dp.native.poll();
    const wanted = dp.native.neighbors().find((n) => n.address === UNRESOLVED_BACKEND6);
    assert.ok(wanted && wanted.wanted && !wanted.resolved, 'the backend is a wanted, unresolved neighbor');
    assert.ok(wanted.requestsSent >= 1);
    await exchange([]);
    const ns = solicitations.map((f) => ({ frame: f, nd: nd.decodeNd(f)! })).find((s) => s.nd.target === UNRESOLVED_BACKEND6);
    assert.ok(ns, 'a neighbor solicitation for the backend went out');
    const d = pk.decodeFrame(ns.frame);
    assert.equal(d.dstMac, nd.multicastMac(nd.solicitedNode(UNRESOLVED_BACKEND6)));
    assert.equal(d.ipv6!.dst, nd.solicitedNode(UNRESOLVED_BACKEND6));
    assert.equal(d.ipv6!.src, PORT6);
    assert.equal(d.ipv6!.hopLimit, 255);
    assert.deepEqual(ns.nd.option, { type: 1, mac: dp.mac });
    assert.ok(ns.nd.checksumValid);

    await exchange([nd.neighborAdvertFrame({ srcMac: UNRESOLVED_MAC, dstMac: dp.mac, src: UNRESOLVED_BACKEND6, dst: PORT6,
      target: UNRESOLVED_BACKEND6 })]);
    dp.native.poll();
    assert.equal(dp.native.neighbors().find((n) => n.address === UNRESOLVED_BACKEND6)?.mac, UNRESOLVED_MAC);

    const out = await exchange([packet]);
    assert.equal(out.length, 1);
    const expected = Buffer.concat([pk.parseMac(UNRESOLVED_MAC), pk.parseMac(dp.mac), packet.subarray(12)]);
    assert.ok(out[0].equals(expected), 'dsr to the learned MAC');
  });

  test('an off-link tunnel backend goes through gateway6, resolved from a link-local advertisement', async () => {
    const packet = clientFrame({ src: '2001:db8:c::2', sport: 2222, dst: VIP6.routed, dport: 80 });
    dp.native.poll();
    assert.equal(dp.native.neighbors().find((n) => n.address === OFF_LINK_BACKEND6), undefined,
      'the off-link backend itself is never solicited');
    assert.ok(dp.native.neighbors().find((n) => n.address === GATEWAY6)?.wanted);
    await exchange([nd.neighborAdvertFrame({ srcMac: GATEWAY6_MAC, dstMac: dp.mac, src: GATEWAY6, dst: PORT6, target: GATEWAY6 })]);
    dp.native.poll();
    assert.equal(dp.native.neighbors().find((n) => n.address === GATEWAY6)?.mac, GATEWAY6_MAC);
    const out = await exchange([packet]);
    assert.equal(out.length, 1);
    const t = checkTunnelled(packet, out[0], 'ipip', GATEWAY6_MAC);
    assert.equal(t.outer.ipv6!.dst, OFF_LINK_BACKEND6);
  });

  test('advertisements not fit to learn from are counted drops', async () => {
    const base = { srcMac: '02:00:00:00:0e:01', dstMac: dp.mac, dst: PORT6 };
    const cases: [Buffer, string][] = [
      [nd.neighborAdvertFrame({ ...base, src: '2001:db8:e::1', target: '2001:db8:e::1' }), 'nd_ignored'],
      [nd.neighborAdvertFrame({ ...base, src: 'fd00:99::e1', target: 'fd00:99::e1', targetMac: null }), 'nd_ignored'],
      [nd.neighborAdvertFrame({ ...base, src: 'fd00:99::e1', target: 'fd00:99::e1', hopLimit: 254 }), 'bad_nd'],
    ];
    for (const [frame, reason] of cases) {
      const before = totals(dp.native.stats()).drops;
      assert.deepEqual(await exchange([frame]), []);
      assert.deepEqual(dropDelta(dp, before), { [reason]: 1 });
    }
  });
});

describe('ICMPv6 echo', () => {
  test('echo requests to the port address and a VIP are answered; others are not', async () => {
    for (const dst of [PORT6, VIP6.ipip]) {
      const payload = Buffer.from('sluice ipv6 echo');
      const req = pk.icmpEchoFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '2001:db8:c::9', dst, id: 7, seq: 3, payload,
        vlans: [12] });
      const out = await exchange([req]);
      assert.equal(out.length, 1);
      const expected = pk.icmpEchoFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, src: dst, dst: '2001:db8:c::9', id: 7, seq: 3,
        payload, type: 129, vlans: [12] });
      assert.ok(out[0].equals(expected), `byte for byte:\n  got      ${out[0].toString('hex')}\n  expected ${expected.toString('hex')}`);
    }
    const bad = pk.icmpEchoFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '2001:db8:c::9', dst: PORT6, id: 7, seq: 4 });
    bad[bad.length - 1] ^= 0xff;
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([bad]), []);
    assert.deepEqual(dropDelta(dp, before), { bad_icmp_checksum: 1 });
  });
});

describe('dsr', () => {
  test('only the MACs change, for many flows, spread over both backends; IPv4 dsr alongside', async () => {
    const inputs = flows(200, 61, VIP6.dsr, 80, 'tcp').map((c, i) => clientFrame({ ...c, size: i % 300 }));
    const v4 = pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '192.168.1.1', dst: VIP4, sport: 999, dport: 80, flags: 'S' });
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    const macs = new Set<string>();
    for (let i = 0; i < inputs.length; i++) {
      const dst = pk.decodeFrame(out[i]).dstMac!;
      assert.ok([backendMac(1), backendMac(2)].includes(dst), `backend MAC ${dst}`);
      macs.add(dst);
      const expected = Buffer.concat([pk.parseMac(dst), pk.parseMac(dp.mac), inputs[i].subarray(12)]);
      assert.ok(out[i].equals(expected), 'nothing but the MACs changed');
    }
    assert.equal(macs.size, 2, 'both backends get flows');
    const outV4 = await exchange([v4]);
    assert.equal(outV4.length, 1);
    assert.equal(pk.decodeFrame(outV4[0]).dstMac, backendMac(0), 'the IPv4 service still works');
    // The same flows again: the flow table keeps each on its backend.
    const again = await exchange(inputs);
    for (let i = 0; i < inputs.length; i++) assert.equal(pk.decodeFrame(again[i]).dstMac, pk.decodeFrame(out[i]).dstMac);
    assert.ok(totals(dp.native.stats()).hits >= inputs.length, 'second round hit the IPv6 flow table');
  });

  test('a packet longer than the egress MTU is dropped and counted', async () => {
    const big = clientFrame({ src: '2001:db8:c::3', sport: 3333, dst: VIP6.dsr, dport: 80, size: MTU - 60 + 1 });
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([big]), []);
    assert.deepEqual(dropDelta(dp, before), { mtu_exceeded: 1 });
  });
});

describe('IPv6-in-IPv6', () => {
  test('outer header by field and by byte, per-flow sources from the source network, with VLAN tags', async () => {
    const inputs = flows(300, 7, VIP6.ipip, 80, 'tcp').map((c, i) =>
      clientFrame({ ...c, size: i % 500, vlans: i % 3 === 0 ? [42] : [], trafficClass: i % 2 ? 0xb8 : 0 }));
    const out = await exchange([...inputs, ...inputs]);
    assert.equal(out.length, inputs.length * 2);
    const tunnels = out.map((f, i) => checkTunnelled(inputs[i % inputs.length], f, 'ipip'));
    const sources = perFlowOf(tunnels, (t) => t.outer.ipv6!.src);
    for (const s of sources.values()) assert.ok(inSourceNet(s), `outer source ${s} inside ${SOURCE_NET6}/96`);
    assert.ok(new Set(sources.values()).size > inputs.length * 0.9, 'outer sources differ per flow');
    const labels = perFlowOf(tunnels, (t) => t.outer.ipv6!.flowLabel);
    assert.ok(new Set(labels.values()).size > inputs.length * 0.9, 'flow labels differ per flow');
    const backends = new Set(tunnels.map((t) => t.outer.ipv6!.dst));
    assert.equal(backends.size, 2, 'both backends get flows');
  });

  test('too long once encapsulated: ICMPv6 packet-too-big back to the client, from the VIP', async () => {
    const max = MTU - 40;
    const fits = clientFrame({ src: '2001:db8:c::4', sport: 4444, dst: VIP6.ipip, dport: 80, size: max - 60 });
    const big = clientFrame({ src: '2001:db8:c::4', sport: 4444, dst: VIP6.ipip, dport: 80, size: max - 60 + 1, vlans: [5] });
    const before = totals(dp.native.stats());
    const out = await exchange([fits, big]);
    assert.equal(out.length, 2);
    checkTunnelled(fits, out[0], 'ipip');
    const d = pk.decodeFrame(out[1]);
    assert.equal(d.dstMac, CLIENT_MAC);
    assert.equal(d.srcMac, dp.mac);
    assert.deepEqual(d.vlans, [5]);
    assert.equal(d.ipv6!.src, VIP6.ipip);
    assert.equal(d.ipv6!.dst, '2001:db8:c::4');
    assert.equal(d.ipv6!.hopLimit, 64);
    assert.equal(d.icmp!.type, 2);
    assert.equal(d.icmp!.code, 0);
    assert.ok(d.icmp!.checksumValid, 'ICMPv6 checksum');
    const quote = pk.ipPacketOf(big)!.subarray(0, 1280 - 48);
    const expected = pk.ether({ dst: CLIENT_MAC, src: dp.mac, vlans: [5], type: pk.ETHERTYPE_IPV6 },
      pk.ipv6({ src: VIP6.ipip, dst: '2001:db8:c::4', nextHeader: pk.IPPROTO_ICMPV6, hopLimit: 64 },
        nd.icmpv6({ type: 2, body: Buffer.concat([Buffer.from([0, 0, max >> 8, max & 0xff]), quote]) },
          { src: VIP6.ipip, dst: '2001:db8:c::4' })));
    assert.ok(out[1].equals(expected), `byte for byte:\n  got      ${out[1].toString('hex')}\n  expected ${expected.toString('hex')}`);
    const now = totals(dp.native.stats());
    assert.equal(now.icmpPacketTooBigSent - before.icmpPacketTooBigSent, 1);
    assert.equal(now.drops.mtu_exceeded - before.drops.mtu_exceeded, 1);
  });

  test('packet-too-big is rate-limited per lcore: 50 at once, then as the clock refills the bucket', async () => {
    // Let the bucket refill (1 per ms, 50 at most) after the tests before.
    await new Promise((r) => setTimeout(r, 100));
    const big = flows(300, 99, VIP6.ipip, 80, 'tcp').map((c) => clientFrame({ ...c, size: MTU }));
    const before = totals(dp.native.stats());
    const start = Date.now();
    const out = await exchange(big);
    const elapsedMs = Date.now() - start;
    const now = totals(dp.native.stats());
    const sent = now.icmpPacketTooBigSent - before.icmpPacketTooBigSent;
    assert.equal(now.drops.mtu_exceeded - before.drops.mtu_exceeded, big.length, 'every one counted');
    assert.equal(out.length, sent, 'what was counted as sent came out');
    assert.ok(out.every((f) => pk.decodeFrame(f).icmp?.type === 2));
    assert.ok(sent >= 50, 'a full bucket answers a burst of 50');
    assert.ok(sent <= 50 + elapsedMs + 2, `${sent} replies in ${elapsedMs} ms`);
  });
});

describe('GUE over IPv6', () => {
  test('outer IPv6 + UDP with a valid checksum, the port address as source, ports per flow', async () => {
    const inputs = flows(200, 13, VIP6.gue, 53, 'udp').map((c, i) => clientFrame({ ...c, size: 1 + (i % 400) }));
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    const tunnels = out.map((f, i) => checkTunnelled(inputs[i], f, 'gue'));
    for (const t of tunnels) assert.equal(t.outer.ipv6!.src, PORT6, 'gue: the egress port address');
    const ports = perFlowOf(tunnels, (t) => t.outer.udp!.sport);
    assert.ok(new Set(ports.values()).size > inputs.length * 0.9, 'UDP source ports differ per flow');
    assert.equal(new Set(tunnels.map((t) => t.outer.ipv6!.dst)).size, 2, 'both backends get flows');
  });
});

describe('hostile IPv6', () => {
  test('multicast sources, unknown destinations and truncated extension headers are counted drops', async () => {
    const tcpTo = (src: string, dst: string) =>
      pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src, dst, sport: 5, dport: 80, flags: 'S' });
    const truncatedExt = clientFrame({ src: '2001:db8:c::5', sport: 5, dst: VIP6.dsr, dport: 80 });
    // Hop-by-hop claiming 8 units (72 bytes) where the frame holds 20 more.
    const ext = pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: pk.ETHERTYPE_IPV6 },
      pk.ipv6({ src: '2001:db8:c::5', dst: VIP6.dsr, nextHeader: 6, extHeaders: [{ type: 0 }] },
        Buffer.alloc(12)));
    ext[14 + 40 + 1] = 8;
    const cases: [Buffer, string][] = [
      [tcpTo('ff02::1', VIP6.dsr), 'bad_source'],
      [tcpTo('2001:db8:c::5', 'fd00:99::4343'), 'no_service'],
      [truncatedExt.subarray(0, 14 + 40 + 10), 'bad_ip_header'],
      [ext, 'truncated'],
    ];
    for (const [frame, reason] of cases) {
      const before = totals(dp.native.stats()).drops;
      assert.deepEqual(await exchange([frame]), []);
      assert.deepEqual(dropDelta(dp, before), { [reason]: 1 }, `${reason}: ${frame.toString('hex')}`);
    }
  });
});

describe('tshark', () => {
  const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  const decodeArgs = ['-n', '-d', `udp.port==${GUE_PORT},ipv6`, '--disable-protocol', 'dns',
    '-o', 'udp.check_checksum:TRUE'];

  function cleanDecode(name: string, frames: Buffer[], extra: string[]): string[] {
    return tsharkDecode(join(workDir, `${name}.pcap`), frames, [...decodeArgs, ...extra],
      ['ipv6.nxt', 'ipv6.dst', 'tcp.dstport', 'udp.dstport', 'icmpv6.type']);
  }

  test('decodes every captured frame with valid checksums', () => {
    assert.ok(tshark.error === undefined && tshark.status === 0,
      'tshark is not installed (scripts/setup.sh installs it); this test needs it');
    const tooBig = captured.filter((f) => pk.decodeFrame(f).icmp?.type === 2);
    const rest = captured.filter((f) => pk.decodeFrame(f).icmp?.type !== 2);
    assert.ok(rest.length > 500 && tooBig.length >= 1, `${rest.length} frames, ${tooBig.length} packet-too-big`);

    const broken = Buffer.from(rest.find((f) => nd.decodeTunnel6(f, GUE_PORT)?.encapsulation === 'gue')!);
    broken[broken.length - 1] ^= 0xff;
    assert.throws(() => cleanDecode('control', [broken], []), /Bad|incorrect/);

    const lines = cleanDecode('ipv6', rest, ['-o', 'tcp.check_checksum:TRUE']);
    assert.ok(lines.some((l) => l.startsWith('41,6;') && l.includes(`,${VIP6.ipip};80;`)), 'tshark sees TCP inside 6in6');
    assert.ok(lines.some((l) => l.startsWith('17,17;') && l.includes(`,${VIP6.gue};;${GUE_PORT},53;`)), 'tshark sees UDP inside GUE');
    assert.ok(lines.some((l) => l.endsWith(';136')), 'tshark reads the neighbor advertisements');
    // The quote is cut at 1280 bytes, so its own TCP checksum cannot match.
    const icmpLines = cleanDecode('too-big', tooBig, ['-o', 'tcp.check_checksum:FALSE']);
    assert.ok(icmpLines.every((l) => l.includes(';2')), `packet-too-big: ${icmpLines[0]}`);
  });
});
