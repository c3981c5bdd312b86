// Exhaustion on real worker lcores through an in-process ring port: a full flow
// table, a full tx queue, an empty mempool, an unresolved next hop and an empty
// NAT pool. Each is
// counted while it lasts, forwarding recovers when it ends, and the mempool's
// in-use count returns to its baseline: no mbuf leaks.
//
// The set-up makes each pressure reachable on its own: two workers, each with its
// own tx queue (a capture ring of 4095 frames), and a pool of 6143 mbufs. One full
// capture ring is a full tx queue with the pool still half free; both together
// hold more than the pool, so it empties. The NAT pool is one address with 8
// ports: 4 per worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as pk from '../helpers/packets';
import { backend, backendMac, CLIENT_MAC, PORT_ADDRESS, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const VIP = '10.99.0.100';
const NAT_VIP = '10.99.0.101';
const NAT_POOL_ADDRESS = '10.99.0.200';
const POOL = 6143;
const CHUNK = 1000; // below the 4095 an inject ring holds
let dp: RingDataplane;
let baseline: number;
let seed = 100;

before(() => {
  dp = new RingDataplane({ workers: 2, entriesPerLcore: 1024, mbufsPerSocket: POOL, tcpClosingTimeoutSec: 1,
    natPool: { addresses: [NAT_POOL_ADDRESS], portMin: 30000, portMax: 30007 } });
  dp.native.setServices([service([0, 1, 2].map((i) => backend(i)))]);
  // Idle, nothing queued, nothing captured: what the pool lends out at rest.
  dp.native.capture('p0');
  baseline = inUse();
  console.log(`# mempool baseline: ${baseline} of ${pool().size} mbufs in use at rest`);
});
after(() => dp?.stop());

function pool() {
  const pools = dp.native.stats().mempools;
  assert.equal(pools.length, 1, 'one socket, one pool');
  return pools[0];
}
function inUse(): number {
  return pool().inUse;
}

/** Segments with `flags` of n new flows to `vip`:80, distinct across the whole file. */
function flowFrames(n: number, vip = VIP, flags = 'S'): Buffer[] {
  return pk.randomFlows(n, seed++, { vip, vport: 80, proto: 'tcp', clientNet: '172.16.0.0/12' }).map((f) =>
    pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst: vip, sport: f.sport, dport: 80, flags }));
}
const syns = (n: number) => flowFrames(n);

/** Injects on one rx queue without capturing; returns how many frames were taken. */
async function injectOnly(frames: Buffer[], queue: number): Promise<number> {
  let taken = 0;
  for (let i = 0; i < frames.length; i += CHUNK) {
    const part = frames.slice(i, i + CHUNK);
    const rx = totals(dp.native.stats()).rx;
    const n = dp.native.inject('p0', part, queue);
    await dp.settle(rx + n);
    taken += n;
    if (n < part.length) break;
  }
  return taken;
}

async function waitForBaseline(): Promise<void> {
  // Captured frames are freed by the capture call itself; the workers flush their
  // tx buffers every iteration, so two iterations after the last packet all is out.
  await dp.settle(totals(dp.native.stats()).rx);
  assert.equal(inUse(), baseline, 'every mbuf is back in the pool');
}

describe('flow table full', () => {
  test('eviction is counted, every new flow is still forwarded, the table keeps working, no mbuf leaks', async () => {
    const capacity = dp.native.stats().lcores[0].flows.capacity;
    const before = totals(dp.native.stats());
    const flood = syns(capacity + 2000);
    const out = await dp.exchange(flood, 0);
    const now = totals(dp.native.stats());
    const evicted = now.evictions - before.evictions + now.insertFailures - before.insertFailures;
    console.log(`# flow table of ${capacity}: ${flood.length} new flows, ${now.evictions - before.evictions} evictions, ` +
      `${now.insertFailures - before.insertFailures} insert failures`);
    assert.ok(evicted >= flood.length - capacity, 'the full table evicted (or failed to insert) at least the overflow');
    assert.equal(out.length, flood.length, 'every packet of the flood is forwarded');
    assert.ok(now.active <= capacity * 2);

    // After the flood: a new flow is remembered and its next packet hits.
    const [fresh] = syns(1);
    const ack = Buffer.from(fresh);
    ack[14 + 20 + 13] = pk.TCP_ACK; // flags only: the checksum is not the balancer's to check
    const hitsBefore = totals(dp.native.stats()).hits;
    const again = await dp.exchange([fresh, ack], 0);
    assert.equal(again.length, 2);
    assert.equal(pk.formatMac(again[0].subarray(0, 6)), pk.formatMac(again[1].subarray(0, 6)), 'same backend');
    assert.equal(totals(dp.native.stats()).hits - hitsBefore, 1);
    await waitForBaseline();
  });
});

