// `sluice node drain` and `sluice node undrain` against a real API over a
// socket (buildApp on 127.0.0.1:0, the fake addon with two lcores holding
// flows; no EAL): what they print and --json, idempotence, the API's coded
// refusal passed on with exit 1, a daemon that does not answer (exit 3), and
// their --help.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { validateConfig } from '../../src/config';
import { NO_HEALTH_CHECKS } from '../../src/control/health-view';
import { NodeDrain } from '../../src/control/node-drain';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import type { LcoreStats } from '../../src/native/addon';
import { fakeAddon } from '../helpers/fake-addon';
import { cliAt } from '../helpers/cli-process';



describe('sluice node drain | undrain', () => {
  let app: FastifyInstance;
  let url = '';
  const node = new NodeDrain();
  const cli = (...args: string[]) => cliAt(url, ...args);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    const cfg = validateConfig({
      eal: { lcores: '0@0,1@1,2@1', hugepages: false },
      ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
      services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] }],
    });
    const addon = fakeAddon();
    // Just what the drain view reads of an lcore: lcore 1 holds 5 flows, lcore 2 holds 2 and a nat session.
    addon.lcores = () => [
      { lcore: 1, flows: { active: 5 }, nat: { sessionsActive: 0 } },
      { lcore: 2, flows: { active: 2 }, nat: { sessionsActive: 1 } },
    ] as unknown as LcoreStats[];
    const dataplane = new Dataplane(addon);
    const store = new ServiceStore(cfg, dataplane);
    store.started(cfg.services);
    app = buildApp({ store, dataplane, health: NO_HEALTH_CHECKS, version: 't', config: cfg, nodeDrain: node });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
  });
  after(() => app.close());

  test('drain prints the state and the flows left per lcore; again: the same, the drain\'s start kept', async () => {
    const out = await ok('node', 'drain');
    assert.match(out, /^DRAINING since (\S+) \(\d+\.\d s, by api\): every VIP withdrawn, the data plane forwards what still arrives; 7 flows and 1 nat sessions left \(lcore 1: 5, lcore 2: 3\)\n$/);
    const since = /since (\S+)/.exec(out)![1];
    assert.equal(node.status().state, 'draining');
    const again = JSON.parse(await ok('node', 'drain', '--json')) as { state: string; drainingSince: string; flows: { active: number } };
    assert.equal(again.state, 'draining');
    assert.equal(again.drainingSince, since);
    assert.equal(again.flows.active, 7);
  });

  test('undrain: active again; again: still active', async () => {
    assert.match(await ok('node', 'undrain'), /^active: VIPs announced as bgp\.announce says; 7 flows and 1 nat sessions \(lcore 1: 5, lcore 2: 3\)\n$/);
    assert.equal(node.status().state, 'active');
    assert.equal(JSON.parse(await ok('node', 'undrain', '--json')).state, 'active');
  });

  test('the API\'s refusal: exit 1 with its message and code', async () => {
    node.drain('stop');
    const r = await cli('node', 'undrain');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^sluice: the daemon is stopping: the node drains until it exits and cannot be undrained \[SLUICE_SHUTTING_DOWN\]\n$/);
    assert.equal(r.stdout, '');
  });

  test('no daemon: exit 3', async () => {
    const r = await cliAt('http://127.0.0.1:1', 'node', 'drain');
    assert.equal(r.status, 3, r.stderr);
  });

  test('--help: their usage; bare sluice node --help lists show, drain and undrain', async () => {
    const drain = await ok('node', 'drain', '--help');
    assert.match(drain, /^usage: sluice node drain\n\n  withdraw every VIP over BGP; the data plane keeps forwarding what still arrives\n/);
    assert.match(drain, /Not kept across a restart/);
    assert.match(await ok('node', 'undrain', '--help'), /^usage: sluice node undrain\n/);
    const group = await ok('node', '--help');
    assert.match(group, /^usage: sluice node <command> .*\(bare: node show\)/);
    assert.match(group, /^ {2}drain +withdraw every VIP/m);
    assert.match(group, /^ {2}undrain +announce the VIPs again/m);
  });
});
