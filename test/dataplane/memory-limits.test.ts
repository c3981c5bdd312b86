// The addon's own check of the flow-table and nat-session limits it is given:
// a start whose tables would need one byte more than the limit is refused with
// SLUICE_LIMIT_EXCEEDED naming it, before they are allocated; at exactly the
// bytes the TypeScript budget computes (src/config/memory.ts), it starts. So
// the two agree to the byte. Each start is its own process: the EAL
// initialises once per process.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { estimateMemory, toNativeStart, validateConfig } from '../../src/config';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import type { NativeLimits, NativeStartConfig } from '../../src/native/types';

const ADDON = path.join(__dirname, '..', '..', 'src', 'native', 'addon.js');

const cfg = validateConfig({
  eal: { lcores: '0@0,1@1,2@1', hugepages: false, memoryMb: 512 },
  ports: [{
    name: 'p0', device: 'ring', queues: 2, address: '10.99.0.2/24', address6: 'fd00:99::2/64',
    natPool: { addresses: ['10.99.0.240/29'], addresses6: ['fd00:99::1:0/125'] },
  }],
  flowTable: { entriesPerLcore: 65536 },
});
const budget = estimateMemory(cfg);

/** Starts the addon in a child process with these limits; its error, or 'started'. */
function startWith(limits: Partial<NativeLimits>): { code?: string; message?: string } | 'started' {
  const start: NativeStartConfig = toNativeStart(cfg, `limits-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  start.limits = { ...start.limits, ...limits };
  const script = `
    const { addon } = require(${JSON.stringify(ADDON)});
    try { addon().start(JSON.parse(process.argv[1])); addon().stop(); console.log(JSON.stringify('started')); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(start)], { encoding: 'utf8', timeout: 60000 });
  removeStaleRuntimeDirs();
  const last = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(last.startsWith('"') || last.startsWith('{'), `child said: ${r.stdout}${r.stderr}`);
  return JSON.parse(last);
}

describe('the addon refuses to allocate beyond the limits it was given', () => {
  test('flow tables: one byte short of what the budget computes is refused, naming limits.flowTablesMb', () => {
    assert.ok(budget.lcores.every((l) => l.flowTable6Bytes > 0), 'IPv6 tables count too');
    const r = startWith({ flowTableBytes: budget.flowTablesBytes - 1 });
    assert.deepEqual(r, { code: 'SLUICE_LIMIT_EXCEEDED', message: `the flow tables of 2 workers would take ${budget.flowTablesBytes} ` +
      `bytes, beyond their limit of ${budget.flowTablesBytes - 1} bytes (limits.flowTablesMb)` });
  });

  test('nat sessions: one byte short is refused, naming limits.natSessionsMb', () => {
    const r = startWith({ natSessionBytes: budget.natSessionsBytes - 1 });
    assert.deepEqual(r, { code: 'SLUICE_LIMIT_EXCEEDED', message: `the nat session tables of 2 workers would take ` +
      `${budget.natSessionsBytes} bytes, beyond their limit of ${budget.natSessionsBytes - 1} bytes (limits.natSessionsMb)` });
  });

  test('exactly what the budget computes starts', () => {
    assert.equal(startWith({ flowTableBytes: budget.flowTablesBytes, natSessionBytes: budget.natSessionsBytes }), 'started');
  });
});
