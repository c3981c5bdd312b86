// Golden tests for the nat forwarding mode, through two real worker lcores on an
// in-process ring port. Client packets to the VIP come out addressed to a backend
// port that differs from the VIP's, from a pool address:port; the backend's
// replies come out as from the VIP. Both are compared byte for byte with frames
// the test builder makes from the expected fields (so every checksum is checked)
// and, where tshark is installed, decoded by it with checksum validation on.
// Replies are injected on the other worker's queue too: they are handed to the
// lcore that owns their pool port and translated there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeService } from '../../src/native/types';
import { assertNatAccounting, natCounters, natFrame as frame, natGolden, type NatEndpoint, type Segment } from '../helpers/nat-frames';
import * as pk from '../helpers/packets';
import { writePcap } from '../helpers/pcap';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const VIP = '10.99.0.100';
const POOL = ['10.99.0.200', '10.99.0.201'];
const PORT_MIN = 20000;
const PORT_MAX = 29999;
const WORKERS = 2;

const tcpBackend = backend(0, { port: 8080 });
const udpBackend = backend(1, { port: 5353 });
const services: NativeService[] = [
  service([tcpBackend], { id: 0, name: 'web', vip: VIP, port: 80, forwarding: 'nat' }),
  service([udpBackend], { id: 1, name: 'dns', vip: VIP, port: 53, protocol: 'udp', forwarding: 'nat' }),
];

