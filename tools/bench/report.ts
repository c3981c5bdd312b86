// BENCHMARKS.md from one run's results.
import type { BenchResults, FrameSplitRow, HitlessRow, Scaling, SweepRow, ThroughputRow } from './results';
import { SWEEP_MODES, sweepTable } from './sweep';
import { renderLookupTable } from './lookup-table';
import { median } from './median';
import type { InstructionRow } from './instructions';
import type { IsolationResult } from './isolation';
import { renderControlPlane } from './control-plane';

const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ns = (x: number) => `${x.toFixed(1)} ns`;
const count = (n: number) => (n >= 1048576 && n % 1048576 === 0 ? `${n / 1048576}M` : n >= 1024 && n % 1024 === 0 ? `${n / 1024}K` : String(n));

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  p('# Benchmarks');
  p();
  p(`Written by \`npm run bench\` on ${r.date} (the run took ${r.durationSec.toFixed(0)} s); raw figures in`);
  p('[`bench-results.json`](bench-results.json). One run, side by side, on one small and noisy machine:');
  p('compare the ratios, not the absolute figures, and rerun before drawing conclusions from a few percent.');
  p();
  p('**Machine.** ' + `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, DPDK ${m.dpdk}, Node ${m.node}.`);
  p();
  p('## Throughput per worker lcore (table warm)');
  p();
  p('64-byte TCP frames (60 bytes + FCS) to one dsr VIP, read from a `net_pcap` port with `infinite_rx=1`');
  p('(the PMD preloads the whole pcap into mbufs and replays it; transmit is dropped because no `tx_pcap`');
  p('is given). One frame per flow, so every flow is seen once per pass; timing starts after every flow has');
  p(`been inserted. Sluice: one worker on core 1, busy-polling; rate = worker rx over ${r.seconds} s.`);
  p('Ceiling: `dpdk-testpmd --forward-mode=5tswap` on the same pcap and the same core (forwarding on core 1),');
  p(`mean of its per-second Rx-pps over ${r.seconds} s after 2 s of warm-up.`);
  p(r.hugepages.enabled
    ? `Both run on 2 MiB hugepages, which the benchmark reserved for the run and gave back (${r.hugepages.reason}).`
    : `Both run with \`--no-huge\` (${r.hugepages.reason}): at 1M flows they replay from 4 KiB pages and pay TLB misses.`);
  const rounds = r.throughput[0]?.rounds.length ?? 1;
  p(`This machine's speed drifts by tens of percent within minutes, so the measurement is made in ${rounds} rounds:`);
  p('in each, testpmd 5tswap, testpmd rxonly, the two forwarders below that do less, and Sluice in each mode run');
  p('back to back. Every figure below is the median over the rounds, and the ratio is the median of the rounds\' own');
  p('ratios (each round\'s in the last column).');
  p('`tunnel` is ipip to on-link backends (20 bytes prepended, outer checksum computed). `nat` keeps');
  p('sessions (pool address:port per client flow), not flow-table entries, so its hit and miss columns are empty.');
  p();
  p('| Mode | Active flows | Sluice Mpps | testpmd 5tswap Mpps | Sluice / testpmd | flow hits in window (last round) | misses in window | each round |');
  p('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const t of r.throughput) {
    const table = t.mode === 'nat' ? '| — | — |' : `| ${t.sluiceHits} | ${t.sluiceMisses} |`;
    const each = t.rounds.map((x) => `${(x.sluiceMpps / x.testpmdMpps * 100).toFixed(0)}%`).join(', ');
    p(`| ${t.mode} | ${count(t.flows)} | ${f2(t.sluiceMpps)} | ${f2(t.testpmdMpps)} | ${pct(t.ratio)} ${table} ${each} |`);
  }
  p();
  for (const line of renderCeiling(r.throughput)) p(line);
  p();
  for (const line of renderTimePerPacket(r.throughput)) p(line);
  p();
  for (const line of renderSweep(r.throughput, r.sweep)) p(line);
  for (const line of renderScaling(r.scaling)) p(line);
  p('## New-flow rate (eviction running)');
  p();
  p('Every frame a TCP SYN of a distinct 5-tuple; the pcap holds many more flows than the table, so each');
  p('timed packet is (almost always) a miss whose insert has to evict. Timing starts once the table is full.');
  p('With admission unlimited every new flow is remembered; with the default rate (200000 per second per');
  p('lcore) the rest of the flood is forwarded to its lookup table pick without being remembered (`refused`).');
  p();
  p('| Admission / s | Distinct flows in pcap | Table entries | Mpps | Inserts/s | Refused | Share new flows | Evictions | Expirations | Insert failures | Drops |');
  p('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of r.newFlow) {
    p(`| ${n.admissionPerSec || 'unlimited'} | ${count(n.distinctFlows)} | ${count(n.entriesPerLcore)} | ${f2(n.mpps)} | ${(n.insertsPerSec / 1e6).toFixed(2)} M | ${n.admissionRefused} | ${pct(n.missFraction)} | ${n.evictions} | ${n.expirations} | ${n.insertFailures} | ${n.drops} |`);
  }
  p();
  p('## Hitless changes');
  p();
  const h = r.hitless;
  for (const line of renderHitless(h, r.seconds)) p(line);
  p();
  p('## Control-plane isolation');
  p();
  const iso = r.isolation;
  p(`\`sluice run\` (the daemon, REST API included) forwarding ${count(h.flows)} flows. Unloaded windows of ${r.seconds} s`);
  p(`alternate with windows of the same length in which autocannon (${iso.connections} connections, pinned to core 0)`);
  p('loads `GET /api/v1/stats`; each loaded window is compared with the mean of the unloaded windows on either');
  p('side of it, so that the machine\'s drift is not counted as the load\'s effect. The ratio is the median window\'s.');
  p();
  p(renderIsolation(iso));
  p();
  if (r.controlPlane !== undefined) {
    p('## Control plane at scale');
    p();
    for (const line of renderControlPlane(r.controlPlane)) p(line);
    p();
  }
  p('## Targets');
  p();
  const row = (mode: string) => r.throughput.filter((t) => t.mode === mode).sort((a, b) => b.flows - a.flows)[0];
  const dsr = row('dsr');
  const tun = row('tunnel');
  // The targets apply to the table the data path uses.
  const build = r.tableBuild.find((b) => b.algorithm === 'rendezvous' && b.size === 65537 && b.backends === 1000);
  const worstRemap = Math.max(...r.tableRemap.filter((x) => x.algorithm === 'rendezvous').map((x) => x.moved / x.ideal));
  const unlimited = r.newFlow.find((n) => n.admissionPerSec === 0);
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  p('| Target (benchmarks issue) | Measured | |');
  p('|---|---:|---|');
  // What a forwarder keeping only the flow table reached in the same rounds (renderCeiling).
  const ceiling = (t: ThroughputRow) => t.rounds.length === 0 ? '' : ` (table only: ${share(tableOnlyRatio(t))})`;
  const tableOnly = dsr && dsr.rounds.length > 0 ? tableOnlyRatio(dsr) : undefined;
  if (tableOnly !== undefined) p(`| table only ≥ 80% of testpmd at ${count(dsr.flows)} flows | ${pct(tableOnly)} | ${verdict(tableOnly >= 0.8)} |`);
  if (dsr) p(`| dsr ≥ 70% of testpmd at ${count(dsr.flows)} flows | ${pct(dsr.ratio)} | ${verdict(dsr.ratio >= 0.7)}${ceiling(dsr)} |`);
  if (tun) p(`| tunnel ≥ 60% at ${count(tun.flows)} flows | ${pct(tun.ratio)} | ${verdict(tun.ratio >= 0.6)}${ceiling(tun)} |`);
  const nat = row('nat');
  if (nat) p(`| nat ≥ 55% at ${count(nat.flows)} flows | ${pct(nat.ratio)} | ${verdict(nat.ratio >= 0.55)} |`);
  if (unlimited) p(`| new flows ≥ 10 Mpps per lcore, eviction running | ${f2(unlimited.mpps)} Mpps | ${verdict(unlimited.mpps >= 10)} |`);
  p(`| 0 packets lost during changes | ${h.lost} | ${verdict(h.lost === 0)} |`);
  p(`| isolation ratio ≥ 0.95 | ${f2(iso.ratio)} | ${verdict(iso.ratio >= 0.95)} |`);
  if (build) p(`| Table build ≤ 2 ms, 65537 × 1000 | ${f2(build.ms)} ms | ${verdict(build.ms <= 2)} |`);
  p(`| Table remap ≤ 1.5× ideal (worst row) | ${f2(worstRemap)}× | ${verdict(worstRemap <= 1.5)} |`);
  p();
  p('**What limits the data path** (perf record on the worker core, `perf annotate`; docs/performance-notes.md has the flow table):');
  p();
  for (const line of renderBudget(r.throughput)) p(line);
  for (const line of renderFrameSplit(r.throughput, r.frameSplit)) p(line);
  p('- At 1M flows every packet needs, besides its own data, its flow-table bucket (one 64-byte line holding 4');
  p('  whole flows), which is not in cache. The lookup is staged across the burst so the misses overlap, but it is');
  p('  still a DRAM round trip per packet that `5tswap` does not make. At 1K flows, where everything is cached, the');
  p('  cost is instructions, spread thin (see the count below). What was measured to find this, and what was tried');
  p('  and kept or left out: docs/performance-notes.md, "Where the dsr time goes at 1M flows", "The flow table" and');
  p('  "The per-packet path".');
  p('- 4 KiB pages cost 20-25% at 1M flows in TLB misses; the benchmark therefore uses hugepages when it can.');
  p('- `tunnel` adds the prepend, a header move and an IPv4 checksum per packet.');
  p('- `nat` looks its sessions up as the flow table does (a bucket line, then the session, both prefetched');
  p('  across the burst: two misses per packet at 1M sessions, one more than dsr), then does more: the');
  p('  session checks and the rewrite of addresses, ports and both checksums (see the instruction count).');
  p(natSessionsCost(r.throughput));
  p('- New flows in a full table: a miss reads both of its buckets, and the eviction rewrites a slot in one of');
  p('  them; at the default admission rate most of a flood is forwarded without being remembered.');
  p();
  p('**Instructions per packet** of the per-packet path alone (`ProcessBurst` and the tx flush on warm flows,');
  p('no PMD receive; `native/bench/burst_bench` under callgrind, 64-byte TCP; at 1M flows the insert round and two');
  p('warm ones are counted): the same count on every run, so this is the figure data-path changes are measured by');
  p('on this machine.');
  p();
  for (const line of renderInstructions(r.instructions)) p(line);
  p();
  p('## Lookup table');
  p();
  for (const line of renderLookupTable(r.tableBuild, r.tableRemap)) p(line);
  p();
  p('## Memory per flow entry');
  p();
  const fm = r.flowMemory;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  p(`Reserved: the ${count(fm.measured.largeEntries)}-entry worker reported ${mib(fm.measured.reportedBytes)} for its table ` +
    `(\`flows.memoryBytes\`), **${(fm.measured.reportedBytes / fm.measured.largeEntries).toFixed(1)} bytes per flow of capacity**:`);
  p('buckets for 70% more flows than capacity, a 64-byte bucket per 4 slots holding the whole flow, and each slot\'s');
  p('opening time and service id (6 bytes) beside the buckets.');
  p();
  p(`Measured: resident set of a process whose ${count(fm.measured.largeEntries)}-entry table holds ${count(fm.measured.largeEntries)} flows`);
  p(`minus one with a ${count(fm.measured.smallEntries)}-entry table, both replaying the same pcap of distinct SYNs`);
  p(`with the same EAL memory: ${mib(fm.measured.largeRss - fm.measured.smallRss)}, **${fm.measured.bytesPerFlow.toFixed(1)} bytes per flow**.`);
  p('The reserved figure is what a table takes per flow of capacity; the measured one is what a full table');
  p('touches (EAL memory under `--no-huge` is not zeroed up front, so unused positions cost no RSS).');
  p();
  const d = fm.deployed;
  p(`Resident memory with ${count(d.flows)} flows on the one worker lcore, as deployed (the pcap read once, so no frames`);
  p('are preloaded; the mbuf pool at its default size; 4 KiB pages, as the resident set does not count hugetlbfs');
  p(`pages): **${mib(d.rssBytes)} for the whole process** (Node, the control plane, the EAL and the data plane),`);
  p(`against ${mib(d.smallTableRssBytes)} with a ${count(fm.measured.smallEntries)}-entry table after the same pcap.`);
  p();
  p('## Commands');
  p();
  p('Everything above comes from one command, which first runs the idempotent `scripts/setup.sh --quiet`:');
  p();
  p('```sh');
  p('npm run bench        # node dist/tools/bench/main.js [--flows 1024,1048576] [--sweep 65536,262144,4194304]');
  p('                     #   [--seconds 5] [--new-flows N] [--repeat R] [--workers N]');
  p('```');
  p();
  p('It writes the pcaps and configs into a temporary directory (removed afterwards; each config is kept');
  p('under `configs` in `bench-results.json`, built by `benchConfig()` in `tools/bench/sluice-config.ts`)');
  p('and runs, in this order:');
  p();
  p('```sh');
  for (const c of r.commands) p(c);
  p('```');
  p();
  return `${lines.join('\n')}\n`;
}

