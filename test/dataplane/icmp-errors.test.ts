// ICMP destination-unreachable messages, and ICMPv6 destination-unreachable and
// packet-too-big, sent to a VIP go to the backend that owns the flow they quote
// (docs/forwarding-modes.md, "ICMP errors for a VIP"), in dsr and in tunnel
// mode, through real worker lcores on an in-process ring port. What comes out is
// the error itself, unchanged, with the MACs rewritten or an outer header added.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeService } from '../../src/native/types';
import * as pk from '../helpers/packets';
import { writePcap } from '../helpers/pcap';
import { backend, backendMac, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const MTU = 1500;
const ROUTER = '10.99.0.1';
const VIP = { dsr: '10.99.0.100', tunnel: '10.99.0.101', udp: '10.99.0.102' };
const PORT6 = 'fd00:99::2';
const ROUTER6 = 'fd00:99::fe';
const VIP6 = { dsr: 'fd00:99::100', tunnel: 'fd00:99::101' };
const backend6 = (i: number) => backend(i, { address: `fd00:99::${(0x11 + i).toString(16)}` });
const FLOWS = 64;

const services: NativeService[] = [
  service([0, 1, 2, 3].map((i) => backend(i)), { id: 0, name: 'dsr', vip: VIP.dsr }),
  service([4, 5, 6].map((i) => backend(i)), { id: 1, name: 'tunnel', vip: VIP.tunnel, forwarding: 'tunnel',
    tunnel: { encapsulation: 'ipip', guePort: 6080, sourceNetwork: '172.16.0.0', sourcePrefixLength: 16 } }),
  service([7, 8].map((i) => backend(i, { port: 53 })), { id: 2, name: 'dns', vip: VIP.udp, port: 53, protocol: 'udp' }),
  service([9, 10, 11].map(backend6), { id: 3, name: 'dsr6', vip: VIP6.dsr }),
  service([12, 13].map(backend6), { id: 4, name: 'tunnel6', vip: VIP6.tunnel, forwarding: 'tunnel',
    tunnel: { encapsulation: 'ipip', guePort: 6080, sourceNetwork: 'fd00:5c::', sourcePrefixLength: 96 } }),
];
const macOfBackend = new Map(services.flatMap((s) => s.backends).map((b) => [backendMac(b.id), b.id]));

let dp: RingDataplane;
let workDir: string;
const captured: Buffer[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-icmp-errors-test-'));
  dp = new RingDataplane({ mtu: MTU, address6: PORT6, prefixLength6: 64 });
  dp.native.setServices(services);
});
after(() => {
  dp?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

async function exchange(frames: Buffer[]): Promise<Buffer[]> {
  const out = await dp.exchange(frames);
  captured.push(...out);
  return out;
}

const clientOf = (i: number) => `198.51.${100 + (i >> 8)}.${i & 0xff}`;
const client6Of = (i: number) => `2001:db8:c::${i.toString(16)}`;
const clientPort = (i: number) => 20000 + i;

function syn(vip: string, i: number): Buffer {
  return pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: clientOf(i), dst: vip, sport: clientPort(i), dport: 80,
    flags: 'S' });
}

/** What the backend sent the client as the VIP (in dsr it never passes the balancer): the packet a router quotes. */
function replyFromVip(vip: string, i: number, vipPort = 80, proto: 'tcp' | 'udp' = 'tcp', size = 1400): Buffer {
  const ip = { src: vip, dst: clientOf(i) };
  const payload = Buffer.alloc(size, 0x5a);
  const l4 = proto === 'tcp'
    ? pk.tcp({ sport: vipPort, dport: clientPort(i), flags: 'A', payload }, ip)
    : pk.udp({ sport: vipPort, dport: clientPort(i), payload }, ip);
  return pk.ipv4({ ...ip, proto: proto === 'tcp' ? pk.IPPROTO_TCP : pk.IPPROTO_UDP, flags: pk.IPV4_DF }, l4);
}

interface ErrorOptions {
  to?: string;
  /** bytes of the quoted packet; default 548 as Linux quotes (576 − 28) */
  quoteBytes?: number;
  breakChecksum?: boolean;
}

