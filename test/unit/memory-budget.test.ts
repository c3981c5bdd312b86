// The memory budget (src/config/memory.ts): lookup tables, flow tables and nat
// sessions computed from the config and held to its `limits` before anything
// is allocated, refused as SLUICE_LIMIT_EXCEEDED naming the limit; the defaults
// hold what the defaults need at the schema's maxima.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, SluiceError, type ConfigProblem } from '../../src/errors';
import { estimateMemory, loadConfigFile, MIB, toNativeStart, validateConfig } from '../../src/config';
import { flowTable6Bytes, flowTableBytes, fragmentTableBytes, ipv6FlowEntries, natSessionBytes } from '../../src/config/memory';
import { LIMIT_DEFAULTS } from '../../src/config/schema';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;

const MAX_SLOTS = 16777259;

/** `workers` worker lcores, `services` services of `slots` slots each. */
function config(o: { workers?: number; services?: number; slots?: number; address6?: boolean; pool?: string } = {}): Raw {
  const workers = o.workers ?? 1;
  return {
    eal: { lcores: workers === 1 ? '0@0,1@1' : `0@0,(1-${workers})@1` },
    ports: [{
      name: 'eth0', device: 'net_null0', address: '10.0.0.2/16',
      ...(o.address6 ? { address6: 'fd00:99::2/64' } : {}),
      ...(o.pool === undefined ? {} : { natPool: { addresses: [o.pool] } }),
    }],
    services: Array.from({ length: o.services ?? 1 }, (_, i) => ({
      name: `s${i}`, vip: `10.${1 + (i >> 8)}.${i & 255}.1`, port: 80, ...(o.slots === undefined ? {} : { lookupTableSize: o.slots }),
      backends: [{ address: '10.0.0.11', port: 80 }],
    })),
  };
}

function limitProblems(raw: unknown): ConfigProblem[] {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof SluiceError, String(err));
    assert.equal(err.code, 'SLUICE_LIMIT_EXCEEDED', err.message);
    return err.details as ConfigProblem[];
  }
  return assert.fail('expected SLUICE_LIMIT_EXCEEDED, the config was accepted');
}

