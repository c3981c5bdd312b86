// Lookup-table figures from the control-path build (no EAL), for the data
// path's bounded-load rendezvous table and, for comparison, classic Maglev:
// build time per table size and backend count, the load of the busiest backend
// against its weighted share, and the share of slots (so of connections without
// a flow table entry) that move when one backend is removed or added, against
// the ideal 1/N.
//   node dist/tools/bench/lookup-table.js [--runs N]   -> this section alone, as markdown
import { addon } from '../../src/native/addon';
import { median } from './median';

export type TableAlgorithm = 'rendezvous' | 'maglev';
export const tableAlgorithms: TableAlgorithm[] = ['rendezvous', 'maglev'];

export interface TableBuild {
  algorithm: TableAlgorithm;
  size: number;
  backends: number;
  /** Median of `runs` builds, equal weights. */
  ms: number;
  runs: number;
  /** Busiest backend's slots over its share, equal weights. */
  maxLoad: number;
  /** The same with weights 1..10 (backend i has 1 + i % 10). */
  maxLoadWeighted: number;
}

export interface TableRemap {
  algorithm: TableAlgorithm;
  size: number;
  backends: number;
  change: 'remove' | 'add';
  moved: number;
  ideal: number;
}

type Backend = { key: string; weight: number };
const key = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`;
const backendList = (n: number, weight: (i: number) => number = () => 100): Backend[] =>
  Array.from({ length: n }, (_, i) => ({ key: key(i), weight: weight(i) }));

/** The largest ratio of a backend's slots to its weighted share of the table. */
function maxLoad(list: Backend[], table: Uint32Array): number {
  const slots = new Array<number>(list.length).fill(0);
  for (const e of table) slots[e]++;
  const total = list.reduce((s, b) => s + b.weight, 0);
  return Math.max(...list.map((b, i) => slots[i] / ((table.length * b.weight) / total)));
}

export function tableBuilds(sizes: number[], counts: number[], runs = 5): TableBuild[] {
  const native = addon();
  const out: TableBuild[] = [];
  for (const algorithm of tableAlgorithms) {
    for (const size of sizes) {
      for (const n of counts) {
        const list = backendList(n);
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          native.lookupTable(list, size, algorithm);
          times.push(performance.now() - t0);
        }
        const weighted = backendList(n, (i) => 1 + (i % 10));
        out.push({
          algorithm, size, backends: n, ms: median(times), runs,
          maxLoad: maxLoad(list, native.lookupTable(list, size, algorithm)),
          maxLoadWeighted: maxLoad(weighted, native.lookupTable(weighted, size, algorithm)),
        });
      }
    }
  }
  return out;
}

/** Slots whose backend (by key) differs between two builds, as a fraction of the table. */
function movedFraction(a: Backend[], ta: Uint32Array, b: Backend[], tb: Uint32Array): number {
  let moved = 0;
  for (let i = 0; i < ta.length; i++) if (a[ta[i]].key !== b[tb[i]].key) moved++;
  return moved / ta.length;
}

export function tableRemaps(size: number, counts: number[]): TableRemap[] {
  const native = addon();
  const out: TableRemap[] = [];
  for (const algorithm of tableAlgorithms) {
    const build = (list: Backend[]) => native.lookupTable(list, size, algorithm);
    for (const n of counts) {
      const all = backendList(n + 1);
      const base = all.slice(0, n);
      const tBase = build(base);
      // Remove one from the middle, so positions after it shift: the build must key on names, not order.
      const removed = base.filter((_, i) => i !== Math.floor(n / 2));
      out.push({ algorithm, size, backends: n, change: 'remove',
        moved: movedFraction(base, tBase, removed, build(removed)), ideal: 1 / n });
      out.push({ algorithm, size, backends: n, change: 'add',
        moved: movedFraction(base, tBase, all, build(all)), ideal: 1 / (n + 1) });
    }
  }
  return out;
}

/** BENCHMARKS.md's section for these figures. */
export function renderLookupTable(builds: TableBuild[], remaps: TableRemap[]): string[] {
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  const f2 = (x: number) => x.toFixed(2);
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const counts = [...new Set(builds.map((b) => b.backends))];
  const runs = builds[0]?.runs ?? 0;
  p('The data path\'s lookup table is a bounded-load rendezvous table (docs/architecture.md); classic Maglev is measured');
  p('alongside for comparison. Control-path build (`lookupTable`, the addon\'s build called from JavaScript,');
  p(`no EAL), equal weights; median of ${runs} builds.`);
  p();
  p(`| Algorithm | Table size | ${counts.map((n) => `${n} backends`).join(' | ')} |`);
  p(`|---|---:|${counts.map(() => '---:').join('|')}|`);
  const rows = (a: TableAlgorithm) => [...new Set(builds.filter((b) => b.algorithm === a).map((b) => b.size))];
  for (const a of tableAlgorithms) {
    for (const size of rows(a)) {
      const row = builds.filter((b) => b.algorithm === a && b.size === size).map((b) => `${f2(b.ms)} ms`);
      p(`| ${a} | ${size} | ${row.join(' | ')} |`);
    }
  }
  p();
  p('Busiest backend\'s slots over its weighted share (1.00 is exact), equal weights / weights 1..10.');
  p();
  p(`| Algorithm | Table size | ${counts.map((n) => `${n} backends`).join(' | ')} |`);
  p(`|---|---:|${counts.map(() => '---:').join('|')}|`);
  for (const a of tableAlgorithms) {
    for (const size of rows(a)) {
      const row = builds.filter((b) => b.algorithm === a && b.size === size)
        .map((b) => `${f2(b.maxLoad)} / ${f2(b.maxLoadWeighted)}`);
      p(`| ${a} | ${size} | ${row.join(' | ')} |`);
    }
  }
  p();
  p('Share of table slots (so of connections not pinned by a flow entry) that move to another backend when one');
  p('of N backends is removed (the middle one) or one is added, against the ideal (1/N removed, 1/(N+1) added).');
  p();
  p('| Algorithm | Table size | N | Change | Moved | Ideal | Moved / ideal |');
  p('|---|---:|---:|---|---:|---:|---:|');
  for (const x of remaps) {
    p(`| ${x.algorithm} | ${x.size} | ${x.backends} | ${x.change} | ${pct(x.moved)} | ${pct(x.ideal)} | ` +
      `${f2(x.moved / x.ideal)} |`);
  }
  return lines;
}

if (require.main === module) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
  const sizes = [65537, 655373];
  const counts = [10, 100, 1000];
  const builds = tableBuilds(sizes, counts, runs);
  const remaps = sizes.flatMap((size) => tableRemaps(size, counts));
  console.log(renderLookupTable(builds, remaps).join('\n'));
}
