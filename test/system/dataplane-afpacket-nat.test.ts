// nat on net_af_packet with two queue pairs and two worker lcores: real TCP
// connections from a client to the VIP, to an HTTP backend with no VIP configured,
// both in one namespace behind a veth. af_packet spreads packets over its queues
// by the kernel's flow hash, so a backend's reply (backend -> pool address) lands
// on either lcore, whichever opened the session: the ones on the other lcore are
// handed to the owner and translated there. Every connection must complete, and
// hand-offs must have happened.
//
// Own process (the EAL initialises once per process), root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateConfig } from '../../src/config';
import { Dataplane } from '../../src/dataplane';
import { createVethPair, execIn, ip, removeVethPair, type VethPair } from '../helpers/netns';

const VETH: VethPair = { name: 'sluice-nat0', peer: 'sluice-natc0', peerNetns: 'sluice-natmq' };
const PORT_ADDRESS = '10.99.0.2';
const VIP = '10.99.0.100';
const BACKEND = '10.99.0.11';
const CLIENT = '10.99.0.50';
const POOL = ['10.99.0.200', '10.99.0.201'];
const CONNECTIONS = 60;
const HELPER = join(__dirname, '..', '..', '..', 'test', 'helpers', 'http_through_nat.py');
const INSTANCE = `afpacket-nat-${process.pid}`;

let dp: Dataplane | undefined;

before(() => {
  removeVethPair(VETH);
  const { peerMac } = createVethPair({ ...VETH, peerAddress: `${CLIENT}/24` });
  ip(VETH.peerNetns, 'addr', 'add', `${BACKEND}/24`, 'dev', VETH.peer);
  ip(VETH.peerNetns, 'route', 'add', `${VIP}/32`, 'via', PORT_ADDRESS);
  // veth leaves TCP checksums to "hardware" (partial); af_packet hands such frames
  // to DPDK as they are, and nat's incremental update keeps them partial, so the
  // backend's kernel would drop them. Checksum in software.
  execIn(VETH.peerNetns, 'ethtool', ['-K', VETH.peer, 'tx', 'off']);
  dp = new Dataplane();
  dp.start(validateConfig({
    eal: { lcores: '0@0,1@1,2@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'lb0', device: `net_af_packet0,iface=${VETH.name},qpairs=2`, queues: 2,
      address: `${PORT_ADDRESS}/24`, natPool: { addresses: POOL, portRange: [20000, 20999] } }],
    dataplane: { idleSleepMaxUs: 100 },
    flowTable: { entriesPerLcore: 65536 },
    services: [{ name: 'web', vip: VIP, port: 80, protocol: 'tcp', forwarding: 'nat',
      backends: [{ address: BACKEND, port: 8080, mac: peerMac }] }],
  }), INSTANCE);
});
after(() => {
  try {
    dp?.stop();
  } finally {
    dp = undefined;
    removeVethPair(VETH);
  }
});

describe('nat on net_af_packet, qpairs=2, two worker lcores', () => {
  test('every connection completes; replies on the other lcore are handed off and translated', () => {
    const [port] = dp!.ports();
    console.log(`# af_packet port: natSteering ${port.natSteering} (${port.natSteeringReason})`);
    assert.equal(port.natSteering, 'software', 'af_packet has no rte_flow');
    assert.match(port.natSteeringReason ?? '', /^rte_flow: /);
    const out = execIn(VETH.peerNetns, 'python3',
      [HELPER, BACKEND, '8080', CLIENT, VIP, '80', String(CONNECTIONS)], { timeoutMs: 120000 });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { completed: number; peers: string[] };
    const stats = dp!.stats();
    for (const l of stats.lcores) {
      console.log(`# lcore ${l.lcore}: rx ${l.rxPackets}, sessions created ${l.nat.sessionsCreated}, ` +
        `hand-offs sent ${l.nat.handoffsSent}, received ${l.nat.handoffsReceived}`);
    }
    assert.equal(result.completed, CONNECTIONS, 'every connection completed');
    // The backend saw the pool, never the client.
    for (const peer of result.peers) {
      const [addr, port] = peer.split(':');
      assert.ok(POOL.includes(addr), `the backend saw ${peer}`);
      assert.ok(Number(port) >= 20000 && Number(port) <= 20999, `pool port ${port}`);
    }
    assert.equal(new Set(result.peers).size, CONNECTIONS, 'one pool address:port per connection');
    const sum = (f: (l: (typeof stats.lcores)[number]) => number) => stats.lcores.reduce((a, l) => a + f(l), 0);
    assert.equal(sum((l) => l.nat.sessionsCreated), CONNECTIONS, 'one session per connection');
    assert.ok(sum((l) => l.nat.handoffsSent) > 0, 'some replies arrived on the lcore that did not own them');
    assert.equal(sum((l) => l.nat.handoffsSent), sum((l) => l.nat.handoffsReceived), 'every hand-off was received');
    assert.ok(stats.lcores.every((l) => l.nat.sessionsCreated > 0), 'both lcores opened sessions');
    for (const reason of ['nat_no_session', 'nat_handoff_full', 'nat_pool_exhausted']) {
      assert.equal(sum((l) => l.drops[reason]), 0, reason);
    }
  });
});
