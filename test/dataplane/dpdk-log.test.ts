// DPDK's own log lines join the daemon's JSON log: with a logger, the Dataplane
// captures DPDK's log stream (rte_openlog_stream) and writes each line as a
// JSON line with its DPDK level and type, and nothing of DPDK's reaches stderr
// as raw text. In a child process: the EAL initialises once per process, and
// what matters is what the process writes on its stdout and stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const dist = path.resolve(__dirname, '../..');

const script = `
const pino = require(${JSON.stringify(require.resolve('pino'))});
const { validateConfig } = require(${JSON.stringify(path.join(dist, 'src/config'))});
const { Dataplane } = require(${JSON.stringify(path.join(dist, 'src/dataplane'))});
const { addon } = require(${JSON.stringify(path.join(dist, 'src/native/addon'))});
const cfg = validateConfig({ eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }] });
const dp = new Dataplane(addon(), pino({ level: 'debug' }).child({ component: 'dpdk' }));
dp.start(cfg, 'dpdk-log-' + process.pid);
setTimeout(() => dp.stop(), 250);
`;

test("DPDK's log lines are JSON lines with their level and type, none raw on stderr", () => {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  // DPDK 22.11's telemetry warns that it made no legacy socket, at every start.
  const telemetry = parsed.find((l) => l.dpdkType === 'TELEMETRY');
  assert.ok(telemetry, `a TELEMETRY line among ${r.stdout}`);
  assert.equal(telemetry.component, 'dpdk');
  assert.equal(telemetry.dpdkLevel, 5, "DPDK's WARNING");
  assert.equal(telemetry.level, 40, "pino's warn");
  assert.equal(telemetry.msg, 'No legacy callbacks, legacy socket not created', 'the type prefix is a field, not text');
  for (const l of parsed.filter((x) => x.dpdkLevel !== undefined)) {
    assert.equal(typeof l.dpdkType, 'string');
    assert.ok(typeof l.msg === 'string' && l.msg.length > 0);
  }
  assert.doesNotMatch(r.stderr, /TELEMETRY|EAL:/, 'no raw DPDK text on stderr');
});
