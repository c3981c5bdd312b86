// The BGP speaker layer against real gobgpd daemons peering over loopback (no
// namespaces: 127.0.0.1, .2 and .3 are all on lo, each speaker on its own BGP
// port and told its peer's). Two supervised gobgpd: a /32 and a /128 announced
// by one reach the other with their next hop, communities and MED, and leave
// when withdrawn; gobgpd killed under the supervisor comes back configured; a
// Node process running a speaker killed with SIGKILL takes its gobgpd with it
// and the peer loses the route (time measured); the gRPC API listens on
// 127.0.0.1 only; a peer that never comes up throws nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { alive, sleep, waitFor } from '../helpers/bgp-wait';
import { captureLog } from '../helpers/captured-log';
import { GobgpdProcess, freeLocalPort } from '../../src/bgp/gobgpd-process';
import type { GobgpClient, PathEntry, PathSpec, PeerStatus } from '../../src/bgp/gobgp-client';

const A = { asn: 65001, routerId: '10.255.0.1', address: '127.0.0.1' };
const B = { asn: 65002, routerId: '10.255.0.2', address: '127.0.0.2' };
const C = { asn: 65003, routerId: '10.255.0.3', address: '127.0.0.3' }; // the speaker in a child Node process
const HOLD_SEC = 9;

const VIP4: PathSpec = { address: '192.0.2.10', nextHop: '198.51.100.1', communities: ['65001:100', '65001:200'], med: 20 };
const VIP6: PathSpec = { address: '2001:db8::10', nextHop: '2001:db8:1::1' };
const CHILD_VIP: PathSpec = { address: '192.0.2.30', nextHop: '198.51.100.3' };

const pidsSeen = new Set<number>();
const log = captureLog('debug');
const ports = { bgpA: 0, bgpB: 0, bgpC: 0 };
// What the test wants announced from A: onStart replays it into every new gobgpd.
const announcedFromA = new Map<string, PathSpec>();
let speakerA: GobgpdProcess | undefined;
let speakerB: GobgpdProcess | undefined;
let child: ChildProcess | undefined;

function peerOf(peers: PeerStatus[], address: string): PeerStatus | undefined {
  return peers.find((p) => p.address === address);
}

async function established(client: GobgpClient, address: string): Promise<PeerStatus | undefined> {
  const p = peerOf(await client.listPeers(), address);
  return p?.state === 'established' ? p : undefined;
}

async function pathAt(client: GobgpClient, spec: PathSpec): Promise<PathEntry | undefined> {
  const family = spec.address.includes(':') ? 'ipv6' : 'ipv4';
  const prefix = `${spec.address}/${family === 'ipv4' ? 32 : 128}`;
  return (await client.listPaths(family)).find((p) => p.prefix === prefix);
}

after(async () => {
  if (child?.pid !== undefined && alive(child.pid)) child.kill('SIGKILL');
  await speakerA?.stop();
  await speakerB?.stop();
  for (const pid of pidsSeen) {
    if (alive(pid)) {
      process.kill(pid, 'SIGKILL');
      assert.fail(`gobgpd ${pid} was still running after the test stopped everything`);
    }
  }
});

