// Checks shared by the golden ring-port tests (tunnel, IPv6): drop counters moved
// by one exchange, values that must stay fixed per flow, and tshark's verdict.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writePcap } from './pcap';
import { type RingDataplane, totals } from './ring-dataplane';

/** The drop reasons that moved since `before` (totals().drops), and by how much. */
export function dropDelta(dp: RingDataplane, before: Record<string, number>): Record<string, number> {
  const now = totals(dp.native.stats()).drops;
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v !== (before[k] ?? 0)) delta[k] = v - (before[k] ?? 0);
  return delta;
}

/** Per flow (`flowOf`), the value `pick` reads; asserts each flow always gets the same one. */
export function perFlow<X, T>(items: X[], flowOf: (x: X) => string, pick: (x: X) => T): Map<string, T> {
  const seen = new Map<string, T>();
  for (const x of items) {
    const key = flowOf(x);
    const v = pick(x);
    if (seen.has(key)) assert.equal(v, seen.get(key), `flow ${key} keeps its value`);
    seen.set(key, v);
  }
  return seen;
}

/**
 * Writes `frames` to `path` and decodes them with tshark -V and `args`; fails on
 * any bad checksum or malformed marker, quoting where. Returns one line per frame
 * of the `fields` (-T fields, separator ';').
 */
export function tsharkDecode(path: string, frames: Buffer[], args: string[], fields: string[]): string[] {
  writePcap(path, frames);
  const all = ['-r', path, ...args];
  const verbose = spawnSync('tshark', [...all, '-V'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(verbose.status, 0, `tshark failed: ${verbose.stderr}`);
  for (const marker of ['[Bad', 'Status: Bad', 'Malformed', 'incorrect, should be']) {
    const at = verbose.stdout.indexOf(marker);
    assert.equal(at, -1, `${path}: tshark reports "${marker}":\n${verbose.stdout.slice(Math.max(0, at - 1500), at + 200)}`);
  }
  const out = spawnSync('tshark', [...all, '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f])],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(out.status, 0, `tshark failed: ${out.stderr}`);
  const lines = out.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, frames.length);
  return lines;
}
