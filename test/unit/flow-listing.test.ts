// Dataplane.listFlows, the control thread's side of a connection listing: it
// asks, polls without blocking the event loop until every lcore answered, gives
// up with SLUICE_LCORE_TIMEOUT when one does not, and runs listings one at a
// time (every lcore has one mailbox). The lcores' side: native/test/worker and
// test/dataplane/flows-listing.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dataplane } from '../../src/dataplane';
import type { FlowListRequest } from '../../src/native/addon';
import { fakeAddon } from '../helpers/fake-addon';

/** An addon whose lcores answer after `polls` collectFlows calls (never: Infinity). */
function lcores(polls: number) {
  const native = fakeAddon();
  const asked: FlowListRequest[] = [];
  let left = 0;
  native.askFlows = (request) => {
    asked.push(request);
    left = polls;
  };
  native.collectFlows = () => (left-- > 0 ? null : { flows: [], truncated: asked.length > 1 });
  return { native, asked };
}

test('waits for the answer without blocking the event loop, and passes the request on with the backend normalized', async () => {
  const { native, asked } = lcores(5);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 0);
  const answer = await new Dataplane(native).listFlows({ service: 'web', backendAddress: 'FD00:99:0::11', backendPort: 80, limit: 7 });
  clearInterval(ticker);
  assert.deepEqual(answer, { flows: [], truncated: false });
  assert.deepEqual(asked, [{ service: 'web', backendAddress: 'fd00:99::11', backendPort: 80, limit: 7 }]);
  assert.ok(ticks >= 2, `other timers ran ${ticks} times while it waited`);
});

test('an lcore that does not answer in time: SLUICE_LCORE_TIMEOUT, and the next listing is still asked', async () => {
  const { native, asked } = lcores(Infinity);
  const dp = new Dataplane(native);
  const started = Date.now();
  await assert.rejects(dp.listFlows({ limit: 1 }, 30), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SLUICE_LCORE_TIMEOUT');
    assert.match(err.message, /did not answer the connection listing within 30 ms/);
    return true;
  });
  assert.ok(Date.now() - started >= 30);
  await assert.rejects(dp.listFlows({ limit: 1 }, 10), { code: 'SLUICE_LCORE_TIMEOUT' });
  assert.equal(asked.length, 2);
});

test('listings run one at a time: the second is asked only once the first is answered', async () => {
  const { native, asked } = lcores(3);
  const dp = new Dataplane(native);
  const order: string[] = [];
  const first = dp.listFlows({ client: '10.0.0.1', limit: 1 }).then(() => order.push(`first answered, ${asked.length} asked`));
  const second = dp.listFlows({ client: '10.0.0.2', limit: 1 }).then(() => order.push(`second answered, ${asked.length} asked`));
  assert.equal(asked.length, 0, 'asked on a later turn, not synchronously');
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first answered, 1 asked', 'second answered, 2 asked']);
  assert.deepEqual(asked.map((r) => r.client), ['10.0.0.1', '10.0.0.2']);
});
