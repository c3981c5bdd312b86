// The libFuzzer harnesses of native/fuzz/ (parse, local replies, the whole packet
// path; ASan+UBSan) for a bounded time, on copies of the seed corpus. Any crash,
// hang, leak, sanitizer report or broken invariant fails here, with the report
// and the path of the reproducer. SLUICE_FUZZ_SECONDS changes the time (default 60).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, run } from '../helpers/checked-run';

const seconds = process.env.SLUICE_FUZZ_SECONDS ?? '60';

test(`fuzzers find nothing in ${seconds} s`, () => {
  assertClean(run('bash', ['scripts/build-fuzzers.sh']), 'building the fuzzers');
  const fuzz = run('bash', ['scripts/fuzz.sh', seconds]);
  assertClean(fuzz, `scripts/fuzz.sh ${seconds}`);
  // Each harness ran inputs; the per-harness lines carry libFuzzer's counts.
  const done = [...fuzz.output.matchAll(/^fuzz: (\w+) ok: Done (\d+) runs/gm)];
  assert.deepEqual(done.map((m) => m[1]).sort(), ['local_reply_fuzz', 'packet_path_fuzz', 'parse_fuzz']);
  for (const m of done) assert.ok(Number(m[2]) > 0, `${m[1]} ran no input`);
  console.log(fuzz.output.split('\n').filter((l) => l.startsWith('fuzz: ')).join('\n'));
});
