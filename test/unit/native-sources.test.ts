// The native build lists (scripts/lib/native-sources.sh) are globs per layer
// folder: a source put in a folder no layer globs would silently stay out of the
// addon, and one layer reaching into another's folder would blur the layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const nativeDir = path.join(repoRoot, 'native');
// Built by their own scripts, not linked into the addon.
const notAddon = new Set(['test', 'fuzz', 'bench']);

function list(...names: string[]): { status: number | null; files: string[]; stderr: string } {
  const run = spawnSync('bash', ['scripts/lib/native-sources.sh', ...names], { cwd: repoRoot, encoding: 'utf8' });
  return { status: run.status, files: run.stdout.split('\n').filter(Boolean), stderr: run.stderr };
}

function sourcesUnder(dir: string, suffixes = ['.cc']): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dir === nativeDir && notAddon.has(entry.name)) continue;
      if (entry.name === 'build') continue;
      out.push(...sourcesUnder(full, suffixes));
    } else if (suffixes.some((x) => entry.name.endsWith(x))) {
      out.push(path.relative(repoRoot, full));
    }
  }
  return out;
}

test('the addon links every native source outside test/, fuzz/ and bench/, once', () => {
  const all = list('all');
  assert.equal(all.status, 0, all.stderr);
  assert.equal(new Set(all.files).size, all.files.length, 'a source is listed twice');
  assert.deepEqual([...all.files].sort(), sourcesUnder(nativeDir).sort());
});

test('the narrower lists are subsets of the addon\'s and keep to their layers', () => {
  const all = new Set(list('all').files);
  const unit = list('unit');
  const packetPath = list('packet_path');
  assert.equal(unit.status, 0, unit.stderr);
  assert.equal(packetPath.status, 0, packetPath.stderr);
  for (const f of [...unit.files, ...packetPath.files]) assert.ok(all.has(f), `${f} is not in the addon's list`);
  // Unit tests run without the EAL's threads or N-API: no worker loop, no addon
  // code. Of the worker's files only the connection listing's scan, plain code over the tables.
  assert.deepEqual(unit.files.filter((f) => /^native\/(worker|addon)\//.test(f)), ['native/worker/flow_listing.cc']);
  // The fuzzers and burst_bench link no N-API code, so they build without Node's headers.
  assert.deepEqual(packetPath.files.filter((f) => f.startsWith('native/addon/')), []);
  assert.ok(packetPath.files.includes('native/worker/loop.cc'), 'the packet path holds ProcessBurst');
});

test('no source or header outside native/addon/ includes N-API', () => {
  const offenders = sourcesUnder(nativeDir, ['.cc', '.h'])
    .filter((f) => !f.startsWith('native/addon/'))
    .flatMap((f) => {
      const text = fs.readFileSync(path.join(repoRoot, f), 'utf8');
      return /#include [<"](napi\.h|addon\/)/.test(text) ? [f] : [];
    });
  assert.deepEqual(offenders, []);
});

test('an unknown layer is an error, not an empty list', () => {
  const bad = list('nonsense');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown layer 'nonsense'/);
});
