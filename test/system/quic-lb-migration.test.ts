// A real QUIC connection that migrates to a new client port mid-transfer
// (#26, docs/quic-lb.md): ngtcp2's example HTTP/3 client (gtlsclient) in its own
// namespace downloads a file through a `sluice run` daemon on net_af_packet from
// ngtcp2's example server (gtlsserver) on three DSR backends, and moves to a
// new local port shortly after the handshake (--change-local-addr).
//
// The servers cannot be told how to make connection IDs, so each runs with
// tools/testbed/quic_lb_cids.c preloaded: the IDs it issues are QUIC-LB
// plaintext ones naming its own server ID. With the service's quicLb the moved
// connection must stay on its backend and complete; without it (the same
// service replaced through the API, the same servers) the new port's datagrams
// are balanced by 5-tuple, and a new port picks another backend with chance
// about 2/3 per attempt; the server there knows nothing of the connection ID,
// so the client's new path leads nowhere and the transfer stalls. tcpdump on
// every backend shows which client ports reached which backend; the daemon's
// per-backend and QUIC-LB counters must agree.
//
// Its own test bed beside the shared one (tools/testbed/topology.ts), so the two
// never collide: namespaces sluice-q*, 10.96.0.0/24, no address in the root
// namespace. Own process, root, 2 MiB hugepages; the daemon's EAL is
// --in-memory with a file prefix of its own pid. Leftovers of a crashed run
// are cleared first, and everything is removed on exit or signal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonSettings } from '../../tools/testbed/config';
import { execIn, ip, spawnIn } from '../../tools/testbed/netns';
import {
  NS_IF, attachDpdkInterface, attachDsrBackend, attachToSegment, createSegment, removeTestbed, type BackendSpec,
  type Segment,
} from '../../tools/testbed/segment';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import {
  checkPrerequisites, daemonApi, setUpTestbed, sleep, tearDownTestbedSync, track as trackProcess, waitFor, waitForNeighbors,
} from '../helpers/testbed-run';

const WORK = join(tmpdir(), 'sluice-quic-lb-migration');
const DAEMON_PID_FILE = join(WORK, 'daemon.pid');
const INTERPOSER_SOURCE = join(__dirname, '..', '..', '..', 'tools', 'testbed', 'quic_lb_cids.c');

const SEGMENT: Segment = { netns: 'sluice-qsw', bridge: 'sluice-qbr' };
const LB_IF = 'sluice-qlb';
const CLIENT_NS = 'sluice-qclient';
const PREFIX = 24;
const VIP = '10.96.0.100';
const CLIENT_ADDRESS = '10.96.0.1';
const BALANCER_ADDRESS = '10.96.0.2';
const PORT = 443;
const BACKENDS: (BackendSpec & { serverId: string })[] = [1, 2, 3].map((i) => ({
  name: `b${i}`, address: `10.96.0.${10 + i}`, netns: `sluice-qb${i}`, serverId: `0a0${i}`,
}));

// ngtcp2 0.12's example server makes 18-octet connection IDs (NGTCP2_SV_SCIDLEN):
// the first octet, then server ID and nonce.
const CONFIG_ID = 1;
const SERVER_ID_LENGTH = 2;
const NONCE_LENGTH = 15;
/**
 * 1 to 3 s through the af_packet port: still running when the client moves
 * (24 MiB took 0.35 to 1 s, and on a quiet machine once ended before the move).
 */
const FILE_BYTES = 64 * 1024 * 1024;
const FILE_NAME = 'file.bin';
/** after the handshake: a tenth to a third of the file has arrived by then */
const MIGRATE_AFTER = '300ms';
/** downloads tried for one that moved mid-transfer (a fast one may end before its move) */
const TRIES_TO_MOVE = 3;
/** the client's idle timeout: a connection whose new path leads nowhere ends after this */
const IDLE_TIMEOUT = '3s';
const CLIENT_BOUND_MS = 40_000;
/** Packets from the new port the transfer needs at least, so the move happened mid-transfer. */
const MIN_PACKETS_AFTER_MOVE = 20;
/**
 * Without quicLb: at least this many attempts, and more, up to MAX_ATTEMPTS,
 * until one moved or broke. A new port stays on its backend with chance 1/3 in
 * theory; 24 of 54 attempts over nine runs of this file stayed. Even at 1/2,
 * all of 16 stay with chance 1.5e-5.
 */
const MIN_ATTEMPTS = 6;
const MAX_ATTEMPTS = 16;
const PREREQUISITES = ['gtlsclient', 'gtlsserver', 'openssl', 'cc', 'tcpdump', 'ethtool', 'ss'];

let daemon: DaemonProcess | undefined;
const processes = new Set<ChildProcess>();
let fileHash = '';
const api = (method: string, path: string, body?: unknown) => daemonApi(daemon!, method, path, body);

