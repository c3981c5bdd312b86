// The benchmark's inputs and derived figures, without running it: the pcap
// writer's repeated flows (many frames, few flows) and disjoint flow ranges,
// the scaling run's configs, the report's split of the 1M-flow cost into what
// many frames and what many flows add, its table-only ceiling and scaling
// table, the isolation ratio from alternating unloaded and loaded windows, and
// the control-plane benchmark's percentiles and verdicts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_LEN, flowPcap, flowSource } from '../../tools/bench/pcap-flows';
import { bigBackends, type ControlPlaneResult, percentile, renderControlPlane } from '../../tools/bench/control-plane';
import { summarizeIsolation } from '../../tools/bench/isolation';
import {
  natSessionsCost, renderCeiling, renderFrameSplit, renderHitless, renderIsolation, renderScaling, renderSweep,
} from '../../tools/bench/report';
import type { HitlessRow, ScalingRow, SweepRound, SweepRow, ThroughputRow } from '../../tools/bench/results';
import { BENCH_NAT_POOL, benchConfig, benchLcores, replayDevice, testpmdCores } from '../../tools/bench/sluice-config';
import { sweepTable } from '../../tools/bench/sweep';
import { natPoolAddresses } from '../../src/config/nat-pool';
import { validateConfig } from '../../src/config/load';
import { testpmdArgs } from '../../tools/bench/testpmd-run';

const GLOBAL_HEADER_LEN = 24;
const RECORD_LEN = 16 + FRAME_LEN;

function frames(pcap: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = GLOBAL_HEADER_LEN; off < pcap.length; off += RECORD_LEN) {
    assert.equal(pcap.readUInt32LE(off + 8), FRAME_LEN, 'captured length');
    out.push(pcap.subarray(off + 16, off + RECORD_LEN));
  }
  return out;
}

