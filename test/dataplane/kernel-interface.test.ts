// The kernel interface: a TAP carrying the node's own traffic over a DPDK port.
// Frames for the port's address that the data plane does not answer reach the
// kernel; the kernel's frames leave through the port; nothing else passes either
// way. Driven through a ring port: the test plays the network, the real kernel
// answers on a TAP made in this test's namespace (a benchmark-range subnet no
// host uses; the TAP goes when the process does, whatever happens).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { arpReplyFrame, arpRequestFrame, decodeFrame, icmpEchoFrame, tcpFrame, udpFrame, type DecodedFrame } from '../helpers/packets';
import { decodeNd, neighborAdvertFrame } from '../helpers/ndp-packets';
import { CLIENT_MAC, RingDataplane, totals } from '../helpers/ring-dataplane';

const ADDRESS = '198.18.7.2';
const ADDRESS6 = 'fd00:97::2';
const CLIENT6 = 'fd00:97::9';
const CLIENT = '198.18.7.9';
const OTHER = '198.18.7.50';
const NAME = `sluice-k${process.pid % 10_000_000}`;
const RATE = 500;
const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LinkInfo { address: string; operstate: string; mtu: number; flags: string[]; addr_info: { local: string; prefixlen: number }[] }

function link(name: string): LinkInfo | undefined {
  const r = spawnSync('ip', ['-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as LinkInfo[])[0];
}

describe('a port with a kernel interface', () => {
  let dp: RingDataplane;
  /** What the port sent, decoded, with its bytes. */
  const captured: (DecodedFrame & { raw: Buffer })[] = [];
  const kernelStats = () => dp.native.stats().ports[0].kernelInterface;
  const drops = (reason: string) => dp.native.stats().lcores.reduce((a, l) => a + (l.drops[reason] ?? 0), 0);

  /** Collects what the port transmits until `match` finds a frame, or fails after `ms`. */
  async function awaitFrame(match: (f: DecodedFrame & { raw: Buffer }) => boolean, ms = 5000): Promise<DecodedFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const raw of dp.native.capture('p0')) captured.push({ ...decodeFrame(raw), raw: Buffer.from(raw) });
      const i = captured.findIndex(match);
      if (i >= 0) return captured.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no such frame in ${ms} ms; saw ${JSON.stringify(captured.slice(-5).map(({ raw: _raw, ...f }) => f))}`);
      await sleep(5);
    }
  }

  before(() => {
    dp = new RingDataplane({ workers: 2, address: ADDRESS, address6: ADDRESS6,
      kernelInterface: { name: NAME, packetsPerSec: RATE } });
  });
  after(() => dp?.stop());

  test('the TAP has the port\'s MAC, address, prefix and MTU, and is up', () => {
    const l = link(NAME);
    assert.ok(l, `${NAME} exists`);
    assert.equal(l.address, dp.mac);
    assert.equal(l.mtu, 1500);
    assert.ok(l.flags.includes('UP'), `flags ${l.flags}`);
    assert.deepEqual(l.addr_info.filter((a) => a.local === ADDRESS).map((a) => a.prefixlen), [24]);
    assert.deepEqual(l.addr_info.filter((a) => a.local === ADDRESS6).map((a) => a.prefixlen), [64]);
  });

  test('IPv6: a SYN to the port\'s IPv6 address reaches the kernel, which solicits the client and answers through the port', async () => {
    dp.native.inject('p0', [tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT6, dst: ADDRESS6, sport: 41000, dport: 1, flags: 'S', seq: 7 })], 0);
    const ns = await awaitFrame((f) => f.icmp?.type === 135 && decodeNd(f.raw)?.target === CLIENT6);
    assert.equal(ns.srcMac, dp.mac);
    dp.native.inject('p0', [neighborAdvertFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT6, dst: ADDRESS6, target: CLIENT6 })], 0);
    const rst = await awaitFrame((f) => f.tcp?.dport === 41000 && f.ipv6?.dst === CLIENT6);
    assert.equal(rst.ipv6?.src, ADDRESS6);
    assert.equal(rst.srcMac, dp.mac);
    assert.equal(rst.dstMac, CLIENT_MAC);
    assert.equal(rst.tcp?.ack, 8);
  });

  test('a TCP SYN to the port\'s address reaches the kernel, which resolves the client and answers through the port', async () => {
    const before = kernelStats();
    assert.ok(before);
    dp.native.inject('p0', [tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: ADDRESS, sport: 40000, dport: 1, flags: 'S', seq: 7 })], 0);
    // Nothing listens on port 1: the kernel answers RST, after asking for the client's MAC.
    const ask = await awaitFrame((f) => f.arp?.op === 1 && f.arp.tpa === CLIENT);
    assert.equal(ask.srcMac, dp.mac);
    assert.equal(ask.arp?.spa, ADDRESS);
    dp.native.inject('p0', [arpReplyFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, senderIp: CLIENT, targetIp: ADDRESS })], 0);
    const rst = await awaitFrame((f) => f.tcp !== undefined && f.ipv4?.dst === CLIENT);
    assert.equal(rst.srcMac, dp.mac);
    assert.equal(rst.dstMac, CLIENT_MAC);
    assert.equal(rst.ipv4?.src, ADDRESS);
    assert.equal(rst.tcp?.sport, 1);
    assert.equal(rst.tcp?.dport, 40000);
    assert.equal(rst.tcp?.ack, 8);
    const now = kernelStats();
    assert.ok(now);
    assert.ok(now.toKernel >= before.toKernel + 2, `SYN and ARP reply written to the TAP: ${before.toKernel} -> ${now.toKernel}`);
    assert.ok(now.fromKernel >= before.fromKernel + 2, `ARP request and RST from the kernel: ${before.fromKernel} -> ${now.fromKernel}`);
    assert.ok(dp.native.stats().lcores.reduce((a, l) => a + l.kernelHanded, 0) >= 2);
  });

  test('frames for other addresses, and echo requests the data plane answers, never reach the kernel', async () => {
    const before = kernelStats();
    const noService = drops('no_service');
    const replies = totals(dp.native.stats()).localReplies;
    await dp.exchange([
      tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: OTHER, sport: 40001, dport: 22, flags: 'S' }),
      udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: OTHER, sport: 40001, dport: 53 }),
      // Addressed to the port's IP but another station's MAC: not ours either.
      tcpFrame({ srcMac: CLIENT_MAC, dstMac: '02:00:00:00:00:77', src: CLIENT, dst: ADDRESS, sport: 40002, dport: 22, flags: 'S' }),
    ]);
    const out = await dp.exchange([icmpEchoFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: ADDRESS, id: 1, seq: 1 })]);
    assert.equal(drops('no_service') - noService, 2);
    assert.equal(totals(dp.native.stats()).localReplies - replies, 1);
    assert.ok(out.map(decodeFrame).some((f) => f.icmp?.type === 0 && f.ipv4?.dst === CLIENT), 'the echo reply comes from the data plane');
    await sleep(50);
    assert.equal(kernelStats()?.toKernel, before?.toKernel);
  });

  test('the kernel\'s frames leave only from the port\'s own MAC', async () => {
    const before = kernelStats();
    assert.ok(before);
    // A frame the kernel sends on the TAP with another source MAC (a raw socket's).
    const foreign = arpRequestFrame({ srcMac: '02:00:00:00:00:66', senderIp: OTHER, targetIp: CLIENT });
    execFileSync('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes.fromhex(sys.argv[2]))
`, NAME, foreign.toString('hex')], { timeout: 30_000 });
    const deadline = Date.now() + 5000;
    while ((kernelStats()?.fromKernelDropped ?? 0) === before.fromKernelDropped && Date.now() < deadline) await sleep(10);
    assert.equal(kernelStats()?.fromKernelDropped, before.fromKernelDropped + 1);
    for (const raw of dp.native.capture('p0')) captured.push({ ...decodeFrame(raw), raw: Buffer.from(raw) });
    assert.ok(!captured.some((f) => f.srcMac === '02:00:00:00:00:66'), 'the foreign frame did not leave');
  });

  test('frames beyond the rate are dropped and counted, not queued', async () => {
    const handed = () => dp.native.stats().lcores.reduce((a, l) => a + l.kernelHanded, 0);
    const limited = drops('kernel_rate_limited');
    const h0 = handed();
    const t0 = Date.now();
    const frames = Array.from({ length: 3000 }, (_, i) =>
      udpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: ADDRESS, sport: 20000 + (i % 1000), dport: 9 }));
    await dp.exchange(frames);
    const seconds = (Date.now() - t0) / 1000;
    const passed = handed() - h0;
    const refused = drops('kernel_rate_limited') - limited;
    assert.equal(passed + refused, 3000, `every frame handed (${passed}) or counted as rate-limited (${refused})`);
    // All on queue 0, so one worker: its half of the rate, plus its burst of that / 20 (at least 16).
    const perWorker = RATE / 2;
    assert.ok(passed <= Math.ceil(perWorker * seconds) + Math.max(16, perWorker / 20) + 1, `${passed} handed in ${seconds} s`);
    assert.ok(refused > 0);
  });

  test('a stuck worker does not hold back what the kernel sends: another worker transmits it', async () => {
    // Lcore 1 (queue 0) is the first to carry the kernel's frames; it stops for 1.5 s.
    dp.native.stallLcore(1, 1500);
    const t0 = Date.now();
    await sleep(100);
    dp.native.inject('p0', [tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: CLIENT, dst: ADDRESS, sport: 40100, dport: 2, flags: 'S', seq: 1 })], 1);
    const rst = await awaitFrame((f) => f.tcp?.dport === 40100, 5000);
    const ms = Date.now() - t0;
    assert.equal(rst.ipv4?.src, ADDRESS);
    assert.ok(ms < 1000, `the kernel's RST left after ${ms} ms, while lcore 1 stood still for 1,500 ms`);
    await sleep(1500 - ms + 100);  // lcore 1 moves again before the next test
  });

  test('GET-level views: the port\'s counters name the interface', () => {
    const k = kernelStats();
    assert.equal(k?.name, NAME);
    assert.ok((k?.toKernel ?? 0) > 0);
  });
});

describe('a kernel interface whose name is taken', () => {
  test('sluice run refuses to start, naming the field and the interface', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kif-'));
    try {
      const config = path.join(dir, 'c.yaml');
      fs.writeFileSync(config, stringify({
        eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 256 },
        ports: [{ name: 'p0', device: 'ring', address: '198.18.8.2/24', kernelInterface: 'lo' }],
        api: { listen: '127.0.0.1:0' },
        services: [],
      }));
      const r = spawnSync(process.execPath, [CLI, 'run', '--config', config], { encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr + r.stdout, /ports\[0\]\.kernelInterface: an interface named lo already exists/);
      assert.match(r.stderr + r.stdout, /SLUICE_PORT_SETUP_FAILED/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