/** client port -> packets, per backend, from tcpdump on each backend's eth0 */
const seen = new Map<string, Map<number, { packets: number; firstAt: number }>>();

function quicService(withQuicLb: boolean): Record<string, unknown> {
  return {
    name: 'h3',
    vip: VIP,
    port: PORT,
    protocol: 'udp',
    forwarding: 'dsr',
    ...(withQuicLb
      ? { quicLb: { configId: CONFIG_ID, serverIdLength: SERVER_ID_LENGTH, nonceLength: NONCE_LENGTH,
        algorithm: 'plaintext' } }
      : {}),
    backends: BACKENDS.map((b) => ({ address: b.address, port: PORT, ...(withQuicLb ? { serverId: b.serverId } : {}) })),
  };
}

function down(): void {
  removeTestbed([LB_IF], [CLIENT_NS, ...BACKENDS.map((b) => b.netns), SEGMENT.netns]);
}

function up(): void {
  createSegment(SEGMENT);
  attachDpdkInterface(SEGMENT, LB_IF, 'sluice-p-lb');
  attachToSegment(SEGMENT, CLIENT_NS, 'sluice-p-c');
  ip(CLIENT_NS, 'addr', 'add', `${CLIENT_ADDRESS}/${PREFIX}`, 'dev', NS_IF);
  ip(CLIENT_NS, 'link', 'set', NS_IF, 'up');
  // veth leaves UDP checksums to "hardware" too; DSR forwards the frame as
  // af_packet handed it over, and the backend's kernel would drop it.
  execIn(CLIENT_NS, 'ethtool', ['-K', NS_IF, 'tx', 'off']);
  for (const b of BACKENDS) attachDsrBackend(SEGMENT, b, PREFIX, VIP);
}

function teardownSync(): void {
  tearDownTestbedSync(daemon, WORK, { up, down, processes });
  daemon = undefined;
}

const track = (p: ChildProcess) => trackProcess(processes, p);

/** The interposer, the server's certificate and the file, in WORK. */
function prepareFiles(): string {
  const so = join(WORK, 'quic_lb_cids.so');
  execIn(undefined, 'cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', so, INTERPOSER_SOURCE, '-ldl']);
  execIn(undefined, 'openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(WORK, 'key.pem'), '-out', join(WORK, 'cert.pem'), '-days', '1', '-subj', '/CN=sluice-quic-lb-test']);
  mkdirSync(join(WORK, 'htdocs'));
  const data = randomBytes(FILE_BYTES);
  writeFileSync(join(WORK, 'htdocs', FILE_NAME), data);
  fileHash = createHash('sha256').update(data).digest('hex');
  return so;
}

/** gtlsserver on the VIP in `b`'s namespace, issuing connection IDs that name `b`; resolves once it listens. */
async function startServer(b: (typeof BACKENDS)[number], so: string): Promise<void> {
  const p = track(spawnIn(b.netns, 'env', [
    `LD_PRELOAD=${so}`, `SLUICE_QUIC_LB_CONFIG_ID=${CONFIG_ID}`, `SLUICE_QUIC_LB_SERVER_ID=${b.serverId}`,
    // Bound to the VIP, so its answers leave from it (direct server return).
    'gtlsserver', VIP, String(PORT), join(WORK, 'key.pem'), join(WORK, 'cert.pem'), '-d', join(WORK, 'htdocs'), '-q',
  ]));
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const listening = await waitFor(() => p.exitCode === null &&
    execIn(b.netns, 'ss', ['-Huln', `sport = :${PORT}`]).includes(`${VIP}:${PORT}`), 5000);
  assert.ok(listening, `gtlsserver in ${b.netns} not listening (exit ${p.exitCode}): ${out}`);
}

/** tcpdump on `b`'s eth0 for the client's datagrams; resolves once it captures. */
async function startCapture(b: BackendSpec): Promise<void> {
  const ports = new Map<number, { packets: number; firstAt: number }>();
  seen.set(b.name, ports);
  const p = track(spawnIn(b.netns, 'tcpdump', ['-i', NS_IF, '-Q', 'in', '-n', '-l', '-tt', '-B', '8192',
    `udp and src host ${CLIENT_ADDRESS} and dst host ${VIP} and dst port ${PORT}`]));
  let rest = '';
  p.stdout!.on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const m = /^(\d+\.\d+) IP [\d.]+\.(\d+) > /.exec(line);
      if (m === null) continue;
      const port = Number(m[2]);
      const entry = seen.get(b.name)!.get(port);
      if (entry) entry.packets++;
      else seen.get(b.name)!.set(port, { packets: 1, firstAt: Number(m[1]) });
    }
  });
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  assert.ok(await waitFor(() => err.includes('listening on'), 5000), `tcpdump in ${b.netns}: ${err}`);
}