function ipv4HeaderSumOk(frame: Buffer): boolean {
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += frame.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('flowPcap', () => {
  const o = { vip: '10.99.0.100', port: 80, flags: 0x10 };

  test('one frame per flow by default, each a distinct source', () => {
    const list = frames(flowPcap({ ...o, flows: 5 }));
    assert.equal(list.length, 5);
    assert.equal(new Set(list.map((f) => f.toString('hex'))).size, 5);
  });

  test('frames beyond the flows repeat them in order, byte for byte, with valid headers', () => {
    const list = frames(flowPcap({ ...o, flows: 3, frames: 8 }));
    assert.equal(list.length, 8);
    for (let i = 0; i < 8; i++) {
      const src = flowSource(i % 3);
      assert.equal(list[i].readUInt32BE(26), src.address, `frame ${i} source address`);
      assert.equal(list[i].readUInt16BE(34), src.port, `frame ${i} source port`);
      assert.deepEqual(list[i], list[i % 3], `frame ${i} repeats frame ${i % 3}`);
      assert.ok(ipv4HeaderSumOk(list[i]), `frame ${i} IPv4 checksum`);
    }
  });

  test('pcaps of disjoint flow ranges share no flow', () => {
    const a = frames(flowPcap({ ...o, flows: 4 }));
    const b = frames(flowPcap({ ...o, flows: 4, firstFlow: 4 }));
    for (let i = 0; i < 4; i++) {
      assert.equal(b[i].readUInt32BE(26), flowSource(4 + i).address, `frame ${i} of the second pcap is flow ${4 + i}`);
      assert.ok(ipv4HeaderSumOk(b[i]), `frame ${i} IPv4 checksum`);
    }
    const sources = new Set([...a, ...b].map((f) => `${f.readUInt32BE(26)}:${f.readUInt16BE(34)}`));
    assert.equal(sources.size, 8);
    assert.throws(() => flowPcap({ ...o, flows: 4, firstFlow: -1 }), RangeError);
    assert.throws(() => flowPcap({ ...o, flows: 4, firstFlow: 1.5 }), RangeError);
  });

  test('fewer frames than flows, or no flows, is refused', () => {
    assert.throws(() => flowPcap({ ...o, flows: 4, frames: 3 }), RangeError);
    assert.throws(() => flowPcap({ ...o, flows: 0 }), RangeError);
  });
});

describe('renderFrameSplit', () => {
  const round = (processNs: number) => ({ sluiceMpps: 10, testpmdMpps: 20, rxonlyMpps: 30, tableOnlyMpps: 15,
    statelessMpps: 25, receiveNs: 30, processNs });
  const row = (flows: number, receiveNs: number, processNs: number, rounds: number[] = []): ThroughputRow => ({
    mode: 'dsr', flows, sluiceMpps: 1000 / (receiveNs + processNs), testpmdMpps: 20, ratio: 0.5, rxonlyMpps: 30,
    tableOnlyMpps: 15, statelessMpps: 25, receiveNs, processNs, rounds: rounds.map(round), sluiceHits: 0, sluiceMisses: 0, sluiceDrops: 0, warmSec: 0,
    sluiceCommand: '', testpmdCommand: '', testpmdSamples: [],
  });
  // Per round, many flows minus the frames run: 12, 16 and -1 ns; their median 12.
  const rows = [row(1024, 12, 50), row(1048576, 29, 64, [64, 66, 60])];
  const split = { flows: 1024, frames: 1048576, sluiceMpps: 12.5, receiveNs: 27, processNs: 52,
    rounds: [52, 50, 61].map(round), command: '' };

  test('the three dsr runs side by side, and what frames and flows each add', () => {
    const text = renderFrameSplit(rows, split).join('\n');
    assert.match(text, /\| 1K \| 1K \| 16\.13 \| 12\.0 ns \| 50\.0 ns \|/);
    assert.match(text, /\| 1K \| 1M \| 12\.50 \| 27\.0 ns \| 52\.0 ns \|/);
    assert.match(text, /\| 1M \| 1M \| 10\.75 \| 29\.0 ns \| 64\.0 ns \|/);
    assert.match(text, /receive calls 15\.0 ns per packet/);
    assert.match(text, /processing 2\.0 ns \(the replay[^)]*\)\. Many flows then add 12\.0 ns of processing/);
    assert.match(text, /per round: 12\.0 ns, 16\.0 ns, -1\.0 ns\)/);
  });

  test('many frames measured as no slower is said to add nothing to the processing', () => {
    const text = renderFrameSplit(rows, { ...split, processNs: 49 }).join('\n');
    assert.match(text, /and Sluice's processing nothing measurable \(-1\.0 ns\)\. Many flows/);
  });

  test('many flows measured as no slower in most rounds is said to add nothing, not a negative cost', () => {
    const text = renderFrameSplit([rows[0], row(1048576, 29, 64, [50, 66, 55])], split).join('\n');
    assert.match(text, /Many flows added nothing this run could tell from its noise \(per round: -2\.0 ns, 16\.0 ns, -6\.0 ns\)/);
  });

  test('nothing without the split run or its neighbours', () => {
    assert.deepEqual(renderFrameSplit(rows, undefined), []);
    assert.deepEqual(renderFrameSplit([rows[0]], split), []);
  });

  test('what many nat sessions add to its processing comes from the run, not from a past one', () => {
    const nat = (r: ThroughputRow): ThroughputRow => ({ ...r, mode: 'nat' });
    const line = natSessionsCost([...rows, nat(row(1024, 12, 46.8)), nat(row(1048576, 29, 50.1))]);
    assert.equal(line, '  1M sessions add only 3.3 ns to its processing (46.8 ns at 1K, 50.1 at 1M): ' +
      'nat is bound by its instructions.');
    assert.equal(natSessionsCost(rows), '  nat is bound by its instructions.', 'no nat rows: no figures');
  });
});

