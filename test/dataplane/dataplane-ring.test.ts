// The data path on real worker lcores, driven packet by packet through an
// in-process ring port, with configuration changes between phases: spread by
// weight, flow affinity, live removal, drain, health, local replies, drops by
// reason, a full flow table, expiry, hitless changes and ARP resolution.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as pk from '../helpers/packets';
import {
  backend, backendMac, CLIENT_MAC, PORT_ADDRESS, RingDataplane, service, totals,
} from '../helpers/ring-dataplane';

const VIP = '10.99.0.100';
let dp: RingDataplane;

before(() => {
  dp = new RingDataplane({ entriesPerLcore: 16384, udpTimeoutSec: 1, tcpClosingTimeoutSec: 1 });
});
after(() => dp?.stop());

interface ClientFlow { src: string; sport: number }

function flows(n: number, seed: number): ClientFlow[] {
  return pk.randomFlows(n, seed, { vip: VIP, vport: 80, proto: 'tcp', clientNet: '172.16.0.0/12' })
    .map((f) => ({ src: f.src, sport: f.sport }));
}

function syn(f: ClientFlow, flags: pk.TcpFlags = 'S', dport = 80, dst = VIP): Buffer {
  return pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst, sport: f.sport, dport, flags });
}

/** backend index by destination MAC, per flow "src:sport" */
function backendsOf(out: Buffer[]): Map<string, number> {
  const macs = new Map(Array.from({ length: 32 }, (_, i) => [backendMac(i), i]));
  const seen = new Map<string, number>();
  for (const frame of out) {
    const d = pk.decodeFrame(frame);
    assert.ok(d.tcp && d.ipv4, `forwarded frame decodes: ${d.error ?? ''}`);
    const b = macs.get(d.dstMac ?? '');
    assert.notEqual(b, undefined, `forwarded to a backend MAC, got ${d.dstMac}`);
    const key = `${d.ipv4.src}:${d.tcp.sport}`;
    const prev = seen.get(key);
    assert.ok(prev === undefined || prev === b, `flow ${key} stays on one backend (${prev} then ${b})`);
    seen.set(key, b!);
  }
  return seen;
}

function countBy(m: Map<string, number>): number[] {
  const c: number[] = [];
  for (const b of m.values()) c[b] = (c[b] ?? 0) + 1;
  return c;
}

function dropDelta(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = totals(dp.native.stats()).drops;
  return fn().then(() => {
    const now = totals(dp.native.stats()).drops;
    const delta: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) if (v !== before[k]) delta[k] = v - (before[k] ?? 0);
    return delta;
  });
}

