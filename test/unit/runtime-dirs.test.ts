// Stale EAL runtime directories of dead Sluice processes are removed; live ones
// and other programs' directories are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';

test('only directories of dead Sluice processes are removed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rtdirs-'));
  try {
    // A pid that surely ended: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const names = [`sluice-${dead}`, `sluice-api-${dead}`, `sluice-${process.pid}`, `sluice-test-${process.pid}`, 'rte', 'sluice-nopid', 'other-123'];
    for (const n of names) {
      fs.mkdirSync(path.join(root, n));
      fs.writeFileSync(path.join(root, n, 'dpdk_telemetry.v2'), '');
    }
    assert.deepEqual(removeStaleRuntimeDirs(root).sort(), [`sluice-${dead}`, `sluice-api-${dead}`].sort());
    assert.deepEqual(fs.readdirSync(root).sort(), names.filter((n) => !n.includes(String(dead))).sort());
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a missing root is not an error', () => {
  assert.deepEqual(removeStaleRuntimeDirs('/nonexistent/sluice-test-root'), []);
});