let dp: RingDataplane;
let workDir: string;
/** every frame the data plane sent in these tests, for tshark */
const captured: Buffer[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-nat-test-'));
  dp = new RingDataplane({ workers: WORKERS, tcpClosingTimeoutSec: 1,
    natPool: { addresses: POOL, portMin: PORT_MIN, portMax: PORT_MAX } });
  dp.native.setServices(services);
});
after(() => {
  dp?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/** What the data plane sent for `frames` (injected on rx queue `queue`), ARP requests left out. */
async function exchange(frames: Buffer[], queue = 0): Promise<Buffer[]> {
  const out = (await dp.exchange(frames, queue)).filter((f) => pk.decodeFrame(f).arp === undefined);
  captured.push(...out);
  return out;
}

const nat = () => natCounters(dp);
const drops = (reason: string) => totals(dp.native.stats()).drops[reason] ?? 0;

const client = (proto: 'tcp' | 'udp', sport: number, extra: Partial<Segment> = {}): Segment => ({
  proto, srcMac: CLIENT_MAC, dstMac: dp.mac, src: '192.168.7.9', sport, dst: VIP, dport: proto === 'tcp' ? 80 : 53,
  ...extra,
});

const { forward: forwardFrom, reply, back, otherQueue } = natGolden({ ownMac: () => dp.mac, exchange, portMin: PORT_MIN,
  portMax: PORT_MAX, workers: WORKERS });
const forward = (seg: Segment, b: NatEndpoint, pool: readonly string[] = POOL) => forwardFrom(seg, b, pool);

describe('nat forwarding', () => {
  test('ports() reports the steering path of the port with a pool', () => {
    const [port] = dp.native.ports();
    console.log(`# ring port: natSteering ${port.natSteering} (${port.natSteeringReason})`);
    assert.equal(port.natSteering, 'software');
    assert.match(port.natSteeringReason ?? '', /^rte_flow: /, 'the ring PMD refused the steering rules');
    const lcores = dp.native.stats().lcores;
    assert.ok(lcores.every((l) => l.nat.sessionsCapacity === POOL.length * (PORT_MAX - PORT_MIN + 1) / WORKERS),
      `each lcore owns half the pool: ${lcores.map((l) => l.nat.sessionsCapacity)}`);
  });

  test('TCP: forward to backend:8080 from the pool, reply back from VIP:80, on either lcore', async () => {
    const before = nat();
    const syn = client('tcp', 33000, { flags: 'S', seq: 1000, ack: 0, payload: Buffer.alloc(0) });
    const pool = await forward(syn, tcpBackend);
    // Queue 0 is worker 0's: the session is on worker 0, so its pool port is even.
    assert.equal(pool.port % WORKERS, 0, 'the pool port belongs to the lcore that opened the session');
    await back(reply('tcp', tcpBackend, pool, { flags: 'SA', payload: Buffer.alloc(0) }), syn, 0);
    // The same flow keeps its session and pool port.
    const data = client('tcp', 33000, { flags: 'PA', seq: 1001, ack: 5001 });
    assert.deepEqual(await forward(data, tcpBackend), pool);
    // A reply arriving on the other lcore's queue is handed to the owner and translated there.
    await back(reply('tcp', tcpBackend, pool, { flags: 'PA', payload: Buffer.from('HTTP/1.1 200 OK') }), syn,
      otherQueue(pool.port));
    const now = nat();
    assert.equal(now.created - before.created, 1, 'one session');
    assert.equal(now.sent - before.sent, 1, 'one hand-off sent');
    assert.equal(now.received - before.received, 1, 'and received');
    assert.equal(now.perLcore[1].handoffsSent, 1, 'by the lcore that is not the owner');
    assert.equal(now.perLcore[0].handoffsReceived, 1, 'to the owner');
  });

  test('UDP with a checksum and without one (0 stays 0)', async () => {
    const q = client('udp', 40001);
    const pool = await forward(q, udpBackend);
    await back(reply('udp', udpBackend, pool), q, 0);
    await back(reply('udp', udpBackend, pool), q, otherQueue(pool.port));
    const bare = client('udp', 40002, { udpChecksum: 0 });
    const bare_pool = await forward(bare, udpBackend);
    const out = pk.decodeFrame(captured[captured.length - 1]);
    assert.equal(out.udp!.checksum, 0, 'no checksum stays no checksum');
    await back(reply('udp', udpBackend, bare_pool, { udpChecksum: 0 }), bare, 0);
    assert.notDeepEqual(bare_pool, pool, 'two client flows, two pool ports');
  });

  test('a client spread over many flows gets a distinct pool pair per flow', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pool = await forward(client('tcp', 50000 + i, { flags: 'S', ack: 0, payload: Buffer.alloc(0) }), tcpBackend);
      seen.add(`${pool.addr}:${pool.port}`);
    }
    assert.equal(seen.size, 50);
  });

  test('ARP for a pool address is answered; for another address it is not', async () => {
    const before = totals(dp.native.stats());
    const out = await dp.exchange([
      pk.arpRequestFrame({ srcMac: tcpBackend.mac!, senderIp: tcpBackend.address, targetIp: POOL[1] }),
      pk.arpRequestFrame({ srcMac: tcpBackend.mac!, senderIp: tcpBackend.address, targetIp: '10.99.0.202' }),
    ]);
    const replies = out.map((f) => pk.decodeFrame(f).arp).filter((a) => a !== undefined && a.op === 2);
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.spa, POOL[1]);
    assert.equal(replies[0]!.sha, dp.mac);
    assert.equal(replies[0]!.tpa, tcpBackend.address);
    assert.equal(totals(dp.native.stats()).drops.arp_ignored - before.drops.arp_ignored, 1);
  });

  test('replies with no session are dropped and counted nat_no_session', async () => {
    const before = drops('nat_no_session');
    // A pool port no session holds, on both lcores; then a live session's port from the wrong source.
    const q = client('udp', 40100);
    const pool = await forward(q, udpBackend);
    const stray = [
      frame(reply('udp', udpBackend, { addr: POOL[0], port: PORT_MAX - 1 })),
      frame(reply('udp', udpBackend, { addr: POOL[0], port: PORT_MAX })),
      frame(reply('udp', udpBackend, pool, { src: '10.99.0.77' })),
      frame(reply('udp', udpBackend, pool, { sport: 5354 })),
      frame(reply('tcp', udpBackend, pool, { sport: 5353 })),
    ];
    assert.deepEqual(await exchange(stray), []);
    assert.equal(drops('nat_no_session') - before, stray.length);
  });

  test('FIN closes a session on the short timeout; an established one stays', async () => {
    const syn = client('tcp', 34000, { flags: 'S', ack: 0, payload: Buffer.alloc(0) });
    const closing = await forward(syn, tcpBackend);
    await back(reply('tcp', tcpBackend, closing, { flags: 'SA', payload: Buffer.alloc(0) }), syn, 0);
    await forward(client('tcp', 34000, { flags: 'FA', seq: 1001, ack: 5001 }), tcpBackend);
    const kept = client('tcp', 34001, { flags: 'S', ack: 0, payload: Buffer.alloc(0) });
    const established = await forward(kept, tcpBackend);
    await back(reply('tcp', tcpBackend, established, { flags: 'SA', payload: Buffer.alloc(0) }), kept, 0);

    // tcpClosingTimeoutSec is 1, and SYN-only sessions use it too: the sweep frees
    // them and the closing one. What stays: the established TCP sessions (33000,
    // 34001) and the three UDP ones (30 s timeout).
    const deadline = Date.now() + 10000;
    while (nat().active !== 5) {
      assert.ok(Date.now() < deadline, `sessions still active after 10 s: ${nat().active}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = drops('nat_no_session');
    assert.deepEqual(await exchange([frame(reply('tcp', tcpBackend, closing, { flags: 'A', payload: Buffer.alloc(0) }))]), []);
    assert.equal(drops('nat_no_session') - before, 1, 'the reply after expiry is counted');
    const n = nat();
    assert.ok(n.expired >= 51, `the SYN-only and the closing sessions counted as expired: ${n.expired}`);
    assert.equal(n.active, n.created - n.expired, 'active = created - expired');
    // The established session has the 300 s timeout and still translates.
    await back(reply('tcp', tcpBackend, established, { flags: 'A', payload: Buffer.alloc(0) }), kept, 0);
  });

  test('a flow\'s packets in one burst reach its session in arrival order, tagged or not', async () => {
    const before = nat();
    const tagged = (f: Buffer) => Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x07]), f.subarray(12)]);
    // The untagged SYN is classified on the fast path, the VLAN-tagged FIN by the general parser. Had
    // the FIN reached the session first, the SYN would have found it closing and opened a second one.
    const syn = client('tcp', 35000, { flags: 'S', ack: 0, payload: Buffer.alloc(0) });
    const fin = client('tcp', 35000, { flags: 'FA', seq: 1001, ack: 5001 });
    const out = (await exchange([frame(syn), tagged(frame(fin))], 0)).map((f) => pk.decodeFrame(f));
    assert.equal(nat().created - before.created, 1, 'one session');
    assert.deepEqual(out.map((d) => d.vlans), [[], [7]], 'both forwarded, in the order they arrived');
    assert.deepEqual(out.map((d) => d.tcp!.flags & 0x03), [0x02, 0x01], 'SYN, then FIN');
    assert.deepEqual(out.map((d) => `${d.ipv4!.src}:${d.tcp!.sport}`), Array(2).fill(`${out[0].ipv4!.src}:${out[0].tcp!.sport}`),
      'from one pool pair');
    assert.ok(out.every((d) => d.ipv4!.checksumValid && d.tcp!.checksumValid && d.ipv4!.dst === tcpBackend.address &&
      d.tcp!.dport === 8080), 'to the backend, checksums valid');
  });

  test('counters add up: every received packet forwarded, answered, handed off or dropped', () => assertNatAccounting(dp));
});

describe('tshark', () => {
  test('decodes every captured frame with valid IP, TCP and UDP checksums', () => {
    const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
    assert.ok(tshark.error === undefined && tshark.status === 0,
      'tshark is not installed (scripts/setup.sh installs it); this test needs it');
    assert.ok(captured.length > 60, `${captured.length} frames`);
    const path = join(workDir, 'nat.pcap');
    writePcap(path, captured);
    const args = ['-r', path, '-n', '--disable-protocol', 'dns', '--disable-protocol', 'mdns', '--disable-protocol', 'http',
      '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
    const verbose = spawnSync('tshark', [...args, '-V'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(verbose.status, 0, `tshark failed: ${verbose.stderr}`);
    for (const marker of ['[Bad', 'Status: Bad', 'Malformed', 'incorrect, should be']) {
      const at = verbose.stdout.indexOf(marker);
      assert.equal(at, -1, `tshark reports "${marker}":\n${verbose.stdout.slice(Math.max(0, at - 1500), at + 200)}`);
    }
    assert.ok(verbose.stdout.includes('[Checksum Status: Good]'), 'tshark did check checksums');
  });
});