/** A router's fragmentation-needed message about `quoted`, sent to the VIP (or `to`). */
function fragNeeded(vip: string, quoted: Buffer, o: ErrorOptions = {}): Buffer {
  const msg = pk.icmpFragNeeded(1400, quoted.subarray(0, o.quoteBytes ?? 548));
  if (o.breakChecksum) msg[2] ^= 0xff;
  return pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: pk.ETHERTYPE_IPV4 },
    pk.ipv4({ src: ROUTER, dst: o.to ?? vip, proto: pk.IPPROTO_ICMP }, msg));
}

/** The backend each frame was sent to, by its destination MAC. */
function backendsOf(frames: Buffer[]): number[] {
  return frames.map((f) => {
    const id = macOfBackend.get(pk.decodeFrame(f).dstMac ?? '');
    assert.notEqual(id, undefined, `sent to an unknown MAC ${pk.decodeFrame(f).dstMac}`);
    return id!;
  });
}

async function dropDelta(frames: Buffer[], reason: string): Promise<{ out: Buffer[]; dropped: number }> {
  const before = totals(dp.native.stats());
  const out = await exchange(frames);
  const now = totals(dp.native.stats());
  return { out, dropped: (now.drops[reason] ?? 0) - (before.drops[reason] ?? 0) };
}

describe('dsr', () => {
  test('an error quoting a remembered flow goes, unchanged but for the MACs, to that flow\'s backend', async () => {
    const ids = Array.from({ length: FLOWS }, (_, i) => i);
    const owners = backendsOf(await exchange(ids.map((i) => syn(VIP.dsr, i))));
    assert.ok(new Set(owners).size > 1, 'the flows are spread over several backends');

    const errors = ids.map((i) => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, i)));
    const before = totals(dp.native.stats());
    const out = await exchange(errors);
    const now = totals(dp.native.stats());
    assert.equal(out.length, FLOWS);
    assert.deepEqual(backendsOf(out), owners);
    for (let i = 0; i < FLOWS; i++) {
      // Everything past the MACs is the router's message, byte for byte.
      assert.deepEqual(out[i].subarray(12), errors[i].subarray(12));
      assert.equal(pk.decodeFrame(out[i]).srcMac, dp.mac);
    }
    assert.equal(now.icmpErrorsRouted - before.icmpErrorsRouted, FLOWS);
    assert.equal(now.forwarded - before.forwarded, FLOWS);
    // Errors neither create nor refresh entries, and the flow counters are the flows' own.
    for (const k of ['inserts', 'hits', 'misses', 'active'] as const) assert.equal(now[k], before[k], k);
  });

  test('an error quoting a flow this lcore never saw goes where the flow\'s first packet will', async () => {
    const ids = Array.from({ length: FLOWS }, (_, i) => 1000 + i);
    const before = totals(dp.native.stats());
    const routed = backendsOf(await exchange(ids.map((i) => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, i)))));
    const mid = totals(dp.native.stats());
    assert.equal(mid.inserts, before.inserts, 'no entry made for an error');
    assert.equal(mid.active, before.active);
    const picked = backendsOf(await exchange(ids.map((i) => syn(VIP.dsr, i))));
    assert.deepEqual(routed, picked);
  });

  test('UDP flows too', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => 2000 + i);
    const owners = backendsOf(await exchange(ids.map((i) => pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac,
      src: clientOf(i), dst: VIP.udp, sport: clientPort(i), dport: 53 }))));
    const out = await exchange(ids.map((i) => fragNeeded(VIP.udp, replyFromVip(VIP.udp, i, 53, 'udp'))));
    assert.deepEqual(backendsOf(out), owners);
  });
});