describe('tx queue full', () => {
  test('frames the tx queue refuses are counted as tx_full and freed; capturing again resumes forwarding', async () => {
    const before = totals(dp.native.stats());
    const frames = syns(5000);
    assert.equal(await injectOnly(frames, 0), frames.length);
    const mid = totals(dp.native.stats());
    const txFull = mid.drops.tx_full - before.drops.tx_full;
    const held = inUse() - baseline;
    console.log(`# ${frames.length} frames into a tx queue nobody drains: ${txFull} tx_full, ${held} mbufs held`);
    assert.equal(mid.forwarded - before.forwarded, frames.length, 'all were forwarded to the tx queue');
    assert.ok(txFull > 0, 'the tx queue filled');
    assert.equal(held, frames.length - txFull, 'refused mbufs were freed; the rest wait in the tx queue');

    const out = dp.native.capture('p0');
    assert.equal(out.length, frames.length - txFull, 'what the queue took is transmitted');
    await waitForBaseline();

    const resumed = await dp.exchange(syns(100), 0);
    assert.equal(resumed.length, 100);
    assert.equal(totals(dp.native.stats()).drops.tx_full, mid.drops.tx_full, 'no tx_full once drained');
    await waitForBaseline();
  });
});

describe('mempool empty', () => {
  test('allocation failure is counted by the inject path, nothing crashes, and the pool refills', async () => {
    const before = totals(dp.native.stats());
    const portBefore = dp.native.stats().ports[0];
    // Fill worker 0's tx queue, then pour into worker 1's until the pool runs dry.
    const first = syns(4095);
    assert.equal(await injectOnly(first, 0), first.length);
    const second = syns(POOL);
    const taken = await injectOnly(second, 1);
    const p = pool();
    console.log(`# pool of ${p.size}: inject took ${first.length} + ${taken} of ${first.length + second.length}; ` +
      `inUse ${p.inUse}, in other lcores' caches ${p.cached}`);
    assert.ok(taken < second.length, 'the inject path ran out of mbufs and said so');
    // Nothing is left in the pool's ring or the main lcore's cache: every mbuf is
    // either held (tx queues) or in a worker's cache, out of this lcore's reach.
    assert.equal(p.inUse + p.cached, p.size);
    const mid = totals(dp.native.stats());
    assert.equal(mid.rx - before.rx, first.length + taken, 'the workers saw every frame that was taken');
    assert.equal(mid.drops.tx_full - before.drops.tx_full, 0, 'no tx queue overflowed');
    // The ring PMD takes no mbufs on receive; a NIC's PMD counts its failures here.
    assert.equal(dp.native.stats().ports[0].rxNoMbuf, portBefore.rxNoMbuf);
    assert.equal(dp.native.inject('p0', syns(1), 0), 0, 'still empty');

    const out = dp.native.capture('p0');
    assert.equal(out.length, first.length + taken, 'every held frame comes out whole');
    await waitForBaseline();
    const resumed = await dp.exchange(syns(500), 1);
    assert.equal(resumed.length, 500, 'forwarding resumes');
    await waitForBaseline();
  });
});

