// Packet tests as tables (test/fixtures/), in the manner of Katran's
// lib/testing: one ring-port data plane, and for each row of each table its
// services applied, its frames injected into the real worker lcore, what the
// worker transmitted captured and compared with the row's expected frames byte
// for byte (naming the first differing byte and the field it is in), and the
// counters that moved compared with the row's, exactly.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NativeStats } from '../../src/native/addon';
import { frameMismatch, summary } from '../fixtures/compare';
import { type Counters, FIXTURE_PORT, fixtureTables, type FixtureRow, type FixtureTable, isComputed } from '../fixtures';
import { RingDataplane, totals } from '../helpers/ring-dataplane';

const dp = new RingDataplane(FIXTURE_PORT);
after(() => dp.stop());
const tables = fixtureTables({ mac: dp.mac });

interface Snapshot {
  rx: number;
  counters: Required<Omit<Counters, 'drops'>>;
  drops: Record<string, number>;
  flows: { inserts: number; hits: number; misses: number };
}

function snapshot(s: NativeStats = dp.native.stats()): Snapshot {
  const t = totals(s);
  return {
    rx: t.rx,
    counters: { forwarded: t.forwarded, localReplies: t.localReplies, arpLearned: s.lcores.reduce((a, l) => a + l.arpLearned, 0),
      icmpFragNeededSent: t.icmpFragNeededSent, icmpPacketTooBigSent: t.icmpPacketTooBigSent, icmpErrorsRouted: t.icmpErrorsRouted },
    drops: t.drops,
    flows: { inserts: t.inserts, hits: t.hits, misses: t.misses },
  };
}

/** What moved between two snapshots, in the shape of a row's `counters`: every counter, and the drops that moved. */
function delta(before: Snapshot, now: Snapshot): Required<Counters> {
  const drops: Record<string, number> = {};
  for (const [k, v] of Object.entries(now.drops)) if (v !== (before.drops[k] ?? 0)) drops[k] = v - (before.drops[k] ?? 0);
  const counters = {} as Required<Omit<Counters, 'drops'>>;
  for (const k of Object.keys(now.counters) as (keyof Snapshot['counters'])[]) counters[k] = now.counters[k] - before.counters[k];
  return { ...counters, drops };
}

/** A row's counters with every counter it leaves out at 0. */
function expectedCounters(c: Counters): Required<Counters> {
  return { forwarded: 0, localReplies: 0, arpLearned: 0, icmpFragNeededSent: 0, icmpPacketTooBigSent: 0, icmpErrorsRouted: 0,
    ...c, drops: c.drops ?? {} };
}

let applied = '';

async function run(table: FixtureTable, row: FixtureRow): Promise<void> {
  const services = row.services ?? table.services;
  const key = JSON.stringify(services);
  if (key !== applied) {
    dp.native.setServices(services);
    applied = key;
  }
  const stray = dp.native.capture('p0');
  assert.equal(stray.length, 0, `the data plane sent ${stray.length} frame(s) before the row's input:\n` +
    stray.map((f) => `  ${summary(f)}`).join('\n'));

  const before = snapshot();
  const taken = dp.native.inject('p0', row.input, 0, row.segmentBytes);
  assert.equal(taken, row.input.length, 'the ring port takes every input frame');
  await dp.settle(before.rx + row.input.length);
  const out = dp.native.capture('p0');
  const now = snapshot();
  const moved = delta(before, now);

  const count = isComputed(row.expected) ? row.expected.frames : row.expected.length;
  if (out.length !== count) {
    const what = count === 0 ? 'expected no frame back' : `expected ${count} frame(s) back`;
    const got = out.length === 0 ? 'the data plane sent none' : `the data plane sent ${out.length}:\n` +
      out.map((f) => `  ${summary(f)}`).join('\n');
    assert.fail(`${what}; ${got}\n  counters that moved: ${JSON.stringify(moved)}`);
  }
  const expected = isComputed(row.expected) ? row.expected.build(out, row.input) : row.expected;
  assert.equal(expected.length, count, 'the row\'s expected frames');
  for (let i = 0; i < count; i++) {
    const mismatch = frameMismatch(i, count, out[i], expected[i]);
    if (mismatch !== undefined) {
      assert.fail(isComputed(row.expected) ? `${mismatch}\n  (variable, read from the output: ${row.expected.variable})` : mismatch);
    }
  }
  assert.deepEqual(moved, expectedCounters(row.counters), 'counter deltas');
  if (row.flows !== undefined) {
    const flows: Record<string, number> = {};
    for (const k of Object.keys(row.flows) as (keyof Snapshot['flows'])[]) flows[k] = now.flows[k] - before.flows[k];
    assert.deepEqual(flows, row.flows, 'flow-table deltas');
  }
}

for (const table of tables) {
  describe(table.name, () => {
    for (const row of table.rows) test(row.description, () => run(table, row));
  });
}

describe('the tables', () => {
  test('at least 30 rows, descriptions unique, every drop reason a real one', () => {
    const rows = tables.flatMap((t) => t.rows);
    assert.ok(rows.length >= 30, `${rows.length} rows`);
    const seen = new Set<string>();
    for (const r of rows) {
      assert.ok(!seen.has(r.description), `duplicate description: ${r.description}`);
      seen.add(r.description);
    }
    const reasons = new Set(dp.native.dropReasons());
    for (const r of rows) for (const k of Object.keys(r.counters.drops ?? {})) assert.ok(reasons.has(k), `${r.description}: ${k}`);
    console.log(`# ${rows.length} rows in ${tables.length} tables: ${tables.map((t) => `${t.name} ${t.rows.length}`).join(', ')}`);
  });
});