describe('balancing', () => {
  test('new flows spread over backends by weight (1:2:1)', async () => {
    dp.native.setServices([service([backend(0, { weight: 100 }), backend(1, { weight: 200 }), backend(2, { weight: 100 })])]);
    const fs = flows(8000, 1);
    const out = await dp.exchange(fs.map((f) => syn(f)));
    assert.equal(out.length, fs.length, 'every SYN is forwarded');
    const counts = countBy(backendsOf(out));
    console.log(`# 8000 flows over weights 1:2:1 -> ${counts.join(' / ')}`);
    const expected = [0.25, 0.5, 0.25].map((r) => r * fs.length);
    counts.forEach((c, i) => assert.ok(Math.abs(c - expected[i]) < 0.1 * expected[i], `backend ${i}: ${c} vs ${expected[i]}`));
    const stats = dp.services()[0];
    assert.equal(stats.newFlows, fs.length);
    assert.deepEqual(stats.backends.map((b) => b.newFlows), counts);
  });

  test('the same 5-tuple always reaches the same backend', async () => {
    dp.native.setServices([service([0, 1, 2, 3].map((i) => backend(i)))]);
    const fs = flows(2000, 2);
    const before = totals(dp.native.stats());
    // SYN, ACK and data interleaved across flows, so every flow is seen three times.
    const frames = [...fs.map((f) => syn(f, 'S')), ...fs.map((f) => syn(f, 'A')), ...fs.map((f) => syn(f, 'PA'))];
    const out = await dp.exchange(frames);
    assert.equal(out.length, frames.length);
    const seen = backendsOf(out); // asserts per-flow consistency
    assert.equal(seen.size, fs.length);
    const now = totals(dp.native.stats());
    assert.equal(now.inserts - before.inserts, fs.length, 'one flow entry per 5-tuple');
    assert.equal(now.hits - before.hits, 2 * fs.length, 'the second and third packet of each flow hit');
  });

  test('one new flow\'s packets over many bursts leave in order, on one entry and one backend', async () => {
    // The worker forwards a burst only after classifying the next; packets of
    // one flow in both must still leave as they came, and the first one's
    // entry must serve the rest.
    dp.native.setServices([service([0, 1, 2, 3].map((i) => backend(i)))]);
    const flow = { src: '172.16.9.9', sport: 9999 };
    const frames = Array.from({ length: 300 }, (_, i) =>
      pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: flow.src, dst: VIP, sport: flow.sport, dport: 80,
        flags: i === 0 ? 'S' : 'A', seq: i }));
    const before = totals(dp.native.stats());
    const out = await dp.exchange(frames);
    const now = totals(dp.native.stats());
    assert.equal(out.length, frames.length);
    assert.deepEqual(out.map((f) => pk.decodeFrame(f).tcp?.seq), frames.map((_, i) => i), 'sent in arrival order');
    assert.equal(backendsOf(out).size, 1);
    assert.equal(now.inserts - before.inserts, 1, 'one entry');
    assert.equal(now.hits - before.hits, frames.length - 1, 'every later packet hit it');
  });

  test('dsr changes only the MACs', async () => {
    dp.native.setServices([service([backend(0)])]);
    const inputs = [
      syn({ src: '172.16.5.5', sport: 5555 }, 'PA'),
      pk.ether({ dst: dp.mac, src: CLIENT_MAC, vlans: [42], type: pk.ETHERTYPE_IPV4 },
        pk.ipv4({ src: '172.16.5.6', dst: VIP, proto: pk.IPPROTO_TCP, ttl: 17, options: Buffer.from([0x94, 0x04, 0, 0]) },
          pk.tcp({ sport: 5556, dport: 80, flags: 'A', payload: Buffer.from('GET / HTTP/1.1\r\n\r\n') },
            { src: '172.16.5.6', dst: VIP }))),
    ];
    const out = await dp.exchange(inputs);
    assert.equal(out.length, inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      assert.equal(pk.formatMac(out[i].subarray(0, 6)), backendMac(0));
      assert.equal(pk.formatMac(out[i].subarray(6, 12)), dp.mac);
      assert.ok(out[i].subarray(12).equals(inputs[i].subarray(12)), 'every byte after the MACs is unchanged');
    }
  });
});