test('two supervised gobgpd start and peer over loopback', async () => {
  ports.bgpA = await freeLocalPort();
  ports.bgpB = await freeLocalPort();
  ports.bgpC = await freeLocalPort();
  speakerA = new GobgpdProcess({
    logger: log.logger,
    restartDelayMs: { initial: 200, max: 2000 },
    onStart: async (client) => {
      await client.startBgp({ asn: A.asn, routerId: A.routerId, listenPort: ports.bgpA, listenAddresses: [A.address] });
      await client.addPeer({ address: B.address, asn: B.asn, remotePort: ports.bgpB, localAddress: A.address, holdTimeSec: HOLD_SEC, connectRetrySec: 1 });
      for (const spec of announcedFromA.values()) await client.addPath(spec);
    },
  });
  speakerB = new GobgpdProcess({
    logger: log.logger,
    onStart: async (client) => {
      await client.startBgp({ asn: B.asn, routerId: B.routerId, listenPort: ports.bgpB, listenAddresses: [B.address] });
      await client.addPeer({ address: A.address, asn: A.asn, remotePort: ports.bgpA, localAddress: B.address, holdTimeSec: HOLD_SEC, passive: true });
      await client.addPeer({ address: C.address, asn: C.asn, remotePort: ports.bgpC, localAddress: B.address, holdTimeSec: HOLD_SEC, passive: true });
    },
  });
  await speakerA.start();
  await speakerB.start();
  pidsSeen.add(speakerA.pid!).add(speakerB.pid!);
  assert.equal(speakerA.version?.text, '3.10.0');
  assert.deepEqual(await speakerA.client.getBgp(), { asn: A.asn, routerId: A.routerId, listenPort: ports.bgpA });

  const t0 = Date.now();
  const fromA = await waitFor('A sees B established', 30_000, () => established(speakerA!.client, B.address));
  const fromB = await waitFor('B sees A established', 5000, () => established(speakerB!.client, A.address));
  console.log(`# session established in ${Date.now() - t0} ms`);
  assert.equal(fromA.asn, B.asn);
  assert.equal(fromA.routerId, B.routerId);
  assert.equal(fromA.negotiatedHoldTimeSec, HOLD_SEC);
  assert.equal(fromB.routerId, A.routerId);
  assert.ok(fromA.uptimeSec !== undefined && fromA.uptimeSec >= 0);
  assert.ok(log.lines.some((l) => l.msg === 'gobgpd started' && l.component === 'bgp' && l.level === 30));
  assert.ok(log.lines.some((l) => l.level === 20 && /^gobgpd: Peer Up/.test(l.msg)), 'gobgpd\'s own lines logged at debug');
});

test('the gRPC API listens on 127.0.0.1 only, and nothing else listens beyond BGP', () => {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  for (const [speaker, bgp] of [[speakerA!, `${A.address}:${ports.bgpA}`], [speakerB!, `${B.address}:${ports.bgpB}`]] as const) {
    const mine = out.split('\n').filter((l) => l.includes(`pid=${speaker.pid},`)).map((l) => l.trim().split(/\s+/)[3]);
    assert.deepEqual(mine.sort(), [speaker.apiAddress!, bgp].sort(), `gobgpd ${speaker.pid} listens on ${mine.join(', ')}`);
    assert.match(speaker.apiAddress!, /^127\.0\.0\.1:\d+$/);
  }
  assert.doesNotMatch(out, /:50051\s/, 'gobgpd\'s default API address (all interfaces) is not used');
});

test('a /32 announced by A reaches B with its next hop, communities and MED, and leaves when withdrawn', async () => {
  announcedFromA.set(VIP4.address, VIP4);
  const uuid = await speakerA!.client.addPath(VIP4);
  assert.match(uuid, /^[0-9a-f]{32}$/);
  const t0 = Date.now();
  const got = await waitFor('B receives the /32', 10_000, () => pathAt(speakerB!.client, VIP4));
  console.log(`# /32 received in ${Date.now() - t0} ms`);
  assert.deepEqual({ ...got, ageSec: undefined }, {
    prefix: '192.0.2.10/32', nextHop: '198.51.100.1', communities: ['65001:100', '65001:200'], med: 20,
    best: true, neighbor: A.address, ageSec: undefined,
  });
  const own = await pathAt(speakerA!.client, VIP4);
  assert.equal(own?.neighbor, undefined, 'A\'s own path has no neighbor');
  const a = await waitFor('A counts it advertised', 5000, async () => {
    const p = peerOf(await speakerA!.client.listPeers(), B.address);
    return p && p.advertised >= 1 ? p : undefined;
  });
  assert.equal(a.advertised, 1);
  const b = peerOf(await speakerB!.client.listPeers(), A.address);
  assert.equal(b?.received, 1);
  assert.equal(b?.accepted, 1);

  announcedFromA.delete(VIP4.address);
  await speakerA!.client.deletePath(VIP4);
  const t1 = Date.now();
  await waitFor('B loses the withdrawn /32', 10_000, async () => ((await pathAt(speakerB!.client, VIP4)) ? undefined : true));
  console.log(`# /32 withdrawn from B in ${Date.now() - t1} ms`);
  assert.equal(await pathAt(speakerA!.client, VIP4), undefined);
});

test('a /128 announced by A reaches B over the IPv4 session, and leaves when withdrawn', async () => {
  announcedFromA.set(VIP6.address, VIP6);
  await speakerA!.client.addPath(VIP6);
  const got = await waitFor('B receives the /128', 10_000, () => pathAt(speakerB!.client, VIP6));
  assert.equal(got.prefix, '2001:db8::10/128');
  assert.equal(got.nextHop, '2001:db8:1::1');
  assert.equal(got.neighbor, A.address);
  assert.deepEqual(await speakerB!.client.listPaths('ipv4'), [], 'the IPv6 path is not in the IPv4 table');
  announcedFromA.delete(VIP6.address);
  await speakerA!.client.deletePath(VIP6);
  await waitFor('B loses the withdrawn /128', 10_000, async () => ((await pathAt(speakerB!.client, VIP6)) ? undefined : true));
});

