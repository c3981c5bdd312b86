// Maglev figures from the control-path build (no EAL): build time per table size
// and backend count, and the share of slots (so of connections without a flow
// table entry) that move when one backend is removed or added, against the
// ideal 1/N.
import { addon } from '../native/addon';

export interface MaglevBuild {
  size: number;
  backends: number;
  /** Median of `runs` builds. */
  ms: number;
  runs: number;
}

export interface MaglevRemap {
  size: number;
  backends: number;
  change: 'remove' | 'add';
  moved: number;
  ideal: number;
}

const key = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`;
const backendList = (n: number) => Array.from({ length: n }, (_, i) => ({ key: key(i), weight: 100 }));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function maglevBuilds(sizes: number[], counts: number[], runs = 3): MaglevBuild[] {
  const native = addon();
  const out: MaglevBuild[] = [];
  for (const size of sizes) {
    for (const n of counts) {
      const list = backendList(n);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        native.maglevTable(list, size);
        times.push(performance.now() - t0);
      }
      out.push({ size, backends: n, ms: median(times), runs });
    }
  }
  return out;
}

/** Slots whose backend (by key) differs between two builds, as a fraction of the table. */
function movedFraction(a: { key: string }[], ta: Uint32Array, b: { key: string }[], tb: Uint32Array): number {
  let moved = 0;
  for (let i = 0; i < ta.length; i++) if (a[ta[i]].key !== b[tb[i]].key) moved++;
  return moved / ta.length;
}

export function maglevRemaps(size: number, counts: number[]): MaglevRemap[] {
  const native = addon();
  const out: MaglevRemap[] = [];
  for (const n of counts) {
    const all = backendList(n + 1);
    const base = all.slice(0, n);
    const tBase = native.maglevTable(base, size);
    // Remove one from the middle, so positions after it shift: the build must key on names, not order.
    const removed = base.filter((_, i) => i !== Math.floor(n / 2));
    out.push({ size, backends: n, change: 'remove',
      moved: movedFraction(base, tBase, removed, native.maglevTable(removed, size)), ideal: 1 / n });
    out.push({ size, backends: n, change: 'add',
      moved: movedFraction(base, tBase, all, native.maglevTable(all, size)), ideal: 1 / (n + 1) });
  }
  return out;
}
