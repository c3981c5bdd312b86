// Hostile packets, one table: every case goes through real worker lcores on an
// in-process ring port with a dsr service, and is either forwarded as exactly the
// input with only the MACs rewritten, answered, or dropped with exactly one
// counted reason, nothing else moving. Afterwards the counter invariant of
// native/common/lcore_counters.h holds and the mempool is back where it started.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../helpers/ndp-packets';
import * as pk from '../helpers/packets';
import { backend, backendMac, CLIENT_MAC, PORT_ADDRESS, RingDataplane, service, totals } from '../helpers/ring-dataplane';
import type { NativeStats } from '../../src/native/addon';

const VIP = '10.99.0.100';
const UDP_VIP = '10.99.0.101';
const CLIENT = '172.16.1.1';
const SPORT = 4000;
const MTU = 1500; // ringStartConfig's port MTU
const PORT6 = 'fd00:99::2';
const VIP6 = 'fd00:99::100';
const CLIENT6 = 'fd00:99::99';

const dp = new RingDataplane({ address6: PORT6 });
after(() => dp.stop());
dp.native.setServices([
  service([backend(0)]),
  service([backend(1, { port: 53 })], { id: 1, name: 'dns', vip: UDP_VIP, port: 53, protocol: 'udp' }),
  service([backend(2, { address: 'fd00:99::13' })], { id: 2, name: 'web6', vip: VIP6 }),
]);

type Expect =
  | { forwarded: number } // backend index: output = input with dst MAC = backend, src MAC = port
  | { dropped: string }
  | { reply: (out: Buffer) => void };

interface Case {
  name: string;
  frame: Buffer;
  /** inject as a chain of mbufs of at most this many bytes each */
  segmentBytes?: number;
  expect: Expect;
}

// ---------------------------------------------------------------------------
// Frames

const ip4 = (o: Partial<pk.Ipv4Options>, payload: Buffer) =>
  pk.ipv4({ src: CLIENT, dst: VIP, proto: pk.IPPROTO_TCP, ...o }, payload);
const eth = (l3: Buffer, o: { vlans?: number[]; type?: number; src?: string; pad?: boolean } = {}) =>
  pk.ether({ dst: dp.mac, src: o.src ?? CLIENT_MAC, vlans: o.vlans, type: o.type ?? pk.ETHERTYPE_IPV4, pad: o.pad }, l3);
const tcpSeg = (o: Partial<pk.TcpOptions> = {}, dst = VIP, src = CLIENT) =>
  pk.tcp({ sport: SPORT, dport: 80, flags: 'S', ...o }, { src, dst });
const udpSeg = (o: Partial<pk.UdpOptions> = {}, dst = UDP_VIP) =>
  pk.udp({ sport: SPORT, dport: 53, ...o }, { src: CLIENT, dst });
const syn = (o: { vlans?: number[]; ip?: Partial<pk.Ipv4Options>; tcp?: Partial<pk.TcpOptions>; src?: string } = {}) =>
  eth(ip4(o.ip ?? {}, tcpSeg(o.tcp, VIP, o.ip?.src ?? CLIENT)), { vlans: o.vlans, src: o.src });
const echo = (o: { src?: string; checksum?: number; payload?: Buffer } = {}) =>
  eth(ip4({ proto: pk.IPPROTO_ICMP, src: o.src ?? CLIENT, ttl: 33, id: 77 },
    pk.icmpEcho({ id: 0x1234, seq: 9, payload: o.payload, checksum: o.checksum })));
const ECHO_PAYLOAD = Buffer.from('sluice hostile echo');
/** A copy with `bytes` written at `offset`. */
const patched = (frame: Buffer, offset: number, ...bytes: number[]) => {
  const f = Buffer.from(frame);
  Buffer.from(bytes).copy(f, offset);
  return f;
};
const payload = (n: number) => Buffer.alloc(n, 0x5a);
// Router alert (RFC 2113) and a timestamp option: 4 + 12 bytes, IHL 9.
const IP_OPTIONS = Buffer.from([0x94, 0x04, 0x00, 0x00, 0x44, 0x0c, 0x05, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]);
// MSS, SACK permitted, window scale, NOP: a 32-byte TCP header.
const TCP_OPTIONS = Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1, 1, 1]);

