// validateServices (what the store checks a change with) against validateConfig
// (the whole config, what it replaces): for every draft below, both give the
// same services or the same error, code, message and problems in the same
// order, while the known services and backends are taken as they are, not
// copied or checked again. Known backends are reused only in a service of the
// same forwarding, port and VIP family: a dsr service may not inherit a backend
// that was valid behind a tunnel's gateway.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { knownValid, validateBackendChange, validateConfig, validateServices, type ServiceConfig } from '../../src/config';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import addr = require('../../src/net/addr');

const cfg = validateConfig({
  eal: { lcores: '0@0,1@1' },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', gateway: '10.99.0.1', natPool: { addresses: ['10.99.0.240'] } }],
});

type Outcome = { services: unknown } | { code: unknown; message: string; details: unknown };
function outcome(f: () => ServiceConfig[]): Outcome {
  try {
    return { services: f() };
  } catch (err) {
    const e = err as { code?: unknown; message: string; details?: unknown };
    return { code: e.code, message: e.message, details: e.details };
  }
}

const tunnelBackends = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => ({ address: `10.200.${(from + i) >> 8}.${(from + i) & 255}`, port: 443 }));

describe('validateServices gives what validateConfig gives', () => {
  const known = knownValid();
  const start = validateServices(cfg, [
    { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80, mac: '02:00:00:00:00:11' }] },
    { name: 'big', vip: '10.99.0.101', port: 443, forwarding: 'tunnel', backends: tunnelBackends(50) },
    { name: 'dns', vip: '10.99.0.102', port: 53, protocol: 'udp', forwarding: 'nat', backends: [{ address: '10.99.0.21', port: 5353 }] },
  ], known);
  const [web, big, dns] = start;

  const same = (name: string, draft: () => unknown[]) => test(name, () => {
    const d = draft();
    const whole = outcome(() => validateConfig({ ...cfg, services: d }).services);
    const incremental = outcome(() => validateServices(cfg, d, known));
    assert.deepEqual(incremental, whole);
  });

  same('nothing changed', () => [web, big, dns]);
  same('a service added', () => [web, big, dns, { name: 'api', vip: '10.99.0.103', port: 8080, backends: [{ address: '10.99.0.31', port: 8080 }] }]);
  same('a service removed', () => [web, dns]);
  same('one backend of a known service changed, the others kept', () =>
    [web, { ...big, backends: big.backends.map((b, i) => (i === 7 ? { ...b, weight: 3, state: 'drain' } : b)) }, dns]);
  same('a backend added to a known service', () => [web, { ...big, backends: [...big.backends, { address: '10.200.9.9', port: 443 }] }, dns]);
  same('a new service with a port as a string, an unknown field and no vip', () =>
    [web, big, dns, { name: 'bad', port: '80', colour: 'red', backends: [] }]);
  same('a known service with a new backend of the wrong type and an unknown field', () =>
    [web, { ...big, backends: [...big.backends, { address: 7, port: 443, extra: true }] }, dns]);
  same('a known service with a changed field of the wrong type and a bad new backend', () =>
    [web, { ...big, lookupTableSize: 'big', backends: [...big.backends, { address: '10.200.9.9', port: 0 }] }, dns]);
  same('backends that are not a list', () => [web, { ...big, backends: 'none' }, dns]);
  same('more than 4096 backends in one service', () => [web, { ...big, backends: [...big.backends, ...tunnelBackends(4047, 60)] }, dns]);
  same('a new backend that breaks the rules among known ones', () =>
    [web, { ...big, backends: [...big.backends, { address: '10.99.0.2', port: 443 }, { address: '10.200.0.9', port: 443 }] }, dns]);
  same('a known service turned dsr: its backends behind the gateway are checked again', () =>
    [web, { ...big, forwarding: 'dsr' }, dns]);
  same('a known service on another port: its backends are checked again', () => [web, { ...big, port: 444 }, dns]);
  same('two services of one name', () => [web, big, dns, { ...web }]);
  same('two services on one VIP, port and protocol', () => [web, big, dns, { ...web, name: 'web2' }]);
  same('more services than the data plane takes', () =>
    [web, big, dns, ...Array.from({ length: 1022 }, (_, i) => ({ name: `s${i}`, vip: `10.98.${i >> 8}.${i & 255}`, port: 80 }))]);
  same('a nat backend on a port without a pool', () => [web, big, { ...dns, backends: [...dns.backends, { address: '10.200.1.1', port: 53 }] }]);

  test('known services come back as they are; known backends of a changed service are not copied', () => {
    const changed = { ...big, backends: big.backends.map((b, i) => (i === 0 ? { ...b, weight: 9 } : b)) };
    const [w, b2] = validateServices(cfg, [web, changed, dns], known);
    assert.equal(w, web);
    assert.notEqual(b2, changed, 'the changed service is validated into a new object');
    assert.equal(b2.backends[1], big.backends[1], 'an unchanged backend is the same object');
    assert.equal(b2.backends[0].weight, 9);
  });

  test('a change of one backend parses no address of the others', () => {
    let calls = 0;
    const { parseIp, normalizeIp } = addr;
    addr.parseIp = (s) => (calls++, parseIp(s));
    addr.normalizeIp = (s) => (calls++, normalizeIp(s));
    try {
      validateServices(cfg, [web, { ...big, backends: big.backends.map((b, i) => (i === 3 ? { ...b, weight: 2 } : b)) }, dns], known);
    } finally {
      addr.parseIp = parseIp;
      addr.normalizeIp = normalizeIp;
    }
    assert.ok(calls < 20, `${calls} address parses for one changed backend of ${big.backends.length}`);
  });
});

