// The flow-count sweep: testpmd 5tswap, the table-only forwarder and each mode
// at flow counts around and beyond the throughput runs', so that where the rate
// falls (the table leaving the caches, then the TLB's reach) shows. Lighter
// than the throughput runs: no rxonly, stateless or frame-split runs, which
// explain a rate rather than chart it.
import { join } from 'node:path';
import { runCeiling } from './ceiling-run';
import { median } from './median';
import { TCP_ACK, writeFlowPcap } from './pcap-flows';
import type { SweepRound, SweepRow, ThroughputRow } from './results';
import { benchConfig, BENCH_PORT, BENCH_VIP, mbufsFor, memoryMbFor, replayDevice, TESTPMD_CORES, type BenchRun } from './sluice-config';
import { runTestpmd } from './testpmd-run';

export const SWEEP_MODES: readonly ThroughputRow['mode'][] = ['dsr', 'tunnel', 'nat'];
type SweepMode = ThroughputRow['mode'];

export interface SweepOptions {
  flows: number[];
  repeat: number;
  seconds: number;
  dir: string;
  hugepages: boolean;
  writeConfig(name: string, cfg: object): string;
  /** One sluice-run process: its rate in Mpps and the command that reproduces it. */
  runSluice(config: string, warm: number): Promise<{ mpps: number; command: string }>;
  log(msg: string): void;
}

export async function measureSweep(o: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const flows of o.flows) {
    const pcap = join(o.dir, `sweep-${flows}.pcap`);
    writeFlowPcap(pcap, { flows, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
    const base: BenchRun = { device: replayDevice(pcap), entriesPerLcore: Math.max(1024, flows), preload: flows, hugepages: o.hugepages };
    const configs = SWEEP_MODES.map((mode) =>
      o.writeConfig(`sweep-${mode}-${flows}.json`, benchConfig({ ...base, forwarding: mode })));
    // nat's sessions make its run the largest: testpmd and the table-only run get the same pool and memory.
    const sized: BenchRun = { ...base, forwarding: 'nat' };
    const rounds: SweepRound[] = [];
    let commands: string[] = [];
    for (let round = 1; round <= o.repeat; round++) {
      o.log(`sweep, ${flows} flows, round ${round} of ${o.repeat}: testpmd 5tswap, table only, sluice ${SWEEP_MODES.join(', ')}`);
      const t = await runTestpmd({
        pcap, cores: TESTPMD_CORES, mbufs: mbufsFor(sized), memoryMb: memoryMbFor(sized), hugepages: o.hugepages, skip: 2,
        samples: o.seconds, forwardMode: '5tswap',
      });
      const tableOnly = await runCeiling({
        pcap, flows, cores: TESTPMD_CORES, mbufs: mbufsFor(sized), memoryMb: memoryMbFor(sized), hugepages: o.hugepages,
        seconds: o.seconds, table: true,
      });
      const runs: { mpps: number; command: string }[] = [];
      for (const cfg of configs) runs.push(await o.runSluice(cfg, flows));
      const sluiceMpps = Object.fromEntries(SWEEP_MODES.map((m, i) => [m, runs[i].mpps])) as Record<SweepMode, number>;
      rounds.push({ testpmdMpps: t.mpps, tableOnlyMpps: tableOnly.mpps, sluiceMpps });
      if (round === 1) commands = [t.command, tableOnly.command, ...runs.map((r) => r.command)];
      o.log(`  testpmd 5tswap ${t.mpps.toFixed(2)}, table only ${tableOnly.mpps.toFixed(2)}; sluice ` +
        SWEEP_MODES.map((m) => `${m} ${sluiceMpps[m].toFixed(2)}`).join(', ') + ' Mpps');
    }
    const byMode = (f: (m: SweepMode) => number) =>
      Object.fromEntries(SWEEP_MODES.map((m) => [m, f(m)])) as Record<SweepMode, number>;
    rows.push({
      flows, testpmdMpps: median(rounds.map((r) => r.testpmdMpps)), tableOnlyMpps: median(rounds.map((r) => r.tableOnlyMpps)),
      sluiceMpps: byMode((m) => median(rounds.map((r) => r.sluiceMpps[m]))),
      tableOnlyRatio: median(rounds.map((r) => r.tableOnlyMpps / r.testpmdMpps)),
      ratio: byMode((m) => median(rounds.map((r) => r.sluiceMpps[m] / r.testpmdMpps))),
      rounds, commands,
    });
  }
  return rows;
}

/** The sweep's rows with the throughput runs' own flow counts among them, by flow count. */
export function sweepTable(throughput: ThroughputRow[], sweep: SweepRow[]): SweepRow[] {
  const measured = new Set(sweep.map((s) => s.flows));
  const fromThroughput: SweepRow[] = [];
  for (const dsr of throughput.filter((t) => t.mode === 'dsr' && !measured.has(t.flows))) {
    const rows = SWEEP_MODES.map((m) => throughput.find((t) => t.mode === m && t.flows === dsr.flows));
    if (rows.some((r) => r === undefined)) continue;
    const of = (f: (t: ThroughputRow) => number) =>
      Object.fromEntries(SWEEP_MODES.map((m, i) => [m, f(rows[i] as ThroughputRow)])) as Record<SweepMode, number>;
    fromThroughput.push({
      flows: dsr.flows, testpmdMpps: dsr.testpmdMpps, tableOnlyMpps: dsr.tableOnlyMpps, sluiceMpps: of((t) => t.sluiceMpps),
      tableOnlyRatio: median(dsr.rounds.map((x) => x.tableOnlyMpps / x.testpmdMpps)), ratio: of((t) => t.ratio),
      rounds: [], commands: [],
    });
  }
  return [...sweep, ...fromThroughput].sort((a, b) => a.flows - b.flows);
}
