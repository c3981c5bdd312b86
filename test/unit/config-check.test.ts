// `sluice check` and what it rests on: every problem in one pass (the schema's
// and the rules' on what is well-formed, with no rule problem for a field that
// failed the schema), "did you mean" for unknown fields, the state file run
// would restore, the diff of two service sets and the fields only a restart
// changes; and the CLI's exit codes and lines.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { checkFile } from '../../src/cli/check';
import { validateConfig, type ServiceConfig } from '../../src/config';
import { diffServices, restartFields } from '../../src/config/diff';
import { checkConfig } from '../../src/config/load';
import { closestName, editDistance } from '../../src/config/schema-errors';
import type { SluiceError } from '../../src/errors';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-check-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = (): Raw => ({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
  services: [
    { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }] },
    { name: 'dns', vip: '10.99.0.101', port: 53, protocol: 'udp', backends: [{ address: '10.99.0.21', port: 53 }] },
  ],
});

describe('did you mean', () => {
  test('edit distance, case-insensitive', () => {
    assert.equal(editDistance('weight', 'wieght'), 2);
    assert.equal(editDistance('mtu', 'mtuu'), 1);
    assert.equal(editDistance('Port', 'port'), 0);
    assert.equal(editDistance('abc', 'xyzxyz', 2), 3, 'stops early past the bound');
  });

  test('the closest known name, only when close', () => {
    const known = ['address', 'port', 'weight', 'state', 'mac', 'healthCheck'];
    assert.equal(closestName('wieght', known), 'weight');
    assert.equal(closestName('adress', known), 'address');
    assert.equal(closestName('healthcheck', known), 'healthCheck');
    assert.equal(closestName('host', known), undefined, 'host is not a slip of port');
    assert.equal(closestName('colour', known), undefined);
    assert.equal(closestName('x'.repeat(200), known), undefined);
  });

  test('unknown fields name the closest field of their own object', () => {
    const raw = base();
    raw.ports[0].mtuu = 1500;
    raw.services[0].backends[1].wieght = 5;
    raw.flowTable = { entriesPerLcor: 4096 };
    raw.colour = 'red';
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    assert.deepEqual([...checkConfig(raw).problems].sort(byPath), [
      { path: 'colour', reason: 'unknown field' },
      { path: 'flowTable.entriesPerLcor', reason: 'unknown field; did you mean "entriesPerLcore"?' },
      { path: 'ports[0].mtuu', reason: 'unknown field; did you mean "mtu"?' },
      { path: 'services[0].backends[1].wieght', reason: 'unknown field; did you mean "weight"?' },
    ]);
  });

  test('a renamed field still says what it was renamed to', () => {
    const raw = base();
    raw.services[0].maglevTableSize = 65537;
    assert.deepEqual(checkConfig(raw).problems, [{ path: 'services[0].maglevTableSize', reason: 'was renamed to lookupTableSize' }]);
  });
});

describe('every problem in one pass', () => {
  test('schema and rule problems together (validateConfig used to stop at the schema)', () => {
    const raw = base();
    raw.ports[0].mtu = 99999;                 // schema
    raw.services[1].vip = '10.99.0.2';        // rule: the port's own address
    const r = checkConfig(raw);
    assert.deepEqual(r.problems, [
      { path: 'ports[0].mtu', reason: 'must be <= 9600' },
      { path: 'services[1].vip', reason: '10.99.0.2 is the own address of ports[0] (p0); a VIP must be a separate address' },
    ]);
    assert.equal(r.schemaCount, 1);
    assert.equal(r.rulesChecked, true);
    assert.throws(() => validateConfig(raw), (err: SluiceError) => {
      assert.equal(err.code, 'SLUICE_CONFIG_INVALID');
      assert.deepEqual(err.details, r.problems);
      assert.equal(err.message, 'ports[0].mtu: must be <= 9600\nservices[1].vip: 10.99.0.2 is the own address of ports[0] (p0); a VIP must be a separate address');
      return true;
    });
  });

  test('no rule problem for a field that failed the schema', () => {
    const raw = base();
    raw.services[0].backends[0].port = 'http';      // dsr: a rule would say "must equal the service port"
    raw.services[1].vip = 12;                        // the whole service is left out of the rules
    raw.services.push({ name: 'dup', vip: '10.99.0.100', port: 80, backends: [] }); // rule: web's listener
    assert.deepEqual(checkConfig(raw).problems, [
      { path: 'services[0].backends[0].port', reason: 'must be an integer' },
      { path: 'services[1].vip', reason: 'must be a string' },
      { path: 'services[2]', reason: checkConfig(raw).problems[2].reason },
    ]);
    assert.match(checkConfig(raw).problems[2].reason, /10\.99\.0\.100:80\/tcp|web/);
  });

  test('paths keep the file\'s numbering when a service or backend before them is left out', () => {
    const raw = base();
    raw.services[0].backends[0].address = 7;        // backend 0 left out
    raw.services[0].backends[1].address = '10.99.0.2'; // rule: the port's own address, at backends[1]
    raw.services.unshift({ name: 'bad', port: 80 }); // no vip: left out, the others move up
    const problems = checkConfig(raw).problems;
    assert.deepEqual(problems.map((p) => p.path), ['services[0].vip', 'services[1].backends[0].address', 'services[1].backends[1].address']);
  });

  test('a port, worker or eal.lcores too broken to stand in for: the rules wait', () => {
    const raw = base();
    raw.ports[0].address = 5;
    raw.services[1].vip = '10.99.0.2';
    const r = checkConfig(raw);
    assert.deepEqual(r.problems, [{ path: 'ports[0].address', reason: 'must be a string' }]);
    assert.equal(r.rulesChecked, false);
  });

  test('a valid config: no problems, the config with its defaults', () => {
    const r = checkConfig(base());
    assert.deepEqual(r.problems, []);
    assert.equal(r.config?.services[0].lookupTableSize, 65537);
  });
});