describe('live changes', () => {
  test('removing one of N backends moves only its flows', async () => {
    const all = Array.from({ length: 10 }, (_, i) => backend(i));
    dp.native.setServices([service(all)]);
    const fs = flows(3000, 3);
    const first = backendsOf(await dp.exchange(fs.map((f) => syn(f))));
    const removed = 3;
    const before = totals(dp.native.stats());
    dp.native.setServices([service(all.filter((b) => b.id !== removed))]);
    const second = backendsOf(await dp.exchange(fs.map((f) => syn(f, 'A'))));
    let moved = 0;
    let onRemoved = 0;
    for (const [flow, b] of first) {
      if (b === removed) onRemoved++;
      if (second.get(flow) !== b) {
        moved++;
        assert.equal(b, removed, `flow ${flow} moved from a backend that is still there`);
      }
    }
    console.log(`# removed 1 of 10 backends: ${moved} of ${fs.length} flows moved (${(moved / fs.length * 100).toFixed(1)}%)`);
    assert.equal(moved, onRemoved, 'every flow of the removed backend re-picked');
    assert.ok(moved / fs.length > 0.05 && moved / fs.length < 0.15, `moved fraction ${moved / fs.length} near 1/10`);
    assert.equal(totals(dp.native.stats()).repicks - before.repicks, onRemoved);
  });

  for (const [name, change] of [
    ['weight 0', { weight: 0 }],
    ['admin drain', { state: 'drain' as const }],
  ] as const) {
    test(`${name} keeps existing flows and sends new ones elsewhere`, async () => {
      const bs = [0, 1, 2].map((i) => backend(i));
      dp.native.setServices([service(bs)]);
      const fs = flows(1500, 4);
      const first = backendsOf(await dp.exchange(fs.map((f) => syn(f))));
      dp.native.setServices([service(bs.map((b) => (b.id === 1 ? { ...b, ...change } : b)))]);
      const again = backendsOf(await dp.exchange(fs.map((f) => syn(f, 'A'))));
      for (const [flow, b] of first) assert.equal(again.get(flow), b, `existing flow ${flow} stays`);
      assert.ok(countBy(first)[1] > 300, 'backend 1 had flows before');
      const fresh = backendsOf(await dp.exchange(flows(1500, 5).map((f) => syn(f))));
      assert.equal(countBy(fresh)[1] ?? 0, 0, 'no new flow goes to the drained backend');
    });
  }

  for (const [name, change] of [
    ['disabled', { state: 'disabled' as const }],
    ['unhealthy', { healthy: false }],
  ] as const) {
    test(`a ${name} backend's flows re-pick`, async () => {
      const bs = [0, 1, 2].map((i) => backend(i));
      dp.native.setServices([service(bs)]);
      const fs = flows(1500, 6);
      const first = backendsOf(await dp.exchange(fs.map((f) => syn(f))));
      dp.native.setServices([service(bs.map((b) => (b.id === 2 ? { ...b, ...change } : b)))]);
      const again = backendsOf(await dp.exchange(fs.map((f) => syn(f, 'A'))));
      for (const [flow, b] of first) {
        if (b === 2) assert.notEqual(again.get(flow), 2, `flow ${flow} left backend 2`);
        else assert.equal(again.get(flow), b, `flow ${flow} on a healthy backend stays`);
      }
    });
  }

  test('configuration changes lose no packet (100 changes under a packet stream)', async () => {
    const bs = Array.from({ length: 8 }, (_, i) => backend(i));
    const fs = flows(400, 7);
    const before = totals(dp.native.stats());
    let sent = 0;
    let received = 0;
    for (let round = 0; round < 100; round++) {
      // Alternate weights and membership; backend 0 never leaves, so no flow is ever without a backend.
      const set = bs.filter((b) => b.id === 0 || (b.id + round) % 3 !== 0).map((b) => ({ ...b, weight: 50 + ((round * 7 + b.id) % 100) }));
      const frames = fs.map((f) => syn(f, 'A'));
      const taken = dp.native.inject('p0', frames);
      assert.equal(taken, frames.length);
      sent += taken;
      dp.native.setServices([service(set)]);
      await dp.settle(before.rx + sent);
      received += dp.native.capture('p0').length;
    }
    const now = totals(dp.native.stats());
    console.log(`# hitless: ${sent} packets across 100 changes, ${received} forwarded, drops ${JSON.stringify(now.drops)}`);
    assert.equal(received, sent, 'every packet sent during the changes came out');
    assert.equal(now.forwarded - before.forwarded, sent);
    assert.ok(dp.native.stats().generation > 100);
  });
});