const share = (x: number) => `${(x * 100).toFixed(0)}%`;
const capitalized = (x: string) => x.charAt(0).toUpperCase() + x.slice(1);
// A forwarder of a row's rounds against testpmd: the median of each round's ratio.
const ratioToTestpmd = (t: ThroughputRow, mpps: (x: ThroughputRow['rounds'][number]) => number) =>
  median(t.rounds.map((x) => mpps(x) / x.testpmdMpps));
const tableOnlyRatio = (t: ThroughputRow) => ratioToTestpmd(t, (x) => x.tableOnlyMpps);

// Forwarders that do less than Sluice, from the same rounds (ceiling-run.ts):
// what the flow table alone costs, and whether a target is within its reach.
export function renderCeiling(rows: ThroughputRow[]): string[] {
  const dsr = rows.filter((t) => t.mode === 'dsr' && t.rounds.length > 0).sort((a, b) => a.flows - b.flows);
  if (dsr.length === 0) return [];
  const cell = (mpps: number, r: number) => `${f2(mpps)} (${share(r)})`;
  // Results written before the line-a-packet forwarder ran have no such column.
  const lines = dsr.every((t) => t.lineFloorMpps !== undefined && t.rounds.every((x) => x.lineFloorMpps !== undefined));
  const lineRatio = (t: ThroughputRow) => ratioToTestpmd(t, (x) => x.lineFloorMpps ?? 0);
  const out = [
    '**Forwarders that do less**, run in the same rounds on the same pcap, core and pool (`native/bench/table_ceiling`):',
    '*stateless* rewrites each packet\'s MACs to a backend taken from its 5-tuple\'s hash and sends it; *table only*',
    'does the same with Sluice\'s flow table in between: each packet looked up (its bucket prefetched a burst ahead,',
    'as the worker does), inserted when missing, its last-seen time written on a hit. Neither validates, looks a',
    'service up, expires, picks by lookup table or counts. What *table only* reaches bounds what any mode that keeps',
    'this table can reach here.' + (lines ? ' *A line a packet* puts in the table\'s place what any table costs at least:' +
      ' one random 64-byte line of an array as large as the table\'s buckets, prefetched as the primary bucket is,' +
      ' read, and written when its time changes; no key compared, no second bucket.' : ''),
    'Mpps, medians of the rounds; in brackets the median of each round\'s ratio to testpmd.',
    '',
    `| Active flows | testpmd 5tswap | stateless |${lines ? ' a line a packet |' : ''} table only | Sluice dsr | Sluice tunnel |`,
    `|---:|---:|---:|${lines ? '---:|' : ''}---:|---:|---:|`,
  ];
  for (const t of dsr) {
    const tunnel = rows.find((x) => x.mode === 'tunnel' && x.flows === t.flows);
    out.push(`| ${count(t.flows)} | ${f2(t.testpmdMpps)} | ${cell(t.statelessMpps, ratioToTestpmd(t, (x) => x.statelessMpps))} | ` +
      (lines ? `${cell(t.lineFloorMpps ?? 0, lineRatio(t))} | ` : '') +
      `${cell(t.tableOnlyMpps, tableOnlyRatio(t))} | ${cell(t.sluiceMpps, t.ratio)} | ` +
      `${tunnel ? cell(tunnel.sluiceMpps, tunnel.ratio) : '—'} |`);
  }
  const large = dsr[dsr.length - 1];
  const tableRatio = tableOnlyRatio(large);
  const tableNs = 1000 / large.tableOnlyMpps - 1000 / large.statelessMpps;
  // Per round, then the median, as the ratios are: the machine drifts between rounds.
  const beyondTable = (t: ThroughputRow) => median(t.rounds.map((x) => 1000 / x.sluiceMpps - 1000 / x.tableOnlyMpps));
  const targets = [{ t: large, target: 0.7 },
    { t: rows.find((x) => x.mode === 'tunnel' && x.flows === large.flows), target: 0.6 }]
    .filter((x): x is { t: ThroughputRow; target: number } => x.t !== undefined);
  const named = (list: typeof targets) => list.map((x) => `the ${x.t.mode} target (${share(x.target)})`).join(' and ');
  const beyond = targets.filter((x) => tableRatio < x.target);
  const within = targets.filter((x) => tableRatio >= x.target);
  let text = `At ${count(large.flows)} flows the table alone costs ${ns(tableNs)} a packet (table only against ` +
    `stateless) and leaves ${share(tableRatio)} of testpmd.`;
  if (beyond.length > 0) {
    const them = beyond.length > 1 ? 'them' : 'it';
    text += ` ${capitalized(named(beyond))} ${beyond.length > 1 ? 'are' : 'is'} beyond that: no mode that keeps this ` +
      `table can meet ${them} on this benchmark, whatever else it stops doing.`;
  }
  for (const x of within) {
    const room = median(x.t.rounds.map((r) => 1000 / (x.target * r.testpmdMpps) - 1000 / r.tableOnlyMpps));
    text += ` ${capitalized(named([x]))} is within it, leaving ${ns(room)} a packet for everything else.`;
  }
  text += ' On top of the table, ' + targets.map((x, i) =>
    `everything else ${x.t.mode} does ${i === 0 ? 'costs ' : ''}${ns(beyondTable(x.t))}${i === 0 ? ' a packet' : ''}`)
    .join(', and ') + '.';
  if (lines) {
    // Per round, then the median: what this table's layout costs beyond the least any table costs.
    const layoutNs = median(large.rounds.map((x) => 1000 / x.tableOnlyMpps - 1000 / (x.lineFloorMpps ?? 0)));
    const anyNs = median(large.rounds.map((x) => 1000 / (x.lineFloorMpps ?? 0) - 1000 / x.statelessMpps));
    const floorRatio = lineRatio(large);
    text += ` A line a packet in the table's place leaves ${share(floorRatio)} of testpmd: any table costs at least ` +
      `${ns(anyNs)} a packet here, and this one's layout ${ns(layoutNs)} more. The table-only target (80%) is ` +
      (floorRatio >= 0.8 ? 'within what a table could reach.' : 'beyond what any table could reach on this benchmark.');
  }
  out.push('');
  out.push(text + ' (The PMD\'s replay of as many preloaded frames streams through the same caches as the table; ' +
    'a NIC writing frames into the cache might leave the table more of them. Not measured here.)');
  return out;
}

