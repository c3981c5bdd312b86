// IP fragments through real sockets (#26, docs/forwarding-modes.md#ip-fragments):
// a client in its own namespace sends 4,000-byte UDP datagrams with random
// payloads to a VIP through a `sluice run` daemon on net_af_packet; its kernel
// splits each into three fragments (the links have MTU 1500), the daemon sends
// every fragment to the backend of the datagram's first, and the backend's
// kernel reassembles it. An echo server on each of three backends answers each
// datagram with its length and SHA-256 (a short answer, never fragmented
// itself), so the client knows the datagram arrived whole and the answer came
// back. dsr, tunnel (ipip; backends decapsulate in user space,
// tools/testbed/decapsulator.ts) and nat, IPv4 and IPv6 each.
//
// The daemon runs with tools/testbed/af_packet_no_defrag.c preloaded: DPDK's
// af_packet driver has the kernel reassemble IPv4 fragments before they reach
// it, which no NIC does; the interposer turns that off, so the balancer gets
// the fragments as they were sent.
//
// In tunnel the client's route to the VIP has the MTU the balancer's
// fragmentation-needed or packet-too-big would teach it (tunnel-e2e shows that
// round trip for TCP): 1480 for IPv4-in-IPv4, 1460 for IPv6-in-IPv6. A fragment
// never has DF set, so a 1500-byte one is dropped (mtu_exceeded), not answered,
// and a client that had not learnt the path MTU would lose the datagram.
//
// Its own test bed beside the shared one (tools/testbed/topology.ts): namespaces
// sluice-f*, 10.95.0.0/24 and fd00:95::/64, no address in the root namespace.
// Own process, root, 2 MiB hugepages. Leftovers of a crashed run are cleared
// first, and everything is removed on exit or signal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonSettings } from '../../tools/testbed/config';
import { startDecapsulator } from '../../tools/testbed/decapsulator';
import { execIn, ip, setSysctl, spawnIn, spawnReady } from '../../tools/testbed/netns';
import {
  NS_IF, attachDpdkInterface, attachDsrBackend, attachToSegment, createSegment, removeTestbed, type BackendSpec,
  type Segment,
} from '../../tools/testbed/segment';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import {
  checkPrerequisites, daemonApi, setUpTestbed, tearDownTestbedSync, track, waitForNeighbors,
} from '../helpers/testbed-run';

const WORK = join(tmpdir(), 'sluice-fragments-e2e');
const DAEMON_PID_FILE = join(WORK, 'daemon.pid');
const HELPER = join(__dirname, '..', '..', '..', 'test', 'helpers', 'udp_digest.py');
const NO_DEFRAG_SOURCE = join(__dirname, '..', '..', '..', 'tools', 'testbed', 'af_packet_no_defrag.c');

const SEGMENT: Segment = { netns: 'sluice-fsw', bridge: 'sluice-fbr' };
const LB_IF = 'sluice-flb';
const CLIENT_NS = 'sluice-fclient';
const PORT = 5300;
const POOL = '10.95.0.200';
const POOL6 = 'fd00:95::200';

type Mode = 'dsr' | 'tunnel' | 'nat';
type Family = 4 | 6;
interface FamilyPlan {
  prefix: number;
  client: string;
  balancer: string;
  vips: Record<Mode, string>;
  /** the client's route MTU to the tunnel VIP: the link's 1500 less the encapsulation */
  tunnelMtu: number;
}
const FAMILIES: Record<Family, FamilyPlan> = {
  4: { prefix: 24, client: '10.95.0.1', balancer: '10.95.0.2', tunnelMtu: 1480,
    vips: { dsr: '10.95.0.100', tunnel: '10.95.0.101', nat: '10.95.0.102' } },
  6: { prefix: 64, client: 'fd00:95::1', balancer: 'fd00:95::2', tunnelMtu: 1460,
    vips: { dsr: 'fd00:95::100', tunnel: 'fd00:95::101', nat: 'fd00:95::102' } },
};
const MODES: Mode[] = ['dsr', 'tunnel', 'nat'];
const BACKENDS: (BackendSpec & { address6: string })[] = [1, 2, 3].map((i) => ({
  name: `b${i}`, address: `10.95.0.${10 + i}`, address6: `fd00:95::${10 + i}`, netns: `sluice-fb${i}`,
}));
const backendAddress = (b: (typeof BACKENDS)[number], family: Family) => (family === 4 ? b.address : b.address6);

