// `npm run bench`: measures the data plane side by side with dpdk-testpmd on this
// machine and writes BENCHMARKS.md and bench-results.json at the repository root.
// It reports; it never asserts a figure. Each data-plane run is its own process
// (the EAL initialises once per process).
//
//   node dist/tools/bench/main.js [--flows 1024,1048576] [--sweep 65536,262144,4194304|none] [--seconds 5]
//     [--new-flows N] [--repeat R] [--workers N] [--out DIR]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { tableBuilds, tableRemaps } from './lookup-table';
import { median } from './median';
import { TCP_ACK, TCP_SYN, writeFlowPcap } from './pcap-flows';
import {
  benchConfig, BENCH_PORT, BENCH_VIP, mbufsFor, memoryMbFor, replayDevice, TESTPMD_CORES, testpmdCores, type BenchRun,
} from './sluice-config';
import { RESULT_PREFIX, type SluiceRunResult, type WorkerSample } from './sluice-run';
import { runTestpmd, type TestpmdResult } from './testpmd-run';
import { buildCeiling, runCeiling, type CeilingResult } from './ceiling-run';
import { flowMemory } from './flow-memory';
import { renderMarkdown } from './report';
import { reserveHugepages } from './hugepages';
import { controlPlane } from './control-plane';
import { isolation, type IsolationResult } from './isolation';
import { instructionCounts } from './instructions';
import { measureSweep } from './sweep';
import type {
  BenchResults, FrameSplitRow, HitlessRound, HitlessRow, Machine, NewFlowRow, Scaling, ThroughputRow,
} from './results';

const ROOT = resolve(__dirname, '../../..');

function machine(): Machine {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: model.trim(),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: sh('uname', ['-r']),
    dpdk: sh('pkg-config', ['--modversion', 'libdpdk']),
    node: process.version,
  };
}

function runSluice(configPath: string, warm: number, seconds: number, changesPerSec = 0): Promise<SluiceRunResult> {
  const script = join(__dirname, 'sluice-run.js');
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [script, configPath, String(warm), String(seconds), String(changesPerSec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) rej(new Error(`sluice-run exited with ${code}: ${err.slice(-2000)}`));
      else res(JSON.parse(line.slice(RESULT_PREFIX.length)) as SluiceRunResult);
    });
  });
}

const rate = (r: SluiceRunResult, f: (s: SluiceRunResult['after']) => number) =>
  ((f(r.after) - f(r.before)) * 1000) / (r.after.atMs - r.before.atMs);

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Worker lcores of the scaling run by default: one per core beyond the main lcore's, at most this many. */
const MAX_SCALING_WORKERS = 8;

function parseArgs(argv: string[]): {
  flows: number[]; sweep: number[]; seconds: number; out: string; newFlows: number; repeat: number; workers: number;
} {
  const o = { flows: [1024, 1048576], sweep: [65536, 262144, 4194304], seconds: 5, out: ROOT, newFlows: 1048576, repeat: 3,
    workers: Math.max(1, Math.min(cpus().length - 1, MAX_SCALING_WORKERS)) };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--flows') o.flows = v.split(',').map(Number);
    else if (argv[i] === '--sweep') o.sweep = v === 'none' ? [] : v.split(',').map(Number);
    else if (argv[i] === '--seconds') o.seconds = Number(v);
    else if (argv[i] === '--new-flows') o.newFlows = Number(v);
    else if (argv[i] === '--out') o.out = resolve(v);
    else if (argv[i] === '--repeat') o.repeat = Number(v);
    else if (argv[i] === '--workers') o.workers = Number(v);
    else {
      throw new Error(`unknown argument ${argv[i]}; usage: main.js [--flows N,N] [--sweep N,N|none] [--seconds S] ` +
        '[--new-flows N] [--repeat R] [--workers N] [--out DIR]');
    }
  }
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (!o.flows.every(whole) || !o.sweep.every(whole) || !whole(o.newFlows) || !whole(o.repeat) || !whole(o.seconds) || !whole(o.workers)) {
    throw new Error('--flows, --sweep, --new-flows, --repeat, --seconds and --workers take whole numbers of at least 1');
  }
  if (o.workers > 64) throw new Error('--workers takes at most 64 (a port\'s queues)');
  return o;
}

/**
 * dsr at `flows` flows in all with args.workers worker lcores beside testpmd with
 * as many forwarding cores, in args.repeat rounds; nothing when there is one worker.
 */
