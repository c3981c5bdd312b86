// tunnel end to end: real HTTP clients in sluice-client, a `sluice run` daemon on
// the test bed's af_packet port, and backends that decapsulate ipip and GUE
// (tools/testbed/decapsulator.ts) and answer the clients directly. Besides plain
// requests, request bodies larger than the path MTU minus the tunnel overhead
// must arrive whole: the client's first full-size segments are too long to
// tunnel, the balancer answers them with ICMP fragmentation-needed, and the
// client's kernel lowers its path MTU to the VIP and sends again (path MTU
// discovery through the balancer, RFC 1191).
//
// Own process, root, 2 MiB hugepages; leftovers of a crashed run are cleared first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testbedConfig } from '../../tools/testbed/config';
import { GUE_PORT, startDecapsulator } from '../../tools/testbed/decapsulator';
import { execIn, ip } from '../../tools/testbed/netns';
import { BACKENDS, CLIENT_NS, SERVICE_PORT, VIP, startBackendServer } from '../../tools/testbed/topology';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import { daemonApi, load, print, setUpTestbed, tearDownTestbedSync, warmUp } from '../helpers/testbed-run';

const WORK = join(tmpdir(), 'sluice-tunnel-e2e');
const DAEMON_PID_FILE = join(WORK, 'daemon.pid');
const WARMUP_MS = 20_000;
const GUE_VIP = '10.99.0.101';
const BODY_BYTES = 200_000;

let daemon: DaemonProcess | undefined;
const processes: ChildProcess[] = [];
const api = (method: string, path: string, body?: unknown) => daemonApi(daemon!, method, path, body);

interface LcoreView {
  forwarded: number;
  icmpFragNeededSent: number;
  drops: Record<string, number>;
}
async function lcoreSum(): Promise<{ forwarded: number; fragNeeded: number; mtuExceeded: number }> {
  const s = (await api('GET', '/api/v1/stats')) as { lcores: LcoreView[] };
  const sum = (f: (l: LcoreView) => number) => s.lcores.reduce((a, l) => a + f(l), 0);
  return { forwarded: sum((l) => l.forwarded), fragNeeded: sum((l) => l.icmpFragNeededSent),
    mtuExceeded: sum((l) => l.drops.mtu_exceeded ?? 0) };
}

function teardownSync(): void {
  tearDownTestbedSync(daemon, WORK);
  daemon = undefined;
  processes.splice(0);
}

before(async () => {
  await setUpTestbed(WORK, DAEMON_PID_FILE, teardownSync);
  for (const b of BACKENDS) {
    ip(b.netns, 'addr', 'add', `${GUE_VIP}/32`, 'dev', 'lo');  // the second service's VIP, beside the test bed's
    processes.push(await startBackendServer(b), await startDecapsulator(b));
  }
  const config = testbedConfig({ apiListen: '127.0.0.1:0' });
  const [web] = config.services as Record<string, unknown>[];
  Object.assign(web, { forwarding: 'tunnel', tunnel: { encapsulation: 'ipip' } });
  (config.services as Record<string, unknown>[]).push({ ...web, name: 'gue', vip: GUE_VIP,
    tunnel: { encapsulation: 'gue', guePort: GUE_PORT } });
  daemon = await startDaemon(WORK, config);
  writeFileSync(DAEMON_PID_FILE, String(daemon.child.pid));
  const allUp = async () => {
    const list = (await api('GET', '/api/v1/services')) as { backends: { health: { status: string } }[] }[];
    return list.every((s) => s.backends.every((b) => b.health.status === 'up'));
  };
  const warm = await warmUp(allUp, WARMUP_MS);
  assert.ok(warm, `test bed not ready within ${WARMUP_MS} ms\n${daemon.output().slice(-3000)}`);
});

after(async () => {
  try {
    if (daemon) console.log(`# daemon exit code ${await daemon.stop()}`);
  } finally {
    teardownSync();
  }
});

/** POSTs `bytes` to `vip` with curl in the client namespace; the backend's name and the bytes it received. */
function post(vip: string, bytes: number): { backend: string; received: number } {
  const file = join(WORK, `body-${bytes}`);
  writeFileSync(file, Buffer.alloc(bytes, 0x61));
  // No "Expect: 100-continue": the body follows the headers at once.
  const out = execIn(CLIENT_NS, 'curl', ['-sS', '--max-time', '20', '-D', '-', '-o', '/dev/null', '-H', 'Expect:',
    '--data-binary', `@${file}`, `http://${vip}:${SERVICE_PORT}/`], { timeoutMs: 30_000 });
  const header = (name: string) => new RegExp(`^${name}: (.*)\\r?$`, 'im').exec(out)?.[1].trim();
  assert.match(out, /^HTTP\/1\.1 200/, out);
  return { backend: header('x-backend') ?? '', received: Number(header('x-request-bytes')) };
}

describe('tunnel through the test bed', () => {
  test('new connections over ipip reach every backend and none fails', async () => {
    const r = await load({ requests: 600, concurrency: 12 });
    print('ipip', r);
    assert.equal(r.failures, 0, JSON.stringify(r.errors));
    assert.deepEqual(Object.keys(r.byBackend).sort(), BACKENDS.map((b) => b.name).sort());
  });

  for (const [name, vip, overhead] of [['ipip', VIP, 20], ['gue', GUE_VIP, 28]] as const) {
    test(`${name}: a ${BODY_BYTES}-byte request body arrives whole, the path MTU learnt from the balancer's ICMP`, async () => {
      const before = await lcoreSum();
      const results = [post(vip, BODY_BYTES), post(vip, BODY_BYTES), post(vip, 1000)];
      const now = await lcoreSum();
      console.log(`# ${name}: ${JSON.stringify(results)}; ${now.fragNeeded - before.fragNeeded} fragmentation-needed sent, ` +
        `${now.mtuExceeded - before.mtuExceeded} packets too long to tunnel`);
      for (const [i, r] of results.entries()) {
        assert.equal(r.received, i < 2 ? BODY_BYTES : 1000, 'the backend received the whole body');
        assert.ok(BACKENDS.some((b) => b.name === r.backend), r.backend);
      }
      // The first full-size segment did not fit: 1500 + overhead > the port's MTU.
      assert.ok(now.fragNeeded - before.fragNeeded >= 1, 'fragmentation-needed was sent to the client');
      const pmtu = execIn(CLIENT_NS, 'ip', ['route', 'get', vip]);
      assert.match(pmtu, new RegExp(`mtu ${1500 - overhead}\\b`), `the client learnt the path MTU: ${pmtu}`);
    });
  }
});