// dsr over several worker lcores (main.ts measureScaling), or why it was not run.
export function renderScaling(s: Scaling | undefined): string[] {
  if (!s) return [];
  const out = ['## Scaling over worker lcores', ''];
  const how = 'each polling its own rx queue of the pcap port (one pcap of a disjoint share of the flows each), beside ' +
    'testpmd 5tswap with as many forwarding cores on the same port';
  if (s.rows.length === 0) {
    out.push(`Not measured here: this machine has ${s.cores} cores and core 0 runs Node and the control plane, so the ` +
      `benchmark runs ${s.workers} worker lcore. With more cores it also runs dsr with one worker lcore per further ` +
      `core (at most 8; \`--workers N\` sets the number), ${how}.`, '');
    return out;
  }
  out.push(`dsr with several worker lcores, ${how}; the table warm, medians of the rounds. Scaling is the rate per `+
    'lcore against one worker\'s on as many flows (the throughput table above, where that one lcore holds them all).');
  if (s.workers >= s.cores) {
    out.push('', `**The ${s.workers} workers share this machine\'s ${s.cores} cores** (\`--workers\`): these figures check ` +
      'the set-up, not its speed.');
  }
  out.push('', '| Worker lcores | Flows (per lcore) | Sluice dsr Mpps | per lcore | Scaling | testpmd 5tswap Mpps | ' +
    'Sluice / testpmd | each round |', '|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const x of s.rows) {
    const perLcore = x.sluiceMpps / x.workers;
    const each = x.rounds.map((k) => share(k.sluiceMpps / k.testpmdMpps)).join(', ');
    out.push(`| ${x.workers} | ${count(x.flows)} (${count(Math.ceil(x.flows / x.workers))}) | ${f2(x.sluiceMpps)} | ` +
      `${f2(perLcore)} | ${x.oneWorkerMpps > 0 ? `${f2(perLcore / x.oneWorkerMpps)}×` : '—'} | ${f2(x.testpmdMpps)} | ` +
      `${pct(x.ratio)} | ${each} |`);
  }
  out.push('');
  return out;
}