test('bad requests are coded refusals and change nothing', async () => {
  const c = speakerA!.client;
  await assert.rejects(c.addPeer({ address: B.address, asn: B.asn }), (e: Error & { code?: string }) =>
    e.code === 'SLUICE_BGP_REFUSED' && /can't overwrite the existing peer/.test(e.message));
  await assert.rejects(c.deletePeer('192.0.2.99'), (e: Error & { code?: string }) => e.code === 'SLUICE_BGP_REFUSED');
  await assert.rejects(c.addPath({ address: '192.0.2.11', nextHop: '2001:db8::1' }), (e: Error & { code?: string }) => e.code === 'SLUICE_BGP_REFUSED');
  await assert.rejects(c.addPeer({ address: '192.0.2.1', asn: 65009, holdTimeSec: 2 }), (e: Error & { code?: string }) => e.code === 'SLUICE_BGP_REFUSED');
  assert.deepEqual((await c.listPeers()).map((p) => p.address), [B.address]);
  assert.deepEqual(await c.listPaths('ipv4'), []);
});

test('a peer that never comes up throws nothing and stays idle, connect or active', async () => {
  const c = speakerA!.client;
  const silentPort = await freeLocalPort(); // nothing listens there
  await c.addPeer({ address: '127.0.0.9', asn: 65009, remotePort: silentPort, localAddress: A.address, connectRetrySec: 1 });
  const states = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const p = peerOf(await c.listPeers(), '127.0.0.9');
    assert.ok(p, 'the peer is listed');
    states.add(p.state);
    assert.equal(p.uptimeSec, undefined);
    await sleep(100);
  }
  console.log(`# states of a peer that never comes up: ${[...states].join(', ')}`);
  for (const s of states) assert.ok(['idle', 'connect', 'active'].includes(s), s);
  assert.ok(await established(c, B.address), 'the other session is unaffected');
  await c.deletePeer('127.0.0.9');
  assert.equal(peerOf(await c.listPeers(), '127.0.0.9'), undefined);
});

test('gobgpd killed under its supervisor is restarted and configured again; B gets the route back', async () => {
  announcedFromA.set(VIP4.address, VIP4);
  await speakerA!.client.addPath(VIP4);
  await waitFor('B receives the /32', 10_000, () => pathAt(speakerB!.client, VIP4));
  const old = speakerA!.pid!;
  const apiBefore = speakerA!.apiAddress;
  process.kill(old, 'SIGKILL');
  const t0 = Date.now();
  await waitFor('B loses the route of the killed gobgpd', HOLD_SEC * 1000, async () => ((await pathAt(speakerB!.client, VIP4)) ? undefined : true));
  const lost = Date.now() - t0;
  await waitFor('gobgpd restarted', 15_000, async () => (speakerA!.pid !== undefined && speakerA!.pid !== old && speakerA!.restarts === 1 ? true : undefined));
  pidsSeen.add(speakerA!.pid!);
  await waitFor('B receives the route again', 30_000, () => pathAt(speakerB!.client, VIP4));
  console.log(`# supervised gobgpd killed: route gone from B in ${lost} ms, back after ${Date.now() - t0} ms`);
  assert.equal(speakerA!.apiAddress, apiBefore, 'the API stays on its port');
  assert.ok(log.lines.some((l) => l.msg === 'gobgpd exited; restarting it' && l.level === 40 && l.signal === 'SIGKILL'));
  assert.ok(log.lines.some((l) => l.msg === 'gobgpd restarted' && l.level === 30));
  announcedFromA.delete(VIP4.address);
  await speakerA!.client.deletePath(VIP4);
});

