// New-flow admission (native/tables/admission.h) on real worker lcores: a flood of new
// 5-tuples is forwarded in full, but only the admission rate of it is remembered,
// so the flows already in a full table stay there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as pk from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const VIP = '10.99.0.100';
const CAPACITY = 2048;
const RATE = 100; // new flows per second per lcore
let dp: RingDataplane;

before(() => {
  dp = new RingDataplane({ entriesPerLcore: CAPACITY, newFlowsPerSec: RATE, admissionBurst: CAPACITY });
  dp.native.setServices([service([0, 1, 2, 3].map((i) => backend(i)))]);
});
after(() => dp?.stop());

function frames(seed: number, n: number, flags: pk.TcpFlags): Buffer[] {
  return pk.randomFlows(n, seed, { vip: VIP, vport: 80, proto: 'tcp', clientNet: '172.16.0.0/12' })
    .map((f) => pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst: VIP, sport: f.sport, dport: 80, flags }));
}

test('a flood of new flows is forwarded but only admitted at the configured rate; established flows stay', async () => {
  // The bucket starts full (burst = capacity): the established flows all get in.
  const established = frames(1, CAPACITY, 'S');
  // The bucket holds at most `burst` here; whatever refills from now on is all
  // that can be admitted beyond it.
  const tStart = performance.now();
  const out0 = await dp.exchange(established);
  assert.equal(out0.length, CAPACITY);
  const s0 = totals(dp.native.stats());
  assert.equal(s0.admissionRefused, 0);
  assert.equal(s0.inserts, CAPACITY);
  // Two-choice buckets may evict a flow or two early while filling (native unit test).
  assert.ok(s0.active >= CAPACITY - 4, `table full: ${s0.active}`);

  const flood = frames(2, 20000, 'S');
  const t0 = performance.now();
  const out1 = await dp.exchange(flood);
  const elapsedSec = (performance.now() - t0) / 1000;
  const sinceStartSec = (performance.now() - tStart) / 1000;
  const s1 = totals(dp.native.stats());
  const admitted = s1.inserts - s0.inserts;
  const refused = s1.admissionRefused - s0.admissionRefused;
  const protectedFlows = s1.admissionProtected - s0.admissionProtected;
  const evicted = s1.evictions - s0.evictions;
  console.log(`# flood of ${flood.length} new flows in ${elapsedSec.toFixed(2)} s: admitted ${admitted}, refused ${refused}, ` +
    `protected ${protectedFlows}, evicted ${evicted}`);

  assert.equal(out1.length, flood.length, 'every flood packet is forwarded');
  assert.equal(admitted + refused, flood.length, 'each new flow is either admitted or refused');
  assert.equal(s1.insertFailures - s0.insertFailures, 0);
  // The established flows spent the burst; only the refill since is admitted.
  assert.ok(s1.inserts <= CAPACITY + RATE * (sinceStartSec + 0.1),
    `admitted ${s1.inserts} in ${sinceStartSec.toFixed(2)} s: burst ${CAPACITY} + ${RATE}/s`);
  // The table was full, so every refused flow would have displaced a live one.
  const freeBefore = CAPACITY - s0.active;
  assert.ok(protectedFlows >= refused - freeBefore && protectedFlows <= refused, `protected ${protectedFlows} of ${refused}`);
  assert.ok(evicted <= admitted, 'only admitted flows evict');

  // Every established flow not evicted is still remembered: its next packet hits.
  const hitsBefore = totals(dp.native.stats()).hits;
  const out2 = await dp.exchange(frames(1, CAPACITY, 'A'));
  assert.equal(out2.length, CAPACITY);
  const s2 = totals(dp.native.stats());
  const hits = s2.hits - hitsBefore;
  // The replay's own misses may be admitted too, and evict before their turn.
  const evictedSince = s2.evictions - s0.evictions;
  console.log(`# established flows still remembered after the flood: ${hits} of ${CAPACITY}`);
  assert.ok(hits >= s0.active - evictedSince, `${hits} hits, ${s0.active} established, ${evictedSince} evicted`);
  assert.ok(hits > CAPACITY / 2, 'most established flows survived the flood');
});

test('a refused flow keeps its lookup-table backend while the backend set is unchanged', async () => {
  const byFlow = (out: Buffer[]) => new Map(out.map((f) => {
    const d = pk.decodeFrame(f);
    return [`${d.ipv4!.src}:${d.tcp!.sport}`, d.dstMac!] as const;
  }));
  const flood = frames(3, 4000, 'S');
  const first = byFlow(await dp.exchange(flood));
  const before = totals(dp.native.stats()).admissionRefused;
  const second = byFlow(await dp.exchange(frames(3, 4000, 'A')));
  assert.ok(totals(dp.native.stats()).admissionRefused - before > 3000, 'most of them were refused both times');
  for (const [flow, mac] of first) assert.equal(second.get(flow), mac, `flow ${flow} stays on its backend`);
});
