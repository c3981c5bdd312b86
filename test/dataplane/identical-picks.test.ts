// Every node of a tier must pick the same backend for a flow, whatever order
// its backends were given in and whatever changes brought it to them: a flow
// that ECMP moves to another node then still reaches its backend. Three
// "nodes" (each its own process and data plane, the set built by a different
// config order and REST history) are sent the same 100,000 UDP flows; their
// picks must agree flow for flow. A node whose set differs (one weight) must
// not: the comparison can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PickNode } from '../helpers/pick-node';

const FLOWS = 100_000;
const SEED = 7;
const backend = (i: number) => `10.99.0.${11 + i}`;
const ALL = Array.from({ length: 12 }, (_, i) => backend(i));

async function picks(node: Omit<PickNode, 'flows' | 'seed'>): Promise<string[]> {
  const script = path.join(__dirname, '..', 'helpers', 'pick-node.js');
  const { stdout } = await promisify(execFile)(process.execPath, [script, JSON.stringify({ ...node, flows: FLOWS, seed: SEED })],
    { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return JSON.parse(stdout) as string[];
}

test('three nodes with one backend set, reached by different orders and histories, pick alike for 100,000 flows', async () => {
  // Node a: the set in the config, in order.
  const a = await picks({ initial: ALL, history: [] });
  // Node b: the config lists them backwards, and a weight goes away and back.
  const b = await picks({ initial: [...ALL].reverse(), history: [{ weight: backend(3), to: 50 }, { weight: backend(3), to: 100 }] });
  // Node c: half in the config, the rest added through the API, one removed and added again, one extra added and removed.
  const c = await picks({
    initial: ALL.slice(6),
    history: [
      ...ALL.slice(0, 6).reverse().map((add) => ({ add })),
      { remove: backend(8) }, { add: '10.99.0.99' }, { add: backend(8) }, { remove: '10.99.0.99' },
    ],
  });
  assert.equal(a.length, FLOWS);
  assert.equal(a.filter((m) => m === 'none').length, 0, 'every flow reached a backend');
  assert.equal(new Set(a).size, ALL.length, 'every backend got flows');
  const differ = (x: string[], y: string[]) => x.filter((m, i) => m !== y[i]).length;
  assert.equal(differ(a, b), 0, 'a and b disagree');
  assert.equal(differ(a, c), 0, 'a and c disagree');

  // A node whose set really differs (one backend at half weight) picks otherwise for some flows.
  const d = await picks({ initial: ALL, history: [{ weight: backend(3), to: 50 }] });
  const moved = differ(a, d);
  assert.ok(moved > 0 && moved < FLOWS / 10, `${moved} of ${FLOWS} flows picked otherwise with one weight halved`);
  console.log(`# one weight halved of 12 moved ${moved} of ${FLOWS} flows (${((100 * moved) / FLOWS).toFixed(2)}%)`);
});