async function measureScaling(
  dir: string, args: ReturnType<typeof parseArgs>, flows: number, throughput: ThroughputRow[],
  writeConfig: (name: string, cfg: object) => string, sluiceCommand: (cfg: string, warm: number) => string,
  hugepages: boolean,
): Promise<Scaling> {
  const cores = cpus().length;
  const workers = args.workers;
  const scaling: Scaling = { cores, workers, rows: [] };
  if (workers < 2) return scaling;
  // A disjoint share of the flows per queue, so each lcore's table holds its own.
  const share = Math.ceil(flows / workers);
  const pcaps = Array.from({ length: workers }, (_, k) => {
    const path = join(dir, `scaling-${flows}-${k}.pcap`);
    writeFlowPcap(path, { flows: share, firstFlow: k * share, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
    return path;
  });
  const run: BenchRun = { device: replayDevice(pcaps), entriesPerLcore: Math.max(1024, share), preload: share * workers,
    hugepages, forwarding: 'dsr', workers, cores };
  const cfg = writeConfig(`scaling-dsr-${flows}-${workers}-workers.json`, benchConfig(run));
  const rounds: { t: TestpmdResult; s: SluiceRunResult }[] = [];
  for (let round = 1; round <= args.repeat; round++) {
    log(`scaling, ${flows} flows over ${workers} worker lcores, round ${round} of ${args.repeat}: testpmd 5tswap, sluice dsr`);
    const t = await runTestpmd({
      pcap: pcaps, cores: testpmdCores(workers, cores), queues: workers, mbufs: mbufsFor(run), memoryMb: memoryMbFor(run),
      hugepages, skip: 2, samples: args.seconds, forwardMode: '5tswap',
    });
    const s = await runSluice(cfg, share * workers, args.seconds);
    rounds.push({ t, s });
    log(`  testpmd 5tswap ${t.mpps.toFixed(2)}, sluice dsr ${(rate(s, (x) => x.rx) / 1e6).toFixed(2)} Mpps`);
  }
  const each = rounds.map((r) => ({ sluiceMpps: rate(r.s, (x) => x.rx) / 1e6, testpmdMpps: r.t.mpps }));
  scaling.rows.push({
    workers, flows: share * workers, sluiceMpps: median(each.map((x) => x.sluiceMpps)),
    testpmdMpps: median(each.map((x) => x.testpmdMpps)), ratio: median(each.map((x) => x.sluiceMpps / x.testpmdMpps)),
    oneWorkerMpps: throughput.find((t) => t.mode === 'dsr' && t.flows === flows)?.sluiceMpps ?? 0,
    rounds: each, sluiceCommand: sluiceCommand(cfg, share * workers), testpmdCommand: rounds[0].t.command,
  });
  return scaling;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Made before the run, not after it: a few minutes of figures are not lost to a missing directory.
  mkdirSync(args.out, { recursive: true });
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const commands: string[] = [];
  const configs: Record<string, object> = {};
  const writeConfig = (name: string, cfg: object): string => {
    configs[name] = cfg;
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(cfg, null, 2));
    return path;
  };
  const sluiceCommand = (cfg: string, warm: number) =>
    `node dist/tools/bench/sluice-run.js ${cfg} ${warm} ${args.seconds}`;
  // The largest run preloads the most mbufs (and, in nat, keeps as many sessions); each run is alone.
  const largest = Math.max(...args.flows, ...args.sweep, args.newFlows);
  const huge = reserveHugepages(memoryMbFor({
    device: '', entriesPerLcore: largest, preload: largest, hugepages: true, forwarding: 'nat',
  }));
  const hugepages = huge.enabled;
  try {
    const m = machine();
    log(`${m.cpu}, ${m.cores} cores, DPDK ${m.dpdk}; hugepages: ${huge.reason}`);

    buildCeiling();
    const throughput: ThroughputRow[] = [];
    const small = Math.min(...args.flows);
    const large = Math.max(...args.flows);
    let frameSplit: FrameSplitRow | undefined;
    const perPacketNs = (s: SluiceRunResult, seconds: (x: WorkerSample) => number) =>
      ((seconds(s.after) - seconds(s.before)) * 1e9) / Math.max(1, s.after.rx - s.before.rx);
    // One run's rate and the worker's own split of its time per packet.
    const figures = (s: SluiceRunResult) => ({
      sluiceMpps: rate(s, (x) => x.rx) / 1e6, receiveNs: perPacketNs(s, (x) => x.receiveSeconds),
      processNs: perPacketNs(s, (x) => x.processSeconds),
    });
    for (const flows of args.flows) {
      const pcap = join(dir, `flows-${flows}.pcap`);
      writeFlowPcap(pcap, { flows, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
      const base: BenchRun = { device: replayDevice(pcap), entriesPerLcore: Math.max(1024, flows), preload: flows, hugepages };
      // Measured in the largest run's rounds, so that it is compared with figures of the same minutes.
      let splitConfig: string | undefined;
      if (flows === large && small < large) {
        const splitPcap = join(dir, `flows-${small}-as-${flows}-frames.pcap`);
        writeFlowPcap(splitPcap, { flows: small, frames: flows, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
        splitConfig = writeConfig(`throughput-dsr-${small}-as-${flows}-frames.json`,
          benchConfig({ ...base, device: replayDevice(splitPcap), forwarding: 'dsr' }));
      }
      const testpmd = (forwardMode: '5tswap' | 'rxonly') => runTestpmd({
        pcap, cores: TESTPMD_CORES, mbufs: mbufsFor(base), memoryMb: memoryMbFor(base), hugepages, skip: 2, samples: args.seconds,
        forwardMode,
      });
      const ceiling = (table: boolean, floor = false) => runCeiling({
        pcap, flows, cores: TESTPMD_CORES, mbufs: mbufsFor(base), memoryMb: memoryMbFor(base), hugepages,
        seconds: args.seconds, table, floor,
      });
      const modes = ['dsr', 'tunnel', 'nat'] as const;
      const configs = modes.map((mode) => writeConfig(`throughput-${mode}-${flows}.json`, benchConfig({ ...base, forwarding: mode })));
      // The machine's speed drifts by tens of percent over minutes: each round
      // measures the ceiling, the floor and every mode back to back, and the
      // table reports each figure's median over the rounds and the median ratio.
      const rounds: {
        t: TestpmdResult; floor: TestpmdResult; tableOnly: CeilingResult; lineFloor: CeilingResult; stateless: CeilingResult;
        runs: SluiceRunResult[];
      }[] = [];
      const splitRuns: SluiceRunResult[] = [];
      for (let round = 1; round <= args.repeat; round++) {
        log(`throughput, ${flows} flows, round ${round} of ${args.repeat}: testpmd 5tswap, rxonly, table only, a line ` +
          'a packet, stateless, ' +
          `sluice ${modes.join(', ')}` +
          (splitConfig ? `, dsr on ${small} flows in ${flows} frames` : ''));
        const t = await testpmd('5tswap');
        const floor = await testpmd('rxonly');
        const tableOnly = await ceiling(true);
        const lineFloor = await ceiling(true, true);
        const stateless = await ceiling(false);
        const runs: SluiceRunResult[] = [];
        for (const cfg of configs) runs.push(await runSluice(cfg, flows, args.seconds));
        const split = splitConfig ? await runSluice(splitConfig, small, args.seconds) : undefined;
        if (split) splitRuns.push(split);
        rounds.push({ t, floor, tableOnly, lineFloor, stateless, runs });
        log(`  testpmd 5tswap ${t.mpps.toFixed(2)}, rxonly ${floor.mpps.toFixed(2)}, table only ${tableOnly.mpps.toFixed(2)}, ` +
          `a line a packet ${lineFloor.mpps.toFixed(2)}, ` +
          `stateless ${stateless.mpps.toFixed(2)}; sluice ` +
          runs.map((s, i) => `${modes[i]} ${(rate(s, (x) => x.rx) / 1e6).toFixed(2)}`).join(', ') +
          (split ? `, dsr ${small} flows in ${flows} frames ${(rate(split, (x) => x.rx) / 1e6).toFixed(2)}` : '') + ' Mpps');
      }
      commands.push(rounds[0].t.command, rounds[0].floor.command, rounds[0].tableOnly.command, rounds[0].lineFloor.command,
        rounds[0].stateless.command);
      if (splitConfig) {
        const each = splitRuns.map(figures);
        frameSplit = {
          flows: small, frames: flows, sluiceMpps: median(each.map((x) => x.sluiceMpps)),
          receiveNs: median(each.map((x) => x.receiveNs)), processNs: median(each.map((x) => x.processNs)),
          rounds: each, command: sluiceCommand(splitConfig, small),
        };
      }
      modes.forEach((mode, i) => {
        const each = rounds.map((r) => figures(r.runs[i]));
        const mpps = each.map((x) => x.sluiceMpps);
        const last = rounds[rounds.length - 1].runs[i];
        throughput.push({
          mode, flows, sluiceMpps: median(mpps), testpmdMpps: median(rounds.map((r) => r.t.mpps)),
          ratio: median(rounds.map((r, k) => mpps[k] / r.t.mpps)), rxonlyMpps: median(rounds.map((r) => r.floor.mpps)),
          tableOnlyMpps: median(rounds.map((r) => r.tableOnly.mpps)), statelessMpps: median(rounds.map((r) => r.stateless.mpps)),
          lineFloorMpps: median(rounds.map((r) => r.lineFloor.mpps)),
          sluiceHits: last.after.hits - last.before.hits, sluiceMisses: last.after.misses - last.before.misses,
          sluiceDrops: last.after.dropped - last.before.dropped, warmSec: last.warmMs / 1000,
          sluiceCommand: sluiceCommand(configs[i], flows), testpmdCommand: rounds[0].t.command, testpmdSamples: rounds[0].t.rxPps,
          receiveNs: median(each.map((x) => x.receiveNs)), processNs: median(each.map((x) => x.processNs)),
          rounds: rounds.map((r, k) => ({
            ...each[k], testpmdMpps: r.t.mpps, rxonlyMpps: r.floor.mpps, tableOnlyMpps: r.tableOnly.mpps,
            lineFloorMpps: r.lineFloor.mpps, statelessMpps: r.stateless.mpps,
          })),
        });
        commands.push(sluiceCommand(configs[i], flows));
      });
      if (frameSplit && flows === large) commands.push(frameSplit.command);
    }

    const sweep = await measureSweep({
      flows: args.sweep, repeat: args.repeat, seconds: args.seconds, dir, hugepages, writeConfig, log,
      runSluice: async (cfg, warm) => ({
        mpps: rate(await runSluice(cfg, warm, args.seconds), (x) => x.rx) / 1e6, command: sluiceCommand(cfg, warm),
      }),
    });
    for (const row of sweep) commands.push(...row.commands);

    const scaling = await measureScaling(dir, args, large, throughput, writeConfig, sluiceCommand, hugepages);
    for (const row of scaling.rows) commands.push(row.testpmdCommand, row.sluiceCommand);

    const newFlow: NewFlowRow[] = [];
    const distinct = args.newFlows;
    const synPcap = join(dir, `syn-${distinct}.pcap`);
    writeFlowPcap(synPcap, { flows: distinct, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_SYN });
    // Unlimited measures the table; the default admission rate shows a SYN flood.
    for (const admissionPerSec of [0, 200000]) {
      const entries = Math.max(1024, Math.floor(distinct / 16));
      const run: BenchRun = { device: replayDevice(synPcap), entriesPerLcore: entries, preload: distinct,
        hugepages, newFlowsPerSec: admissionPerSec };
      const cfg = writeConfig(`new-flow-${distinct}-admission-${admissionPerSec}.json`, benchConfig(run));
      log(`new-flow rate: ${distinct} distinct SYNs, table of ${entries}, admission ${admissionPerSec || 'unlimited'}`);
      // Warm until the table has filled, so every timed insert has to evict.
      const s = await runSluice(cfg, entries, args.seconds);
      const rx = s.after.rx - s.before.rx;
      const row: NewFlowRow = {
        admissionPerSec, admissionRefused: s.after.admissionRefused - s.before.admissionRefused,
        distinctFlows: distinct, entriesPerLcore: entries, mpps: rate(s, (x) => x.rx) / 1e6,
        insertsPerSec: rate(s, (x) => x.inserts), missFraction: (s.after.misses - s.before.misses) / rx,
        evictions: s.after.evictions - s.before.evictions, expirations: s.after.expirations - s.before.expirations,
        insertFailures: s.after.insertFailures - s.before.insertFailures, drops: s.after.dropped - s.before.dropped,
        command: sluiceCommand(cfg, entries),
      };
      newFlow.push(row);
      commands.push(sluiceCommand(cfg, entries));
      log(`  ${row.mpps.toFixed(2)} Mpps, ${(row.missFraction * 100).toFixed(1)}% new flows, ${(row.insertsPerSec / 1e6).toFixed(2)} M inserts/s`);
    }

    const hitlessPerSec = 100;
    let hitless: HitlessRow;
    {
      const pcap = join(dir, `flows-${small}.pcap`);
      const run: BenchRun = { device: replayDevice(pcap), entriesPerLcore: Math.max(1024, small), preload: small, hugepages };
      const cfg = writeConfig(`hitless-${small}.json`, benchConfig(run));
      // The rate with changes is compared with the same configuration's without,
      // back to back in each round: the machine drifts over minutes.
      const rounds: HitlessRound[] = [];
      for (let round = 1; round <= args.repeat; round++) {
        log(`hitless, round ${round} of ${args.repeat}: without changes, then ${hitlessPerSec} service changes a second`);
        const still = await runSluice(cfg, small, args.seconds);
        const s = await runSluice(cfg, small, args.seconds, hitlessPerSec);
        rounds.push({
          mpps: rate(s, (x) => x.rx) / 1e6, baselineMpps: rate(still, (x) => x.rx) / 1e6, changes: s.changes,
          packets: s.after.rx - s.before.rx, lost: s.after.dropped - s.before.dropped,
        });
      }
      const total = (f: (x: HitlessRound) => number) => rounds.reduce((a, x) => a + f(x), 0);
      hitless = {
        flows: small, changesPerSec: hitlessPerSec, changes: total((x) => x.changes),
        mpps: median(rounds.map((x) => x.mpps)), baselineMpps: median(rounds.map((x) => x.baselineMpps)),
        ratio: median(rounds.map((x) => x.mpps / x.baselineMpps)), rounds,
        packets: total((x) => x.packets), lost: total((x) => x.lost),
        command: `node dist/tools/bench/sluice-run.js ${cfg} ${small} ${args.seconds} ${hitlessPerSec}`,
      };
      commands.push(sluiceCommand(cfg, small), hitless.command);
      log(`  ${hitless.changes} changes, ${hitless.lost} of ${hitless.packets} packets lost, ${hitless.mpps.toFixed(2)} against ` +
        `${hitless.baselineMpps.toFixed(2)} Mpps without changes`);
    }

    log('control-plane isolation: sluice run under autocannon');
    let iso: IsolationResult;
    {
      const pcap = join(dir, `flows-${small}.pcap`);
      const run: BenchRun = { device: replayDevice(pcap), entriesPerLcore: Math.max(1024, small), preload: small, hugepages };
      const apiPort = 19090;
      const c = benchConfig(run) as { services: { healthCheck?: object }[]; api?: object };
      // The backends do not exist: without this, probes would mark them down.
      for (const s of c.services) s.healthCheck = { type: 'none' };
      c.api = { listen: `127.0.0.1:${apiPort}` };
      const cfg = writeConfig(`isolation-${small}.json`, c);
      iso = await isolation(cfg, apiPort, small, args.seconds);
      commands.push(...iso.commands);
      log(`  ${iso.unloadedMpps.toFixed(2)} -> ${iso.loadedMpps.toFixed(2)} Mpps (${(iso.ratio * 100).toFixed(1)}%), ` +
        `${iso.requestsPerSec.toFixed(0)} req/s, p50 ${iso.p50Ms} ms, p99 ${iso.p99Ms} ms`);
    }

    log('control plane at scale: 1,024 services, one of them of 4,096 backends');
    const cp = await controlPlane({ services: 1024, backends: 4096, seconds: args.seconds });
    commands.push(cp.command);
    log(`  created in ${cp.createSec.toFixed(1)} s, GET ${cp.bigGetMs.toFixed(1)} ms, PATCH p99 ${cp.patchP99Ms.toFixed(1)} ms, ` +
      `change to lcores p99 ${cp.toLcore?.p99Ms.toFixed(1) ?? '-'} ms`);

    log('lookup table');
    const sizes = [65537, 655373];
    const counts = [10, 100, 1000];
    const tableBuild = tableBuilds(sizes, counts);
    const tableRemap = sizes.flatMap((size) => tableRemaps(size, counts));

    log('instructions per packet (callgrind)');
    const instructions = instructionCounts();
    commands.push(...instructions.map((x) => x.command));

    log('flow memory');
    const mem = await flowMemory(writeConfig, synPcap, distinct, (cfg, warm) => runSluice(cfg, warm, 1),
      (cfg, warm) => `node dist/tools/bench/sluice-run.js ${cfg} ${warm} 1`);
    commands.push(...mem.commands);

    const results: BenchResults = {
      date: new Date().toISOString(), durationSec: (performance.now() - started) / 1000, machine: m,
      hugepages: { enabled: huge.enabled, reason: huge.reason },
      seconds: args.seconds, throughput, sweep, frameSplit, scaling, newFlow, tableBuild, tableRemap, instructions, flowMemory: mem, hitless, isolation: iso,
      controlPlane: cp,
      commands, configs,
    };
    writeFileSync(join(args.out, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(args.out, 'BENCHMARKS.md'), renderMarkdown(results));
    log(`wrote ${join(args.out, 'BENCHMARKS.md')} and bench-results.json in ${results.durationSec.toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    huge.release();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