function echoReplyCheck(out: Buffer): void {
  const expected = pk.icmpEchoFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, src: VIP, dst: CLIENT, type: 0, id: 0x1234,
    seq: 9, payload: ECHO_PAYLOAD, ttl: 64, ipId: 77 });
  assert.equal(out.toString('hex'), expected.toString('hex'));
  const d = pk.decodeFrame(out);
  assert.ok(d.ipv4?.checksumValid && d.icmp?.checksumValid && !d.error, 'the reply is well formed');
}

/** The frame cut at every header boundary of `frame` and one byte short of it. */
function cuts(what: string, frame: Buffer, boundaries: [string, number, string, string][]): Case[] {
  return boundaries.flatMap(([header, at, atReason, shortReason]) => [
    { name: `${what} cut at the end of ${header} (${at} bytes)`, frame: frame.subarray(0, at), expect: { dropped: atReason } },
    { name: `${what} cut one byte short of the end of ${header}`, frame: frame.subarray(0, at - 1), expect: { dropped: shortReason } },
  ]);
}

/** An IPv4 datagram whose L4 header holds only its first `keep` bytes; lengths agree, so only L4 is short. */
function shortDatagram(proto: number, l4: Buffer, keep: number, dst = VIP): Buffer {
  return eth(ip4({ proto, dst }, l4.subarray(0, keep)));
}

const v6Syn = () => eth(pk.ipv6({ src: '2001:db8::1', dst: '2001:db8::100', nextHeader: pk.IPPROTO_TCP },
  pk.tcp({ sport: SPORT, dport: 80, flags: 'S' }, { src: '2001:db8::1', dst: '2001:db8::100' })),
{ type: pk.ETHERTYPE_IPV6, pad: false });

const ip6 = (o: Partial<pk.Ipv6Options>, l4: Buffer) =>
  eth(pk.ipv6({ src: CLIENT6, dst: VIP6, nextHeader: pk.IPPROTO_TCP, ...o }, l4), { type: pk.ETHERTYPE_IPV6 });
const syn6 = (o: Partial<pk.Ipv6Options> = {}) => ip6(o, pk.tcp({ sport: SPORT, dport: 80, flags: 'S' },
  { src: o.src ?? CLIENT6, dst: o.dst ?? VIP6 }));
const ns = (o: Partial<nd.NsOptions> = {}) => nd.neighborSolicitFrame({ srcMac: CLIENT_MAC, src: CLIENT6, target: VIP6, ...o });
const echo6 = (o: { checksum?: number; type?: number } = {}) => ip6({ nextHeader: pk.IPPROTO_ICMPV6 },
  pk.icmpEcho({ type: o.type ?? 128, id: 0x1234, seq: 9, payload: ECHO_PAYLOAD, checksum: o.checksum }, { src: CLIENT6, dst: VIP6 }));

function naReplyCheck(out: Buffer): void {
  const expected = nd.neighborAdvertFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, src: VIP6, dst: CLIENT6, target: VIP6 });
  assert.equal(out.toString('hex'), expected.toString('hex'));
}

const plain = syn();
const twoTags = eth(ip4({}, tcpSeg()), { vlans: [10, 20], pad: false });
const withOptions = eth(ip4({ options: IP_OPTIONS }, tcpSeg()), { pad: false });
const tcpOpts = tcpSeg({ options: TCP_OPTIONS });
const udpHdr = udpSeg();
const echoHdr = pk.icmpEcho({ id: 0x1234, seq: 9 });