const DATAGRAM_BYTES = 4000;
/** 4,008 octets of UDP in pieces of at most 1,480 (1,456 through the tunnel; 1,448 and 1,408 in IPv6) */
const FRAGMENTS_PER_DATAGRAM = 3;
/**
 * Flows (client ports) per case, datagrams per flow. Ten flows all on one of
 * three backends has chance 3^-9 per case: more than one backend is involved.
 */
const FLOWS = 10;
const PER_FLOW = 3;
const ANSWER_TIMEOUT_S = 1;
const PREREQUISITES = ['python3', 'ethtool', 'ip', 'cc'];

let daemon: DaemonProcess | undefined;
const processes = new Set<ChildProcess>();
const api = (method: string, path: string, body?: unknown) => daemonApi(daemon!, method, path, body);
const serviceName = (mode: Mode, family: Family) => `${mode}${family}`;

function services(): Record<string, unknown>[] {
  return ([4, 6] as const).flatMap((family) => MODES.map((mode) => ({
    name: serviceName(mode, family),
    vip: FAMILIES[family].vips[mode],
    port: PORT,
    protocol: 'udp',
    forwarding: mode,
    ...(mode === 'tunnel' ? { tunnel: { encapsulation: 'ipip' } } : {}),
    backends: BACKENDS.map((b) => ({ address: backendAddress(b, family), port: PORT })),
  })));
}

function down(): void {
  removeTestbed([LB_IF], [CLIENT_NS, ...BACKENDS.map((b) => b.netns), SEGMENT.netns]);
}

/**
 * IPv6 back on in `netns` (attachToSegment turns it off), with no duplicate
 * address detection, so addresses are usable at once.
 */
function enableIpv6(netns: string): void {
  for (const dev of ['all', 'default']) {
    setSysctl(`net/ipv6/conf/${dev}/disable_ipv6`, 0, netns);
    setSysctl(`net/ipv6/conf/${dev}/accept_dad`, 0, netns);
  }
}

function up(): void {
  const [v4, v6] = [FAMILIES[4], FAMILIES[6]];
  createSegment(SEGMENT);
  attachDpdkInterface(SEGMENT, LB_IF, 'sluice-p-flb');
  attachToSegment(SEGMENT, CLIENT_NS, 'sluice-p-fc');
  enableIpv6(CLIENT_NS);
  ip(CLIENT_NS, 'addr', 'add', `${v4.client}/${v4.prefix}`, 'dev', NS_IF);
  ip(CLIENT_NS, '-6', 'addr', 'add', `${v6.client}/${v6.prefix}`, 'dev', NS_IF, 'nodad');
  ip(CLIENT_NS, 'link', 'set', NS_IF, 'up');
  ip(CLIENT_NS, 'route', 'add', `${v4.vips.tunnel}/32`, 'dev', NS_IF, 'mtu', String(v4.tunnelMtu));
  ip(CLIENT_NS, '-6', 'route', 'add', `${v6.vips.tunnel}/128`, 'dev', NS_IF, 'mtu', String(v6.tunnelMtu));
  // veth leaves UDP checksums to "hardware"; af_packet hands such frames on as
  // they are (dsr, tunnel) and nat's incremental update keeps them partial, so
  // the receiving kernel would drop them. Checksums in software, on both sides.
  execIn(CLIENT_NS, 'ethtool', ['-K', NS_IF, 'tx', 'off']);
  for (const b of BACKENDS) {
    attachDsrBackend(SEGMENT, b, v4.prefix, v4.vips.dsr);
    enableIpv6(b.netns);
    ip(b.netns, 'addr', 'add', `${v4.vips.tunnel}/32`, 'dev', 'lo');
    ip(b.netns, '-6', 'addr', 'add', `${b.address6}/${v6.prefix}`, 'dev', NS_IF, 'nodad');
    // Neighbor solicitations are answered only for the interface's own
    // addresses, so IPv6 VIPs on lo need nothing like arp_ignore.
    for (const vip of [v6.vips.dsr, v6.vips.tunnel]) ip(b.netns, '-6', 'addr', 'add', `${vip}/128`, 'dev', 'lo', 'nodad');
    execIn(b.netns, 'ethtool', ['-K', NS_IF, 'tx', 'off']);
  }
}

