// The daemon's node flags (src/node-flags.ts): this node takes them, and
// `npm start`, which cannot import the list, passes the same ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../src/node-flags';

test('this node takes every flag the daemon is run with (a flag it refuses would stop the daemon starting)', () => {
  const r = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('npm start runs the demo with the daemon\'s node flags', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${DAEMON_NODE_FLAGS.join(' ')} dist/tools/demo.js`);
});
