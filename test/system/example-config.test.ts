// config/example.yaml, as shipped and as scripts/install.sh copies it to
// /etc/sluice/config.yaml: it validates, and the daemon run on it receives
// nothing and leaves its worker lcore idle (net_null with no-rx=1, not the
// endless frames of a plain net_null). It also starts with no more
// capabilities than the systemd unit's bounding set.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../../src/config';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { runDaemonFile } from '../helpers/daemon-process';

const CHECKOUT = path.join(__dirname, '..', '..', '..');
const EXAMPLE = path.join(CHECKOUT, 'config', 'example.yaml');
const UNIT = path.join(CHECKOUT, 'packaging', 'systemd', 'sluice.service');
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Lcore {
  lcore: number;
  rxPackets: number;
  busyRatio: number;
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-example-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  removeStaleRuntimeDirs();
});

/** The example as shipped, but on a free API port and with its state in the test's directory. */
function exampleCopy(): string {
  const cfg = parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
  cfg.api = { listen: '127.0.0.1:0' };
  cfg.stateFile = path.join(dir, `state-${Math.random().toString(36).slice(2)}.json`);
  const file = path.join(dir, `example-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, stringify(cfg));
  return file;
}

/** `sluice run` on a copy of the example, through `prefix` (a command that execs the rest) if given. */
const startExample = (prefix: string[] = []) => runDaemonFile(exampleCopy(), { prefix });

/** CPU seconds used so far by each of the process's threads, by thread name. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Fields after the name: state is the 3rd field, utime the 14th, stime the 15th.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${name}/${tid}`, (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

describe('config/example.yaml', () => {
  test('validates through the config loader, on a net_null port that receives nothing', () => {
    const cfg = loadConfigFile(EXAMPLE);
    assert.equal(cfg.ports.length, 1);
    assert.equal(cfg.ports[0].device, 'net_null0,no-rx=1');
    assert.equal(cfg.api.listen, '127.0.0.1:9090');
    assert.equal(cfg.stateFile, '/var/lib/sluice/state.json', 'the systemd unit lets it write only /var/lib/sluice');
    assert.equal(cfg.services.length, 1);
  });

  test('the daemon on it receives nothing and its worker lcore stays idle', async (t) => {
    const d = await startExample();
    try {
      const lcores = async () => (await (await fetch(`${d.url}/api/v1/lcores`)).json()) as Lcore[];
      const worker = [...threadCpu(d.child.pid!).keys()].find((k) => k.startsWith('rte-worker-'));
      assert.ok(worker, `a worker thread: ${[...threadCpu(d.child.pid!).keys()].join(', ')}`);
      const cpu0 = threadCpu(d.child.pid!).get(worker)!;
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const cpu1 = threadCpu(d.child.pid!).get(worker)!;
      const share = (cpu1 - cpu0) / ((Date.now() - t0) / 1000);
      const ls = await lcores();
      t.diagnostic(`lcores ${JSON.stringify(ls)}; ${worker} used ${(share * 100).toFixed(1)}% of a CPU`);
      assert.equal(ls.length, 1);
      for (const l of ls) {
        assert.equal(l.rxPackets, 0, `lcore ${l.lcore} received nothing`);
        assert.ok(l.busyRatio < 0.05, `lcore ${l.lcore} busy ratio ${l.busyRatio}`);
      }
      // A worker spinning on frames takes its whole CPU (or all it is given on
      // a busy machine); an idle one wakes every 100 µs at most, a few percent.
      assert.ok(share < 0.35, `${worker} used ${(share * 100).toFixed(1)}% of a CPU`);
      assert.equal(await d.stop(), 0, d.output());
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
    }
  });

  test('it starts with only the systemd unit\'s capabilities', async (t) => {
    const line = fs.readFileSync(UNIT, 'utf8').split('\n').find((l) => l.startsWith('CapabilityBoundingSet='));
    assert.ok(line, 'the unit names its capabilities');
    const caps = line.slice('CapabilityBoundingSet='.length).trim().split(/\s+/);
    const set = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
    if (spawnSync('setpriv', ['--version']).status !== 0) {
      t.skip('setpriv (util-linux) is not installed: the capability set was not tried');
      return;
    }
    const d = await startExample(['setpriv', `--bounding-set=-all,${set}`, '--inh-caps=-all', '--no-new-privs']);
    try {
      const status = fs.readFileSync(`/proc/${d.child.pid}/status`, 'utf8');
      const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
      const CAP_DAC_OVERRIDE = 1n;
      const CAP_IPC_LOCK = 14n;
      assert.equal((eff >> CAP_DAC_OVERRIDE) & 1n, 0n, 'not CAP_DAC_OVERRIDE');
      assert.equal((eff >> CAP_IPC_LOCK) & 1n, 1n, 'CAP_IPC_LOCK');
      assert.match(status, /^NoNewPrivs:\s*1$/m);
      const res = await fetch(`${d.url}/api/v1/lcores`);
      assert.equal(res.status, 200);
      assert.equal(await d.stop(), 0, d.output());
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
    }
  });
});