const cases: Case[] = [
  // Truncation: the frame ends at a header boundary, or one byte before it.
  { name: 'zero-length frame', frame: Buffer.alloc(0), expect: { dropped: 'truncated' } },
  { name: '1-byte frame', frame: Buffer.from([0xff]), expect: { dropped: 'truncated' } },
  ...cuts('untagged TCP', eth(ip4({}, tcpSeg()), { pad: false }), [
    ['Ethernet', 14, 'truncated', 'truncated'],
    // The IPv4 header is whole but its total length promises more than the frame holds.
    ['IPv4', 34, 'bad_ip_header', 'truncated'],
  ]),
  ...cuts('two-tag TCP', twoTags, [
    ['Ethernet', 14, 'truncated', 'truncated'],
    ['the first VLAN tag', 18, 'truncated', 'truncated'],
    ['the second VLAN tag', 22, 'truncated', 'truncated'],
    ['IPv4', 42, 'bad_ip_header', 'truncated'],
  ]),
  ...cuts('IPv4-with-options TCP', withOptions, [['IPv4 with 16 bytes of options', 50, 'bad_ip_header', 'truncated']]),
  { name: 'IPv4-with-options TCP cut inside the options', frame: withOptions.subarray(0, 40), expect: { dropped: 'truncated' } },
  ...cuts('IPv6 TCP', v6Syn(), [['IPv6', 54, 'bad_ip_header', 'truncated']]),
  { name: 'frame cut inside the TCP header (IP total length beyond it)', frame: plain.subarray(0, 40),
    expect: { dropped: 'bad_ip_header' } },
  // The datagram itself ends early: IP lengths agree with the frame, the L4 header is short.
  { name: 'TCP with options: datagram ends at its 20 fixed bytes (data offset says 32)',
    frame: shortDatagram(pk.IPPROTO_TCP, tcpOpts, 20), expect: { dropped: 'truncated' } },
  { name: 'TCP with options: datagram ends one byte short of 20', frame: shortDatagram(pk.IPPROTO_TCP, tcpOpts, 19),
    expect: { dropped: 'truncated' } },
  { name: 'TCP with options: datagram ends at the end of the options (no payload)',
    frame: shortDatagram(pk.IPPROTO_TCP, tcpOpts, 32), expect: { forwarded: 0 } },
  { name: 'TCP with options: datagram ends one byte short of the options\' end',
    frame: shortDatagram(pk.IPPROTO_TCP, tcpOpts, 31), expect: { dropped: 'truncated' } },
  { name: 'UDP: datagram is exactly the 8-byte header', frame: shortDatagram(pk.IPPROTO_UDP, udpHdr, 8, UDP_VIP),
    expect: { forwarded: 1 } },
  { name: 'UDP: datagram ends one byte short of the header', frame: shortDatagram(pk.IPPROTO_UDP, udpHdr, 7, UDP_VIP),
    expect: { dropped: 'truncated' } },
  { name: 'IPv6: datagram ends inside the TCP header', frame: eth(pk.ipv6({ src: '2001:db8::1', dst: '2001:db8::100',
    nextHeader: pk.IPPROTO_TCP }, tcpSeg({}, '2001:db8::100', '2001:db8::1').subarray(0, 12)), { type: pk.ETHERTYPE_IPV6 }),
  expect: { dropped: 'truncated' } },
  { name: 'ICMP: echo request of exactly 8 bytes to the VIP', frame: shortDatagram(pk.IPPROTO_ICMP, echoHdr, 8),
    expect: { reply: (out) => assert.equal(pk.decodeFrame(out).icmp?.type, 0) } },
  { name: 'ICMP: echo request one byte short of 8', frame: shortDatagram(pk.IPPROTO_ICMP, echoHdr, 7),
    expect: { dropped: 'truncated' } },
  { name: 'ICMP: message ends at its 4-byte common header (echo needs 8)', frame: shortDatagram(pk.IPPROTO_ICMP, echoHdr, 4),
    expect: { dropped: 'truncated' } },
  { name: 'ICMP: message of 3 bytes', frame: shortDatagram(pk.IPPROTO_ICMP, echoHdr, 3), expect: { dropped: 'truncated' } },

  // IP header fields.
  { name: 'IHL 4', frame: patched(plain, 14, 0x44), expect: { dropped: 'bad_ip_header' } },
  { name: 'IHL*4 > total length (IHL 9, total 20)', frame: eth(ip4({ options: IP_OPTIONS, totalLength: 20 }, tcpSeg())),
    expect: { dropped: 'bad_ip_header' } },
  { name: 'total length < IHL*4 (19)', frame: eth(ip4({ totalLength: 19 }, tcpSeg())), expect: { dropped: 'bad_ip_header' } },
  { name: 'total length > frame', frame: eth(ip4({ totalLength: 1400 }, tcpSeg())), expect: { dropped: 'bad_ip_header' } },
  { name: 'version 6 under the IPv4 ethertype', frame: patched(plain, 14, 0x65), expect: { dropped: 'bad_ip_header' } },
  { name: 'IPv4 options are forwarded intact', frame: eth(ip4({ options: IP_OPTIONS }, tcpSeg())), expect: { forwarded: 0 } },
  { name: 'bad IPv4 header checksum', frame: syn({ ip: { checksum: 0x1234 } }), expect: { dropped: 'bad_ip_checksum' } },
  { name: 'TTL 1 is forwarded unchanged (dsr is an L2 hop)', frame: syn({ ip: { ttl: 1 } }), expect: { forwarded: 0 } },
  { name: 'TTL 0 is forwarded unchanged', frame: syn({ ip: { ttl: 0 } }), expect: { forwarded: 0 } },

  // Fragments (the ones that reach a backend: fragments.test.ts).
  { name: 'first fragment of 20 bytes (only the last may be no multiple of 8)', frame: syn({ ip: { flags: pk.IPV4_MF } }),
    expect: { dropped: 'bad_ip_header' } },
  { name: 'first fragment cut inside the TCP header', frame: eth(ip4({ flags: pk.IPV4_MF }, tcpSeg().subarray(0, 8))),
    expect: { dropped: 'fragment_too_small' } },
  { name: 'middle fragment to an address that is no VIP',
    frame: eth(ip4({ flags: pk.IPV4_MF, fragOffset: 3, dst: '10.99.0.250' }, payload(24))), expect: { dropped: 'ip_fragment' } },
  { name: 'last fragment to an address that is no VIP', frame: eth(ip4({ fragOffset: 6, dst: '10.99.0.250' }, payload(24))),
    expect: { dropped: 'ip_fragment' } },
  { name: 'DF alone is no fragment', frame: syn({ ip: { flags: pk.IPV4_DF } }), expect: { forwarded: 0 } },

  // VLANs.
  { name: 'one VLAN tag is forwarded with the tag', frame: syn({ vlans: [7] }), expect: { forwarded: 0 } },
  { name: 'two VLAN tags are forwarded with both', frame: syn({ vlans: [7, 8] }), expect: { forwarded: 0 } },
  { name: '802.1ad outer tag over 802.1Q is forwarded with both', frame: patched(syn({ vlans: [7, 8] }), 12, 0x88, 0xa8),
    expect: { forwarded: 0 } },
  { name: 'three VLAN tags', frame: syn({ vlans: [7, 8, 9] }), expect: { dropped: 'too_many_vlans' } },

  // Size and segments. MTU is the L3 length; VLAN tags do not count against it.
  { name: 'a frame of exactly the MTU', frame: syn({ tcp: { payload: payload(MTU - 40) } }), expect: { forwarded: 0 } },
  { name: 'a tagged frame of exactly the MTU', frame: syn({ vlans: [7], tcp: { payload: payload(MTU - 40) } }),
    expect: { forwarded: 0 } },
  { name: 'one byte over the MTU', frame: syn({ tcp: { payload: payload(MTU - 39) } }), expect: { dropped: 'mtu_exceeded' } },
  { name: 'a chained mbuf (3 segments) within the MTU is forwarded whole',
    frame: syn({ tcp: { payload: payload(MTU - 40) } }), segmentBytes: 600, expect: { forwarded: 0 } },
  { name: 'a frame larger than one mbuf (2 segments, 3000 bytes) exceeds the MTU',
    frame: syn({ tcp: { payload: payload(2946) } }), expect: { dropped: 'mtu_exceeded' } },
  { name: 'headers split across segments', frame: syn({ tcp: { payload: payload(100) } }), segmentBytes: 40,
    expect: { dropped: 'truncated' } },
  { name: 'a chained UDP datagram within the MTU', frame: eth(pk.ipv4({ src: CLIENT, dst: UDP_VIP, proto: pk.IPPROTO_UDP },
    udpSeg({ payload: payload(1000) }))), segmentBytes: 512, expect: { forwarded: 1 } },

  // L4 headers and checksums.
  { name: 'TCP data offset 4', frame: eth(ip4({}, patched(tcpSeg(), 12, 0x40))), expect: { dropped: 'bad_l4_header' } },
  { name: 'UDP length 4', frame: eth(pk.ipv4({ src: CLIENT, dst: UDP_VIP, proto: pk.IPPROTO_UDP }, udpSeg({ length: 4 }))),
    expect: { dropped: 'bad_l4_header' } },
  { name: 'UDP length beyond the IP payload', frame: eth(pk.ipv4({ src: CLIENT, dst: UDP_VIP, proto: pk.IPPROTO_UDP },
    udpSeg({ payload: payload(4), length: 20 }))), expect: { dropped: 'bad_l4_header' } },
  // dsr leaves L4 alone: the backend's stack checks these, as it would without a balancer.
  { name: 'bad TCP checksum is forwarded unchanged', frame: syn({ tcp: { checksum: 0xbeef } }), expect: { forwarded: 0 } },
  { name: 'bad UDP checksum is forwarded unchanged', frame: eth(pk.ipv4({ src: CLIENT, dst: UDP_VIP,
    proto: pk.IPPROTO_UDP }, udpSeg({ payload: payload(10), checksum: 0xbeef }))), expect: { forwarded: 1 } },
  { name: 'ICMP echo to the VIP is answered', frame: echo({ payload: ECHO_PAYLOAD }), expect: { reply: echoReplyCheck } },
  { name: 'ICMP echo with a bad ICMP checksum', frame: echo({ payload: ECHO_PAYLOAD, checksum: 0x1234 }),
    expect: { dropped: 'bad_icmp_checksum' } },

  // Sources.
  { name: 'broadcast source MAC', frame: syn({ src: pk.BROADCAST_MAC }), expect: { dropped: 'bad_source' } },
  { name: 'multicast source MAC', frame: syn({ src: '01:00:5e:00:00:01' }), expect: { dropped: 'bad_source' } },
  ...['0.0.0.0', '255.255.255.255', '224.0.0.5', '239.1.2.3', '127.0.0.1'].map((src): Case => (
    { name: `IPv4 source ${src}`, frame: syn({ ip: { src } }), expect: { dropped: 'bad_source' } })),
  { name: 'ICMP echo from 255.255.255.255 (no reply to a broadcast)', frame: echo({ src: '255.255.255.255' }),
    expect: { dropped: 'bad_source' } },

  // Addressing.
  { name: 'TCP to the VIP on a port with no service', frame: syn({ tcp: { dport: 443 } }), expect: { dropped: 'no_service' } },
  { name: 'UDP to a TCP-only VIP', frame: eth(ip4({ proto: pk.IPPROTO_UDP }, udpSeg({ dport: 80 }, VIP))),
    expect: { dropped: 'no_service' } },
  { name: 'IPv6 to an address that is no VIP', frame: v6Syn(), expect: { dropped: 'no_service' } },

  // IPv6 and neighbor discovery.
  { name: 'IPv6 TCP to the IPv6 VIP', frame: syn6(), expect: { forwarded: 2 } },
  { name: 'IPv6 with hop-by-hop and destination options is forwarded intact',
    frame: syn6({ extHeaders: [{ type: 0 }, { type: 60 }] }), expect: { forwarded: 2 } },
  { name: 'IPv6 extension header running past the packet',
    frame: patched(syn6({ extHeaders: [{ type: 0 }] }), 14 + 40 + 1, 8), expect: { dropped: 'truncated' } },
  { name: 'IPv6 first fragment of 20 bytes', frame: syn6({ extHeaders: [{ type: 44, more: true }] }),
    expect: { dropped: 'bad_ip_header' } },
  ...['ff02::1', '::1', '::'].map((src): Case => (
    { name: `IPv6 source ${src}`, frame: syn6({ src }), expect: { dropped: 'bad_source' } })),
  { name: 'ICMPv6 echo from :: (no reply to the unspecified address)', frame: ip6({ src: '::', nextHeader: pk.IPPROTO_ICMPV6 },
    pk.icmpEcho({ type: 128, id: 1, seq: 1 }, { src: '::', dst: VIP6 })), expect: { dropped: 'bad_source' } },
  { name: 'duplicate-address probe (NS from ::) for the IPv6 VIP is answered to all-nodes',
    frame: ns({ src: '::', sourceLinkAddr: false }), expect: { reply: (out) => {
      const d = pk.decodeFrame(out);
      assert.equal(d.dstMac, '33:33:00:00:00:01');
      assert.equal(d.ipv6?.dst, 'ff02::1');
      assert.deepEqual(nd.decodeNd(out), { type: 136, code: 0, flags: 0x20, target: VIP6, option: { type: 2, mac: dp.mac },
        checksumValid: true });
    } } },
  { name: 'IPv6 payload length beyond the frame', frame: syn6({ payloadLength: 400 }), expect: { dropped: 'bad_ip_header' } },
  { name: 'IPv6 TCP to the all-nodes group MAC', frame: patched(syn6(), 0, 0x33, 0x33, 0, 0, 0, 1),
    expect: { dropped: 'not_for_us' } },
  { name: 'neighbor solicitation for the IPv6 VIP is answered', frame: ns(), expect: { reply: naReplyCheck } },
  { name: 'neighbor solicitation with hop limit 254', frame: ns({ hopLimit: 254 }), expect: { dropped: 'bad_nd' } },
  { name: 'neighbor solicitation with a bad ICMPv6 checksum', frame: ns({ checksum: 0xbeef }), expect: { dropped: 'bad_nd' } },
  { name: 'neighbor solicitation with an option of length 0', frame: ns({ optionUnits: 0 }), expect: { dropped: 'bad_nd' } },
  { name: 'neighbor solicitation from :: with a source link-layer option', frame: ns({ src: '::' }),
    expect: { dropped: 'bad_nd' } },
  { name: 'neighbor solicitation truncated inside the target', frame: ns().subarray(0, 14 + 40 + 16),
    expect: { dropped: 'bad_ip_header' } },
  { name: 'neighbor solicitation for an address not ours', frame: ns({ target: 'fd00:99::4444' }),
    expect: { dropped: 'nd_ignored' } },
  { name: 'neighbor solicitation from a multicast MAC', frame: ns({ srcMac: '33:33:00:00:00:01' }),
    expect: { dropped: 'bad_source' } },
  { name: 'neighbor advertisement sent to a solicited-node group', frame: patched(nd.neighborAdvertFrame({
    srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT6, dst: PORT6, target: CLIENT6 }), 0, 0x33, 0x33, 0xff, 0, 0, 2),
  expect: { dropped: 'not_for_us' } },
  { name: 'ICMPv6 echo to the IPv6 VIP is answered', frame: echo6(), expect: { reply: (out) => {
    const d = pk.decodeFrame(out);
    assert.ok(d.icmp?.type === 129 && d.icmp.checksumValid && d.ipv6?.src === VIP6 && d.ipv6.dst === CLIENT6, JSON.stringify(d));
  } } },
  { name: 'ICMPv6 echo with a bad checksum', frame: echo6({ checksum: 0x1234 }), expect: { dropped: 'bad_icmp_checksum' } },
  { name: 'ICMPv6 echo reply to the IPv6 VIP', frame: echo6({ type: 129 }), expect: { dropped: 'icmp_ignored' } },
  { name: 'ARP request for the port address with hardware length 7',
    frame: pk.ether({ dst: pk.BROADCAST_MAC, src: CLIENT_MAC, type: pk.ETHERTYPE_ARP },
      patched(pk.arp({ op: 1, sha: CLIENT_MAC, spa: '10.99.0.1', tpa: PORT_ADDRESS }), 4, 7)),
    expect: { dropped: 'arp_ignored' } },
  { name: 'ARP whose hardware length 255 runs past the frame',
    frame: pk.ether({ dst: pk.BROADCAST_MAC, src: CLIENT_MAC, type: pk.ETHERTYPE_ARP },
      patched(pk.arp({ op: 1, sha: CLIENT_MAC, spa: '10.99.0.1', tpa: PORT_ADDRESS }), 4, 255)),
    expect: { dropped: 'truncated' } },
];

