// Runs the EAL-free native unit tests (doctest: parser, lookup tables, local replies)
// as part of the TypeScript suite, so `npm test` cannot pass while they fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// This file runs from dist/test/unit/, three levels below the repository root.
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const binary = path.join(repoRoot, 'native', 'test', 'build', 'sluice-native-tests');

// doctest's closing line, e.g. "[doctest] test cases: 34 | 34 passed | 0 failed | 0 skipped".
const summaryPattern = /\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed/;

test('native unit tests pass', () => {
  // A missing binary fails rather than skips: a skipped suite reads as green.
  assert.ok(
    existsSync(binary),
    `native unit test binary not found at ${binary}; run: bash scripts/build-native-tests.sh`,
  );

  const run = spawnSync(binary, ['--no-colors=true'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 5 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.stdout) process.stdout.write(run.stdout);
  if (run.stderr) process.stderr.write(run.stderr);

  assert.equal(run.error, undefined, `could not run ${binary}: ${run.error?.message}`);
  assert.equal(run.signal, null, `${binary} was killed by ${run.signal}`);
  assert.equal(run.status, 0, `${binary} exited with status ${run.status}`);

  const summary = summaryPattern.exec(run.stdout);
  assert.ok(summary, 'no doctest summary line in the output');
  const passed = Number(summary[2]);
  const failed = Number(summary[3]);
  assert.equal(failed, 0, `${failed} native test case(s) failed`);
  assert.ok(passed > 0, 'doctest reported no passing test cases');
});