describe('renderCeiling', () => {
  type Round = ThroughputRow['rounds'][number];
  const round = (testpmdMpps: number, tableOnlyMpps: number, statelessMpps: number, sluiceMpps: number): Round => ({
    sluiceMpps, testpmdMpps, rxonlyMpps: 30, tableOnlyMpps, statelessMpps, receiveNs: 0, processNs: 0,
  });
  // Each row's figures are the medians of its rounds, as main.ts computes them.
  const row = (mode: ThroughputRow['mode'], flows: number, rounds: Round[]): ThroughputRow => {
    const med = (f: (x: Round) => number) => [...rounds.map(f)].sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
    return {
      mode, flows, sluiceMpps: med((x) => x.sluiceMpps), testpmdMpps: med((x) => x.testpmdMpps),
      ratio: med((x) => x.sluiceMpps / x.testpmdMpps), rxonlyMpps: 30, tableOnlyMpps: med((x) => x.tableOnlyMpps),
      statelessMpps: med((x) => x.statelessMpps), receiveNs: 0, processNs: 0, rounds, sluiceHits: 0, sluiceMisses: 0,
      sluiceDrops: 0, warmSec: 0, sluiceCommand: '', testpmdCommand: '', testpmdSamples: [],
    };
  };
  const small = row('dsr', 1024, [round(32, 25, 40, 18), round(30, 24, 38, 17), round(33, 26, 41, 18.5)]);
  // At 1M: table only at 62%, 60%, 65% of testpmd in its rounds (median 62%).
  const large = row('dsr', 1048576, [round(22, 13.64, 26, 11), round(20, 12, 25, 10), round(23, 14.95, 27, 12)]);
  const tunnel = row('tunnel', 1048576, [round(22, 13.64, 26, 10), round(20, 12, 25, 9), round(23, 14.95, 27, 10.5)]);

  test('every forwarder side by side per flow count, with each one\'s median ratio to testpmd', () => {
    const text = renderCeiling([small, large, tunnel]).join('\n');
    assert.match(text, /\| 1K \| 32\.00 \| 40\.00 \(125%\) \| 25\.00 \(79%\) \| 18\.00 \(56%\) \| — \|/);
    assert.match(text, /\| 1M \| 22\.00 \| 26\.00 \(118%\) \| 13\.64 \(62%\) \| 11\.00 \(50%\) \| 10\.00 \(45%\) \|/);
  });

  test('a line a packet, when measured, is a column and says what the layout costs beyond any table', () => {
    const withLine = (t: ThroughputRow, lines: number[]): ThroughputRow => ({
      ...t, lineFloorMpps: [...lines].sort((a, b) => a - b)[1], rounds: t.rounds.map((x, i) => ({ ...x, lineFloorMpps: lines[i] })),
    });
    const text = renderCeiling([withLine(small, [30, 29, 31]), withLine(large, [16, 15, 17.25]), tunnel]).join('\n');
    // 16/22, 15/20, 17.25/23: 0.727, 0.75, 0.75 (median 75%).
    assert.match(text, /\| 1M \| 22\.00 \| 26\.00 \(118%\) \| 16\.00 \(75%\) \| 13\.64 \(62%\) \| 11\.00 \(50%\) \| 10\.00 \(45%\) \|/);
    // Layout per round: 1000/13.64 - 1000/16, 1000/12 - 1000/15, 1000/14.95 - 1000/17.25: 10.8, 16.7, 8.9 (median 10.8);
    // any table: 1000/16 - 1000/26, 1000/15 - 1000/25, 1000/17.25 - 1000/27: 24.0, 26.7, 20.9 (median 24.0).
    assert.match(text, /A line a packet in the table's place leaves 75% of testpmd: any table costs at least 24\.0 ns a packet here, and this one's layout 10\.8 ns more\. The table-only target \(80%\) is beyond what any table could reach on this benchmark\./);
  });

  test('without a line a packet (results from before it), no such column', () => {
    assert.doesNotMatch(renderCeiling([small, large, tunnel]).join('\n'), /a line a packet/);
  });

  test('a table-only ceiling below a target says that no mode keeping the table can meet it', () => {
    const text = renderCeiling([small, large, tunnel]).join('\n');
    // 1000 / 13.64 - 1000 / 26 = 34.9 ns.
    assert.match(text, /At 1M flows the table alone costs 34\.9 ns a packet \(table only against stateless\) and leaves 62%/);
    assert.match(text, /The dsr target \(70%\) is beyond that: no mode that keeps this table can meet it on this benchmark, /);
    // Per round, 1000 / (0.6 * 22) - 1000 / 13.64, ... : 2.4, 0.0 and 5.6 ns; median 2.4.
    assert.match(text, /The tunnel target \(60%\) is within it, leaving 2\.4 ns a packet for everything else\./);
    // Per round, 1000 / 11 - 1000 / 13.64, 1000 / 10 - 1000 / 12 and 1000 / 12 - 1000 / 14.95: 17.6, 16.7 and
    // 16.4 ns, median 16.7 (not 17.6, from the medians); tunnel's 26.7, 27.8 and 28.4 ns.
    assert.match(text, /On top of the table, everything else dsr does costs 16\.7 ns a packet, and everything else tunnel does 27\.8 ns\./);
  });

  test('both targets beyond the ceiling are named together', () => {
    // table only at 55%, 50%, 52% of testpmd.
    const slow = (mode: ThroughputRow['mode']) =>
      row(mode, 1048576, [round(22, 12.1, 26, 10), round(20, 10, 25, 9), round(23, 11.96, 27, 10)]);
    const text = renderCeiling([slow('dsr'), slow('tunnel')]).join('\n');
    assert.match(text, /leaves 52% of testpmd\. The dsr target \(70%\) and the tunnel target \(60%\) are beyond that: /);
    assert.match(text, /can meet them on this benchmark/);
    assert.doesNotMatch(text, /within it/);
  });

  test('a ceiling above both targets says so, and without a tunnel row says nothing of tunnel', () => {
    const fast = row('dsr', 1048576, [round(20, 16, 25, 11)]);
    const text = renderCeiling([fast]).join('\n');
    // 1000 / (0.7 * 20) - 1000 / 16 = 8.9 ns.
    assert.match(text, /leaves 80% of testpmd\. The dsr target \(70%\) is within it, leaving 8\.9 ns a packet/);
    assert.doesNotMatch(text, /tunnel target|beyond that/);
    // 1000 / 11 - 1000 / 16 = 28.4 ns.
    assert.match(text, /On top of the table, everything else dsr does costs 28\.4 ns a packet\. \(/);
  });

  test('nothing without dsr rows', () => {
    assert.deepEqual(renderCeiling([tunnel]), []);
  });
});

describe('the flow-count sweep', () => {
  const round = (testpmdMpps: number, tableOnlyMpps: number, dsr: number): SweepRound => ({
    testpmdMpps, tableOnlyMpps, sluiceMpps: { dsr, tunnel: dsr - 1, nat: dsr - 2 },
  });
  const sweepRow = (flows: number, rounds: SweepRound[]): SweepRow => {
    const med = (f: (x: SweepRound) => number) => [...rounds.map(f)].sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
    const modes = (f: (x: SweepRound, m: 'dsr' | 'tunnel' | 'nat') => number) =>
      ({ dsr: med((x) => f(x, 'dsr')), tunnel: med((x) => f(x, 'tunnel')), nat: med((x) => f(x, 'nat')) });
    return {
      flows, testpmdMpps: med((x) => x.testpmdMpps), tableOnlyMpps: med((x) => x.tableOnlyMpps),
      sluiceMpps: modes((x, m) => x.sluiceMpps[m]), tableOnlyRatio: med((x) => x.tableOnlyMpps / x.testpmdMpps),
      ratio: modes((x, m) => x.sluiceMpps[m] / x.testpmdMpps), rounds, commands: [],
    };
  };
  const throughputRow = (mode: ThroughputRow['mode'], flows: number, sluiceMpps: number): ThroughputRow => ({
    mode, flows, sluiceMpps, testpmdMpps: 40, ratio: sluiceMpps / 40, rxonlyMpps: 50, tableOnlyMpps: 30, statelessMpps: 45,
    receiveNs: 0, processNs: 0, sluiceHits: 0, sluiceMisses: 0, sluiceDrops: 0, warmSec: 0, sluiceCommand: '',
    testpmdCommand: '', testpmdSamples: [],
    rounds: [{ sluiceMpps, testpmdMpps: 40, rxonlyMpps: 50, tableOnlyMpps: 30, statelessMpps: 45, receiveNs: 0, processNs: 0 }],
  });
  const throughput = ['dsr', 'tunnel', 'nat'].flatMap((m, i) =>
    [throughputRow(m as ThroughputRow['mode'], 1024, 20 - i), throughputRow(m as ThroughputRow['mode'], 1048576, 12 - i)]);
  // At 4M: dsr at 8/20, 6/10 and 9/21 of testpmd in its rounds: median ratio 0.43, where the medians' 8/20 is 0.40.
  const huge = sweepRow(4194304, [round(20, 12, 8), round(10, 10, 6), round(21, 13, 9)]);
  const mid = sweepRow(65536, [round(30, 24, 15)]);

  test('the throughput runs\' flow counts join the sweep\'s, in order of flows', () => {
    const rows = sweepTable(throughput, [huge, mid]);
    assert.deepEqual(rows.map((r) => r.flows), [1024, 65536, 1048576, 4194304]);
    const oneM = rows[2];
    assert.deepEqual(oneM.sluiceMpps, { dsr: 12, tunnel: 11, nat: 10 });
    assert.equal(oneM.tableOnlyRatio, 30 / 40);
  });

  test('a flow count the sweep measured itself is not taken from the throughput rounds', () => {
    const own = sweepRow(1048576, [round(22, 11, 7)]);
    const rows = sweepTable(throughput, [own]);
    assert.equal(rows.filter((r) => r.flows === 1048576).length, 1);
    assert.equal(rows.find((r) => r.flows === 1048576)?.sluiceMpps.dsr, 7);
  });

  test('each forwarder with its median ratio to testpmd, per flow count', () => {
    const text = renderSweep(throughput, [huge, mid]).join('\n');
    assert.match(text, /\| 64K \| 30\.00 \| 24\.00 \(80%\) \| 15\.00 \(50%\) \| 14\.00 \(47%\) \| 13\.00 \(43%\) \|/);
    // Table only 12/20, 10/10, 13/21 (median 0.62); tunnel 7/20, 5/10, 8/21 (0.38); nat 6/20, 4/10, 7/21 (0.33).
    assert.match(text, /\| 4M \| 20\.00 \| 12\.00 \(62%\) \| 8\.00 \(43%\) \| 7\.00 \(38%\) \| 6\.00 \(33%\) \|/);
    assert.match(text, /\| 1K \| 40\.00 \| 30\.00 \(75%\) \| 20\.00 \(50%\) \| 19\.00 \(48%\) \| 18\.00 \(45%\) \|/);
    assert.match(text, /rows at 4M, 64K flows measured in rounds of their own/);
  });

  test('no sweep, no section', () => {
    assert.deepEqual(renderSweep(throughput, []), []);
  });

  test('the nat runs\' pool holds more address:port pairs than the largest sweep has flows', () => {
    const cfg = validateConfig(benchConfig({ device: 'net_null0', entriesPerLcore: 4194304, preload: 0, hugepages: false,
      forwarding: 'nat' }));
    const addresses = natPoolAddresses(cfg.ports[0].natPool?.addresses ?? []);
    assert.deepEqual(cfg.ports[0].natPool?.addresses, [BENCH_NAT_POOL]);
    // Pool ports are 1024-65535: 64512 a pool address.
    assert.ok(addresses.length * 64512 >= 4194304, `${addresses.length} pool addresses`);
  });
});

describe('renderHitless', () => {
  const h: HitlessRow = {
    flows: 1024, changesPerSec: 100, mpps: 30, baselineMpps: 31, changes: 1500, packets: 450000000, lost: 0, command: '',
    ratio: 0.97, rounds: [
      { mpps: 30, baselineMpps: 31, changes: 500, packets: 150000000, lost: 0 },
      { mpps: 29, baselineMpps: 30, changes: 500, packets: 150000000, lost: 0 },
      { mpps: 31, baselineMpps: 31.5, changes: 500, packets: 150000000, lost: 0 },
    ],
  };

  test('each round against its own run without changes, and the median of their ratios', () => {
    const text = renderHitless(h, 5).join('\n');
    assert.match(text, /in 3 rounds of 5 s, each just after a run of the same configuration without changes/);
    assert.match(text, /\*\*1500 changes, 0 of 450000000 packets lost\*\*; 30\.00 Mpps against 31\.00 without changes/);
    assert.match(text, /\*\*97\.00%\*\*/);
    assert.match(text, /30\.00 against 31\.00; 29\.00 against 30\.00; 31\.00 against 31\.50/);
  });
});

describe('summarizeIsolation', () => {
  const loaded = (mpps: number, p99Ms = 10) => ({ mpps, requestsPerSec: 2000, p50Ms: 3, p99Ms, errors: 0 });

  test('each loaded window against the mean of the unloaded windows around it; the median ratio', () => {
    // The machine slows from 10 to 7 Mpps over the run while the load costs 2%:
    // one unloaded window against one loaded window would have read 0.78.
    const r = summarizeIsolation([10, 9, 8, 7], [loaded(9.31), loaded(8.33), loaded(7.35, 25)], 10, []);
    assert.deepEqual(r.windows.map((w) => Number(w.ratio.toFixed(3))), [0.98, 0.98, 0.98]);
    assert.equal(r.ratio.toFixed(3), '0.980');
    assert.equal(r.windows[1].unloadedBeforeMpps, 9);
    assert.equal(r.windows[1].unloadedAfterMpps, 8);
    assert.equal(r.p99Ms, 25, 'the worst window\'s p99');
    assert.equal(r.requestsPerSec, 2000);
  });

  test('one slow window does not decide the ratio', () => {
    const r = summarizeIsolation([10, 10, 10, 10], [loaded(9.9), loaded(6), loaded(9.7)], 10, []);
    assert.equal(r.ratio.toFixed(2), '0.97');
  });

  test('windows that do not alternate are refused', () => {
    assert.throws(() => summarizeIsolation([10, 10], [loaded(9), loaded(9)], 10, []), RangeError);
    assert.throws(() => summarizeIsolation([10], [], 10, []), RangeError);
  });

  test('the report lists every window and the summary', () => {
    const text = renderIsolation(summarizeIsolation([10, 9, 8, 7], [loaded(9.31), loaded(8.33), loaded(7.35, 25)], 10, []));
    assert.match(text, /\| 2 \| 9\.00 \| 8\.33 \| 8\.00 \| 0\.98 \| 2000 \| 3 ms \| 10 ms \| 0 \|/);
    assert.match(text, /\| \*\*all\*\* \| 9\.00 \(median\) \| 8\.33 \(median\) \| \| \*\*0\.98\*\* \(median\) \|.*25 ms \(worst\)/);
  });
});

describe('the scaling run', () => {
  test('one rx queue per pcap, one worker lcore per queue, a core each from core 1', () => {
    assert.equal(replayDevice('a.pcap'), 'net_pcap0,rx_pcap=a.pcap,infinite_rx=1');
    assert.equal(replayDevice(['a.pcap', 'b.pcap']), 'net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap,infinite_rx=1');
    assert.equal(benchLcores(3, 8), '0@0,1@1,2@2,3@3');
    assert.equal(benchLcores(3, 2), '0@0,1@1,2@1,3@1', 'beyond the last core, lcores share it');
    assert.equal(testpmdCores(3, 8), '0,1,2,3');
    assert.equal(testpmdCores(3, 2), '0,1', 'testpmd takes each core once');
    const cfg = benchConfig({ device: replayDevice(['a', 'b', 'c']), entriesPerLcore: 1024, preload: 3072, hugepages: false,
      workers: 3, cores: 8 }) as { eal: { lcores: string }; ports: { queues?: number }[]; dataplane: { mbufsPerSocket: number } };
    assert.equal(cfg.eal.lcores, '0@0,1@1,2@2,3@3');
    assert.equal(cfg.ports[0].queues, 3);
    assert.equal(cfg.dataplane.mbufsPerSocket, 3072 + 3 * 16384, 'the preloaded frames and each worker\'s share');
    const one = benchConfig({ device: replayDevice('a'), entriesPerLcore: 1024, preload: 1024, hugepages: false }) as {
      eal: { lcores: string }; ports: { queues?: number }[];
    };
    assert.equal(one.eal.lcores, '0@0,1@1');
    assert.equal(one.ports[0].queues, undefined);
  });

  test('testpmd gets as many rx and tx queues as pcaps and a forwarding core per further core', () => {
    const base = { cores: '0,1,2', mbufs: 1, memoryMb: 1, hugepages: false, skip: 1, samples: 1, forwardMode: '5tswap' as const };
    const args = testpmdArgs({ ...base, pcap: ['a', 'b'], queues: 2 });
    assert.ok(args.includes('net_pcap0,rx_pcap=a,rx_pcap=b,infinite_rx=1'));
    assert.ok(args.includes('--nb-cores=2') && args.includes('--rxq=2') && args.includes('--txq=2'), args.join(' '));
    const single = testpmdArgs({ ...base, cores: '0,1', pcap: 'a' });
    assert.ok(single.includes('--nb-cores=1'));
    assert.ok(!single.some((a) => a.startsWith('--rxq')), 'one queue: testpmd\'s default');
  });

  const row = (workers: number, sluiceMpps: number, oneWorkerMpps: number): ScalingRow => ({
    workers, flows: 1048576, sluiceMpps, testpmdMpps: 2 * sluiceMpps, ratio: 0.5, oneWorkerMpps,
    rounds: [{ sluiceMpps, testpmdMpps: 2 * sluiceMpps }], sluiceCommand: '', testpmdCommand: '',
  });

  test('the rate per lcore against one worker\'s', () => {
    const text = renderScaling({ cores: 8, workers: 4, rows: [row(4, 40, 11)] }).join('\n');
    // 40 / 4 = 10 per lcore, 10 / 11 = 0.91 of one worker's.
    assert.match(text, /\| 4 \| 1M \(256K\) \| 40\.00 \| 10\.00 \| 0\.91× \| 80\.00 \| 50\.00% \| 50% \|/);
    assert.doesNotMatch(text, /share this machine/);
  });

  test('workers forced beyond the cores are said to share them', () => {
    const text = renderScaling({ cores: 2, workers: 2, rows: [row(2, 10, 11)] }).join('\n');
    assert.match(text, /The 2 workers share this machine's 2 cores/);
  });

  test('one worker: not measured, and why', () => {
    const text = renderScaling({ cores: 2, workers: 1, rows: [] }).join('\n');
    assert.match(text, /Not measured here: this machine has 2 cores and core 0 runs Node and the control plane, so the benchmark runs 1 worker lcore\./);
    assert.deepEqual(renderScaling(undefined), []);
  });
});

describe('the control-plane benchmark', () => {
  test('percentiles by nearest rank; none of no samples', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.equal(percentile(xs, 50), 5);
    assert.equal(percentile(xs, 99), 10);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile([42], 99), 42);
    assert.equal(percentile([], 99), 0);
  });

  test('the big service\'s backends are distinct, off the port\'s subnet, on the service\'s port', () => {
    const b = bigBackends(4096, 443);
    assert.equal(new Set(b.map((x) => x.address)).size, 4096);
    assert.ok(b.every((x) => x.port === 443 && !x.address.startsWith('10.99.')));
    assert.equal(b[0].address, '10.200.0.0');
    assert.equal(b[257].address, '10.200.1.1');
  });

  const result: ControlPlaneResult = {
    services: 1024, backends: 4096, createSec: 8.5, firstPostMs: 3, lastPostMs: 9.25, bigPostMs: 900,
    bigGetMs: 40, bigGetMaxMs: 45, listMs: 30, listMaxMs: 60,
    patches: 5000, patchErrors: 0, patchPerSec: 500, patchP50Ms: 10, patchP99Ms: 45, warmupPatches: 800, warmupMaxMs: 210.5,
    patchCpuMs: { eventLoop: 0.8125, process: 1.5 },
    toLcore: { changes: 200, p50Ms: 1.2, p99Ms: 4.5, maxMs: 7, inUseAtAck: 199, lcoresGetMs: 1.1 },
    healthzRequests: 200, healthzP99Ms: 20, healthzMaxMs: 120, healthzFailures: 0, rssMiB: 300,
    command: 'node dist/tools/bench/control-plane.js --services 1024 --backends 4096 --seconds 10',
  };

  test('each figure is judged against its target; a GET by its worst of 5', () => {
    const md = renderControlPlane(result).join('\n');
    assert.match(md, /1023 services of one backend each and one tunnel service of\n4096 backends \(1024 services/);
    assert.match(md, /\| Create 1024 services, one POST after another \(1023 of one backend, then the big one\) \| 8\.5 s \| 10 s \| met \|/);
    assert.match(md, /\| POST of the 1st and of the 1023th one-backend service \| 3\.0 \/ 9\.3 ms \|/);
    assert.match(md, /\| GET of the 4096-backend service, median \/ worst of 5 \| 40\.0 \/ 45\.0 ms \| 50 ms \| met \|/);
    assert.match(md, /\| GET of all 1024 services, median \/ worst of 5 \| 30\.0 \/ 60\.0 ms \| 50 ms \| \*\*missed\*\* \|/);
    assert.match(md, /\| PATCH latency p50 \/ p99 after a 1 s warm-up \(5000 PATCHes, 500\.0\/s, 0 errors\) \| 10\.0 \/ 45\.0 ms \| p99 50 ms \| met \|/);
    assert.match(md, /\| Slowest PATCH of the warm-up \(800 PATCHes on 50 new connections\) \| 210\.5 ms \| — \| \|/);
    assert.match(md, /\| Daemon CPU time per PATCH in that phase: event loop \/ all threads \| 0\.81 \/ 1\.50 ms \|/);
    assert.match(md, /\| Acknowledged change to the lcores using it, p50 \/ p99 \/ worst \(200 PATCHes; 199 in use at the first look\) \| 1\.2 \/ 4\.5 \/ 7\.0 ms \| p99 5 ms \| met \|/);
    assert.match(md, /\/healthz p99 \/ worst \(200 answers, 0 failed\) \| 20\.0 \/ 120\.0 ms \| 100 ms \| \*\*missed\*\* \|/);
    assert.match(md, /median\n1\.1 ms\)/);
  });

  test('failed requests miss a target whatever the latencies', () => {
    const md = renderControlPlane({ ...result, patchErrors: 3, healthzMaxMs: 5, healthzFailures: 1 }).join('\n');
    assert.match(md, /3 errors\) \| 10\.0 \/ 45\.0 ms \| p99 50 ms \| \*\*missed\*\* \|/);
    assert.match(md, /1 failed\) \| 20\.0 \/ 5\.0 ms \| 100 ms \| \*\*missed\*\* \|/);
  });

  test('a daemon whose lcores do not show their generation gets no change-to-lcore figure, and says so', () => {
    const { toLcore: _t, ...without } = result;
    const md = renderControlPlane(without).join('\n');
    assert.match(md, /\| Acknowledged change to the lcores using it \| not shown by this build \| p99 5 ms \| \|/);
    assert.doesNotMatch(md, /upper bounds/);
  });
});
