// The announcement policy (src/bgp/announcements.ts): which VIPs are announced
// and why, from services, health, lcore liveness and the node's drain.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { announcements, type AnnounceMode } from '../../src/bgp/announcements';
import type { BackendConfig, ServiceConfig } from '../../src/config/schema';
import type { HealthStatus, HealthView } from '../../src/control/health-view';
import { NO_LIVENESS, type LivenessView } from '../../src/control/liveness';

const backend = (address: string, extra: Partial<BackendConfig> = {}): BackendConfig =>
  ({ address, port: 80, weight: 100, state: 'active', ...extra });

const service = (name: string, vip: string, backends: BackendConfig[]): ServiceConfig => ({
  name, vip, port: 80, protocol: 'tcp', forwarding: 'dsr', lookupTableSize: 251, backends,
  healthCheck: { type: 'tcp', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, path: '/', expectStatus: '200-399', initialState: 'down' },
});

/** Health by "service/address:port"; unchecked for the rest. */
function healthOf(statuses: Record<string, HealthStatus> = {}): HealthView {
  return {
    backend: (svc, key) => ({ status: statuses[`${svc}/${key}`] ?? 'unchecked', streak: 0, transitions: 0 }),
    totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
  };
}

const stuckLcores = (...lcores: number[]): LivenessView => ({
  lcores: () => ({ total: 4, stuck: lcores.map((lcore) => ({ lcore, stillForMs: 1500 })) }),
});

function decide(services: ServiceConfig[], o: { health?: HealthView; liveness?: LivenessView; mode?: AnnounceMode; nodeDraining?: boolean } = {}) {
  return announcements({ services, health: o.health ?? healthOf(), liveness: o.liveness ?? NO_LIVENESS, mode: o.mode ?? 'healthy',
    nodeDraining: o.nodeDraining });
}

