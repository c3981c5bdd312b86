// The node's drain state (src/control/node-drain.ts): idempotent drain and
// undrain, one 'change' per transition, a stop's drain that no undrain undoes;
// and the stop's wait for flows (src/control/drain-on-stop.ts): it ends when
// the lcores hold no flows, when nothing was forwarded for a second, when the
// wait is over, or at once when cut short,
// and logs its start and its end.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drainOnStop, flowsRemaining } from '../../src/control/drain-on-stop';
import { NodeDrain } from '../../src/control/node-drain';
import type { LcoreStats } from '../../src/native/addon';
import { captureLog } from '../helpers/captured-log';

/** Just what drainOnStop reads of an lcore. */
const lcore = (id: number, active: number, natSessions = 0, forwarded = 0) =>
  ({ lcore: id, forwarded, flows: { active }, nat: { sessionsActive: natSessions } }) as unknown as LcoreStats;

describe('NodeDrain', () => {
  test('drain and undrain are idempotent: one change event per transition, the drain\'s start kept', () => {
    let now = 1000;
    const node = new NodeDrain(() => now);
    let changes = 0;
    node.on('change', () => changes++);
    assert.deepEqual(node.status(), { state: 'active' });
    assert.equal(node.undrain(), false);
    assert.equal(node.drain(), true);
    now = 5000;
    assert.equal(node.drain(), false);
    assert.deepEqual(node.status(), { state: 'draining', sinceMs: 1000, by: 'api' });
    assert.equal(node.draining(), true);
    assert.equal(node.undrain(), true);
    assert.equal(node.undrain(), false);
    assert.deepEqual(node.status(), { state: 'active' });
    assert.equal(changes, 2);
  });

  test('a stop\'s drain, or one that a stop takes over, cannot be undrained', () => {
    const node = new NodeDrain(() => 7);
    node.drain('api');
    node.drain('stop');
    assert.deepEqual(node.status(), { state: 'draining', sinceMs: 7, by: 'stop' });
    assert.throws(() => node.undrain(), (err: Error & { code?: string }) => err.code === 'SLUICE_SHUTTING_DOWN');
    assert.equal(node.draining(), true);
  });
});

describe('drainOnStop', () => {
  test('flowsRemaining: per lcore and totals, nat sessions apart', () => {
    assert.deepEqual(flowsRemaining([lcore(1, 3, 1), lcore(2, 4)]), {
      active: 7, natSessions: 1, lcores: [{ lcore: 1, active: 3, natSessions: 1 }, { lcore: 2, active: 4, natSessions: 0 }],
    });
  });

  test('drains first (withdrawals settled), then waits until the flows are gone', async () => {
    const node = new NodeDrain();
    const log = captureLog('info');
    let reads = 0;
    let settledWhileDraining = false;
    const out = await drainOnStop({
      node,
      lcores: () => [lcore(1, Math.max(0, 3 - reads++)), lcore(2, 0, reads < 2 ? 1 : 0)],
      settled: async () => {
        settledWhileDraining = node.draining();
      },
    }, 10, 1, log.logger);
    assert.equal(settledWhileDraining, true, 'the speaker is waited for once the node drains');
    assert.equal(out.ended, 'no flows');
    assert.equal(out.flowsLeft, 0);
    assert.ok(out.waitedSec >= 0.2 && out.waitedSec < 2, `${out.waitedSec} s`);
    assert.deepEqual(node.status().by, 'stop');
    const msgs = log.lines.map((l) => [l.msg.split(':')[0], l.flows ?? l.flowsLeft]);
    assert.deepEqual(msgs, [['draining before the stop', 4], ['drain ended (no flows)', 0]]);
  });

  test('flows that stay: the wait ends when it is over, naming the flows left', async () => {
    const log = captureLog('info');
    const t0 = Date.now();
    const out = await drainOnStop({ node: new NodeDrain(), lcores: () => [lcore(1, 5)] }, 0.5, 1, log.logger);
    const ms = Date.now() - t0;
    assert.equal(out.ended, 'wait over');
    assert.equal(out.flowsLeft, 5);
    assert.ok(ms >= 480 && ms < 1500, `${ms} ms`);
    assert.equal(log.lines[1].flowsLeft, 5);
    assert.match(log.lines[1].msg, /^drain ended \(wait over\): 5 flows left after 0\.\d+ s; stopping$/);
  });

  test('flows remembered but no packet forwarded for a second: the wait ends, quiet; traffic that goes on keeps it', async () => {
    let forwarded = 0;
    const t0 = Date.now();
    const busy = await drainOnStop({ node: new NodeDrain(), lcores: () => [lcore(1, 5, 0, forwarded++)] }, 1.5, 1, captureLog('info').logger);
    assert.equal(busy.ended, 'wait over', 'packets forwarded at every look');
    assert.ok(Date.now() - t0 >= 1400);
    const t1 = Date.now();
    let reads = 0;  // packets for the first three looks, then none
    const quiet = await drainOnStop({ node: new NodeDrain(), lcores: () => [lcore(1, 5, 0, Math.min(reads++, 3))] },
      30, 1, captureLog('info').logger);
    assert.equal(quiet.ended, 'quiet');
    assert.equal(quiet.flowsLeft, 5);
    const ms = Date.now() - t1;
    assert.ok(ms >= 950 && ms < 2500, `${ms} ms`);
  });

  test('cut short: the wait ends at once', async () => {
    const cut = new AbortController();
    const t0 = Date.now();
    setTimeout(() => cut.abort(), 150);
    const out = await drainOnStop({ node: new NodeDrain(), lcores: () => [lcore(1, 5)] }, 30, 1, captureLog('info').logger, cut.signal);
    assert.equal(out.ended, 'cut short');
    assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  });

  test('a data plane that no longer runs has no flows left', async () => {
    const out = await drainOnStop({ node: new NodeDrain(), lcores: () => { throw new Error('not running'); } }, 30, 1, captureLog('info').logger);
    assert.deepEqual([out.ended, out.flowsLeft], ['no flows', 0]);
  });
});