describe('diffs', () => {
  const cfg = validateConfig(base());
  const [web, dns] = cfg.services;

  test('services by name, backends by address:port', () => {
    const after: ServiceConfig[] = [
      { ...web, vip: '10.99.0.110', backends: [{ ...web.backends[1], weight: 1 }, { ...web.backends[0], address: '10.99.0.13' }] },
      { ...dns, name: 'dns2' },
    ];
    assert.deepEqual(diffServices(cfg.services, after), {
      added: ['dns2'],
      removed: ['dns'],
      changed: [{ name: 'web', fields: ['vip'], backends: { added: ['10.99.0.13:80'], removed: ['10.99.0.11:80'], changed: ['10.99.0.12:80'] } }],
      unchanged: 0,
    });
    assert.deepEqual(diffServices(cfg.services, cfg.services.map((s) => structuredClone(s))),
      { added: [], removed: [], changed: [], unchanged: 2 });
  });

  test('fields outside services, as paths', () => {
    const next = validateConfig({ ...base(), flowTable: { entriesPerLcore: 4096 }, ports: [{ ...base().ports[0], mtu: 9000 }],
      services: [] });
    assert.deepEqual(restartFields(cfg, next), ['ports[0].mtu', 'flowTable.entriesPerLcore']);
    assert.deepEqual(restartFields(cfg, validateConfig({ ...base(), services: [] })), []);
    assert.deepEqual(restartFields(cfg, validateConfig({ ...base(), stateFile: '/x' })), ['stateFile']);
  });
});

describe('sluice check', () => {
  let k = 0;
  const write = (raw: Raw | string) => {
    const file = path.join(dir, `c${k++}.yaml`);
    fs.writeFileSync(file, typeof raw === 'string' ? raw : stringify(raw));
    return file;
  };
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  test('valid: exit 0 and one summary line; without a state file run uses the config\'s services', () => {
    const raw: Raw = { ...base(), stateFile: path.join(dir, "none", "state.json") };
    const file = write(raw);
    const r = cli('check', '--config', file);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `${file}: valid: 1 port, 2 services, 3 backends; sluice run would use the config file's services ` +
      `(no state file at ${raw.stateFile} yet)\n`);
  });

  test('invalid: exit 1, each problem `path: reason` on its own line, --json the structured list', () => {
    const raw = base();
    raw.ports[0].mtuu = 1;
    raw.services[1].vip = '10.99.0.2';
    const file = write(raw);
    const r = cli('check', '--config', file);
    assert.equal(r.status, 1);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'ports[0].mtuu: unknown field; did you mean "mtu"?',
      'services[1].vip: 10.99.0.2 is the own address of ports[0] (p0); a VIP must be a separate address',
      `${file}: invalid: 2 problems`,
    ]);
    const j = cli('check', '--json', '--config', file);
    assert.equal(j.status, 1);
    const report = JSON.parse(j.stdout) as { valid: boolean; problems: { path: string; kind: string }[] };
    assert.equal(report.valid, false);
    assert.deepEqual(report.problems.map((p) => [p.path, p.kind]), [['ports[0].mtuu', 'schema'], ['services[1].vip', 'rule']]);
  });

  test('a file that cannot be parsed is one problem, exit 1', () => {
    const r = cli('check', '--config', write('ports: [\n'));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^config: .*line \d+/m);
  });

  test('run --check checks and exits without starting anything', () => {
    const raw = base();
    raw.services[0].vip = 'nope';
    const r = cli('run', '--check', '--config', write(raw));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /services\[0\]\.vip: "nope" must be an IPv4 or IPv6 address/);
    assert.doesNotMatch(r.stdout + r.stderr, /EAL|sluice running/);
    assert.equal(cli('run', '--check', '--config', write(base())).status, 0);
  });

  test('the state file run would restore: used and how it differs, or its problems', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'state-'));
    const stateFile = path.join(sub, 'state.json');
    const raw: Raw = { ...base(), stateFile };
    const file = write(raw);
    const saved = structuredClone(raw.services);
    saved[0].backends.push({ address: '10.99.0.13', port: 80 });
    saved.pop();
    fs.writeFileSync(stateFile, JSON.stringify({ version: 1, savedAt: 'x', services: saved }));
    let report = checkFile(file);
    assert.equal(report.valid, true);
    assert.equal(report.state?.uses, 'stateFile');
    assert.deepEqual(report.state?.diff?.removed, ['dns']);
    assert.deepEqual(report.state?.diff?.changed.map((c) => c.backends.added), [['10.99.0.13:80']]);
    const r = cli('check', '--config', file);
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`would use the state file ${stateFile} \\(1 service, 3 backends; differs from the config file: ` +
      '1 removed \\(dns\\), 1 changed \\(web\\), 0 unchanged\\)'));

    saved[0].vip = '10.99.0.2';
    fs.writeFileSync(stateFile, JSON.stringify({ version: 1, savedAt: 'x', services: saved }));
    report = checkFile(file);
    assert.equal(report.valid, false);
    assert.deepEqual(report.problems.map((p) => [p.path, p.kind]), [['stateFile:services.web.vip', 'state']]);
    fs.writeFileSync(stateFile, '{');
    report = checkFile(file);
    assert.deepEqual(report.problems.map((p) => p.path), ['stateFile']);
    assert.match(report.problems[0].reason, /not JSON/);
  });
});