// ns per packet a row's forwarder spends beyond the PMD's receive and free
// (testpmd rxonly on the same pcap, the floor every forwarder on this port pays).
const beyondFloorNs = (t: ThroughputRow, mpps = t.sluiceMpps) => 1000 / mpps - 1000 / t.rxonlyMpps;
// The dsr target (70% of 5tswap) as the time beyond the floor it leaves.
const dsrBudgetNs = (t: ThroughputRow) => beyondFloorNs(t, 0.7 * t.testpmdMpps);

// Each forwarder's time per packet beyond the floor: the ratios to testpmd
// above say how far off a target is, this says in what.
function renderTimePerPacket(rows: ThroughputRow[]): string[] {
  const out: string[] = [];
  const byFlows = [...new Set(rows.map((t) => t.flows))];
  out.push('**Time per packet**, from the rates above and `dpdk-testpmd --forward-mode=rxonly` on the same pcap and core');
  out.push('(receive and free only, the floor under every forwarder on this port): ns per packet beyond that floor.');
  out.push('');
  out.push('| Active flows | rxonly (receive, free) | 5tswap beyond it | dsr beyond it | tunnel beyond it | nat beyond it | dsr at 70% of 5tswap would need |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|');
  for (const flows of byFlows) {
    const same = rows.filter((t) => t.flows === flows);
    const first = same[0];
    const own = (mode: string) => {
      const t = same.find((x) => x.mode === mode);
      return t ? ns(beyondFloorNs(t)) : '—';
    };
    out.push(`| ${count(flows)} | ${ns(1000 / first.rxonlyMpps)} | ${ns(beyondFloorNs(first, first.testpmdMpps))} | ` +
      `${own('dsr')} | ${own('tunnel')} | ${own('nat')} | ${ns(dsrBudgetNs(first))} |`);
  }
  out.push('');
  out.push('The same split as Sluice\'s worker measures it (clock read after each receive call that returned packets');
  out.push('and after processing them; `receiveSeconds` and `processSeconds` in the lcore stats): ns per packet.');
  out.push('The rest of the time per packet is tx flushes and housekeeping.');
  out.push('');
  out.push('| Mode | Active flows | Time per packet | in receive calls (the PMD) | processing (Sluice\'s own) |');
  out.push('|---|---:|---:|---:|---:|');
  for (const t of rows) {
    out.push(`| ${t.mode} | ${count(t.flows)} | ${ns(1000 / t.sluiceMpps)} | ${ns(t.receiveNs)} | ${ns(t.processNs)} |`);
  }
  return out;
}