interface LcoreStats { quicLbRouted: number; quicLbUnrouted: number }
interface ServiceView { quicLb?: unknown; backends: { address: string; stats?: { packets: number } }[] }

async function counters(): Promise<{ routed: number; unrouted: number; byBackend: Record<string, number> }> {
  const stats = (await api('GET', '/api/v1/stats')) as { lcores: LcoreStats[] };
  const svc = (await api('GET', '/api/v1/services/h3')) as ServiceView;
  const byBackend: Record<string, number> = {};
  for (const b of BACKENDS) byBackend[b.name] = svc.backends.find((x) => x.address === b.address)?.stats?.packets ?? 0;
  return {
    routed: stats.lcores.reduce((a, l) => a + l.quicLbRouted, 0),
    unrouted: stats.lcores.reduce((a, l) => a + l.quicLbUnrouted, 0),
    byBackend,
  };
}

interface Run {
  exit: number | string;
  bytes: number;
  intact: boolean;
  /** the client's ports in the order they were first seen, each with the backends that received it and how much */
  ports: { port: number; backends: Record<string, number> }[];
  /** backends the daemon counted packets to, with how many */
  counted: Record<string, number>;
  routed: number;
  unrouted: number;
  ms: number;
}

/** One download through the VIP, moving to a new port after MIGRATE_AFTER. */
async function download(label: string): Promise<Run> {
  const dir = join(WORK, `download-${label}`);
  mkdirSync(dir);
  for (const m of seen.values()) m.clear();
  const before = await counters();
  const started = Date.now();
  const p = track(spawnIn(CLIENT_NS, 'gtlsclient', ['-q', '--exit-on-all-streams-close', `--download=${dir}`,
    `--change-local-addr=${MIGRATE_AFTER}`, `--timeout=${IDLE_TIMEOUT}`, VIP, String(PORT), `https://${VIP}/${FILE_NAME}`]));
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), CLIENT_BOUND_MS);
  const exit = await new Promise<number | string>((resolve) => p.once('exit', (code, signal) => resolve(code ?? signal ?? '?')));
  clearTimeout(timer);
  const ms = Date.now() - started;
  // The last datagrams' capture lines and counts.
  await sleep(500);
  const now = await counters();
  const file = join(dir, FILE_NAME);
  const bytes = existsSync(file) ? statSync(file).size : 0;
  const intact = bytes === FILE_BYTES && createHash('sha256').update(readFileSync(file)).digest('hex') === fileHash;
  rmSync(dir, { recursive: true, force: true });
  const byPort = new Map<number, { firstAt: number; backends: Record<string, number> }>();
  for (const [backend, ports] of seen) {
    for (const [port, e] of ports) {
      const x = byPort.get(port) ?? { firstAt: e.firstAt, backends: {} };
      x.firstAt = Math.min(x.firstAt, e.firstAt);
      x.backends[backend] = e.packets;
      byPort.set(port, x);
    }
  }
  const counted: Record<string, number> = {};
  for (const b of BACKENDS) {
    const d = now.byBackend[b.name] - before.byBackend[b.name];
    if (d > 0) counted[b.name] = d;
  }
  const run: Run = {
    exit, bytes, intact, ms, counted,
    ports: [...byPort.entries()].sort((a, b) => a[1].firstAt - b[1].firstAt).map(([port, x]) => ({ port, backends: x.backends })),
    routed: now.routed - before.routed,
    unrouted: now.unrouted - before.unrouted,
  };
  const ports = run.ports.map((x) => `${x.port} -> ${JSON.stringify(x.backends)}`).join(', ');
  console.log(`# ${label}: exit ${exit}, ${bytes} of ${FILE_BYTES} bytes${intact ? ' intact' : ''} in ${ms} ms; ` +
    `client ports ${ports}; daemon's packets per backend ${JSON.stringify(counted)}, ` +
    `quicLbRouted ${run.routed}, quicLbUnrouted ${run.unrouted}` +
    (exit === 0 && intact ? '' : `; client said: ${out.trim().slice(-300)}`));
  return run;
}

/** Every backend the run's datagrams reached. */
const backendsOf = (r: Run) => [...new Set(r.ports.flatMap((x) => Object.keys(x.backends)))].sort();
/** gtlsclient exits 0 when its idle timeout closes a stalled connection: the file tells. */
const broke = (r: Run) => r.exit !== 0 || !r.intact;

/**
 * The client moved mid-transfer: a second port, and either the file was not
 * whole yet (the move broke it) or the new port carried enough of the transfer.
 */