test('kill -9 of a Node process running a speaker kills its gobgpd; the peer loses the route within the hold time', async () => {
  const modulePath = path.resolve(__dirname, '..', '..', 'src', 'bgp', 'gobgpd-process.js');
  const script = `
    const pino = require(${JSON.stringify(require.resolve('pino'))});
    const { GobgpdProcess } = require(${JSON.stringify(modulePath)});
    const speaker = new GobgpdProcess({
      logger: pino({ level: 'warn' }, pino.destination(2)),
      onStart: async (client) => {
        await client.startBgp({ asn: ${C.asn}, routerId: '${C.routerId}', listenPort: ${ports.bgpC}, listenAddresses: ['${C.address}'] });
        await client.addPeer({ address: '${B.address}', asn: ${B.asn}, remotePort: ${ports.bgpB}, localAddress: '${C.address}', holdTimeSec: ${HOLD_SEC}, connectRetrySec: 1 });
        await client.addPath(${JSON.stringify(CHILD_VIP)});
      },
    });
    speaker.start().then(() => console.log(JSON.stringify({ gobgpd: speaker.pid })), (e) => { console.error(e); process.exit(1); });
  `;
  child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child!.stdout! }).once('line', resolve);
    child!.once('exit', (code) => reject(new Error(`the speaker's Node process exited (${code})`)));
  });
  const gobgpdPid = (JSON.parse(line) as { gobgpd: number }).gobgpd;
  pidsSeen.add(gobgpdPid);
  assert.ok(alive(gobgpdPid));
  assert.equal(fs.readFileSync(`/proc/${gobgpdPid}/status`, 'utf8').match(/^PPid:\s+(\d+)/m)?.[1], String(child.pid),
    'gobgpd is the Node process\'s own child (setpriv exec\'d it)');
  await waitFor('B receives the child speaker\'s route', 30_000, () => pathAt(speakerB!.client, CHILD_VIP));

  child.kill('SIGKILL');
  const t0 = Date.now();
  await waitFor('gobgpd gone after its Node process was killed', 3000, async () => (alive(gobgpdPid) ? undefined : true));
  const gone = Date.now() - t0;
  await waitFor('B loses the route within the hold time', HOLD_SEC * 1000, async () =>
    ((await pathAt(speakerB!.client, CHILD_VIP)) ? undefined : true));
  const withdrawn = Date.now() - t0;
  const session = peerOf(await speakerB!.client.listPeers(), C.address);
  console.log(`# kill -9 of the speaker's Node process: gobgpd gone in ${gone} ms, route gone from B in ${withdrawn} ms ` +
    `(hold time ${HOLD_SEC} s); B's session with it: ${session?.state}`);
  assert.notEqual(session?.state, 'established');
});

test('a gobgpd whose API port is taken (by another gobgpd) fails to start, never mistaken for the other', async () => {
  const takenPort = Number(speakerB!.apiAddress!.split(':')[1]);
  const spawned: number[] = [];
  const third = new GobgpdProcess({ logger: log.logger, apiPort: takenPort, startTimeoutMs: 5000, onStart: async () => {
    spawned.push(third.pid!);
  } });
  const t0 = Date.now();
  await assert.rejects(third.start(), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'SLUICE_BGP_SPEAKER', String(e));
    assert.match(e.message, /^gobgpd could not be started: /);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${takenPort}: bind: address already in use`));
    return true;
  });
  console.log(`# a taken API port refused in ${Date.now() - t0} ms`);
  assert.deepEqual(spawned, [], 'onStart never ran against the other gobgpd');
  assert.equal(third.pid, undefined, 'the failed gobgpd was stopped');
  assert.ok(await established(speakerB!.client, A.address), 'the gobgpd on that port is untouched');
});

test('a missing gobgpd fails start() naming the Debian package', async () => {
  const none = new GobgpdProcess({ logger: log.logger, binary: '/nonexistent/sluice/gobgpd' });
  await assert.rejects(none.start(), (e: Error & { code?: string }) =>
    e.code === 'SLUICE_BGP_UNSUPPORTED' && /Debian package gobgpd/.test(e.message));
  assert.equal(none.pid, undefined);
});

test('stop() stops gobgpd: its pid is gone and the peer loses the session', async () => {
  const pid = speakerA!.pid!;
  await speakerA!.stop();
  assert.equal(alive(pid), false);
  assert.equal(speakerA!.pid, undefined);
  await sleep(1000);
  assert.equal(speakerA!.restarts, 1, 'a stop is not followed by a restart');
  await waitFor('B sees the session down', HOLD_SEC * 1000, async () =>
    (peerOf(await speakerB!.client.listPeers(), A.address)?.state !== 'established' ? true : undefined));
  assert.ok(log.lines.some((l) => l.msg === 'gobgpd stopped' && l.pid === pid));
  assert.throws(() => speakerA!.client, (e: Error & { code?: string }) => e.code === 'SLUICE_BGP_SPEAKER');
});