function teardownSync(): void {
  tearDownTestbedSync(daemon, WORK, { up, down, processes });
  daemon = undefined;
}

/** The echo server on `b`: the dsr and tunnel VIPs (answers leave from them) and, for nat, its own addresses. */
async function startEchoServer(b: (typeof BACKENDS)[number]): Promise<void> {
  const addresses = ([4, 6] as const).flatMap((f) => [FAMILIES[f].vips.dsr, FAMILIES[f].vips.tunnel, backendAddress(b, f)]);
  track(processes, await spawnReady(b.netns, 'python3', [HELPER, 'serve', b.name, String(PORT), ...addresses], 'ready', 5000));
}

interface Datagram { port: number; ok: boolean; backend: string | null }
interface Counters {
  fragmentsForwarded: number;
  handoffs: number;
  drops: Record<string, number>;
  byBackend: Record<string, number>;
}

async function counters(service: string, family: Family): Promise<Counters> {
  const stats = (await api('GET', '/api/v1/stats')) as {
    lcores: { fragmentsForwarded: number; drops: Record<string, number>; nat?: { handoffsSent: number } }[];
  };
  const svc = (await api('GET', `/api/v1/services/${service}`)) as { backends: { address: string; stats?: { packets: number } }[] };
  const drops: Record<string, number> = {};
  for (const l of stats.lcores) for (const [k, n] of Object.entries(l.drops)) drops[k] = (drops[k] ?? 0) + n;
  const byBackend: Record<string, number> = {};
  for (const b of BACKENDS) {
    byBackend[b.name] = svc.backends.find((x) => x.address === backendAddress(b, family))?.stats?.packets ?? 0;
  }
  return { fragmentsForwarded: stats.lcores.reduce((a, l) => a + l.fragmentsForwarded, 0),
    handoffs: stats.lcores.reduce((a, l) => a + (l.nat?.handoffsSent ?? 0), 0), drops, byBackend };
}

/**
 * The client's run, awaited rather than run synchronously: a blocked event loop
 * would miss the API's keep-alive sockets closing, and the next call fail on one.
 */
async function send(vip: string, echo = false): Promise<Datagram[]> {
  const p = track(processes, spawnIn(CLIENT_NS, 'python3', [HELPER, 'send', vip, String(PORT), String(FLOWS),
    String(PER_FLOW), String(DATAGRAM_BYTES), String(ANSWER_TIMEOUT_S), ...(echo ? ['echo'] : [])]));
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), FLOWS * PER_FLOW * ANSWER_TIMEOUT_S * 1000 + 10_000);
  const exit = await new Promise((resolve) => p.once('exit', (code, signal) => resolve(code ?? signal)));
  clearTimeout(timer);
  assert.equal(exit, 0, `the client failed: ${out}`);
  return JSON.parse(out) as Datagram[];
}

const delta = (now: Record<string, number>, then: Record<string, number>) =>
  Object.fromEntries(Object.entries(now).map(([k, n]) => [k, n - (then[k] ?? 0)]).filter(([, n]) => n !== 0));

before(async () => {
  checkPrerequisites(PREREQUISITES, 'python3, ethtool, iproute2, build-essential');
  await setUpTestbed(WORK, DAEMON_PID_FILE, teardownSync, { up, down, processes });
  for (const b of BACKENDS) {
    await startEchoServer(b);
    track(processes, await startDecapsulator(b));
  }
  const noDefrag = join(WORK, 'af_packet_no_defrag.so');
  execIn(undefined, 'cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', noDefrag, NO_DEFRAG_SOURCE, '-ldl']);
  const [v4, v6] = [FAMILIES[4], FAMILIES[6]];
  daemon = await startDaemon(WORK, {
    eal: { lcores: '0@0,1@1,2@1', hugepages: true },
    ports: [{ name: 'lb0', device: `net_af_packet0,iface=${LB_IF},qpairs=2`, queues: 2,
      address: `${v4.balancer}/${v4.prefix}`, address6: `${v6.balancer}/${v6.prefix}`,
      natPool: { addresses: [POOL], addresses6: [POOL6] } }],
    ...daemonSettings({ apiListen: '127.0.0.1:0' }),
    services: services(),
  }, { LD_PRELOAD: noDefrag });
  writeFileSync(DAEMON_PID_FILE, String(daemon.child.pid));
  // No health check (UDP): ready once every backend's MAC is known in both families.
  await waitForNeighbors(daemon, BACKENDS.flatMap((b) => [b.address, b.address6]));
});

