// The dashboard's one sampler (src/api/dashboard-stream.ts): it builds once per
// interval however many streams are open, sends every stream the same bytes,
// gives a stream that opens between two builds the last one at once, stops
// when the last stream closes, refuses one beyond its cap with a coded error,
// and keeps streams alive through a failed build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotHub } from '../../src/api/dashboard-stream';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTERVAL = 40;

function hub(build: () => unknown = () => ({ n: 1 }), max = 32) {
  let builds = 0;
  const errors: unknown[] = [];
  const h = new SnapshotHub(() => { builds++; return build(); }, (e) => errors.push(e), INTERVAL, max);
  return { h, builds: () => builds, errors };
}

test('ten streams cost the builds one does, and get the same frames', async () => {
  const one = hub();
  const close1 = one.h.open(() => {});
  await sleep(INTERVAL * 5.5);
  close1();

  const ten = hub();
  const got: string[][] = Array.from({ length: 10 }, () => []);
  const closes = got.map((frames) => ten.h.open((f) => frames.push(f)));
  await sleep(INTERVAL * 5.5);
  closes.forEach((c) => c());

  assert.ok(Math.abs(one.builds() - ten.builds()) <= 1, `1 stream: ${one.builds()} builds, 10: ${ten.builds()}`);
  assert.ok(ten.builds() >= 5 && ten.builds() <= 7, `${ten.builds()} builds`);
  for (const frames of got) assert.deepEqual(frames, got[0]);
  assert.equal(got[0][0], 'data: {"n":1}\n\n');
});

test('a stream opened between builds gets the last frame at once, without a build', async () => {
  const { h, builds } = hub();
  const close1 = h.open(() => {});
  assert.equal(builds(), 1, 'the first stream starts the sampler with a build');
  const frames: string[] = [];
  const close2 = h.open((f) => frames.push(f));
  assert.equal(builds(), 1);
  assert.deepEqual(frames, ['data: {"n":1}\n\n']);
  close1();
  close2();
});

test('no stream open: no build', async () => {
  const { h, builds } = hub();
  const close = h.open(() => {});
  close();
  const after = builds();
  await sleep(INTERVAL * 4);
  assert.equal(builds(), after);
  assert.equal(h.size, 0);
});

test('one stream beyond the cap is refused with SLUICE_RESOURCE_EXHAUSTED; a closed one makes room', () => {
  const { h } = hub(undefined, 3);
  const closes = [h.open(() => {}), h.open(() => {}), h.open(() => {})];
  assert.throws(() => h.open(() => {}), (e: Error & { code?: string }) => e.code === 'SLUICE_RESOURCE_EXHAUSTED' && /3 dashboard streams/.test(e.message));
  closes[0]();
  const again = h.open(() => {});
  assert.equal(h.size, 3);
  again();
  closes.slice(1).forEach((c) => c());
});

test('a failed build is reported and sends a comment that keeps the streams open', async () => {
  let fail = true;
  const { h, errors } = hub(() => { if (fail) throw new Error('boom'); return { ok: true }; });
  const frames: string[] = [];
  const close = h.open((f) => frames.push(f));
  assert.equal(errors.length, 1);
  assert.match(frames[0], /^: snapshot failed/);
  fail = false;
  await sleep(INTERVAL * 1.5);
  assert.ok(frames.includes('data: {"ok":true}\n\n'), JSON.stringify(frames));
  close();
});
