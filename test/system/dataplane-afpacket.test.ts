// Multi-queue on a kernel interface: net_af_packet with two queue pairs on a veth
// whose other end sits in a namespace, two worker lcores, real frames from a
// client through the kernel. af_packet has no RSS; its queues are the members
// of a PACKET_FANOUT_HASH group, so the kernel's flow hash must spread flows
// over both lcores and keep every packet of a flow on the same one.
//
// Own process (the EAL initialises once per process), root, 2 MiB hugepages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { validateConfig } from '../../src/config';
import { Dataplane } from '../../src/dataplane';
import type { DataplaneStats, PortInfo } from '../../src/native/addon';
import * as pk from '../helpers/packets';
import { readPcap, writePcap } from '../helpers/pcap';
import { createVethPair, execIn, removeVethPair, spawnIn, type VethPair } from '../helpers/netns';

const VETH: VethPair = { name: 'sluice-lb0', peer: 'sluice-c0', peerNetns: 'sluice-mq' };
const VIP = '10.99.0.100';
const BACKEND_MACS = ['02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03'];
const FLOWS = 300;
/** SYN, then two ACKs */
const PACKETS_PER_FLOW = 3;
const WORKER_LCORES = [1, 2];
/** Each lcore's least share of the packets; a fair hash over 300 flows is far above it. */
const MIN_SHARE = 0.1;
const SENDER = join(__dirname, '..', '..', '..', 'test', 'helpers', 'send_frames.py');
// The PMD's rx ring holds 512 frames per queue and both workers share one CPU,
// so one may be off-CPU for a scheduler slice. A full ring makes the kernel's
// fanout roll packets over to the other queue, splitting flows, which is what
// this test looks for; small paced batches keep the rings nearly empty.
const SEND_BATCH = 32;
const SEND_GAP_MS = 1;
const DEADLINE_MS = 15000;
const CAPTURE_SNAPLEN = 256;
const CAPTURE_BUFFER_KIB = 8192;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `p` for at most `ms`; a timer left behind would hold the process open. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

let dp: Dataplane | undefined;
let port: PortInfo;
let lbMac: string;
let clientMac: string;
// Fixed names, like the namespace's: a crashed run's leftovers are found and
// removed by the next run, and two runs cannot share the veth anyway.
const WORK = join(tmpdir(), 'sluice-afpacket');
const INSTANCE = `afpacket-${process.pid}`;
// rte_eal_cleanup leaves the EAL's (empty) runtime directory behind; named by
// --file-prefix sluice-<instance> (src/config/eal-args.ts).
const EAL_RUNTIME_DIR = `/var/run/dpdk/sluice-${INSTANCE}`;
const children = new Set<ChildProcess>();

function config() {
  return validateConfig({
    eal: { lcores: '0@0,1@1,2@1', hugepages: true },
    ports: [{ name: 'lb0', device: `net_af_packet0,iface=${VETH.name},qpairs=2`, queues: 2, address: '10.99.0.2/24' }],
    dataplane: { idleSleepMaxUs: 100 },
    flowTable: { entriesPerLcore: 65536 },
    services: [{
      name: 'web', vip: VIP, port: 80, protocol: 'tcp', forwarding: 'dsr',
      backends: BACKEND_MACS.map((mac, i) => ({ address: `10.99.0.${11 + i}`, port: 80, mac })),
    }],
  });
}

function teardown(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  try {
    // The af_packet sockets must be closed before their interface goes away.
    dp?.stop();
  } finally {
    dp = undefined;
    rmSync(EAL_RUNTIME_DIR, { recursive: true, force: true });
    removeVethPair(VETH);
    rmSync(WORK, { recursive: true, force: true });
  }
}

before(() => {
  // Leftovers from a run that crashed before its after hook.
  removeVethPair(VETH);
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK);
  ({ mac: lbMac, peerMac: clientMac } = createVethPair(VETH));
  dp = new Dataplane();
  dp.start(config(), INSTANCE);
  [port] = dp.ports();
});
after(teardown);

