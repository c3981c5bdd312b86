// Runs a build or a sanitized program to completion and fails the test, with the
// sanitizer report in the message, unless it exited 0 and reported nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

// This file runs from dist/test/helpers/, three levels below the repository root.
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

// ASan, LSan and UBSan report lines, and the harnesses' own invariant checks.
const REPORT = /ERROR: (?:Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|invariant violated/;

/**
 * Sanitizer settings under which any report ends the process with an abort, so a
 * report cannot scroll past in a run that still exits 0.
 */
export function sanitizerOptions(detectLeaks: boolean): Record<string, string> {
  const common = 'halt_on_error=1:abort_on_error=1:print_stacktrace=1';
  return {
    ASAN_OPTIONS: `${common}:detect_leaks=${detectLeaks ? 1 : 0}`,
    UBSAN_OPTIONS: common,
  };
}

export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 10 * 60 * 1000): Finished {
  const r = spawnSync(command, args, {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`could not run ${command} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, signal: r.signal, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The sanitizer report in `output` (from a little before its first line), else its last lines. */
export function excerpt(output: string): string {
  const lines = output.split('\n');
  const first = lines.findIndex((l) => REPORT.test(l));
  const start = first >= 0 ? Math.max(0, first - 5) : Math.max(0, lines.length - 60);
  return lines.slice(start, start + 120).join('\n');
}

/** Fails unless `f` exited 0, was not killed, and printed no sanitizer report. */
export function assertClean(f: Finished, what: string): void {
  const failed = f.status !== 0 || f.signal !== null || REPORT.test(f.output);
  // The whole output goes to the log: a sanitizer report needs its stack traces.
  if (failed) process.stdout.write(f.output);
  assert.ok(!failed, `${what}: exit ${f.status}, signal ${f.signal}\n${excerpt(f.output)}`);
}
