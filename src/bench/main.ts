// `npm run bench`: measures the data plane side by side with dpdk-testpmd on this
// machine and writes BENCHMARKS.md and bench-results.json at the repository root.
// It reports; it never asserts a figure. Each data-plane run is its own process
// (the EAL initialises once per process).
//
//   node dist/src/bench/main.js [--flows 1024,1048576] [--seconds 5] [--out DIR]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { maglevBuilds, maglevRemaps, type MaglevBuild, type MaglevRemap } from './maglev';
import { TCP_ACK, TCP_SYN, writeFlowPcap } from './pcap-flows';
import { benchConfig, BENCH_PORT, BENCH_VIP, mbufsFor, memoryMbFor, TESTPMD_CORES, type BenchRun } from './sluice-config';
import { RESULT_PREFIX, type SluiceRunResult } from './sluice-run';
import { runTestpmd, type TestpmdResult } from './testpmd-run';
import { flowMemory, type FlowMemory } from './flow-memory';
import { renderMarkdown } from './report';

const ROOT = resolve(__dirname, '../../..');

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  dpdk: string;
  node: string;
}

export interface ThroughputRow {
  flows: number;
  sluiceMpps: number;
  testpmdMpps: number;
  ratio: number;
  sluiceHits: number;
  sluiceMisses: number;
  sluiceDrops: number;
  warmSec: number;
  sluiceCommand: string;
  testpmdCommand: string;
  testpmdSamples: number[];
}

export interface NewFlowRow {
  distinctFlows: number;
  entriesPerLcore: number;
  mpps: number;
  insertsPerSec: number;
  missFraction: number;
  evictions: number;
  expirations: number;
  insertFailures: number;
  drops: number;
  command: string;
}

export interface BenchResults {
  date: string;
  durationSec: number;
  machine: Machine;
  seconds: number;
  throughput: ThroughputRow[];
  newFlow: NewFlowRow[];
  maglevBuild: MaglevBuild[];
  maglevRemap: MaglevRemap[];
  flowMemory: FlowMemory;
  commands: string[];
  /** The config file each sluice-run command read, by file name. */
  configs: Record<string, object>;
}

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

function runSluice(configPath: string, warm: number, seconds: number): Promise<SluiceRunResult> {
  const script = join(__dirname, 'sluice-run.js');
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [script, configPath, String(warm), String(seconds)], {
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

function parseArgs(argv: string[]): { flows: number[]; seconds: number; out: string; newFlows: number } {
  const o = { flows: [1024, 1048576], seconds: 5, out: ROOT, newFlows: 1048576 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--flows') o.flows = v.split(',').map(Number);
    else if (argv[i] === '--seconds') o.seconds = Number(v);
    else if (argv[i] === '--new-flows') o.newFlows = Number(v);
    else if (argv[i] === '--out') o.out = resolve(v);
    else throw new Error(`unknown argument ${argv[i]}; usage: main.js [--flows N,N] [--seconds S] [--new-flows N] [--out DIR]`);
  }
  return o;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
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
    `node dist/src/bench/sluice-run.js ${cfg} ${warm} ${args.seconds}`;
  try {
    const m = machine();
    log(`${m.cpu}, ${m.cores} cores, DPDK ${m.dpdk}`);

    const throughput: ThroughputRow[] = [];
    for (const flows of args.flows) {
      const pcap = join(dir, `flows-${flows}.pcap`);
      writeFlowPcap(pcap, { flows, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
      const run: BenchRun = { device: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, entriesPerLcore: Math.max(1024, flows), preload: flows };
      const cfg = writeConfig(`throughput-${flows}.json`, benchConfig(run));
      log(`throughput, ${flows} flows: sluice`);
      const s = await runSluice(cfg, flows, args.seconds);
      log(`throughput, ${flows} flows: testpmd`);
      const t: TestpmdResult = await runTestpmd({
        pcap, cores: TESTPMD_CORES, mbufs: mbufsFor(run), memoryMb: memoryMbFor(run), skip: 2, samples: args.seconds,
      });
      const sluiceMpps = rate(s, (x) => x.rx) / 1e6;
      throughput.push({
        flows, sluiceMpps, testpmdMpps: t.mpps, ratio: sluiceMpps / t.mpps,
        sluiceHits: s.after.hits - s.before.hits, sluiceMisses: s.after.misses - s.before.misses,
        sluiceDrops: s.after.dropped - s.before.dropped, warmSec: s.warmMs / 1000,
        sluiceCommand: sluiceCommand(cfg, flows), testpmdCommand: t.command, testpmdSamples: t.rxPps,
      });
      commands.push(sluiceCommand(cfg, flows), t.command);
      log(`  sluice ${sluiceMpps.toFixed(2)} Mpps, testpmd ${t.mpps.toFixed(2)} Mpps`);
    }

    const newFlow: NewFlowRow[] = [];
    const distinct = args.newFlows;
    const synPcap = join(dir, `syn-${distinct}.pcap`);
    {
      const entries = Math.max(1024, Math.floor(distinct / 16));
      const pcap = synPcap;
      writeFlowPcap(pcap, { flows: distinct, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_SYN });
      const run: BenchRun = { device: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, entriesPerLcore: entries, preload: distinct };
      const cfg = writeConfig(`new-flow-${distinct}.json`, benchConfig(run));
      log(`new-flow rate: ${distinct} distinct SYNs, table of ${entries}`);
      // Warm until the table has filled, so every timed insert has to evict.
      const s = await runSluice(cfg, entries, args.seconds);
      const rx = s.after.rx - s.before.rx;
      newFlow.push({
        distinctFlows: distinct, entriesPerLcore: entries, mpps: rate(s, (x) => x.rx) / 1e6,
        insertsPerSec: rate(s, (x) => x.inserts), missFraction: (s.after.misses - s.before.misses) / rx,
        evictions: s.after.evictions - s.before.evictions, expirations: s.after.expirations - s.before.expirations,
        insertFailures: s.after.insertFailures - s.before.insertFailures, drops: s.after.dropped - s.before.dropped,
        command: sluiceCommand(cfg, entries),
      });
      commands.push(sluiceCommand(cfg, entries));
      log(`  ${newFlow[0].mpps.toFixed(2)} Mpps, ${(newFlow[0].missFraction * 100).toFixed(1)}% new flows`);
    }

    log('maglev');
    const sizes = [65537, 655373];
    const counts = [10, 100, 1000];
    const maglevBuild = maglevBuilds(sizes, counts);
    const maglevRemap = sizes.flatMap((size) => maglevRemaps(size, counts));

    log('flow memory');
    const mem = await flowMemory(writeConfig, synPcap, distinct, (cfg, warm) => runSluice(cfg, warm, 1),
      (cfg, warm) => `node dist/src/bench/sluice-run.js ${cfg} ${warm} 1`);
    commands.push(...mem.commands);

    const results: BenchResults = {
      date: new Date().toISOString(), durationSec: (performance.now() - started) / 1000, machine: m,
      seconds: args.seconds, throughput, newFlow, maglevBuild, maglevRemap, flowMemory: mem, commands, configs,
    };
    writeFileSync(join(args.out, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(args.out, 'BENCHMARKS.md'), renderMarkdown(results));
    log(`wrote ${join(args.out, 'BENCHMARKS.md')} and bench-results.json in ${results.durationSec.toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