describe('the memory budget', () => {
  test('SLUICE_LIMIT_EXCEEDED is a 4xx in the registry', () => {
    assert.equal(ErrorCodes.SLUICE_LIMIT_EXCEEDED.status, 409);
  });

  test('limits default to 512, 4096 and 5120 MiB and reach the addon in bytes', () => {
    const cfg = validateConfig(config());
    assert.deepEqual(cfg.limits, { lookupTablesMb: 512, flowTablesMb: 4096, natSessionsMb: 5120 });
    assert.deepEqual(cfg.limits, LIMIT_DEFAULTS);
    assert.deepEqual(toNativeStart(cfg, 't').limits,
      { lookupTableBytes: 512 * MIB, flowTableBytes: 4096 * MIB, natSessionBytes: 5120 * MIB });
  });

  test('the limits are checked by the schema: whole MiB from 1, no unknown fields', () => {
    for (const [change, path, reason] of [
      [{ lookupTablesMb: 0 }, 'limits.lookupTablesMb', 'must be >= 1'],
      [{ flowTablesMb: 1.5 }, 'limits.flowTablesMb', 'must be an integer'],
      [{ lookupTableMb: 1 }, 'limits.lookupTableMb', 'unknown field; did you mean "lookupTablesMb"?'],
    ] as const) {
      assert.throws(() => validateConfig({ ...config(), limits: change }), (err: SluiceError) => {
        assert.equal(err.code, 'SLUICE_CONFIG_INVALID');
        assert.deepEqual(err.details, [{ path, reason }]);
        return true;
      });
    }
  });

  test('the defaults hold what the defaults need at the maxima: 1,024 services, 64 lcores with IPv6, a full nat pool', () => {
    // 4094 pool addresses of 64512 ports each: more than 1,048,576 sessions for each of 64 lcores.
    const cfg = validateConfig(config({ workers: 64, services: 1024, address6: true, pool: '10.0.16.0/20' }));
    const e = estimateMemory(cfg);
    assert.equal(e.lookupTables.bytes, 1024 * 65537 * 4);
    assert.equal(e.lookupTables.reserveBytes, 65537 * 4);
    assert.equal(e.lcores.length, 64);
    assert.equal(e.flowTablesBytes, 64 * (flowTableBytes(1048576) + flowTable6Bytes(262144) + fragmentTableBytes(4096)));
    assert.equal(e.natSessionsBytes, 64 * (natSessionBytes(1048576, 4) + natSessionBytes(0, 6)));
    assert.ok(e.lookupTables.bytes + e.lookupTables.reserveBytes <= 512 * MIB);
    assert.ok(e.flowTablesBytes <= 4096 * MIB, `${e.flowTablesBytes / MIB} MiB`);
    assert.ok(e.natSessionsBytes <= 5120 * MIB, `${e.natSessionsBytes / MIB} MiB`);
  });

  test('the fragment tables count with the flow tables, and not when fragments are off', () => {
    const on = validateConfig(config({ workers: 2 }));
    const off = validateConfig({ ...config({ workers: 2 }), fragments: { enabled: false } });
    assert.equal(estimateMemory(on).flowTablesBytes - estimateMemory(off).flowTablesBytes, 2 * fragmentTableBytes(4096));
    assert.deepEqual(estimateMemory(off).lcores.map((l) => l.fragmentTableBytes), [0, 0]);
    const big = { ...config({ workers: 2 }), fragments: { entriesPerLcore: 1048576 }, limits: { flowTablesMb: 300 } };
    assert.deepEqual(limitProblems(big).map((p) => p.path), ['limits.flowTablesMb']);
    assert.match(limitProblems(big)[0].reason, /for fragments\.entriesPerLcore 1048576/);
  });

  test('sizes are the native allocations (FlowTable, FlowTable6 and NatSessionTable::MemoryBytes)', () => {
    // 128 + 445645 one-line buckets of 4 (1,782,579 slots at 70% slack) + each slot's
    // opening time (4 bytes) and service id (2 bytes), each array rounded up to 64 bytes
    assert.equal(flowTableBytes(1048576), 128 + 445645 * 64 + 7130368 + 3565184);
    assert.equal(flowTableBytes(1024), 128 + 435 * 64 + 6976 + 3520);
    assert.equal(flowTableBytes(1000), 37632);  // 425 buckets: 6,800 and 3,400 bytes rounded up to 6,848 and 3,456
    assert.equal(ipv6FlowEntries(1048576), 262144);
    assert.equal(ipv6FlowEntries(1024), 1024);
    // 128 + 139810 two-line buckets of 3 (419,430 slots at 60% slack) + each slot's
    // opening time (4 bytes) and service id (2 bytes), each array rounded up to 64 bytes
    assert.equal(flowTable6Bytes(262144), 128 + 139810 * 128 + 1677760 + 838912);
    assert.equal(flowTable6Bytes(1024), 128 + 546 * 128 + 6592 + 3328);
    // a 72-byte header in a 128-byte line, 128-byte entries and 24-byte held slots, as many as entries (a power of two, at least 8)
    assert.equal(fragmentTableBytes(4096), 128 + 4096 * 128 + 4096 * 24);
    assert.equal(fragmentTableBytes(1000), 128 + 1024 * 128 + 1024 * 24);
    assert.equal(fragmentTableBytes(1), 128 + 8 * 128 + 192);
    assert.equal(natSessionBytes(1000, 4), 67272);
    assert.equal(natSessionBytes(1000, 6), 115272);
  });

  test('nat sessions: each lcore gets its share of the pool\'s pairs, at most entriesPerLcore per pool', () => {
    const raw = config({ workers: 3, pool: '10.0.3.0/30' });  // 2 addresses
    raw.ports[0].natPool.portRange = [1024, 1033];  // 10 ports, p % 3: worker 0 gets 1026, 1029, 1032; 1 four; 2 three
    const e = estimateMemory(validateConfig(raw));
    assert.deepEqual(e.lcores.map((l) => l.natSessionBytes), [6, 8, 6].map((n) => natSessionBytes(n, 4)));
    raw.flowTable = { entriesPerLcore: 1024 };
    raw.ports[0].natPool = { addresses: ['10.0.4.0/22'] };  // 1022 addresses x 21504 ports each, capped
    assert.ok(estimateMemory(validateConfig(raw)).lcores.every((l) => l.natSessionBytes === natSessionBytes(1024, 4)));
  });

  test('lookup tables: six tables of 16,777,259 slots fit the default 512 MiB with room for a rebuild; a seventh is refused', () => {
    // 16,777,259 slots are 4 x 43 bytes more than 64 MiB: seven and a rebuild are just over 512 MiB.
    assert.equal(validateConfig(config({ services: 6, slots: MAX_SLOTS })).services.length, 6);
    const problems = limitProblems(config({ services: 7, slots: MAX_SLOTS }));
    assert.deepEqual(problems.map((p) => p.path), ['limits.lookupTablesMb']);
    assert.equal(problems[0].reason, 'the lookup tables (4 bytes a slot: 7 services 448.01 MiB, and 64.01 MiB to rebuild ' +
      'the largest, "s0" of 16777259 slots, during a change) need 512.01 MiB, more than the limit of 512 MiB');
  });

  test('lookup tables: a single 16,777,259-slot table needs twice its size (it and its rebuild)', () => {
    const one = config({ slots: MAX_SLOTS });
    assert.deepEqual(limitProblems({ ...one, limits: { lookupTablesMb: 128 } }).map((p) => p.path), ['limits.lookupTablesMb']);
    assert.equal(validateConfig({ ...one, limits: { lookupTablesMb: 129 } }).services[0].lookupTableSize, MAX_SLOTS);
  });

  test('flow tables: 2 lcores of 67,108,864 flows (2.3 GiB each) are refused by the default 4096 MiB, named', () => {
    const raw = { ...config({ workers: 2 }), flowTable: { entriesPerLcore: 67108864 } };
    const [p] = limitProblems(raw);
    assert.equal(p.path, 'limits.flowTablesMb');
    assert.match(p.reason, /^the flow tables \(2 worker lcores × 2393\.61 MiB for flowTable\.entriesPerLcore 67108864, and 0\.60 MiB for fragments\.entriesPerLcore 4096\) need 4788\.39 MiB, more than the limit of 4096 MiB$/);
    assert.equal(validateConfig({ ...raw, limits: { flowTablesMb: 4866 } }).flowTable.entriesPerLcore, 67108864);
  });

  test('nat sessions beyond natSessionsMb are refused, named', () => {
    const raw = { ...config({ workers: 2, pool: '10.0.16.0/20' }), limits: { natSessionsMb: 100 } };
    const [p] = limitProblems(raw);
    assert.equal(p.path, 'limits.natSessionsMb');
    assert.match(p.reason, /^the nat session tables \(2 worker lcores, .*\) need 133\.\d\d MiB, more than the limit of 100 MiB$/);
  });

  test('every limit exceeded is listed at once; other problems come first and alone', () => {
    const raw = { ...config({ services: 2, slots: MAX_SLOTS, pool: '10.0.16.0/20' }), limits: { lookupTablesMb: 1, natSessionsMb: 1, flowTablesMb: 1 } };
    assert.deepEqual(limitProblems(raw).map((p) => p.path), ['limits.lookupTablesMb', 'limits.flowTablesMb', 'limits.natSessionsMb']);
    raw.services[1].port = 70000;
    assert.throws(() => validateConfig(raw), { code: 'SLUICE_CONFIG_INVALID' });
  });

  test('a config file over a limit is refused at load, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-budget-'));
    try {
      const file = join(dir, 'big.yaml');
      writeFileSync(file, [
        'eal: { lcores: "0@0,1@1" }',
        'ports: [{ name: eth0, device: net_null0, address: 10.0.0.2/16 }]',
        'limits: { lookupTablesMb: 64 }',
        'services:',
        '  - { name: big, vip: 10.1.0.1, port: 80, lookupTableSize: 16777259 }',
      ].join('\n'));
      assert.throws(() => loadConfigFile(file), (err: SluiceError) => {
        assert.equal(err.code, 'SLUICE_LIMIT_EXCEEDED');
        assert.match(err.message, /^limits\.lookupTablesMb: the lookup tables .*"big" of 16777259 slots.* need 128\.01 MiB, more than the limit of 64 MiB$/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