after(async () => {
  try {
    if (daemon) console.log(`# daemon exit code ${await daemon.stop()}`);
  } finally {
    teardownSync();
  }
});

describe(`${DATAGRAM_BYTES}-byte UDP datagrams, fragmented by the client's kernel, reach a backend whole`, () => {
  for (const family of [4, 6] as const) {
    for (const mode of MODES) {
      const service = serviceName(mode, family);
      test(`${mode}, IPv${family}: every datagram answered with its length and hash, each flow by one backend`, async () => {
        const before = await counters(service, family);
        const datagrams = await send(FAMILIES[family].vips[mode]);
        const now = await counters(service, family);
        const perFlow = new Map<number, string[]>();
        for (const d of datagrams) perFlow.set(d.port, [...(perFlow.get(d.port) ?? []), d.backend ?? '-']);
        const answered: Record<string, number> = {};
        for (const d of datagrams) if (d.backend !== null) answered[d.backend] = (answered[d.backend] ?? 0) + 1;
        const forwarded = now.fragmentsForwarded - before.fragmentsForwarded;
        const counted = delta(now.byBackend, before.byBackend);
        console.log(`# ${service}: ${datagrams.filter((d) => d.ok).length} of ${datagrams.length} whole; ` +
          `answers per backend ${JSON.stringify(answered)}; daemon's packets per backend ${JSON.stringify(counted)}; ` +
          `fragmentsForwarded ${forwarded}; drops ${JSON.stringify(delta(now.drops, before.drops))}`);
        assert.equal(datagrams.length, FLOWS * PER_FLOW);
        assert.deepEqual(datagrams.filter((d) => !d.ok), [], 'every datagram arrived whole and was answered');
        for (const [port, backends] of perFlow) {
          assert.equal(new Set(backends).size, 1, `flow from port ${port} reached one backend: ${backends.join(', ')}`);
        }
        assert.ok(Object.keys(answered).length >= 2, `more than one backend answered: ${JSON.stringify(answered)}`);
        assert.equal(forwarded, FRAGMENTS_PER_DATAGRAM * datagrams.length,
          'every fragment went through the fragment path');
        // The daemon's own count agrees with the answers: each backend got its datagrams' fragments, no other.
        assert.deepEqual(counted, Object.fromEntries(Object.entries(answered).map(([b, n]) =>
          [b, FRAGMENTS_PER_DATAGRAM * n])), 'the daemon counted each datagram\'s fragments to the backend that answered');
      });
    }
  }
});

// The answers as long as the datagrams, so the backend's kernel fragments them
// too: in nat they come back to a pool address, fragment by fragment, and go
// on to the client translated (handed to the lcore that owns the pool port
// when they reach the other one).
describe(`nat: ${DATAGRAM_BYTES}-byte answers, fragmented by the backend's kernel, reach the client whole`, () => {
  for (const family of [4, 6] as const) {
    const service = serviceName('nat', family);
    test(`nat, IPv${family}: every datagram echoed back whole through the pool`, async () => {
      const before = await counters(service, family);
      const datagrams = await send(FAMILIES[family].vips.nat, true);
      const now = await counters(service, family);
      const forwarded = now.fragmentsForwarded - before.fragmentsForwarded;
      console.log(`# ${service} echo: ${datagrams.filter((d) => d.ok).length} of ${datagrams.length} whole; ` +
        `fragmentsForwarded ${forwarded}; hand-offs ${now.handoffs - before.handoffs}; ` +
        `drops ${JSON.stringify(delta(now.drops, before.drops))}`);
      assert.equal(datagrams.length, FLOWS * PER_FLOW);
      assert.deepEqual(datagrams.filter((d) => !d.ok), [], 'every answer came back whole');
      assert.equal(forwarded, 2 * FRAGMENTS_PER_DATAGRAM * datagrams.length,
        'both ways, every fragment went through the fragment path');
    });
  }
});
