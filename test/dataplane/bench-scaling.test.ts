// The benchmark's scaling run as it is set up, at a size that runs anywhere: a pcap
// port with one rx queue per pcap feeds one worker lcore each, and each lcore's
// table holds exactly its own pcap's flows; testpmd takes the same port with as
// many queues. On a machine of two cores the workers share core 1, so nothing
// here measures speed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config';
import { Dataplane } from '../../src/dataplane';
import { TCP_ACK, writeFlowPcap } from '../../tools/bench/pcap-flows';
import {
  benchConfig, BENCH_PORT, BENCH_VIP, mbufsFor, memoryMbFor, replayDevice, testpmdCores, type BenchRun,
} from '../../tools/bench/sluice-config';
import { runTestpmd } from '../../tools/bench/testpmd-run';

const WORKERS = 2;
const PER_QUEUE = 512;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the benchmark scaling run, two workers', () => {
  let dir: string;
  let pcaps: string[];
  let run: BenchRun;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-scaling-'));
    pcaps = Array.from({ length: WORKERS }, (_, k) => {
      const path = join(dir, `flows-${k}.pcap`);
      writeFlowPcap(path, { flows: PER_QUEUE, firstFlow: k * PER_QUEUE, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
      return path;
    });
    run = { device: replayDevice(pcaps), entriesPerLcore: 1024, preload: WORKERS * PER_QUEUE, hugepages: false,
      forwarding: 'dsr', workers: WORKERS, cores: cpus().length };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('each worker polls its own queue and remembers exactly its own pcap\'s flows', async () => {
    const dp = new Dataplane();
    dp.start(validateConfig(benchConfig(run)), `bench-scaling-${process.pid}`);
    try {
      const deadline = Date.now() + 30000;
      const active = () => dp.stats().lcores.map((l) => l.flows.active);
      while (active().reduce((a, b) => a + b, 0) < WORKERS * PER_QUEUE && Date.now() < deadline) await sleep(50);
      const lcores = dp.stats().lcores;
      assert.equal(lcores.length, WORKERS);
      for (const [i, l] of lcores.entries()) {
        assert.ok(l.rxPackets > 0, `worker ${i} received ${l.rxPackets}`);
        assert.equal(l.flows.active, PER_QUEUE, `worker ${i}'s table holds its queue's ${PER_QUEUE} flows`);
        assert.equal(l.flows.misses, PER_QUEUE, `worker ${i} missed each of its flows once, no other lcore's`);
      }
    } finally {
      dp.stop();
    }
  });

  test('testpmd forwards from the same port with as many queues', async () => {
    const r = await runTestpmd({
      pcap: pcaps, cores: testpmdCores(WORKERS, cpus().length), queues: WORKERS, mbufs: mbufsFor(run),
      memoryMb: memoryMbFor(run), hugepages: false, skip: 1, samples: 1, forwardMode: '5tswap',
    });
    assert.ok(r.mpps > 0, `${r.mpps} Mpps`);
    assert.ok(r.command.includes(`--rxq=${WORKERS} --txq=${WORKERS}`), r.command);
  });
});