// The 70% target as a time budget: how many ns of its own work dsr may spend
// per packet, against what it spends with everything in cache.
function renderBudget(rows: ThroughputRow[]): string[] {
  const small = rows.find((t) => t.mode === 'dsr' && t.flows === Math.min(...rows.map((x) => x.flows)));
  const large = rows.find((t) => t.mode === 'dsr' && t.flows === Math.max(...rows.map((x) => x.flows)));
  if (!small || !large || small === large) return [];
  const own = beyondFloorNs;
  return [
    `- The time per packet above puts the dsr target in numbers: at ${count(large.flows)} flows dsr may spend ` +
      `${dsrBudgetNs(large).toFixed(1)} ns of its own per packet beyond the PMD's receive; it spends ${own(large).toFixed(1)} ns. ` +
      `With everything in cache (${count(small.flows)} flows) the work of a load balancer (parse, checks, service and ` +
      `flow lookup, counters, rewrite) takes ${own(small).toFixed(1)} ns, and ${count(large.flows)} flows add ` +
      `${(own(large) - own(small)).toFixed(1)} ns (frames and flows both, told apart below); 5tswap swaps fields in a ` +
      'packet that is already in cache.',
    `- The worker's own clock agrees on where it goes: processing took ${small.processNs.toFixed(1)} ns per packet at ` +
      `${count(small.flows)} flows and ${large.processNs.toFixed(1)} ns at ${count(large.flows)}; the receive calls ` +
      `${small.receiveNs.toFixed(1)} and ${large.receiveNs.toFixed(1)} ns (testpmd rxonly: ` +
      `${(1000 / small.rxonlyMpps).toFixed(1)} and ${(1000 / large.rxonlyMpps).toFixed(1)} ns for receive and free).`,
  ];
}

