// GET /api/v1/bgp with a stand-in BGP view (no gobgpd): off without one, the
// view's peers and VIPs as they are, the response schema refusing nothing it
// gives; the sluice_bgp_* metrics; `sluice bgp` (table and --json) and its
// printer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { BgpStatus, BgpView } from '../../src/bgp/view';
import { bgpText } from '../../src/cli/commands';
import { fakeApp } from '../helpers/fake-app';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

const STATUS: BgpStatus = {
  enabled: true, asn: 65001, routerId: '10.255.0.1', speaker: 'running',
  peers: [
    { address: '10.99.0.1', asn: 65000, state: 'established', uptimeSec: 42, received: 0, advertised: 1 },
    { address: 'fd00:99::1', asn: 65000, state: 'active', received: 0, advertised: 0 },
  ],
  vips: [
    { vip: '10.99.0.100', prefix: '10.99.0.100/32', announced: true, reason: 'web: 1 of 2 backends takes traffic' },
    { vip: '10.99.0.101', prefix: '10.99.0.101/32', announced: false, reason: 'api: none of 1 backend takes traffic (1 down)' },
  ],
};

const appWith = (bgp?: BgpView): FastifyInstance => fakeApp({ bgp });

describe('GET /api/v1/bgp', () => {
  let on: FastifyInstance;
  let off: FastifyInstance;
  let url = '';
  before(async () => {
    on = appWith({ status: () => STATUS });
    off = appWith();
    await on.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(on.server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    await on.close();
    await off.close();
  });

  test('no bgp view: enabled false and nothing else', async () => {
    const res = await off.inject({ method: 'GET', url: '/api/v1/bgp' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { enabled: false });
    const metrics = (await off.inject({ method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(metrics, /^sluice_bgp_\w+\{/m, 'no series without BGP');
  });

  test('the view\'s peers and VIPs, as they are', async () => {
    const res = await on.inject({ method: 'GET', url: '/api/v1/bgp' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), STATUS);
  });

  test('a query parameter is refused', async () => {
    const res = await on.inject({ method: 'GET', url: '/api/v1/bgp?peer=x' });
    assert.equal(res.statusCode, 400);
  });

  test('metrics: a peer up per neighbor, announced per VIP', async () => {
    const metrics = (await on.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^sluice_bgp_peer_up\{peer="10\.99\.0\.1"\} 1$/m);
    assert.match(metrics, /^sluice_bgp_peer_up\{peer="fd00:99::1"\} 0$/m);
    assert.match(metrics, /^sluice_bgp_vip_announced\{vip="10\.99\.0\.100"\} 1$/m);
    assert.match(metrics, /^sluice_bgp_vip_announced\{vip="10\.99\.0\.101"\} 0$/m);
  });

  test('sluice bgp: the table, and --json the body', async () => {
    const run = (...args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'bgp', ...args, '--api', url], { encoding: 'utf8', env: { ...process.env, SLUICE_TOKEN: '' } },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    assert.equal((await run()).trimEnd(), bgpText(STATUS));
    assert.deepEqual(JSON.parse(await run('--json')), STATUS);
  });
});

describe('the bgp printer', () => {
  test('speaker, peers and VIPs with why', () => {
    const lines = bgpText(STATUS).split('\n');
    assert.equal(lines[0], 'BGP: AS 65001, router id 10.255.0.1, gobgpd running; 1 of 2 VIPs announced');
    assert.match(lines[2], /^PEER\s+ASN\s+STATE\s+UP\s+RECEIVED\s+ADVERTISED$/);
    assert.match(lines[3], /^10\.99\.0\.1\s+65000\s+established\s+42 s\s+0\s+1$/);
    assert.match(lines[4], /^fd00:99::1\s+65000\s+active\s+-\s+0\s+0$/);
    assert.match(lines[6], /^PREFIX\s+ANNOUNCED\s+WHY$/);
    assert.match(lines[7], /^10\.99\.0\.100\/32\s+yes\s+web: 1 of 2 backends takes traffic$/);
    assert.match(lines[8], /^10\.99\.0\.101\/32\s+no\s+api: none of 1 backend takes traffic \(1 down\)$/);
  });

  test('off, and no VIPs', () => {
    assert.equal(bgpText({ enabled: false }), 'BGP is off: the config has no bgp section');
    assert.match(bgpText({ ...STATUS, vips: [] }), /\nno VIPs$/);
  });
});