describe('announcement policy', () => {
  test('a VIP with a healthy (up or unchecked) active backend is announced, /32 and /128', () => {
    const d = decide([
      service('web', '10.99.0.100', [backend('10.99.0.11'), backend('10.99.0.12')]),
      service('v6', 'fd00:99:0::100', [backend('fd00:99::11')]),
    ], { health: healthOf({ 'web/10.99.0.11:80': 'up' }) });
    assert.deepEqual(d, [
      { vip: '10.99.0.100', family: 4, prefix: '10.99.0.100/32', services: ['web'], announce: true, reason: 'web: 2 of 2 backends take traffic' },
      { vip: 'fd00:99::100', family: 6, prefix: 'fd00:99::100/128', services: ['v6'], announce: true, reason: 'v6: 1 of 1 backend takes traffic' },
    ]);
  });

  test('every backend down: withdrawn, with the reason', () => {
    const [d] = decide([service('web', '10.99.0.100', [backend('10.99.0.11'), backend('10.99.0.12')])],
      { health: healthOf({ 'web/10.99.0.11:80': 'down', 'web/10.99.0.12:80': 'down' }) });
    assert.equal(d.announce, false);
    assert.equal(d.reason, 'web: none of 2 backends takes traffic (2 down)');
  });

  test('one backend down of two: still announced', () => {
    const [d] = decide([service('web', '10.99.0.100', [backend('10.99.0.11'), backend('10.99.0.12')])],
      { health: healthOf({ 'web/10.99.0.11:80': 'down' }) });
    assert.equal(d.announce, true);
    assert.equal(d.reason, 'web: 1 of 2 backends takes traffic');
  });

  test('drained, disabled, weight 0 and awaiting a first probe do not qualify; no backends neither', () => {
    const [d, empty] = decide([
      service('web', '10.99.0.100', [
        backend('10.99.0.11', { state: 'drain' }), backend('10.99.0.12', { state: 'disabled' }),
        backend('10.99.0.13', { weight: 0 }), backend('10.99.0.14'),
      ]),
      service('empty', '10.99.0.101', []),
    ], { health: healthOf({ 'web/10.99.0.14:80': 'unknown' }) });
    assert.equal(d.announce, false);
    assert.equal(d.reason, 'web: none of 4 backends takes traffic (1 drained, 1 disabled, 1 weight 0, 1 awaiting its first probe)');
    assert.deepEqual({ announce: empty.announce, reason: empty.reason }, { announce: false, reason: 'empty: no backends' });
  });

  test('two services on one VIP: announced while either qualifies, the qualifying one named', () => {
    const web = service('web', '10.99.0.100', [backend('10.99.0.11')]);
    const dns = { ...service('dns', '10.99.0.100', [backend('10.99.0.21', { state: 'drain' })]), port: 53, protocol: 'udp' as const };
    let d = decide([web, dns]);
    assert.equal(d.length, 1);
    assert.deepEqual({ ...d[0], reason: undefined }, { vip: '10.99.0.100', family: 4, prefix: '10.99.0.100/32', services: ['web', 'dns'], announce: true, reason: undefined });
    assert.equal(d[0].reason, 'web: 1 of 1 backend takes traffic');
    d = decide([web, dns], { health: healthOf({ 'web/10.99.0.11:80': 'down' }) });
    assert.equal(d[0].announce, false);
    assert.equal(d[0].reason, 'web: none of 1 backend takes traffic (1 down); dns: none of 1 backend takes traffic (1 drained)');
    // the VIP is one, however it is written
    assert.equal(decide([service('a', 'fd00::1', [backend('fd00::11')]), service('b', 'fd00:0::1', [])]).length, 1);
  });

  test('a stuck worker lcore withdraws every VIP, in both modes', () => {
    const services = [service('web', '10.99.0.100', [backend('10.99.0.11')]), service('api', '10.99.0.101', [backend('10.99.0.12')])];
    for (const mode of ['healthy', 'always'] as const) {
      const d = decide(services, { liveness: stuckLcores(2, 3), mode });
      assert.deepEqual(d.map((x) => [x.vip, x.announce, x.reason]), [
        ['10.99.0.100', false, 'worker lcores 2, 3 stuck (the data plane does not forward)'],
        ['10.99.0.101', false, 'worker lcores 2, 3 stuck (the data plane does not forward)'],
      ]);
    }
    assert.equal(decide(services, { liveness: stuckLcores(1) })[0].reason, 'worker lcore 1 stuck (the data plane does not forward)');
  });

  test('always: every VIP, backends or not, healthy or not', () => {
    const d = decide([
      service('web', '10.99.0.100', [backend('10.99.0.11')]),
      service('empty', '10.99.0.101', []),
      service('drained', '10.99.0.102', [backend('10.99.0.12', { state: 'drain' })]),
    ], { mode: 'always', health: healthOf({ 'web/10.99.0.11:80': 'down' }) });
    assert.deepEqual(d.map((x) => [x.vip, x.announce, x.reason]), [
      ['10.99.0.100', true, 'announce: always'], ['10.99.0.101', true, 'announce: always'], ['10.99.0.102', true, 'announce: always'],
    ]);
  });

  test('a draining node withdraws every VIP, in both modes, whatever its backends; undrained, the policy again', () => {
    const services = [
      service('web', '10.99.0.100', [backend('10.99.0.11')]),
      service('v6', 'fd00:99::100', [backend('fd00:99::11')]),
      service('drained', '10.99.0.102', [backend('10.99.0.12', { state: 'drain' })]),
    ];
    for (const mode of ['healthy', 'always'] as const) {
      const d = decide(services, { mode, nodeDraining: true });
      assert.deepEqual(d.map((x) => [x.prefix, x.announce, x.reason]), [
        ['10.99.0.100/32', false, 'node draining'], ['fd00:99::100/128', false, 'node draining'], ['10.99.0.102/32', false, 'node draining'],
      ], mode);
      // Draining says why first, even with a stuck lcore too.
      assert.equal(decide(services, { mode, nodeDraining: true, liveness: stuckLcores(1) })[0].reason, 'node draining');
    }
    assert.deepEqual(decide(services, { nodeDraining: false }).map((x) => x.announce), [true, true, false]);
    assert.deepEqual(decide(services, { nodeDraining: false, mode: 'always' }).map((x) => x.announce), [true, true, true]);
  });

  test('no services: nothing', () => {
    assert.deepEqual(decide([]), []);
  });
});