function migrated(r: Run): boolean {
  if (r.ports.length < 2) return false;
  if (!r.intact) return true;
  const last = r.ports[r.ports.length - 1];
  return Object.values(last.backends).reduce((a, b) => a + b, 0) >= MIN_PACKETS_AFTER_MOVE;
}

/** A download whose client moved mid-transfer: a fast one may end before its move, so up to TRIES_TO_MOVE. */
async function movingDownload(label: string): Promise<Run> {
  const tries: Run[] = [];
  for (let i = 1; i <= TRIES_TO_MOVE; i++) {
    const r = await download(i === 1 ? label : `${label}, try ${i}`);
    if (migrated(r)) return r;
    tries.push(r);
  }
  return assert.fail(`${label}: in ${TRIES_TO_MOVE} downloads the client never moved mid-transfer ` +
    `(ports and datagrams: ${JSON.stringify(tries.map((t) => t.ports))})`);
}

before(async () => {
  checkPrerequisites(PREREQUISITES, 'ngtcp2-client, ngtcp2-server, openssl, build-essential, tcpdump, ethtool, iproute2');
  await setUpTestbed(WORK, DAEMON_PID_FILE, teardownSync, { up, down, processes });
  const so = prepareFiles();
  for (const b of BACKENDS) {
    await startServer(b, so);
    await startCapture(b);
  }
  daemon = await startDaemon(WORK, {
    eal: { lcores: '0@0,1@1,2@1', hugepages: true },
    ports: [{ name: 'lb0', device: `net_af_packet0,iface=${LB_IF},qpairs=2`, queues: 2,
      address: `${BALANCER_ADDRESS}/${PREFIX}` }],
    ...daemonSettings({ apiListen: '127.0.0.1:0' }),
    services: [quicService(true)],
  });
  writeFileSync(DAEMON_PID_FILE, String(daemon.child.pid));
  // No health check (the servers answer only QUIC): ready once every backend's MAC is known.
  await waitForNeighbors(daemon, BACKENDS.map((b) => b.address));
});

after(async () => {
  try {
    if (daemon) console.log(`# daemon exit code ${await daemon.stop()}`);
  } finally {
    teardownSync();
  }
});

describe('a QUIC client that moves to a new port mid-transfer', () => {
  test('with quicLb: it keeps its backend, routed by connection ID, and the file arrives whole', async () => {
    const r = await movingDownload('with quicLb');
    assert.equal(r.exit, 0, 'the client succeeded');
    assert.ok(r.intact, `the file arrived whole: ${r.bytes} of ${FILE_BYTES} bytes`);
    const backends = backendsOf(r);
    assert.equal(backends.length, 1, `every port's datagrams reached one backend: ${JSON.stringify(r.ports)}`);
    assert.deepEqual(Object.keys(r.counted), backends, 'the daemon counted packets to that backend only');
    const fromNewPort = r.ports.slice(1).reduce((a, x) => a + Object.values(x.backends).reduce((s, n) => s + n, 0), 0);
    assert.ok(r.routed >= fromNewPort, `datagrams routed by connection ID (${r.routed}) cover the new port's ${fromNewPort}`);
    // The rest were the client's first Initials, whose connection ID it chose itself.
    assert.equal(r.routed + r.unrouted, r.counted[backends[0]], 'each of the service\'s datagrams was routed or balanced');
  });

  test('without quicLb: the same move is balanced by 5-tuple and leaves its backend', async () => {
    const replaced = (await api('PUT', '/api/v1/services/h3', quicService(false))) as ServiceView;
    assert.equal(replaced.quicLb, undefined, 'the service has no quicLb now');
    const runs: Run[] = [];
    const left = (r: Run) => backendsOf(r).length > 1 || broke(r);
    while (runs.length < MIN_ATTEMPTS || (runs.length < MAX_ATTEMPTS && !runs.some(left))) {
      const r = await movingDownload(`without quicLb, attempt ${runs.length + 1}`);
      assert.equal(r.routed, 0, 'nothing is routed by connection ID');
      runs.push(r);
    }
    const moved = runs.filter((r) => backendsOf(r).length > 1);
    const broken = runs.filter(broke);
    const stayed = runs.filter((r) => !left(r));
    console.log(`# without quicLb: ${runs.length} attempts; the new port reached another backend in ${moved.length}, ` +
      `of which ${moved.filter(broke).length} broke (${broken.length} broke in all); ` +
      `${stayed.length} stayed on its backend and completed`);
    assert.ok(moved.length + broken.length > 0, `every one of ${runs.length} moves stayed on its backend`);
    // What broke a connection was the move: one that stayed on its backend completed, as with quicLb.
    for (const r of runs.filter((x) => backendsOf(x).length === 1)) {
      assert.ok(!broke(r), `a connection that stayed on ${backendsOf(r)[0]} completed`);
    }
  });
});