// ---------------------------------------------------------------------------
// Running the table

interface Counts { forwarded: number; localReplies: number; arpLearned: number; rx: number; drops: Record<string, number> }

function counts(s: NativeStats = dp.native.stats()): Counts {
  const t = totals(s);
  return { forwarded: t.forwarded, localReplies: t.localReplies, rx: t.rx, drops: t.drops,
    arpLearned: s.lcores.reduce((a, l) => a + l.arpLearned, 0) };
}

function dropDelta(before: Counts, now: Counts): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(now.drops)) if (v !== before.drops[k]) delta[k] = v - (before.drops[k] ?? 0);
  return delta;
}

function dsrRewrite(frame: Buffer, backendIndex: number): Buffer {
  return Buffer.concat([pk.parseMac(backendMac(backendIndex)), pk.parseMac(dp.mac), frame.subarray(12)]);
}

const inUse = () => dp.native.stats().mempools.reduce((a, m) => a + m.inUse, 0);
const baselineInUse = inUse();

describe('hostile packets', () => {
  for (const c of cases) {
    const verdict = 'dropped' in c.expect ? c.expect.dropped : 'forwarded' in c.expect ? 'forwarded' : 'answered';
    test(`${c.name} -> ${verdict}`, async () => {
      const before = counts();
      assert.equal(dp.native.inject('p0', [c.frame], 0, c.segmentBytes), 1, 'the ring port takes the frame');
      await dp.settle(before.rx + 1);
      const out = dp.native.capture('p0');
      const now = counts();
      const moved = {
        drops: dropDelta(before, now),
        forwarded: now.forwarded - before.forwarded,
        localReplies: now.localReplies - before.localReplies,
        arpLearned: now.arpLearned - before.arpLearned,
      };
      if ('dropped' in c.expect) {
        assert.deepEqual(moved, { drops: { [c.expect.dropped]: 1 }, forwarded: 0, localReplies: 0, arpLearned: 0 });
        assert.equal(out.length, 0, 'nothing is transmitted');
      } else if ('forwarded' in c.expect) {
        assert.deepEqual(moved, { drops: {}, forwarded: 1, localReplies: 0, arpLearned: 0 });
        assert.equal(out.length, 1);
        assert.equal(out[0].toString('hex'), dsrRewrite(c.frame, c.expect.forwarded).toString('hex'),
          'the input with only the MACs rewritten');
      } else {
        assert.deepEqual(moved, { drops: {}, forwarded: 0, localReplies: 1, arpLearned: 0 });
        assert.equal(out.length, 1);
        c.expect.reply(out[0]);
      }
    });
  }

  test('every drop reason in the table is a real reason name', () => {
    const names = new Set(dp.native.dropReasons());
    for (const c of cases) if ('dropped' in c.expect) assert.ok(names.has(c.expect.dropped), c.expect.dropped);
  });

  test('afterwards: rx = forwarded + local replies + ARP learned + drops other than tx_full', () => {
    const s = dp.native.stats();
    for (const l of s.lcores) {
      const dropped = Object.entries(l.drops).reduce((a, [k, v]) => a + (k === 'tx_full' ? 0 : v), 0);
      assert.equal(l.rxPackets, l.forwarded + l.localReplies + l.arpLearned + dropped, `lcore ${l.lcore}`);
    }
    assert.equal(totals(s).rx, cases.length);
  });

  test('afterwards: the mempool in-use count is back at its baseline', () => {
    assert.equal(inUse(), baselineInUse);
  });
});