// What many sessions add to nat's processing, from this run's split.
export function natSessionsCost(rows: ThroughputRow[]): string {
  const nat = rows.filter((t) => t.mode === 'nat');
  const few = nat.find((t) => t.flows === Math.min(...nat.map((x) => x.flows)));
  const many = nat.find((t) => t.flows === Math.max(...nat.map((x) => x.flows)));
  if (!few || !many || few === many) return '  nat is bound by its instructions.';
  return `  ${count(many.flows)} sessions add only ${(many.processNs - few.processNs).toFixed(1)} ns to its processing ` +
    `(${few.processNs.toFixed(1)} ns at ${count(few.flows)}, ${many.processNs.toFixed(1)} at ${count(many.flows)}): ` +
    'nat is bound by its instructions.';
}

// Many frames against many flows: the PMD replays every frame of the pcap from
// its own mbuf, so a 1M-frame pcap costs the receive calls more whatever the
// flows; the flow table's cost is what many flows add on top.
export function renderFrameSplit(rows: ThroughputRow[], split: FrameSplitRow | undefined): string[] {
  if (!split) return [];
  const few = rows.find((t) => t.mode === 'dsr' && t.flows === split.flows);
  const many = rows.find((t) => t.mode === 'dsr' && t.flows === split.frames);
  if (!few || !many) return [];
  const row = (flows: number, frames: number, x: { sluiceMpps: number; receiveNs: number; processNs: number }) =>
    `  | ${count(flows)} | ${count(frames)} | ${f2(x.sluiceMpps)} | ${ns(x.receiveNs)} | ${ns(x.processNs)} |`;
  return [
    `- **Many frames or many flows?** In the ${count(split.frames)}-flow rounds, dsr also ran on a pcap of ${count(split.flows)} ` +
      `flows repeated to ${count(split.frames)} frames (same table size): the PMD replays as many preloaded mbufs as ` +
      `at ${count(split.frames)} flows while the flow table holds ${count(split.flows)}. Medians over rounds:`,
    '',
    '  | Flows | Frames in pcap | dsr Mpps | in receive calls | processing |',
    '  |---:|---:|---:|---:|---:|',
    row(few.flows, few.flows, few),
    row(split.flows, split.frames, split),
    row(many.flows, many.flows, many),
    '',
    `  Many frames cost the receive calls ${ns(split.receiveNs - few.receiveNs)} per packet (the PMD copies each frame ` +
      `out of a preloaded mbuf that is no longer in cache; testpmd pays it too) and ${framesAddToProcessing(few, split)}. ` +
      flowsAdd(many, split),
  ];
}