describe('next hop unresolved', () => {
  test('packets drop as neighbor_unresolved while ARP asks; a reply resumes forwarding; no mbuf leaks', async () => {
    const dynamic = backend(5, { mac: undefined });
    dp.native.setServices([service([dynamic])]);
    const before = totals(dp.native.stats());
    const flows = syns(300);
    const out = await dp.exchange(flows, 0);
    const mid = totals(dp.native.stats());
    assert.equal(mid.drops.neighbor_unresolved - before.drops.neighbor_unresolved, flows.length);
    assert.equal(mid.forwarded, before.forwarded);
    // setServices polled once, which queued the first request through worker 0.
    const requests = out.map((f) => pk.decodeFrame(f)).filter((d) => d.arp);
    assert.equal(out.length, requests.length, 'nothing but ARP is transmitted');
    assert.ok(requests.length >= 1);
    for (const r of requests) {
      assert.deepEqual([r.arp!.op, r.arp!.tpa, r.arp!.spa, r.dstMac], [1, dynamic.address, PORT_ADDRESS, pk.BROADCAST_MAC]);
    }
    await waitForBaseline();

    const learnedMac = backendMac(5);
    await dp.exchange([pk.arpReplyFrame({ srcMac: learnedMac, dstMac: dp.mac, senderIp: dynamic.address,
      targetIp: PORT_ADDRESS })], 0);
    dp.native.poll();
    const resumed = (await dp.exchange(flows, 0)).filter((f) => !pk.decodeFrame(f).arp);
    assert.equal(resumed.length, flows.length, 'the same flows are forwarded now');
    for (const f of resumed) assert.equal(pk.formatMac(f.subarray(0, 6)), learnedMac);
    assert.equal(totals(dp.native.stats()).drops.neighbor_unresolved, mid.drops.neighbor_unresolved);
    await waitForBaseline();
  });
});

describe('NAT pool empty', () => {
  test('new flows past the pool are counted nat_pool_exhausted; closed sessions give their ports back; no mbuf leaks', async () => {
    dp.native.setServices([service([backend(3, { port: 8080 })], { vip: NAT_VIP, forwarding: 'nat' })]);
    const lcore0 = () => dp.native.stats().lcores[0].nat;
    assert.equal(lcore0().sessionsCapacity, 4, 'ports 30000-30007 on one address: 4 per worker');
    const before = totals(dp.native.stats());
    // Same seed twice: the SYNs and, later, RSTs of the same ten flows.
    const s = seed;
    const flood = flowFrames(10, NAT_VIP);
    seed = s;
    const resets = flowFrames(10, NAT_VIP, 'R');
    const out = await dp.exchange(flood, 0);
    const mid = totals(dp.native.stats());
    assert.equal(out.length, 4, 'as many flows as the lcore has pool ports');
    assert.equal(mid.drops.nat_pool_exhausted - before.drops.nat_pool_exhausted, 6, 'the rest counted');
    assert.equal(lcore0().sessionsActive, 4);
    assert.deepEqual(new Set(out.map((f) => pk.decodeFrame(f).tcp!.sport)), new Set([30000, 30002, 30004, 30006]),
      'worker 0 owns the even ports');
    await waitForBaseline();

    // The clients reset: the four sessions close on the short timeout and free their ports.
    const closed = await dp.exchange(resets, 0);
    assert.equal(closed.length, 4, 'the resets of the four open flows are forwarded');
    const deadline = Date.now() + 10000;
    while (lcore0().sessionsActive !== 0) {
      assert.ok(Date.now() < deadline, `sessions still open after 10 s: ${lcore0().sessionsActive}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = await dp.exchange(flowFrames(4, NAT_VIP), 0);
    assert.equal(again.length, 4, 'the pool is back: four new flows forwarded');
    const end = totals(dp.native.stats());
    assert.equal(end.drops.nat_pool_exhausted, mid.drops.nat_pool_exhausted, 'no more exhaustion');
    assert.equal(end.drops.nat_no_session - mid.drops.nat_no_session, 6,
      'the resets of the six flows that never had a session open none');
    await waitForBaseline();
  });
});

describe('afterwards', () => {
  test('rx + hand-offs in = forwarded + local replies + ARP learned + drops other than tx_full + hand-offs out, per lcore', () => {
    for (const l of dp.native.stats().lcores) {
      const dropped = Object.entries(l.drops).reduce((a, [k, v]) => a + (k === 'tx_full' ? 0 : v), 0);
      assert.equal(l.rxPackets + l.nat.handoffsReceived,
        l.forwarded + l.localReplies + l.arpLearned + l.kernelHanded + dropped + l.nat.handoffsSent, `lcore ${l.lcore}`);
    }
  });
});