describe('tunnel', () => {
  test('the error is encapsulated to the flow\'s backend with the flow\'s outer source', async () => {
    const ids = Array.from({ length: FLOWS }, (_, i) => 3000 + i);
    const flows = (await exchange(ids.map((i) => syn(VIP.tunnel, i)))).map((f) => pk.decodeTunnel(f, 6080)!);
    const errors = ids.map((i) => fragNeeded(VIP.tunnel, replyFromVip(VIP.tunnel, i)));
    const before = totals(dp.native.stats());
    const out = await exchange(errors);
    assert.equal(out.length, FLOWS);
    for (let i = 0; i < FLOWS; i++) {
      const t = pk.decodeTunnel(out[i], 6080);
      assert.ok(t !== undefined && t.encapsulation === 'ipip', 'ipip');
      assert.equal(t.outer.ipv4!.dst, flows[i].outer.ipv4!.dst, 'same backend');
      assert.equal(t.outer.ipv4!.src, flows[i].outer.ipv4!.src, 'same outer source as the flow');
      assert.deepEqual(t.innerPacket, pk.ipPacketOf(errors[i]), 'the error itself, unchanged');
    }
    assert.equal(totals(dp.native.stats()).icmpErrorsRouted - before.icmpErrorsRouted, FLOWS);
  });

  test('an error too long to tunnel is dropped and never answered with an error of its own', async () => {
    const big = fragNeeded(VIP.tunnel, replyFromVip(VIP.tunnel, 3000, 80, 'tcp', MTU - 40),
      { quoteBytes: MTU - 20 - 8 });
    const before = totals(dp.native.stats());
    const { out, dropped } = await dropDelta([big], 'mtu_exceeded');
    assert.equal(out.length, 0);
    assert.equal(dropped, 1);
    const now = totals(dp.native.stats());
    assert.equal(now.icmpFragNeededSent, before.icmpFragNeededSent);
    assert.equal(now.icmpErrorsRouted, before.icmpErrorsRouted);
  });
});

describe('IPv6', () => {
  function syn6(vip: string, i: number): Buffer {
    return pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: client6Of(i), dst: vip, sport: clientPort(i), dport: 80,
      flags: 'S' });
  }
  /** A router's packet-too-big (or unreachable) to the VIP about the backend's reply to client i. */
  function error6(vip: string, i: number, o: { type?: 1 | 2; vipPort?: number; breakChecksum?: boolean } = {}): Buffer {
    const ip = { src: vip, dst: client6Of(i) };
    const reply = pk.ipv6({ ...ip, nextHeader: pk.IPPROTO_TCP },
      pk.tcp({ sport: o.vipPort ?? 80, dport: clientPort(i), flags: 'A', payload: Buffer.alloc(1200, 0x5a) }, ip));
    const outer = { src: ROUTER6, dst: vip };
    const msg = pk.icmpv6Error(o.type ?? 2, 0, 1280, reply.subarray(0, 1232), outer);
    if (o.breakChecksum) msg[2] ^= 0xff;
    return pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: pk.ETHERTYPE_IPV6 },
      pk.ipv6({ ...outer, nextHeader: pk.IPPROTO_ICMPV6 }, msg));
  }

  test('packet-too-big and unreachable to an IPv6 VIP go to the quoted flow\'s backend (dsr)', async () => {
    const ids = Array.from({ length: 32 }, (_, i) => 4000 + i);
    const owners = backendsOf(await exchange(ids.map((i) => syn6(VIP6.dsr, i))));
    assert.ok(new Set(owners).size > 1, 'the flows are spread over several backends');
    const errors = ids.map((i, n) => error6(VIP6.dsr, i, { type: n % 2 === 0 ? 2 : 1 }));
    const before = totals(dp.native.stats());
    const out = await exchange(errors);
    const now = totals(dp.native.stats());
    assert.deepEqual(backendsOf(out), owners);
    for (let i = 0; i < out.length; i++) assert.deepEqual(out[i].subarray(12), errors[i].subarray(12));
    assert.equal(now.icmpErrorsRouted - before.icmpErrorsRouted, ids.length);
    for (const k of ['inserts', 'hits', 'misses', 'active'] as const) assert.equal(now[k], before[k], k);
  });

  test('IPv6-in-IPv6: encapsulated to the flow\'s backend with the flow\'s outer source', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => 5000 + i);
    const flows = (await exchange(ids.map((i) => syn6(VIP6.tunnel, i)))).map((f) => pk.decodeFrame(f).ipv6!);
    const out = await exchange(ids.map((i) => error6(VIP6.tunnel, i)));
    assert.equal(out.length, ids.length);
    out.forEach((f, n) => {
      const outer = pk.decodeFrame(f).ipv6!;
      assert.equal(outer.nextHeader, 41);
      assert.equal(outer.dst, flows[n].dst, 'same backend');
      assert.equal(outer.src, flows[n].src, 'same outer source');
    });
  });

  for (const [name, reason, o] of [
    ['bad ICMPv6 checksum', 'bad_icmp_checksum', { breakChecksum: true }],
    ['quotes a port with no service', 'icmp_ignored', { vipPort: 8080 }],
  ] as const) {
    test(`${name}: ${reason}`, async () => {
      const { out, dropped } = await dropDelta([error6(VIP6.dsr, 4000, o)], reason);
      assert.equal(out.length, 0);
      assert.equal(dropped, 1);
    });
  }
});