// What the replay of many frames adds to Sluice's own processing: the medians of
// runs from different rounds, so a difference below zero is noise, said as such.
function framesAddToProcessing(few: ThroughputRow, split: FrameSplitRow): string {
  const d = split.processNs - few.processNs;
  if (d <= 0) return `Sluice's processing nothing measurable (${ns(d)})`;
  return `Sluice's processing ${ns(d)} (the replay streams two cold lines a packet through the caches that hold ` +
    'Sluice\'s own state)';
}

// What many flows add to the processing, from the two runs each round made back
// to back (the frames run and the many-flows run), not from medians of
// different runs: the machine drifts between rounds by more than the difference.
function flowsAdd(many: ThroughputRow, split: FrameSplitRow): string {
  const n = Math.min(many.rounds.length, split.rounds.length);
  const each = Array.from({ length: n }, (_, k) => many.rounds[k].processNs - split.rounds[k].processNs);
  if (n === 0) return '';
  const perRound = `per round: ${each.map((d) => ns(d)).join(', ')}`;
  const m = median(each);
  if (m <= 0) return `Many flows added nothing this run could tell from its noise (${perRound}).`;
  return `Many flows then add ${ns(m)} of processing (the flow-table bucket, fetched from DRAM; median of the ` +
    `rounds, ${perRound}).`;
}

