// Golden tests for the tunnel forwarding mode, through real worker lcores on an
// in-process ring port: ipip and GUE frames checked field by field and byte by
// byte against frames built independently with the test frame builder, the
// inner packet byte-identical, outer sources per flow, ICMP fragmentation-needed
// past the MTU, the next hop through the port's gateway, and dsr and tunnel
// services side by side. What was captured is also decoded by tshark with
// checksum validation on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeService, NativeTunnel } from '../../src/native/types';
import * as pk from '../helpers/packets';
import { dropDelta, perFlow, tsharkDecode } from '../helpers/golden';
import { backend, backendMac, CLIENT_MAC, PORT_ADDRESS, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const GATEWAY = '10.99.0.1';
const GATEWAY_MAC = '02:00:00:00:0f:01';
const MTU = 1500;
const GUE_PORT = 6080;
const FIXED_SOURCE = '10.99.0.50';
const OFF_LINK_BACKEND = '10.1.2.11';

const VIP = { dsr: '10.99.0.100', ipip: '10.99.0.101', gue: '10.99.0.102', fixed: '10.99.0.103', routed: '10.99.0.104' };

const ipipOptions: NativeTunnel = { encapsulation: 'ipip', guePort: GUE_PORT, sourceNetwork: '172.16.0.0', sourcePrefixLength: 16 };
const gueOptions: NativeTunnel = { ...ipipOptions, encapsulation: 'gue' };

// dsr and every tunnel variant in one snapshot, each on its own VIP and backends.
const services: NativeService[] = [
  service([backend(0)], { id: 0, name: 'dsr', vip: VIP.dsr }),
  service([backend(1), backend(2)], { id: 1, name: 'ipip', vip: VIP.ipip, forwarding: 'tunnel', tunnel: ipipOptions }),
  // The inner packet is not rewritten, so the backends listen on the service port.
  service([backend(3, { port: 53 }), backend(4, { port: 53 })], { id: 2, name: 'gue', vip: VIP.gue, port: 53, protocol: 'udp', forwarding: 'tunnel',
    tunnel: gueOptions }),
  service([backend(5)], { id: 3, name: 'fixed', vip: VIP.fixed, forwarding: 'tunnel',
    tunnel: { ...ipipOptions, source: FIXED_SOURCE } }),
  service([{ ...backend(6), address: OFF_LINK_BACKEND, mac: undefined }], { id: 4, name: 'routed', vip: VIP.routed,
    forwarding: 'tunnel', tunnel: ipipOptions }),
];
const backendByAddress = new Map(services.flatMap((s) => s.backends).map((b) => [b.address, b]));

let dp: RingDataplane;
let workDir: string;
/** every frame the data plane sent in these tests, for tshark */
const captured: Buffer[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-tunnel-test-'));
  dp = new RingDataplane({ gateway: GATEWAY, mtu: MTU });
  dp.native.setServices(services);
});
after(() => {
  dp?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/** What the data plane sent for `frames`, ARP requests for next hops left out. */
async function exchange(frames: Buffer[]): Promise<Buffer[]> {
  const out = (await dp.exchange(frames)).filter((f) => pk.decodeFrame(f).arp === undefined);
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
  /** IPv4 flags; default DF, as Linux sets on TCP */
  flags?: number;
  tos?: number;
  /** TCP or UDP payload bytes */
  size?: number;
  options?: Buffer;
}

function clientFrame(c: ClientPacket): Buffer {
  const payload = Buffer.alloc(c.size ?? 0, 0x5a);
  const ip = { src: c.src, dst: c.dst };
  const l4 = c.proto === 'udp'
    ? pk.udp({ sport: c.sport, dport: c.dport, payload }, ip)
    : pk.tcp({ sport: c.sport, dport: c.dport, flags: 'PA', payload }, ip);
  const packet = pk.ipv4({ ...ip, proto: c.proto === 'udp' ? pk.IPPROTO_UDP : pk.IPPROTO_TCP, ttl: 61,
    flags: c.flags ?? pk.IPV4_DF, tos: c.tos ?? 0, options: c.options }, l4);
  return pk.ether({ dst: dp.mac, src: CLIENT_MAC, vlans: c.vlans, type: pk.ETHERTYPE_IPV4 }, packet);
}

function flows(n: number, seed: number, dst: string, dport: number, proto: 'tcp' | 'udp'): ClientPacket[] {
  return pk.randomFlows(n, seed, { vip: dst, vport: dport, proto, clientNet: '192.168.0.0/16' })
    .map((f) => ({ src: f.src, sport: f.sport, dst, dport, proto }));
}

/**
 * Checks one tunnelled frame field by field, then byte for byte against the frame
 * the builder makes from the same fields; returns the decoded tunnel.
 */
function checkTunnelled(input: Buffer, out: Buffer, encapsulation: 'ipip' | 'gue', nextHopMac?: string): pk.DecodedTunnel {
  const t = pk.decodeTunnel(out, GUE_PORT);
  assert.ok(t, `a ${encapsulation} frame: ${JSON.stringify(pk.decodeFrame(out))}`);
  assert.equal(t.encapsulation, encapsulation);
  const inner = pk.ipPacketOf(input)!;
  const inDecoded = pk.decodeFrame(input);
  const o = t.outer;
  const b = backendByAddress.get(o.ipv4!.dst);
  assert.ok(b, `outer destination ${o.ipv4!.dst} is a backend`);
  assert.equal(o.dstMac, nextHopMac ?? b.mac, 'destination MAC: the next hop');
  assert.equal(o.srcMac, dp.mac);
  assert.deepEqual(o.vlans, inDecoded.vlans, 'VLAN tags as they came in');
  assert.equal(o.error, undefined);
  const ip = o.ipv4!;
  assert.equal(ip.ttl, 64);
  assert.equal(ip.ihl, 5);
  assert.ok(ip.checksumValid, 'outer IPv4 checksum');
  assert.equal(ip.flags, inDecoded.ipv4!.flags & pk.IPV4_DF, 'DF copied, nothing else');
  assert.equal(ip.fragOffset, 0);
  assert.equal(ip.tos, inDecoded.ipv4!.tos, 'TOS copied');
  const overhead = encapsulation === 'ipip' ? 20 : 28;
  assert.equal(ip.totalLength, inner.length + overhead);
  assert.equal(out.length, 14 + 4 * o.vlans.length + inner.length + overhead, 'no padding carried along');
  assert.ok(t.innerPacket.equals(inner), 'the inner packet is byte-identical');
  assert.equal(t.inner.error, undefined);

  const outer = { src: ip.src, dst: ip.dst, ttl: 64, id: ip.id, tos: ip.tos, flags: ip.flags };
  let expected: Buffer;
  if (encapsulation === 'ipip') {
    assert.equal(ip.proto, pk.IPPROTO_IPIP);
    expected = pk.ipipPacket(outer, inner);
  } else {
    assert.equal(ip.proto, pk.IPPROTO_UDP);
    const udp = o.udp!;
    assert.equal(udp.dport, GUE_PORT);
    assert.ok(udp.sport >= 49152 && udp.sport <= 65535, `UDP source port ${udp.sport} is ephemeral`);
    assert.equal(udp.length, inner.length + 8);
    assert.equal(udp.checksum, 0, 'no UDP checksum over IPv4');
    expected = pk.guePacket({ ...outer, sport: udp.sport, dport: GUE_PORT }, inner);
  }
  const frame = pk.ether({ dst: nextHopMac ?? b.mac!, src: dp.mac, vlans: inDecoded.vlans, type: pk.ETHERTYPE_IPV4 },
    expected);
  assert.ok(out.equals(frame), `byte for byte:\n  got      ${out.toString('hex')}\n  expected ${frame.toString('hex')}`);
  return t;
}

const flowOf = (t: pk.DecodedTunnel) => `${t.inner.ipv4!.src}:${(t.inner.tcp ?? t.inner.udp)!.sport}`;

const perFlowOf = <T>(tunnels: pk.DecodedTunnel[], pick: (t: pk.DecodedTunnel) => T) => perFlow(tunnels, flowOf, pick);

describe('next hop through the gateway', () => {
  // First, while the gateway is still unresolved: it is a neighbor target from the start.
  test('an off-link backend is reached through the port gateway, resolved by ARP', async () => {
    const packet = clientFrame({ src: '192.168.1.1', sport: 1111, dst: VIP.routed, dport: 80 });
    const before = totals(dp.native.stats()).drops;
    assert.deepEqual(await exchange([packet]), []);
    assert.deepEqual(dropDelta(dp, before), { neighbor_unresolved: 1 }, 'dropped until the gateway is resolved');

    dp.native.poll();
    const gw = dp.native.neighbors().find((n) => n.address === GATEWAY);
    assert.ok(gw && !gw.resolved, 'the gateway is a wanted, unresolved neighbor');
    assert.equal(dp.native.neighbors().find((n) => n.address === OFF_LINK_BACKEND), undefined,
      'the off-link backend itself is never ARPed for');

    await dp.exchange([pk.arpReplyFrame({ srcMac: GATEWAY_MAC, dstMac: dp.mac, senderIp: GATEWAY, targetIp: PORT_ADDRESS })]);
    dp.native.poll();
    assert.equal(dp.native.neighbors().find((n) => n.address === GATEWAY)?.mac, GATEWAY_MAC);

    const out = await exchange([packet]);
    assert.equal(out.length, 1);
    const t = checkTunnelled(packet, out[0], 'ipip', GATEWAY_MAC);
    assert.equal(t.outer.ipv4!.dst, OFF_LINK_BACKEND, 'the outer destination is the backend, not the gateway');
  });
});

describe('ipip', () => {
  test('outer header by field and by byte, inner packet unchanged, with VLAN tags and IP options', async () => {
    const inputs = [
      clientFrame({ src: '192.168.2.1', sport: 2001, dst: VIP.ipip, dport: 80 }),
      clientFrame({ src: '192.168.2.2', sport: 2002, dst: VIP.ipip, dport: 80, vlans: [42], tos: 0xb8, size: 300 }),
      clientFrame({ src: '192.168.2.3', sport: 2003, dst: VIP.ipip, dport: 80, vlans: [7, 42], flags: 0,
        options: Buffer.from([0x94, 0x04, 0, 0]) }),
    ];
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      assert.ok(checkTunnelled(inputs[i], out[i], 'ipip').inner.tcp!.checksumValid, 'inner TCP checksum intact');
    }
    const ids = out.map((f) => pk.decodeFrame(f).ipv4!.id);
    assert.deepEqual(ids.slice(1).map((id, i) => (id - ids[i] + 0x10000) & 0xffff), [1, 1],
      'outer IDs count up per lcore');
  });

  test('a minimum-size frame loses its Ethernet padding, not a byte of the packet', async () => {
    const input = clientFrame({ src: '192.168.2.9', sport: 2009, dst: VIP.ipip, dport: 80 });
    assert.equal(input.length, 60, 'the builder padded a 54-byte frame to 60');
    const [out] = await exchange([input]);
    checkTunnelled(input, out, 'ipip');
  });

  test('outer sources: one per flow inside 172.16.0.0/16, the same for every packet of the flow', async () => {
    const fs = flows(400, 11, VIP.ipip, 80, 'tcp');
    const inputs = [...fs, ...fs].map((f) => clientFrame(f));
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    const tunnels = out.map((f, i) => checkTunnelled(inputs[i], f, 'ipip'));
    const sources = perFlowOf(tunnels, (t) => t.outer.ipv4!.src);
    assert.equal(sources.size, fs.length);
    for (const s of sources.values()) assert.ok(s.startsWith('172.16.'), `${s} inside 172.16.0.0/16`);
    const distinct = new Set(sources.values()).size;
    console.log(`# ${fs.length} flows -> ${distinct} distinct outer sources`);
    // 400 flows over 65536 sources: a birthday collision or two, no more.
    assert.ok(distinct >= fs.length - 4, `${distinct} distinct sources for ${fs.length} flows`);
    // Two flows that differ only in the client port differ in source too.
    const pair = [2100, 2101].map((sport) => clientFrame({ src: '192.168.3.3', sport, dst: VIP.ipip, dport: 80 }));
    const [a, b] = (await exchange(pair)).map((f) => pk.decodeFrame(f).ipv4!.src);
    assert.notEqual(a, b);
  });

  test('a fixed source is used for every flow', async () => {
    const fs = flows(20, 12, VIP.fixed, 80, 'tcp');
    const inputs = fs.map((f) => clientFrame(f));
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    const tunnels = out.map((f, i) => checkTunnelled(inputs[i], f, 'ipip'));
    assert.deepEqual(new Set(tunnels.map((t) => t.outer.ipv4!.src)), new Set([FIXED_SOURCE]));
  });
});

describe('gue', () => {
  test('UDP to the GUE port from a per-flow ephemeral port, the port address as source', async () => {
    const fs = flows(400, 21, VIP.gue, 53, 'udp').map((f, i) => ({ ...f, size: i % 50, vlans: i % 3 === 0 ? [5] : undefined }));
    const inputs = [...fs, ...fs].map((f) => clientFrame(f));
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    const tunnels = out.map((f, i) => checkTunnelled(inputs[i], f, 'gue'));
    for (const t of tunnels) {
      assert.equal(t.outer.ipv4!.src, PORT_ADDRESS);
      assert.ok(t.inner.udp!.checksumValid, 'inner UDP checksum intact');
    }
    const ports = perFlowOf(tunnels, (t) => t.outer.udp!.sport);
    const distinct = new Set(ports.values()).size;
    console.log(`# ${fs.length} flows -> ${distinct} distinct GUE source ports`);
    // 400 flows over 16384 ports: a few birthday collisions.
    assert.ok(distinct >= fs.length - 20, `${distinct} distinct ports for ${fs.length} flows`);
  });
});

describe('MTU', () => {
  // Largest inner packet that fits the 1500-byte MTU once encapsulated.
  const limits = [
    { encapsulation: 'ipip' as const, vip: VIP.ipip, dport: 80, limit: MTU - 20 },
    { encapsulation: 'gue' as const, vip: VIP.gue, dport: 53, limit: MTU - 28 },
  ];

  for (const { encapsulation, vip, dport, limit } of limits) {
    test(`${encapsulation}: ${limit} bytes go through, ${limit + 1} get ICMP fragmentation-needed with MTU ${limit}`, async () => {
      const proto = encapsulation === 'gue' ? 'udp' as const : 'tcp' as const;
      const headers = proto === 'udp' ? 28 : 40;
      const base = { src: '192.168.4.4', sport: 4000, dst: vip, dport, proto, vlans: [9] };
      const fits = clientFrame({ ...base, size: limit - headers });
      const tooBig = clientFrame({ ...base, sport: 4001, size: limit + 1 - headers });
      const tooBigNoDf = clientFrame({ ...base, sport: 4002, size: limit + 1 - headers, flags: 0 });
      assert.equal(pk.ipPacketOf(fits)!.length, limit);
      const before = totals(dp.native.stats());
      const out = await exchange([fits, tooBig, tooBigNoDf]);
      assert.equal(out.length, 3);
      checkTunnelled(fits, out[0], encapsulation);
      assert.equal(out[0].length, 18 + MTU, 'a full-size frame');

      for (const [input, reply] of [[tooBig, out[1]], [tooBigNoDf, out[2]]]) {
        const d = pk.decodeFrame(reply);
        assert.equal(d.error, undefined);
        assert.equal(d.dstMac, CLIENT_MAC);
        assert.equal(d.srcMac, dp.mac);
        assert.deepEqual(d.vlans, [9]);
        assert.equal(d.ipv4!.src, vip, 'from the VIP the client used');
        assert.equal(d.ipv4!.dst, base.src);
        assert.equal(d.ipv4!.proto, pk.IPPROTO_ICMP);
        assert.ok(d.ipv4!.checksumValid);
        assert.equal(d.icmp!.type, 3);
        assert.equal(d.icmp!.code, 4);
        assert.equal(d.icmp!.nextHopMtu, limit);
        assert.ok(d.icmp!.checksumValid);
        const original = pk.ipPacketOf(input)!;
        assert.equal(d.payload!.length, 576 - 28, 'quotes as much as fits in 576 bytes');
        assert.ok(d.payload!.equals(original.subarray(0, 548)), 'the quote is the original header and data');
        const expected = pk.ether({ dst: CLIENT_MAC, src: dp.mac, vlans: [9], type: pk.ETHERTYPE_IPV4 },
          pk.ipv4({ src: vip, dst: base.src, proto: pk.IPPROTO_ICMP, ttl: 64 },
            pk.icmpFragNeeded(limit, original.subarray(0, 548))));
        assert.ok(reply.equals(expected), 'byte for byte');
      }
      const now = totals(dp.native.stats());
      assert.equal(now.drops.mtu_exceeded - (before.drops.mtu_exceeded ?? 0), 2);
      assert.equal(now.icmpFragNeededSent - before.icmpFragNeededSent, 2);
      assert.equal(now.forwarded - before.forwarded, 1);
    });
  }

  test('a flood of oversized packets gets rate-limited replies', async () => {
    // Let the bucket refill (1 per ms, 50 at most) after the tests before.
    await new Promise((r) => setTimeout(r, 100));
    const n = 300;
    const inputs = Array.from({ length: n }, (_, i) =>
      clientFrame({ src: '192.168.5.5', sport: 5000 + i, dst: VIP.ipip, dport: 80, size: MTU }));
    const before = totals(dp.native.stats());
    const start = Date.now();
    const out = await exchange(inputs);
    const elapsedMs = Date.now() - start;
    const now = totals(dp.native.stats());
    const sent = now.icmpFragNeededSent - before.icmpFragNeededSent;
    console.log(`# ${n} oversized packets in ${elapsedMs} ms -> ${sent} ICMP replies`);
    assert.equal(now.drops.mtu_exceeded - (before.drops.mtu_exceeded ?? 0), n, 'every one counted');
    assert.equal(out.length, sent, 'what was counted as sent came out');
    assert.ok(sent >= 50, 'a full bucket answers a burst of 50');
    // The bucket cannot refill faster than the clock: 50 + 1 per elapsed millisecond.
    assert.ok(sent <= 50 + elapsedMs + 2, `${sent} replies in ${elapsedMs} ms`);
  });
});

describe('dsr and tunnel side by side', () => {
  test('one burst to every service: each leaves in its own mode', async () => {
    const inputs = [
      clientFrame({ src: '192.168.6.1', sport: 6001, dst: VIP.dsr, dport: 80 }),
      clientFrame({ src: '192.168.6.2', sport: 6002, dst: VIP.ipip, dport: 80 }),
      clientFrame({ src: '192.168.6.3', sport: 6003, dst: VIP.gue, dport: 53, proto: 'udp' }),
      clientFrame({ src: '192.168.6.4', sport: 6004, dst: VIP.fixed, dport: 80 }),
      clientFrame({ src: '192.168.6.5', sport: 6005, dst: VIP.routed, dport: 80 }),
    ];
    const out = await exchange(inputs);
    assert.equal(out.length, inputs.length);
    assert.equal(pk.formatMac(out[0].subarray(0, 6)), backendMac(0));
    assert.equal(pk.formatMac(out[0].subarray(6, 12)), dp.mac);
    assert.ok(out[0].subarray(12).equals(inputs[0].subarray(12)), 'dsr: every byte after the MACs unchanged');
    checkTunnelled(inputs[1], out[1], 'ipip');
    checkTunnelled(inputs[2], out[2], 'gue');
    assert.equal(checkTunnelled(inputs[3], out[3], 'ipip').outer.ipv4!.src, FIXED_SOURCE);
    checkTunnelled(inputs[4], out[4], 'ipip', GATEWAY_MAC);
    const stats = dp.services();
    for (const s of services) {
      const backends = stats.find((x) => x.name === s.name)!.backends;
      assert.ok(backends.reduce((a, b) => a + b.packets, 0) > 0, `service ${s.name} counted its packets`);
    }
  });
});

describe('tshark', () => {
  const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  // GUE variant 1 has no dissector of its own: its port is decoded as IP. The
  // test payloads are filler, not DNS, so the DNS dissector would call them malformed.
  const decodeArgs = ['-n', '-d', `udp.port==${GUE_PORT},ip`, '--disable-protocol', 'dns',
    '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];

  function cleanDecode(name: string, frames: Buffer[], extra: string[]): string[] {
    return tsharkDecode(join(workDir, `${name}.pcap`), frames, [...decodeArgs, ...extra],
      ['ip.proto', 'ip.dst', 'tcp.dstport', 'udp.dstport', 'icmp.mtu']);
  }

  test('decodes every captured frame with valid checksums and sees the inner packets', () => {
    assert.ok(tshark.error === undefined && tshark.status === 0,
      'tshark is not installed (scripts/setup.sh installs it); this test needs it');
    const icmp = captured.filter((f) => pk.decodeFrame(f).icmp !== undefined);
    const tunnelled = captured.filter((f) => pk.decodeFrame(f).icmp === undefined);
    assert.ok(tunnelled.length > 1000 && icmp.length > 50, `${tunnelled.length} tunnelled, ${icmp.length} ICMP frames`);

    // The check can fail: one flipped byte in the inner TCP header is flagged.
    const broken = Buffer.from(tunnelled[0]);
    broken[broken.length - 1] ^= 0xff;
    assert.throws(() => cleanDecode('control', [broken], ['-o', 'tcp.check_checksum:TRUE']), /incorrect, should be/);

    const lines = cleanDecode('tunnel', tunnelled, ['-o', 'tcp.check_checksum:TRUE']);
    // ipip: two IP layers, the inner one to the VIP; TCP port 80 seen through the tunnel.
    assert.ok(lines.includes(`4,6;${OFF_LINK_BACKEND},${VIP.routed};80;;`), `tshark sees TCP to port 80 inside ipip: ${lines[0]}`);
    const gue = new RegExp(`^17,17;[0-9.]+,${VIP.gue.replaceAll('.', '\\.')};;${GUE_PORT},53;$`);
    assert.ok(lines.some((l) => gue.test(l)), 'tshark sees UDP to port 53 inside GUE');

    // An ICMP error quotes the first 548 bytes of a longer packet, so the quoted
    // TCP or UDP checksum cannot match; IP and ICMP checksums are still checked.
    const icmpLines = cleanDecode('icmp', icmp, ['-o', 'tcp.check_checksum:FALSE', '-o', 'udp.check_checksum:FALSE']);
    assert.ok(icmpLines.some((l) => l.startsWith('1,') && l.endsWith(`;${MTU - 20}`)), 'tshark reads the ICMP next-hop MTU');
  });
});
