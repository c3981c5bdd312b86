// Fragmented nat replies through two real worker lcores on an in-process ring
// port (worker/fragments.cc, worker/nat.cc): a backend's 4,000-byte answer to a
// pool address, cut into fragments, reaches the client whole and translated,
// whether it arrives at the lcore that owns its pool port or at the other one
// (which hands every fragment over behind the first), in order or not, IPv4
// and IPv6. A reply without a session is dropped fragment by fragment.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NativeFragments, NativeService } from '../../src/native/types';
import { fragments, reassemble, udpChecksumValid } from '../helpers/fragments';
import { assertNatAccounting, natCounters, natFrame, type PoolPair, type Segment } from '../helpers/nat-frames';
import * as pk from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const WORKERS = 2;
const PORT6 = 'fd00:99::2';
const POOL4 = '10.99.0.200';
const POOL6 = 'fd00:99::200';
const FRAGMENTS: NativeFragments = { enabled: true, entriesPerLcore: 8, holdMs: 250, heldBytesPerLcore: 16384 };
const FAMILIES = [
  { family: 'IPv4', vip: '10.99.0.102', client: '192.168.7.9', pool: POOL4, backend: backend(0, { port: 5353 }) },
  { family: 'IPv6', vip: 'fd00:99::102', client: '2001:db8:c::9', pool: POOL6,
    backend: backend(1, { address: 'fd00:99::12', port: 5353 }) },
] as const;

const services: NativeService[] = FAMILIES.map((f, id) =>
  service([f.backend], { id, name: `nat-${f.family}`, vip: f.vip, port: 53, protocol: 'udp', forwarding: 'nat' }));

let dp: RingDataplane;

before(() => {
  dp = new RingDataplane({ workers: WORKERS, address6: PORT6, prefixLength6: 64, fragments: FRAGMENTS,
    natPool: { addresses: [POOL4], addresses6: [POOL6], portMin: 20000, portMax: 29999 } });
  dp.native.setServices(services);
});
after(() => dp?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Each test starts with the fragment tables' entries expired.
beforeEach(() => sleep(FRAGMENTS.holdMs + 10));

const drops = (reason: string) => totals(dp.native.stats()).drops[reason] ?? 0;
const fragmentsForwarded = () => dp.native.stats().lcores.map((l) => l.fragmentsForwarded);

async function exchange(frames: Buffer[], queue = 0): Promise<Buffer[]> {
  return (await dp.exchange(frames, queue)).filter((f) => pk.decodeFrame(f).arp === undefined &&
    pk.decodeFrame(f).ipv6?.proto !== pk.IPPROTO_ICMPV6);
}

/** Opens a session for the client's port `sport` (on worker 0's queue) and returns its pool pair. */
async function open(f: (typeof FAMILIES)[number], sport: number): Promise<{ query: Segment; pool: PoolPair }> {
  const query: Segment = { proto: 'udp', srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.client, sport, dst: f.vip,
    dport: 53, payload: Buffer.from('query') };
  const out = await exchange([natFrame(query)]);
  assert.equal(out.length, 1, 'the query reaches the backend');
  const d = pk.decodeFrame(out[0]);
  return { query, pool: { addr: (d.ipv6 ?? d.ipv4)!.src, port: d.udp!.sport } };
}

let nextId = 0x5000;
/** The backend's answer of `size` bytes to the pool pair, from `sport`, in fragments of 1232 bytes. */
function answer(f: (typeof FAMILIES)[number], pool: PoolPair, size = 4000, sport = f.backend.port) {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7 + pool.port) & 0xff;
  const segment = pk.udp({ sport, dport: pool.port, payload }, { src: f.backend.address, dst: pool.addr });
  return { payload, frames: fragments({ srcMac: f.backend.mac!, dstMac: dp.mac, src: f.backend.address,
    dst: pool.addr, proto: pk.IPPROTO_UDP, id: nextId++, segment, fragmentSize: 1232 }) };
}

