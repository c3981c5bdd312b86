// The frames of the nat golden tests (dataplane-nat, dataplane-nat6): one builder
// for what is injected and for what is expected, so the expected frame of a
// translated packet differs from the input only in the fields nat rewrites.
import assert from 'node:assert/strict';
import * as pk from './packets';
import type { RingDataplane } from './ring-dataplane';

export interface Segment {
  proto: 'tcp' | 'udp';
  srcMac: string;
  dstMac: string;
  /** IPv4 or IPv6; the frame's family follows */
  src: string;
  sport: number;
  dst: string;
  dport: number;
  flags?: string;
  seq?: number;
  ack?: number;
  payload?: Buffer;
  /** UDP only: 0 sends no checksum */
  udpChecksum?: number;
}

export function natFrame(s: Segment): Buffer {
  const ip = { src: s.src, dst: s.dst };
  const payload = s.payload ?? Buffer.from('sluice nat payload');
  const l4 = s.proto === 'tcp'
    ? pk.tcp({ sport: s.sport, dport: s.dport, flags: s.flags ?? 'PA', seq: s.seq ?? 1000, ack: s.ack ?? 2000,
      payload }, ip)
    : pk.udp({ sport: s.sport, dport: s.dport, payload, checksum: s.udpChecksum }, ip);
  const v6 = s.src.includes(':');
  const proto = s.proto === 'tcp' ? pk.IPPROTO_TCP : pk.IPPROTO_UDP;
  const packet = v6
    ? pk.ipv6({ ...ip, nextHeader: proto, hopLimit: 61, trafficClass: 0x28, flowLabel: 0x12345 }, l4)
    : pk.ipv4({ ...ip, proto, ttl: 61, id: 0x1234, flags: pk.IPV4_DF }, l4);
  return pk.ether({ dst: s.dstMac, src: s.srcMac, type: v6 ? pk.ETHERTYPE_IPV6 : pk.ETHERTYPE_IPV4 }, packet);
}

export interface PoolPair {
  addr: string;
  port: number;
}

export interface NatEndpoint {
  address: string;
  port: number;
  mac?: string;
}

/**
 * The golden steps of a nat test on a ring data plane whose MAC is `ownMac`:
 * `exchange` injects frames on a queue and returns what came out.
 */
export function natGolden(o: { ownMac: () => string; exchange: (frames: Buffer[], queue?: number) => Promise<Buffer[]>;
  portMin: number; portMax: number; workers: number }) {
  /** Sends one client packet; checks it came out as expected but for the pool source it chose, and returns that. */
  async function forward(seg: Segment, b: NatEndpoint, pool: readonly string[]): Promise<PoolPair> {
    const out = await o.exchange([natFrame(seg)]);
    assert.equal(out.length, 1, 'one packet to the backend');
    const d = pk.decodeFrame(out[0]);
    const addr = (d.ipv6 ?? d.ipv4)!.src;
    const port = (d.tcp ?? d.udp)!.sport;
    assert.ok(pool.includes(addr), `source ${addr} is a pool address`);
    assert.ok(port >= o.portMin && port <= o.portMax, `source port ${port} is in the pool's range`);
    const expected = natFrame({ ...seg, srcMac: o.ownMac(), dstMac: b.mac!, src: addr, sport: port, dst: b.address,
      dport: b.port });
    assert.deepEqual(d, pk.decodeFrame(expected), 'field by field');
    assert.ok(out[0].equals(expected), 'byte for byte, checksums included');
    return { addr, port };
  }

  /** The backend's answer to a pool address:port, as the backend sends it. */
  const reply = (proto: 'tcp' | 'udp', b: NatEndpoint, pool: PoolPair, extra: Partial<Segment> = {}): Segment => ({
    proto, srcMac: b.mac!, dstMac: o.ownMac(), src: b.address, sport: b.port, dst: pool.addr, dport: pool.port,
    seq: 5000, ack: 1001, ...extra,
  });

  /** Sends the backend's reply on `queue`; checks it came out to the client `to` was from, from the VIP. */
  async function back(seg: Segment, to: Segment, queue: number): Promise<void> {
    const out = await o.exchange([natFrame(seg)], queue);
    assert.equal(out.length, 1, 'one packet back to the client');
    const expected = natFrame({ ...seg, srcMac: o.ownMac(), dstMac: to.srcMac, src: to.dst, sport: to.dport,
      dst: to.src, dport: to.sport });
    assert.deepEqual(pk.decodeFrame(out[0]), pk.decodeFrame(expected), 'field by field');
    assert.ok(out[0].equals(expected), 'byte for byte, checksums included');
  }

  /** The rx queue of the worker that does not own `port`: its replies must be handed off. */
  const otherQueue = (port: number) => (port % o.workers + 1) % o.workers;

  return { forward, reply, back, otherQueue };
}

/** The nat counters summed over the lcores, and each lcore's. */
export function natCounters(dp: RingDataplane) {
  const lcores = dp.native.stats().lcores;
  const sum = (k: keyof (typeof lcores)[number]['nat']) => lcores.reduce((a, l) => a + l.nat[k], 0);
  return { active: sum('sessionsActive'), created: sum('sessionsCreated'), expired: sum('sessionsExpired'),
    sent: sum('handoffsSent'), received: sum('handoffsReceived'), perLcore: lcores.map((l) => l.nat) };
}

/** The lcore_counters.h invariant with nat: every received packet forwarded, answered, handed off or dropped. */
export function assertNatAccounting(dp: RingDataplane): void {
  for (const l of dp.native.stats().lcores) {
    const dropped = Object.entries(l.drops).filter(([k]) => k !== 'tx_full').reduce((a, [, v]) => a + v, 0);
    assert.equal(l.rxPackets + l.nat.handoffsReceived,
      l.forwarded + l.localReplies + l.arpLearned + l.kernelHanded + dropped + l.nat.handoffsSent, `lcore ${l.lcore}`);
    assert.ok(l.nat.sessionsActive <= l.nat.sessionsCreated, `lcore ${l.lcore}: active <= created`);
  }
}