interface Capture {
  done: Promise<void>;
  stop(): void;
}

/** tcpdump on the client end for what arrives from the balancer, until `count` frames or stop(). */
async function startCapture(file: string, count: number): Promise<Capture> {
  // With the default 256 KiB snap length a 2 MiB ring holds a handful of
  // frames and the kernel drops the rest; the test's frames are 60 bytes.
  const child = spawnIn(VETH.peerNetns, 'tcpdump', ['-i', VETH.peer, '-Q', 'in', '-n', '-U', '--immediate-mode',
    '-s', String(CAPTURE_SNAPLEN), '-B', String(CAPTURE_BUFFER_KIB), '-c', String(count), '-w', file]);
  children.add(child);
  let stderr = '';
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`tcpdump not listening after 5 s: ${stderr}`)), 5000);
    child.on('error', fail);
    child.on('close', (code) => fail(new Error(`tcpdump exited (${code}) before listening: ${stderr}`)));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { done, stop: () => child.kill('SIGTERM') };
}

function sum(s: DataplaneStats, f: (l: DataplaneStats['lcores'][number]) => number): number {
  return s.lcores.reduce((a, l) => a + f(l), 0);
}

/** Waits until the workers have received `target` packets and flushed tx. */
async function waitForwarded(target: number): Promise<DataplaneStats> {
  const deadline = Date.now() + DEADLINE_MS;
  let s = dp!.stats();
  while (sum(s, (l) => l.rxPackets) < target && Date.now() < deadline) {
    await sleep(10);
    s = dp!.stats();
  }
  // Every loop iteration ends with a tx flush: two more and all is out.
  const iterations = Math.min(...s.lcores.map((l) => l.iterations)) + 2;
  while (Math.min(...dp!.stats().lcores.map((l) => l.iterations)) < iterations && Date.now() < deadline) await sleep(1);
  return dp!.stats();
}

