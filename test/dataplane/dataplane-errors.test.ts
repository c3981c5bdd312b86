// Errors: every failure reaches JS as an error with a `code`, bad input changes
// nothing, and the CLI exits non-zero naming the field or device and the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { addon } from '../../src/native/addon';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { backend, RingDataplane, ringStartConfig, service } from '../helpers/ring-dataplane';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const EXAMPLE = path.join(__dirname, '..', '..', '..', 'config', 'example.yaml');

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, `code of "${err.message}"`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('the addon before start', () => {
  test('calls that need a running data plane throw SLUICE_NOT_RUNNING', () => {
    const a = addon();
    expectCode(() => a.stats(), 'SLUICE_NOT_RUNNING');
    expectCode(() => a.poll(), 'SLUICE_NOT_RUNNING');
    expectCode(() => a.ports(), 'SLUICE_NOT_RUNNING');
    expectCode(() => a.setServices([]), 'SLUICE_NOT_RUNNING');
  });

  test('a malformed start config is refused before the EAL starts, naming the field', () => {
    const a = addon();
    const good = ringStartConfig();
    expectCode(() => a.start({ ...good, ports: [{ ...good.ports[0], queues: 0 }] }), 'SLUICE_INVALID_ARGUMENT', /config\.ports\[0\]\.queues/);
    expectCode(() => a.start({ ...good, workers: [] }), 'SLUICE_INVALID_ARGUMENT', /config\.workers/);
    expectCode(() => a.start({ ...good, ports: [{ ...good.ports[0], address: 'nope' }] }), 'SLUICE_INVALID_ARGUMENT', /address/);
    expectCode(() => a.start({ ...good, workers: [{ lcore: 1, rx: [] }] }), 'SLUICE_INVALID_ARGUMENT', /polled by no worker/);
    expectCode(() => a.start(null as never), 'SLUICE_INVALID_ARGUMENT');
    expectCode(() => a.start({ ...good, limits: undefined as never }), 'SLUICE_INVALID_ARGUMENT', /config\.limits: must be an object/);
    expectCode(() => a.start({ ...good, limits: { ...good.limits, flowTableBytes: -1 } }), 'SLUICE_INVALID_ARGUMENT',
      /config\.limits\.flowTableBytes: must be a whole number of bytes/);
    // The fragment limits TypeScript checks are checked again here.
    const fragments = { enabled: true, entriesPerLcore: 4096, holdMs: 10, heldBytesPerLcore: 1 << 20 };
    expectCode(() => a.start({ ...good, fragments: { ...fragments, entriesPerLcore: 4 } }), 'SLUICE_INVALID_ARGUMENT',
      /config\.fragments\.entriesPerLcore/);
    expectCode(() => a.start({ ...good, fragments: { ...fragments, holdMs: 0 } }), 'SLUICE_INVALID_ARGUMENT',
      /config\.fragments\.holdMs/);
    expectCode(() => a.start({ ...good, fragments: { ...fragments, enabled: 1 as never } }), 'SLUICE_INVALID_ARGUMENT',
      /config\.fragments\.enabled: must be a boolean/);
    const pool = (natPool: object) => ({ ...good, ports: [{ ...good.ports[0], natPool } as never] });
    expectCode(() => a.start(pool({ addresses: ['10.98.0.5'], portMin: 1024, portMax: 65535 })), 'SLUICE_INVALID_ARGUMENT',
      /config\.ports\[0\]\.natPool\.addresses\[0\]: is not on the port's subnet/);
    expectCode(() => a.start(pool({ addresses: [good.ports[0].address], portMin: 1024, portMax: 65535 })),
      'SLUICE_INVALID_ARGUMENT', /is the port's own address/);
    expectCode(() => a.start(pool({ addresses: ['10.99.0.200'], portMin: 2000, portMax: 1999 })), 'SLUICE_INVALID_ARGUMENT',
      /natPool\.portMax: must be between 2000 and 65535/);
    expectCode(() => a.start(pool({ addresses: [], portMin: 1024, portMax: 65535 })), 'SLUICE_INVALID_ARGUMENT',
      /natPool\.addresses: must hold 1 to 4096/);
    const pool6 = (addresses6: string[]) => ({ ...good, ports: [{ ...good.ports[0], address6: 'fd00:99::2', prefixLength6: 64,
      natPool: { addresses: ['10.99.0.200'], addresses6, portMin: 1024, portMax: 65535 } } as never] });
    expectCode(() => a.start(pool({ addresses: ['10.99.0.200'], addresses6: ['fd00:99::200'], portMin: 1024, portMax: 65535 })),
      'SLUICE_INVALID_ARGUMENT', /natPool\.addresses6: needs the port's address6/);
    expectCode(() => a.start(pool6(['fd00:98::200'])), 'SLUICE_INVALID_ARGUMENT',
      /natPool\.addresses6\[0\]: is not in the port's address6 prefix/);
    expectCode(() => a.start(pool6(['10.99.0.201'])), 'SLUICE_INVALID_ARGUMENT', /addresses6\[0\]: must be an IPv6 address/);
    expectCode(() => a.start(pool6(['fd00:99::2'])), 'SLUICE_INVALID_ARGUMENT', /addresses6\[0\]: is the port's own address6/);
    expectCode(() => a.start(pool6(['fd00:99::200', 'fd00:99::0200'])), 'SLUICE_INVALID_ARGUMENT',
      /addresses6\[1\]: is listed twice/);
  });
});

describe('a running data plane', () => {
  let dp: RingDataplane;
  before(() => {
    dp = new RingDataplane();
  });
  after(() => dp?.stop());

  test('a second start is refused: the EAL initialises once per process', () => {
    expectCode(() => dp.native.start(ringStartConfig()), 'SLUICE_ALREADY_STARTED');
  });

  const bad: { name: string; services: () => unknown; message: RegExp }[] = [
    { name: 'non-prime lookup table size', services: () => [service([backend(0)], { lookupTableSize: 65536 })], message: /lookupTableSize: must be prime/ },
    { name: 'dsr backend port differs', services: () => [service([backend(0, { port: 8080 })])], message: /backend port must be 80/ },
    { name: 'backend off every subnet', services: () => [service([backend(0, { address: '192.0.2.1' })])], message: /not inside any port's subnet/ },
    { name: 'duplicate VIP triple', services: () => [service([backend(0)]), service([backend(1)], { id: 1, name: 'other' })], message: /same VIP, port and protocol/ },
    { name: 'backend id used twice', services: () => [service([backend(0), { ...backend(1), id: 0 }])], message: /id used twice/ },
    { name: 'backend id out of range', services: () => [service([{ ...backend(0), id: 70000 }])], message: /id/ },
    { name: 'service id out of range', services: () => [service([backend(0)], { id: 5000 })], message: /id/ },
    { name: 'unknown forwarding', services: () => [service([backend(0)], { forwarding: 'masquerade' as never })], message: /forwarding: must be dsr, tunnel or nat/ },
    { name: 'nat without a pool on the egress port', services: () => [service([backend(0, { port: 8080 })], { forwarding: 'nat' })], message: /needs a nat pool on the backend's egress port/ },
    { name: 'bad MAC', services: () => [service([backend(0, { mac: '02:00:00:00:00' })])], message: /mac/ },
    { name: 'weight not a number', services: () => [service([backend(0, { weight: '5' as never })])], message: /weight: must be a number/ },
    { name: 'IPv6 VIP with an IPv4 backend', services: () => [service([backend(0)], { vip: '2001:db8::1' })],
      message: /backends\[0\]\.address: must be IPv6, as the VIP/ },
    { name: 'IPv6 backend of an IPv4 VIP', services: () => [service([backend(0, { address: 'fd00:99::11' })])],
      message: /backends\[0\]\.address: must be IPv4, as the VIP/ },
    { name: 'IPv6 service on a port without address6', services: () => [service([backend(0, { address: 'fd00:99::11' })],
      { vip: 'fd00:99::1' })], message: /not inside any port's IPv6 prefix; dsr needs the backend on-link/ },
    { name: 'IPv6 tunnel with an IPv4 source network', services: () => [service([backend(0, { address: 'fd00:99::11' })],
      { vip: 'fd00:99::1', forwarding: 'tunnel', tunnel: { encapsulation: 'ipip', guePort: 6080, sourceNetwork: '172.16.0.0',
        sourcePrefixLength: 16 } })], message: /tunnel\.sourceNetwork: must be IPv6, as the VIP/ },
    { name: 'not an array', services: () => ({}), message: /services: must be an array/ },
  ];
  for (const c of bad) {
    test(`setServices rejects ${c.name} and changes nothing`, () => {
      dp.native.setServices([service([backend(0), backend(1)])]);
      const before = dp.native.stats();
      expectCode(() => dp.native.setServices(c.services() as never), 'SLUICE_INVALID_ARGUMENT', c.message);
      const now = dp.native.stats();
      assert.equal(now.generation, before.generation, 'no new snapshot was published');
      assert.deepEqual(dp.services().map((s) => [s.name, s.backends.map((b) => b.address)]), [['web', ['10.99.0.11', '10.99.0.12']]]);
    });
  }

  test('inject refuses unknown ports, bad queues and oversized frames', () => {
    expectCode(() => dp.native.inject('nope', [Buffer.alloc(60)]), 'SLUICE_INVALID_ARGUMENT', /no port named nope/);
    expectCode(() => dp.native.inject('p0', [Buffer.alloc(60)], 5), 'SLUICE_INVALID_ARGUMENT', /queue 5/);
    expectCode(() => dp.native.inject('p0', [Buffer.alloc(70000)]), 'SLUICE_INVALID_ARGUMENT', /does not fit/);
    expectCode(() => dp.native.inject('p0', ['x' as never]), 'SLUICE_INVALID_ARGUMENT', /Buffer/);
  });

  test('lookupTable refuses a non-prime size', () => {
    expectCode(() => dp.native.lookupTable([{ key: 'a', weight: 1 }], 100), 'SLUICE_INVALID_ARGUMENT', /prime/);
    assert.equal(dp.native.lookupTable([{ key: 'a', weight: 1 }], 251).length, 251);
  });

  test('drop reason names are the documented list', () => {
    assert.deepEqual(dp.native.dropReasons(), [
      'truncated', 'bad_ip_header', 'bad_ip_checksum', 'ip_fragment', 'too_many_vlans', 'non_ip', 'not_for_us',
      'no_service', 'unsupported_l4', 'arp_ignored', 'icmp_ignored', 'no_backend', 'neighbor_unresolved', 'tx_full',
      'mtu_exceeded', 'bad_source', 'bad_icmp_checksum', 'no_headroom', 'nat_pool_exhausted', 'nat_handoff_full',
      'nat_no_session', 'bad_nd', 'nd_ignored', 'bad_l4_header', 'kernel_rate_limited', 'kernel_queue_full',
      'fragment_too_small', 'fragment_overlap', 'fragment_table_full', 'fragment_hold_full', 'fragment_timeout',
    ]);
  });
});

describe('sluice run', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    // A process ended by its second signal cannot remove its EAL runtime directory.
    removeStaleRuntimeDirs();
  });

  function runConfig(yaml: string) {
    const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, yaml);
    return spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 60000 });
  }
  const base = (port: string, extra = '') => `eal: { lcores: "0@0,1@1", hugepages: false, memoryMb: 256 }
api: { listen: "127.0.0.1:0" }
ports:
${port}
${extra}`;

  test('an invalid config exits 1 naming the field and the reason', () => {
    const r = runConfig(base('  - { name: p0, device: net_null0, address: 10.99.0.2/24, mtu: 99999 }'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ports\[0\]\.mtu/);
    assert.match(r.stderr, /SLUICE_CONFIG_INVALID/);
  });

  test('a device that cannot give the queues asked exits 1 naming the port and the reason', () => {
    const r = runConfig(base('  - { name: p0, device: "net_af_packet0,iface=lo,qpairs=1", queues: 2, address: 10.99.0.2/24 }'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /port p0 \(net_af_packet0,iface=lo,qpairs=1\): 2 rx queues asked, the device has 1/);
    assert.match(r.stderr, /SLUICE_PORT_SETUP_FAILED/);
  });

  test('a vdev whose driver refuses its arguments exits 1 naming the port', () => {
    const r = runConfig(base('  - { name: p0, device: "net_pcap0,rx_pcap=/nonexistent.pcap", address: 10.99.0.2/24 }'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /port p0 \(net_pcap0,rx_pcap=\/nonexistent\.pcap\): the EAL did not create this device/);
    assert.match(r.stderr, /SLUICE_PORT_SETUP_FAILED/);
  });

  test('an lcore on a CPU that does not exist: refused naming eal.lcores, before the EAL prints its usage', () => {
    const r = runConfig(base('  - { name: p0, device: net_null0, address: 10.99.0.2/24 }').replace('"0@0,1@1"', '"0@0,1@250"'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /eal\.lcores: lcore 1 would run on CPU 250, which this machine does not have \(its CPUs: [0-9,-]+\)/);
    assert.match(r.stderr, /SLUICE_CONFIG_INVALID/);
    assert.doesNotMatch(r.stdout + r.stderr, /EAL:|"dpdkType"|Usage|--lcores/, 'the EAL never ran');
  });

  test('an EAL that cannot start exits 1 with SLUICE_EAL_INIT_FAILED and leaves no runtime directory', () => {
    const r = runConfig(base('  - { name: p0, device: net_null0, address: 10.99.0.2/24 }')
      .replace('memoryMb: 256 }', 'memoryMb: 256, extraArgs: ["--vdev", "net_nosuchdriver0"] }'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /rte_eal_init failed: .*--vdev net_nosuchdriver0/);
    assert.match(r.stderr, /SLUICE_EAL_INIT_FAILED/);
    const prefix = /--file-prefix (sluice-\d+)/.exec(r.stderr)?.[1];
    assert.ok(prefix !== undefined, r.stderr);
    assert.equal(fs.existsSync(path.join('/var/run/dpdk', prefix)), false, `/var/run/dpdk/${prefix} was left behind`);
  });

  test('a state file that is a FIFO: run and check exit 1 at once with SLUICE_STATE_READ naming it, nothing waits on it', () => {
    const fifo = path.join(dir, 'state.fifo');
    spawnSync('mkfifo', [fifo]);
    const yaml = base('  - { name: p0, device: net_null0, address: 10.99.0.2/24 }', `stateFile: ${fifo}`);
    const started = Date.now();
    const r = runConfig(yaml);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /SLUICE_STATE_READ/);
    assert.ok(r.stderr.includes(fifo), r.stderr);
    assert.ok(Date.now() - started < 20_000, 'it did not wait for a writer');
    const file = path.join(dir, 'fifo-check.yaml');
    fs.writeFileSync(file, yaml);
    const check = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 20000 });
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.ok((check.stdout + check.stderr).includes(fifo), check.stdout + check.stderr);
  });

  test('a missing config file exits 1 naming the file', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', path.join(dir, 'missing.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.yaml/);
    assert.match(r.stderr, /SLUICE_CONFIG_READ/);
  });

  test('usage errors exit 2', () => {
    assert.equal(spawnSync(process.execPath, [CLI, 'run'], { encoding: 'utf8' }).status, 2);
    assert.equal(spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8' }).status, 2);
  });

  async function startExample() {
    // The example as shipped, but on a free API port and with its state in the test's directory.
    const cfg = parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    cfg.api = { listen: '127.0.0.1:0' };
    cfg.stateFile = path.join(dir, `state-${Math.random().toString(36).slice(2)}.json`);
    const file = path.join(dir, `example-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, stringify(cfg));
    const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30000;
    while (!out.includes('"sluice running"') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const waitExit = async () => {
      const r = await Promise.race([exited, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 20000))]);
      if (r === 'timeout') child.kill('SIGKILL');
      return r;
    };
    return { child, output: () => out, waitExit };
  }

  test('the example config runs, and SIGTERM stops it cleanly with exit 0', async () => {
    const { child, output, waitExit } = await startExample();
    assert.match(output(), /"port":"net_null0","driver":"net_null"/);
    assert.match(output(), /"services":1,"api":"http:\/\/127\.0\.0\.1:\d+"/);
    child.kill('SIGTERM');
    assert.deepEqual(await waitExit(), { code: 0, signal: null }, output());
    assert.match(output(), /"signal":"SIGTERM","msg":"stopping"/);
  });

  test('a second signal during the stop ends the process at once', async () => {
    const { child, output, waitExit } = await startExample();
    child.kill('SIGINT');
    while (!output().includes('"msg":"stopping"') && child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.match(output(), /"msg":"stopping"/, 'the first signal starts an orderly stop');
    child.kill('SIGINT');
    const r = await waitExit();
    assert.notEqual(r, 'timeout', output());
    // Either the orderly stop finished first (exit 0) or the second signal's
    // default action ended it; it never waits on a handler that cannot run.
    assert.ok((r as { code: number | null }).code === 0 || (r as { signal: string | null }).signal === 'SIGINT', JSON.stringify(r));
  });
});