describe('local traffic', () => {
  test('ARP requests for the port address and for a VIP get byte-correct replies', async () => {
    dp.native.setServices([service([backend(0)])]);
    for (const [target, vlans] of [[PORT_ADDRESS, undefined], [VIP, undefined], [VIP, [7]]] as const) {
      const req = pk.arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.99.0.1', targetIp: target, vlans: vlans ? [...vlans] : undefined });
      const out = await dp.exchange([req]);
      assert.equal(out.length, 1, `one reply for ${target}`);
      const expected = pk.arpReplyFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, senderIp: target, targetIp: '10.99.0.1', vlans: vlans ? [...vlans] : undefined });
      assert.equal(out[0].toString('hex'), expected.toString('hex'));
    }
  });

  test('ICMP echo to the port address and to a VIP gets a byte-correct reply', async () => {
    for (const dst of [PORT_ADDRESS, VIP]) {
      const payload = Buffer.from('sluice echo payload 0123456789');
      const req = pk.icmpEchoFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '172.16.9.9', dst, id: 0x1234, seq: 9, payload, ttl: 33, ipId: 77 });
      const out = await dp.exchange([req]);
      assert.equal(out.length, 1);
      const expected = pk.icmpEchoFrame({ srcMac: dp.mac, dstMac: CLIENT_MAC, src: dst, dst: '172.16.9.9', type: 0, id: 0x1234, seq: 9, payload, ttl: 64, ipId: 77 });
      assert.equal(out[0].toString('hex'), expected.toString('hex'));
      const d = pk.decodeFrame(out[0]);
      assert.ok(d.ipv4?.checksumValid && d.icmp?.checksumValid);
    }
  });

  test('ARP for another host is ignored; replies teach the neighbor table', async () => {
    const delta = await dropDelta(() => dp.exchange([pk.arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.99.0.1', targetIp: '10.99.0.77' })]));
    assert.deepEqual(delta, { arp_ignored: 1 });
  });
});

describe('drops', () => {
  const client = { src: '172.16.1.1', sport: 4000 };
  const tcpSeg = pk.tcp({ sport: 4000, dport: 80, flags: 'S' }, { src: client.src, dst: VIP });
  const ipFrame = (ip: Buffer, o: { vlans?: number[]; dst?: string; type?: number } = {}) =>
    pk.ether({ dst: o.dst ?? dp.mac, src: CLIENT_MAC, vlans: o.vlans, type: o.type ?? pk.ETHERTYPE_IPV4 }, ip);
  const cases: { name: string; frame: () => Buffer; reason: string }[] = [
    { name: 'truncated inside the IP header', frame: () => syn(client).subarray(0, 24), reason: 'truncated' },
    { name: 'cut inside the TCP header (IP length beyond the frame)', frame: () => syn(client).subarray(0, 40), reason: 'bad_ip_header' },
    { name: 'runt of 10 bytes', frame: () => syn(client).subarray(0, 10), reason: 'truncated' },
    { name: 'IHL below 5', frame: () => { const f = syn(client); f[14] = 0x44; return f; }, reason: 'bad_ip_header' },
    { name: 'total length beyond the frame', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: VIP, proto: 6, totalLength: 1400 }, tcpSeg)), reason: 'bad_ip_header' },
    { name: 'first fragment cut inside the TCP header', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: VIP, proto: 6, flags: pk.IPV4_MF }, tcpSeg.subarray(0, 16))), reason: 'fragment_too_small' },
    { name: 'later fragment to an address that is no VIP', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: '10.99.0.200', proto: 6, fragOffset: 10 }, tcpSeg)), reason: 'ip_fragment' },
    { name: 'three VLAN tags', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: VIP, proto: 6 }, tcpSeg), { vlans: [1, 2, 3] }), reason: 'too_many_vlans' },
    { name: 'LLDP', frame: () => pk.ether({ dst: dp.mac, src: CLIENT_MAC, type: 0x88cc }, Buffer.alloc(40)), reason: 'non_ip' },
    { name: 'another host\'s MAC', frame: () => pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: '02:00:00:00:00:42', src: client.src, dst: VIP, sport: 4000, dport: 80, flags: 'S' }), reason: 'not_for_us' },
    { name: 'VIP on a port with no service', frame: () => syn(client, 'S', 443), reason: 'no_service' },
    { name: 'an address that is no VIP', frame: () => syn(client, 'S', 80, '10.99.0.200'), reason: 'no_service' },
    { name: 'UDP to a TCP service', frame: () => pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: client.src, dst: VIP, sport: 4000, dport: 80 }), reason: 'no_service' },
    { name: 'IPv6 (no IPv6 services yet)', frame: () => pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '2001:db8::1', dst: '2001:db8::100', sport: 1, dport: 80, flags: 'S' }), reason: 'no_service' },
    { name: 'GRE to a VIP', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: VIP, proto: 47 }, Buffer.alloc(8))), reason: 'unsupported_l4' },
    { name: 'ICMP timestamp to a VIP', frame: () => ipFrame(pk.ipv4({ src: client.src, dst: VIP, proto: 1 }, Buffer.from([13, 0, 0xf2, 0xff, 0, 0, 0, 0]))), reason: 'icmp_ignored' },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.reason}`, async () => {
      dp.native.setServices([service([backend(0)])]);
      let out: Buffer[] = [];
      const delta = await dropDelta(async () => { out = await dp.exchange([c.frame()]); });
      assert.equal(out.length, 0, 'nothing is transmitted');
      assert.deepEqual(delta, { [c.reason]: 1 });
    });
  }

  test('a service with no usable backend drops with no_backend', async () => {
    dp.native.setServices([service([backend(0, { weight: 0 })])]);
    const delta = await dropDelta(() => dp.exchange([syn({ src: '172.16.1.2', sport: 4001 })]));
    assert.deepEqual(delta, { no_backend: 1 });
  });
});

describe('flow table', () => {
  test('a full table still forwards every packet', async () => {
    dp.native.setServices([service([0, 1, 2].map((i) => backend(i)))]);
    const capacity = dp.native.stats().lcores[0].flows.capacity;
    const fs = flows(capacity + 8000, 8);
    const before = totals(dp.native.stats());
    const out = await dp.exchange(fs.map((f) => syn(f)));
    const now = totals(dp.native.stats());
    console.log(`# table of ${capacity}: ${fs.length} new flows, evictions ${now.evictions - before.evictions}, ` +
      `insert failures ${now.insertFailures - before.insertFailures}, active ${now.active}`);
    assert.equal(out.length, fs.length, 'no packet lost to a full table');
    assert.ok(now.evictions - before.evictions + now.insertFailures - before.insertFailures > 0, 'the table did fill');
    assert.ok(now.active <= capacity);
  });

  test('idle UDP flows expire after udpTimeoutSec', async () => {
    dp.native.setServices([service([backend(0, { port: 53 })], { protocol: 'udp', port: 53, id: 1, name: 'dns' })]);
    const fs = flows(500, 9);
    // The table is full of the test before's flows. Last-seen times are coarse
    // (128 ms units at these timeouts): two units later those are strictly
    // older than these, so no new flow is the oldest of its candidates and
    // evicts one of these before them.
    await new Promise((r) => setTimeout(r, 300));
    await dp.exchange(fs.map((f) => pk.udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: f.src, dst: VIP, sport: f.sport, dport: 53 })));
    const active = () => dp.services().find((s) => s.name === 'dns')!.activeFlows;
    assert.equal(active(), 500);
    const deadline = Date.now() + 10000;
    while (active() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(active(), 0, 'the sweep removed every idle UDP flow');
  });
});