describe('net_af_packet, qpairs=2, two worker lcores', () => {
  test('the port reports that it has no RSS', () => {
    assert.equal(port.driver, 'net_af_packet');
    assert.equal(port.mac, lbMac, 'the port has its veth end\'s MAC');
    assert.equal(port.rxQueues, 2);
    assert.equal(port.txQueues, 2, 'one tx queue per worker');
    assert.equal(port.rss.offered, '');
    assert.notEqual(port.rss.missing, '');
    assert.ok(port.warnings.some((w) => /RSS/.test(w)), `a warning names the missing RSS: ${JSON.stringify(port.warnings)}`);
  });

  test('flows spread over both lcores and each stays on one', async () => {
    const flows = pk.randomFlows(FLOWS, 7, { vip: VIP, vport: 80, proto: 'tcp', clientNet: '172.16.0.0/12' });
    const frame = (f: pk.Flow, flags: pk.TcpFlags, seq: number) => pk.tcpFrame({
      srcMac: clientMac, dstMac: port.mac, src: f.src, dst: VIP, sport: f.sport, dport: 80, flags, seq,
      ack: flags === 'S' ? 0 : 5000,
    });
    // Round by round, so each flow's packets are interleaved with every other flow's.
    const sent = [
      ...flows.map((f) => frame(f, 'S', 1000)),
      ...flows.map((f) => frame(f, 'A', 1001)),
      ...flows.map((f) => frame(f, 'A', 1002)),
    ];
    const total = FLOWS * PACKETS_PER_FLOW;
    const framesFile = join(WORK, 'frames.pcap');
    const captureFile = join(WORK, 'capture.pcap');
    writePcap(framesFile, sent);

    assert.equal(sum(dp!.stats(), (l) => l.rxPackets), 0, 'nothing reached the workers before the test sent');
    const started = Date.now();
    const capture = await startCapture(captureFile, total);
    const out = execIn(VETH.peerNetns, 'python3',
      [SENDER, VETH.peer, framesFile, '--batch', String(SEND_BATCH), '--gap-ms', String(SEND_GAP_MS)]);
    assert.equal(Number(out.trim()), total, 'the sender sent every frame');
    const stats = await waitForwarded(total);
    await settledWithin(capture.done, DEADLINE_MS);
    capture.stop();
    await capture.done;
    const elapsed = Date.now() - started;

    assert.deepEqual(stats.lcores.map((l) => l.lcore).sort((a, b) => a - b), WORKER_LCORES, 'stats cover the worker lcores');
    const lcores = WORKER_LCORES.map((id) => stats.lcores.find((l) => l.lcore === id)!);
    for (const l of lcores) {
      console.log(`# lcore ${l.lcore}: rx ${l.rxPackets}, forwarded ${l.forwarded}, flows inserted ${l.flows.inserts},` +
        ` hits ${l.flows.hits}, misses ${l.flows.misses} (${(l.rxPackets / total * 100).toFixed(1)}% of ${total})`);
    }
    console.log(`# ${FLOWS} flows x ${PACKETS_PER_FLOW} packets sent, forwarded and captured in ${elapsed} ms`);
    const drops = Object.fromEntries(stats.lcores.flatMap((l) => Object.entries(l.drops)).filter(([, v]) => v > 0));

    // Nothing but the test's frames reached the workers, and all of them did.
    assert.deepEqual(drops, {}, 'no drops');
    assert.equal(sum(stats, (l) => l.rxPackets), total, 'the workers received every frame sent');
    assert.equal(sum(stats, (l) => l.forwarded), total, 'every frame was forwarded');
    for (const l of lcores) {
      assert.ok(l.rxPackets >= MIN_SHARE * total, `lcore ${l.lcore} received ${l.rxPackets} of ${total}`);
    }
    // A flow split over the lcores would be inserted on each of them.
    assert.equal(sum(stats, (l) => l.flows.inserts), FLOWS, 'one flow entry per flow over all lcores');
    assert.equal(sum(stats, (l) => l.flows.hits), total - FLOWS, 'every packet after the first of its flow hits');
    for (const l of lcores) {
      assert.equal(l.rxPackets, PACKETS_PER_FLOW * l.flows.inserts,
        `lcore ${l.lcore} received all packets of exactly the flows it inserted`);
    }

    // What reached the client end: each frame as sent, with only the MACs
    // changed, and each flow on one backend.
    const captured = readPcap(captureFile);
    assert.equal(captured.length, total, 'every forwarded frame arrived at the client end');
    const unmatched = new Map<string, number>();
    for (const f of sent) {
      const k = f.subarray(12).toString('hex');
      unmatched.set(k, (unmatched.get(k) ?? 0) + 1);
    }
    const backendOf = new Map<string, string>();
    const perBackend = new Map<string, number>();
    for (const f of captured) {
      const d = pk.decodeFrame(f);
      assert.equal(d.srcMac, port.mac, 'sent by the balancer port');
      assert.ok(BACKEND_MACS.includes(d.dstMac ?? ''), `to a backend MAC, got ${d.dstMac}`);
      const k = f.subarray(12).toString('hex');
      const left = unmatched.get(k) ?? 0;
      assert.ok(left > 0, `captured frame matches a sent one after the MACs: ${pk.flowKey(d)}`);
      unmatched.set(k, left - 1);
      const flow = pk.flowKey(d)!;
      const prev = backendOf.get(flow);
      assert.ok(prev === undefined || prev === d.dstMac, `flow ${flow} stays on one backend (${prev} then ${d.dstMac})`);
      if (prev === undefined) perBackend.set(d.dstMac!, (perBackend.get(d.dstMac!) ?? 0) + 1);
      backendOf.set(flow, d.dstMac!);
    }
    assert.equal(backendOf.size, FLOWS, 'every flow arrived');
    console.log(`# flows per backend: ${BACKEND_MACS.map((m) => perBackend.get(m) ?? 0).join(' / ')}`);
  });
});
