// What the demo tests (demo.test.ts, tier-demo.test.ts) share: `npm start`
// (tools/demo.js) as a child whose output is collected, and the sluice-*
// namespaces and interfaces left after it.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const DEMO = path.join(__dirname, '..', '..', 'tools', 'demo.js');
const children: ChildProcess[] = [];

/** SIGKILLs every demo runDemo() started that still runs (for an `after` hook). */
export function killDemos(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export interface DemoRun {
  child: ChildProcess;
  /** resolves with the exit code */
  exited: Promise<number | null>;
  /** until the output holds `text`; throws with the output after `ms` or once the demo exited */
  waitFor(text: string, ms: number): Promise<void>;
  output(): string;
}

/** `npm start -- ...args`. */
export function runDemo(args: string[]): DemoRun {
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (text: string, ms: number) => {
    const deadline = Date.now() + ms;
    while (!out.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no "${text}" within ${ms} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, waitFor, output: () => out };
}

/** The namespaces whose names `match`. */
export function namespaces(match: (name: string) => boolean): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n !== '' && match(n));
}

/** The namespaces and the root namespace's interfaces whose names `match`. */
export function leftovers(match: (name: string) => boolean): string[] {
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0]).filter((n) => n !== undefined && match(n));
  return [...namespaces(match), ...links];
}

/** `times` curls of `url` from sluice-client, each of which must succeed; the distinct answers. */
export function curlFromClient(url: string, times: number): Set<string> {
  const answers = new Set<string>();
  for (let i = 0; i < times; i++) {
    const r = spawnSync('ip', ['netns', 'exec', 'sluice-client', 'curl', '-s', '--max-time', '5', url], { encoding: 'utf8' });
    assert.equal(r.status, 0, `curl ${i}: ${r.stderr}`);
    answers.add(r.stdout.trim());
  }
  return answers;
}