/** The isolation windows and their summary, as a Markdown table. */
export function renderIsolation(iso: IsolationResult): string {
  const rows = [
    '| Window | Unloaded before, Mpps | Loaded, Mpps | Unloaded after, Mpps | Ratio | API requests/s | p50 | p99 | Errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...iso.windows.map((w, i) => `| ${i + 1} | ${f2(w.unloadedBeforeMpps)} | ${f2(w.loadedMpps)} | ${f2(w.unloadedAfterMpps)} | ` +
      `${f2(w.ratio)} | ${w.requestsPerSec.toFixed(0)} | ${w.p50Ms} ms | ${w.p99Ms} ms | ${w.errors} |`),
    `| **all** | ${f2(iso.unloadedMpps)} (median) | ${f2(iso.loadedMpps)} (median) | | **${f2(iso.ratio)}** (median) | ` +
      `${iso.requestsPerSec.toFixed(0)} (mean) | ${iso.p50Ms} ms (median) | ${iso.p99Ms} ms (worst) | ${iso.errors} |`,
  ];
  return rows.join('\n');
}

// The flow-count sweep (sweep.ts) with the throughput runs' own flow counts
// among its rows: where each forwarder's rate falls as flows grow.
export function renderSweep(throughput: ThroughputRow[], sweep: SweepRow[]): string[] {
  if (sweep.length === 0) return [];
  const rows = sweepTable(throughput, sweep);
  const cell = (mpps: number, r: number) => `${f2(mpps)} (${share(r)})`;
  const own = sweep.map((s) => count(s.flows)).join(', ');
  const out = [
    '**By flow count.** Each forwarder against testpmd 5tswap from a handful of flows to more than the caches and',
    `the TLB's reach: the rows at ${own} flows measured in rounds of their own (testpmd 5tswap, table only and each`,
    'mode back to back, as many rounds as above; no rxonly, stateless or frame-split runs), the others from the',
    'throughput rounds above. Mpps, medians of the rounds; in brackets the median of each round\'s ratio to testpmd.',
    '',
    `| Active flows | testpmd 5tswap | table only | ${SWEEP_MODES.map((m) => `Sluice ${m}`).join(' | ')} |`,
    `|---:|---:|---:|${SWEEP_MODES.map(() => '---:').join('|')}|`,
  ];
  for (const x of rows) {
    out.push(`| ${count(x.flows)} | ${f2(x.testpmdMpps)} | ${cell(x.tableOnlyMpps, x.tableOnlyRatio)} | ` +
      `${SWEEP_MODES.map((m) => cell(x.sluiceMpps[m], x.ratio[m])).join(' | ')} |`);
  }
  out.push('');
  return out;
}

// Changes at full rate against the same configuration without them, back to
// back in each round (main.ts), so the machine's drift is not counted as theirs.
export function renderHitless(h: HitlessRow, seconds: number): string[] {
  const lead = `${h.changesPerSec} service changes a second (remove a backend, add it back, change every weight, restore) ` +
    `applied through the control path while ${count(h.flows)} flows run at full rate`;
  const each = h.rounds.map((x) => `${f2(x.mpps)} against ${f2(x.baselineMpps)}`).join('; ');
  return [
    `${lead}, in ${h.rounds.length} rounds of ${seconds} s, each just after a run of the same configuration without ` +
      `changes: **${h.changes} changes, ${h.lost} of ${h.packets} packets lost**; ${f2(h.mpps)} Mpps against ` +
      `${f2(h.baselineMpps)} without changes (medians), **${pct(h.ratio)}** (the median of each round's ratio; ` +
      `each round, Mpps with against without: ${each}).`,
  ];
}

// The instruction counts (instructions.ts), one row per counted path.
export function renderInstructions(rows: InstructionRow[]): string[] {
  const out = ['| Mode | Family | Active flows | IPv4 checksum | Instructions / packet |', '|---|---|---:|---|---:|'];
  for (const x of rows) {
    const checksum = x.family === 6 ? '—' : x.offload ? 'NIC (offload)' : 'software';
    out.push(`| ${x.mode} | IPv${x.family} | ${count(x.flows)} | ${checksum} | ${x.instructionsPerPacket.toFixed(1)} |`);
  }
  return out;
}
