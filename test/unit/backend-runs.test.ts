// backendRuns (src/dataplane.ts): a changed service's backends as runs of what
// the addon runs plus the backends it does not hold, in order, so that what the
// addon puts back together is `next` exactly, whatever the change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendRuns } from '../../src/dataplane';
import type { NativeBackend, NativeBackendRun } from '../../src/native/types';

const shape = (id: number, weight = 100): NativeBackend =>
  ({ id, address: `10.0.${id >> 8}.${id & 255}`, port: 80, weight, state: 'active', healthy: true });
const was = Array.from({ length: 4096 }, (_, i) => shape(i));

/** What the addon makes of the runs: the check that they say `next`. */
function rebuild(running: readonly NativeBackend[], runs: (NativeBackend | NativeBackendRun)[]): NativeBackend[] {
  return runs.flatMap((r) => (Array.isArray(r) ? running.slice(r[0], r[1]) : [r]));
}

test('unchanged: one run of all', () => {
  assert.deepEqual(backendRuns(was, was.slice()), [[0, 4096]]);
});

test('one backend changed in place: it, between two runs', () => {
  const next = was.slice();
  next[1000] = shape(1000, 5);
  const runs = backendRuns(was, next);
  assert.deepEqual(runs, [[0, 1000], next[1000], [1001, 4096]]);
  assert.deepEqual(rebuild(was, runs), next);
});

test('added at the end, removed in the middle, moved, replaced by another: rebuilt exactly', () => {
  const cases: NativeBackend[][] = [
    [...was, shape(5000)],
    [...was.slice(0, 10), ...was.slice(11)],
    [was[4095], ...was.slice(0, 4095)],
    [...was.slice(0, 7), shape(6000), ...was.slice(8)],
    [shape(7000), shape(7001)],
    [],
  ];
  for (const next of cases) {
    const runs = backendRuns(was, next);
    assert.deepEqual(rebuild(was, runs), next);
    assert.ok(runs.length <= 4, `a few entries, not one a backend: ${runs.length}`);
  }
});

test('from nothing running: every backend sent', () => {
  const next = [shape(1), shape(2)];
  assert.deepEqual(backendRuns([], next), next);
});