// A PATCH of one backend's weight or state checks that backend alone
// (validateBackendChange); whatever it is given, it must answer as the whole
// check does, problems and their order included.
describe('validateBackendChange gives what validateConfig gives', () => {
  const known = knownValid();
  const start = validateServices(cfg, [
    { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }, { address: '10.99.0.12', port: 80 }] },
    { name: 'big', vip: '10.99.0.101', port: 443, forwarding: 'tunnel', backends: tunnelBackends(50) },
  ], known);
  const big = start[1];

  const same = (name: string, j: number, backend: () => unknown) => test(name, () => {
    const b = backend();
    const draft: unknown[] = [...start];
    draft[1] = { ...big, backends: big.backends.map((x, k) => (k === j ? b : x)) };
    const whole = outcome(() => validateConfig({ ...cfg, services: draft }).services);
    const one = outcome(() => validateBackendChange(cfg, start, 1, j, b, known));
    assert.deepEqual(one, whole);
  });

  same('a new weight', 7, () => ({ ...big.backends[7], weight: 3 }));
  same('drained', 0, () => ({ ...big.backends[0], state: 'drain' }));
  same('a weight out of range', 7, () => ({ ...big.backends[7], weight: 1e9 }));
  same('a state that is none', 7, () => ({ ...big.backends[7], state: 'asleep' }));
  same('an unknown field', 7, () => ({ ...big.backends[7], colour: 'red' }));
  same('a hidden "__proto__" field', 7, () => JSON.parse(`{"address": "${big.backends[7].address}", "port": 443, "__proto__": {"weight": 5}}`));
  same('a new address (not a PATCH: checked whole)', 7, () => ({ ...big.backends[7], address: '10.99.0.2' }));
  same("another backend's address (a duplicate)", 7, () => ({ ...big.backends[7], address: big.backends[8].address }));
  same('not an object', 7, () => 'backend');

  test('the other services and backends come back as they are', () => {
    const before = big.backends[7].weight;
    const next = validateBackendChange(cfg, start, 1, 7, { ...big.backends[7], weight: 4 }, known);
    assert.equal(next[0], start[0]);
    assert.equal(next[1].backends[6], big.backends[6]);
    assert.equal(next[1].backends[7].weight, 4);
    assert.equal(start[1].backends[7].weight, before, 'what it was given is not changed');
  });
});