describe('port', () => {
  test('ports report driver, MAC, queues, MTU, link; stats include ethdev counters and xstats', async () => {
    const [port] = dp.native.ports();
    assert.equal(port.driver, 'net_ring');
    assert.match(port.mac, /^02:53:4c:00:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.deepEqual([port.rxQueues, port.txQueues, port.mtu, port.link.up], [1, 1, 1500, true]);
    dp.native.setServices([service([backend(0)])]);
    const before = dp.native.stats().ports[0];
    await dp.exchange(flows(100, 11).map((f) => syn(f)));
    const now = dp.native.stats().ports[0];
    assert.equal(now.name, 'p0');
    assert.equal(now.rxPackets - before.rxPackets, 100);
    assert.equal(now.txPackets - before.txPackets, 100);
    assert.ok(Object.keys(now.xstats).length > 0, 'xstats are listed');
    assert.equal(now.xstats.rx_good_packets - before.xstats.rx_good_packets, 100);
  });
});

describe('tcp state', () => {
  test('flows that saw FIN or RST expire after tcpClosingTimeoutSec; open ones stay', async () => {
    dp.native.setServices([service([backend(0, { port: 8080 })], { port: 8080, id: 2, name: 'closing' })]);
    const fs = flows(300, 10);
    const frame = (f: ClientFlow, flags: pk.TcpFlags) => syn(f, flags, 8080);
    await dp.exchange(fs.map((f) => frame(f, 'S')));
    const active = () => dp.services().find((s) => s.name === 'closing')!.activeFlows;
    assert.equal(active(), 300);
    await dp.exchange([...fs.slice(0, 100).map((f) => frame(f, 'FA')), ...fs.slice(100, 200).map((f) => frame(f, 'R'))]);
    const deadline = Date.now() + 10000;
    while (active() > 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(active(), 100, 'the 200 closed flows expired, the 100 open ones (300 s timeout) remain');
  });
});

describe('neighbors', () => {
  test('a backend without a static MAC is resolved by ARP; until then its packets drop', async () => {
    const dynamic = backend(5, { mac: undefined });
    dp.native.setServices([service([dynamic])]);
    // setServices polls once, which sends the first request through worker 0.
    await new Promise((r) => setTimeout(r, 50));
    const requests = dp.native.capture('p0').map((f) => pk.decodeFrame(f)).filter((d) => d.arp?.op === 1);
    assert.equal(requests.length, 1, 'one ARP request');
    assert.equal(requests[0].arp!.tpa, dynamic.address);
    assert.equal(requests[0].arp!.spa, PORT_ADDRESS);
    assert.equal(requests[0].dstMac, pk.BROADCAST_MAC);

    const delta = await dropDelta(() => dp.exchange([syn({ src: '172.16.3.3', sport: 3333 })]));
    assert.deepEqual(delta, { neighbor_unresolved: 1 });

    // Unresolved: one request a second, not one per poll (every 100 ms) or per packet.
    for (let i = 0; i < 25; i++) {
      dp.native.poll();
      await new Promise((r) => setTimeout(r, 100));
    }
    const retries = dp.native.capture('p0').map((f) => pk.decodeFrame(f)).filter((d) => d.arp?.op === 1);
    assert.ok(retries.length >= 2 && retries.length <= 3, `${retries.length} ARP requests in 2.5 s`);
    assert.equal(dp.native.neighbors().find((x) => x.address === dynamic.address)?.resolved, false);

    const learnedMac = '02:00:00:00:0a:05';
    await dp.exchange([pk.arpReplyFrame({ srcMac: learnedMac, dstMac: dp.mac, senderIp: dynamic.address, targetIp: PORT_ADDRESS })]);
    dp.native.poll();
    const n = dp.native.neighbors().find((x) => x.address === dynamic.address);
    assert.equal(n?.mac, learnedMac);
    const out = await dp.exchange([syn({ src: '172.16.3.3', sport: 3333 })]);
    assert.equal(out.length, 1);
    assert.equal(pk.formatMac(out[0].subarray(0, 6)), learnedMac);
  });
});

describe('threads', () => {
  test('every thread but the workers runs on the main lcore\'s CPU, so the control plane stays off worker cores', () => {
    const tasks = fs.readdirSync('/proc/self/task');
    const cpus = (tid: string) => /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))![1];
    const name = (tid: string) => fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    const workers = tasks.filter((t) => name(t).startsWith('rte-worker-'));
    const others = tasks.filter((t) => !name(t).startsWith('rte-worker-'));
    assert.equal(workers.length, 1);
    assert.equal(cpus(workers[0]), '1', 'the worker keeps its own core (lcores 1@1)');
    assert.ok(others.length > 3, `node's own threads are there: ${others.map(name).join(', ')}`);
    for (const t of others) assert.equal(cpus(t), '0', `${name(t)} (${t}) on the main lcore's core`);
  });
});
