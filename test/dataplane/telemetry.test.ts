// Sluice's commands appear in DPDK telemetry beside the ethdev ones, and answer
// with the same figures as stats().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as pk from '../helpers/packets';
import { backend, CLIENT_MAC, RingDataplane, service, totals } from '../helpers/ring-dataplane';

const SOCKET = `/var/run/dpdk/sluice-test-${process.pid}/dpdk_telemetry.v2`;
const QUERY = path.join(__dirname, '..', '..', '..', 'test', 'helpers', 'telemetry_query.py');

function query(...commands: string[]): Record<string, unknown>[] {
  return execFileSync('python3', [QUERY, SOCKET, ...commands], { encoding: 'utf8' })
    .trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

let dp: RingDataplane;
before(() => {
  dp = new RingDataplane();
  dp.native.setServices([service([backend(0), backend(1)]), service([backend(2, { port: 53 })], { id: 1, name: 'dns', port: 53, protocol: 'udp' })]);
});
after(() => dp?.stop());

test('/sluice/stats and /sluice/services are listed with the ethdev commands', () => {
  const [list] = query('/');
  const commands = list['/'] as string[];
  for (const c of ['/sluice/stats', '/sluice/services', '/ethdev/stats']) assert.ok(commands.includes(c), c);
});

test('/sluice/services lists every service', () => {
  const [reply] = query('/sluice/services');
  assert.deepEqual(reply['/sluice/services'], {
    web: '10.99.0.100:80/tcp dsr backends=2',
    dns: '10.99.0.100:53/udp dsr backends=1',
  });
});

test('/sluice/stats counts what the workers did', async () => {
  const frames = Array.from({ length: 50 }, (_, i) =>
    pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '172.16.0.1', dst: '10.99.0.100', sport: 2000 + i, dport: 80, flags: 'S' }));
  await dp.exchange([...frames, pk.tcpFrame({ srcMac: CLIENT_MAC, dstMac: dp.mac, src: '172.16.0.1', dst: '10.99.0.100', sport: 1, dport: 81, flags: 'S' })]);
  const [reply] = query('/sluice/stats');
  const s = reply['/sluice/stats'] as Record<string, number>;
  const t = totals(dp.native.stats());
  assert.equal(s.rx_packets, t.rx);
  assert.equal(s.forwarded, 50);
  assert.equal(s.flows_active, 50);
  assert.equal(s.drop_no_service, 1);
  assert.equal(s.workers, 1);
});
