// LcoreLiveness: an lcore whose iterations counter stood still between looks
// for more than a second is stuck, one that moves again is not; a late look
// (the event loop held up) does not make moving lcores look stuck; nothing is
// known while the data plane does not run; the timer stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LcoreLiveness, STUCK_AFTER_MS } from '../../src/control/liveness';
import type { LcoreStats } from '../../src/native/addon';

function lcores() {
  const iterations = new Map<number, number>([[1, 0], [2, 0]]);
  let running = true;
  let now = 0;
  const liveness = new LcoreLiveness({
    lcores: () => {
      if (!running) throw Object.assign(new Error('not running'), { code: 'SLUICE_NOT_RUNNING' });
      return [...iterations].map(([lcore, n]) => ({ lcore, iterations: n }) as LcoreStats);
    },
  }, 200, () => now);
  return {
    liveness,
    /** every lcore but those in `still` iterates; then time moves by ms and a look is made */
    look(ms: number, still: number[] = []) {
      for (const [l, n] of iterations) if (!still.includes(l)) iterations.set(l, n + 1000);
      now += ms;
      liveness.sample();
    },
    stop: () => { running = false; },
  };
}

test('an lcore whose counter stands still past a second is stuck, and alive again once it moves', () => {
  const t = lcores();
  t.look(0);
  assert.deepEqual(t.liveness.lcores(), { total: 2, stuck: [] });
  for (let i = 0; i < 5; i++) t.look(200, [2]);
  assert.deepEqual(t.liveness.lcores().stuck, [], `still for exactly ${STUCK_AFTER_MS} ms is not yet stuck`);
  t.look(200, [2]);
  assert.deepEqual(t.liveness.lcores(), { total: 2, stuck: [{ lcore: 2, stillForMs: 1200 }] });
  t.look(200);
  assert.deepEqual(t.liveness.lcores().stuck, [], 'it moved');
});

test('a late look (the event loop was held up) finds moving lcores moved, not stuck', () => {
  const t = lcores();
  t.look(0);
  t.look(5000);
  assert.deepEqual(t.liveness.lcores(), { total: 2, stuck: [] });
});

test('while the data plane does not run nothing is known; start and stop leave no timer', () => {
  const t = lcores();
  t.liveness.start();
  t.look(2000, [1, 2]);
  assert.equal(t.liveness.lcores().stuck.length, 2);
  t.stop();
  t.look(200);
  assert.deepEqual(t.liveness.lcores(), { total: 0, stuck: [] });
  t.liveness.stop();
});