describe('errors that are not passed on', () => {
  const cases: { name: string; reason: string; frame: () => Buffer }[] = [
    { name: 'bad ICMP checksum', reason: 'bad_icmp_checksum',
      frame: () => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, 0), { breakChecksum: true }) },
    { name: 'quotes a port with no service', reason: 'icmp_ignored',
      frame: () => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, 0, 8080)) },
    { name: 'quotes another VIP than it is sent to', reason: 'icmp_ignored',
      frame: () => fragNeeded(VIP.dsr, replyFromVip(VIP.tunnel, 0)) },
    { name: 'quote cut before the ports', reason: 'icmp_ignored',
      frame: () => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, 0), { quoteBytes: 22 }) },
    { name: 'quotes a non-first fragment', reason: 'icmp_ignored', frame: () => {
      const q = replyFromVip(VIP.dsr, 0);
      q.writeUInt16BE(0x2000 | 185, 6);  // MF, offset 1480
      q.writeUInt16BE(0, 10);
      q.writeUInt16BE(pk.checksum16(q.subarray(0, 20)), 10);
      return fragNeeded(VIP.dsr, q);
    } },
    { name: 'quotes ICMP', reason: 'icmp_ignored', frame: () => {
      const echo = pk.ipPacketOf(pk.icmpEchoFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: VIP.dsr, dst: clientOf(0),
        id: 1, seq: 1 }))!;
      return fragNeeded(VIP.dsr, echo);
    } },
    { name: 'sent to the port address, not a VIP', reason: 'icmp_ignored',
      frame: () => fragNeeded(VIP.dsr, replyFromVip(VIP.dsr, 0), { to: '10.99.0.2' }) },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.reason}`, async () => {
      const before = totals(dp.native.stats());
      const { out, dropped } = await dropDelta([c.frame()], c.reason);
      assert.equal(out.length, 0);
      assert.equal(dropped, 1);
      assert.equal(totals(dp.native.stats()).icmpErrorsRouted, before.icmpErrorsRouted);
    });
  }
});

describe('tshark', () => {
  test('decodes every passed-on error with valid IP and ICMP checksums', () => {
    const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
    assert.ok(tshark.error === undefined && tshark.status === 0,
      'tshark is not installed (scripts/setup.sh installs it); this test needs it');
    const errors = captured.filter((f) => {
      const d = pk.decodeFrame(f);
      return d.icmp !== undefined || pk.decodeTunnel(f, 6080)?.inner.icmp !== undefined;
    });
    assert.ok(errors.length >= 2 * FLOWS, `${errors.length} error frames captured`);
    const path = join(workDir, 'errors.pcap');
    writePcap(path, errors);
    // The quote is cut at 548 bytes, so the quoted TCP checksum cannot match.
    const r = spawnSync('tshark', ['-r', path, '-n', '-V', '-o', 'ip.check_checksum:TRUE',
      '-o', 'tcp.check_checksum:FALSE', '-o', 'udp.check_checksum:FALSE'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    for (const marker of ['[Bad', 'Status: Bad', 'Malformed', 'incorrect, should be']) {
      const at = r.stdout.indexOf(marker);
      assert.equal(at, -1, `tshark reports "${marker}":\n${r.stdout.slice(Math.max(0, at - 1500), at + 200)}`);
    }
    const types = spawnSync('tshark', ['-r', path, '-n', '-T', 'fields', '-e', 'icmp.type', '-e', 'icmp.code',
      '-e', 'icmp.checksum.status', '-e', 'icmpv6.type', '-e', 'icmpv6.checksum.status'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const lines = types.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, errors.length);
    for (const l of lines) {
      assert.match(l, /^(3\t4\t1\t\t|\t\t\t[12]\t1)$/, `ICMP type 3 code 4 or ICMPv6 type 1 or 2, checksum good: ${l}`);
    }
    assert.ok(lines.some((l) => l.endsWith('\t2\t1')) && lines.some((l) => l.startsWith('3\t')), 'both families');
  });
});