/** Checks that `out` is the whole answer, translated back to the client as from the VIP. */
function assertToClient(f: (typeof FAMILIES)[number], query: Segment, payload: Buffer, out: Buffer[], n: number) {
  assert.equal(out.length, n, 'every fragment reaches the client');
  for (const frame of out) {
    const d = pk.decodeFrame(frame);
    assert.equal(d.dstMac, CLIENT_MAC);
    assert.equal(d.srcMac, dp.mac);
    if (d.ipv4 !== undefined) assert.ok(d.ipv4.checksumValid, 'each fragment\'s IPv4 header checksum');
  }
  const r = reassemble(out);
  assert.equal(pk.normalizeIp(r.src), pk.normalizeIp(f.vip), 'from the VIP');
  assert.equal(pk.normalizeIp(r.dst), pk.normalizeIp(f.client), 'to the client');
  assert.equal(r.segment.readUInt16BE(0), 53, 'from the service\'s port');
  assert.equal(r.segment.readUInt16BE(2), query.sport, 'to the client\'s port');
  assert.ok(udpChecksumValid(r), 'the UDP checksum holds over the whole translated datagram');
  assert.deepEqual(r.segment.subarray(8), payload, 'the payload unchanged');
}

for (const f of FAMILIES) {
  describe(`fragmented nat replies, ${f.family}`, () => {
    test('at the lcore that owns the pool port: translated there, every fragment', async () => {
      const { query, pool } = await open(f, 41000);
      const owner = pool.port % WORKERS;
      const { payload, frames } = answer(f, pool);
      const before = fragmentsForwarded();
      const sent = natCounters(dp).sent;
      assertToClient(f, query, payload, await exchange(frames, owner), frames.length);
      assert.equal(fragmentsForwarded()[owner] - before[owner], frames.length, 'counted by the owner');
      assert.equal(natCounters(dp).sent, sent, 'nothing handed off');
    });

    test('at the other lcore: every fragment handed to the owner behind the first and translated there', async () => {
      const { query, pool } = await open(f, 41001);
      const owner = pool.port % WORKERS;
      const other = (owner + 1) % WORKERS;
      const { payload, frames } = answer(f, pool);
      const before = natCounters(dp);
      const forwarded = fragmentsForwarded();
      assertToClient(f, query, payload, await exchange(frames, other), frames.length);
      const now = natCounters(dp);
      assert.equal(now.perLcore[other].handoffsSent - before.perLcore[other].handoffsSent, frames.length);
      assert.equal(now.perLcore[owner].handoffsReceived - before.perLcore[owner].handoffsReceived, frames.length);
      assert.equal(fragmentsForwarded()[owner] - forwarded[owner], frames.length, 'forwarded by the owner');
      assertNatAccounting(dp);
    });

    test('out of order at the other lcore: held there until the first, then handed over in arrival order', async () => {
      const { query, pool } = await open(f, 41002);
      const other = (pool.port % WORKERS + 1) % WORKERS;
      const { payload, frames } = answer(f, pool);
      assert.deepEqual(await exchange([frames[3], frames[1]], other), []);
      assert.equal(dp.native.stats().lcores[other].fragmentsHeld, 2);
      const out = await exchange([frames[0], frames[2]], other);
      assert.equal(dp.native.stats().lcores[other].fragmentsHeld, 0);
      assertToClient(f, query, payload, out, frames.length);
      // The first, the held ones as they came, then the rest: fragment offsets show the order.
      const offsets = out.map((frame) => {
        const d = pk.decodeFrame(frame);
        return d.ipv4?.fragOffset ?? d.ipv6!.fragment!.fragOffset;
      });
      const sentOffsets = [0, 3, 1, 2].map((i) => {
        const d = pk.decodeFrame(frames[i]);
        return d.ipv4?.fragOffset ?? d.ipv6!.fragment!.fragOffset;
      });
      assert.deepEqual(offsets, sentOffsets);
    });

    test('a reply from another port than the session\'s backend: every fragment dropped, nat_no_session', async () => {
      const { pool } = await open(f, 41003);
      for (const queue of [0, 1]) {
        const { frames } = answer(f, pool, 4000, 9999);
        const before = drops('nat_no_session');
        assert.deepEqual(await exchange(frames, queue), [], `on queue ${queue}`);
        assert.equal(drops('nat_no_session') - before, frames.length, `on queue ${queue}`);
      }
      assertNatAccounting(dp);
    });
  });
}
