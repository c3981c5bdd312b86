// unpackServices without a data plane: packed arrays written out by hand, the
// objects they must give, and arrays that disagree refused rather than read
// past. test/dataplane/service-stats.test.ts checks it against the real addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addon, type PackedServiceStats } from '../../src/native/addon';
import { unpackService, unpackServices } from '../../src/native/service-stats';

// Services 4 (two backends), 9 (none) and 2 (one IPv6 backend); every number distinct.
const packed = (): PackedServiceStats => ({
  ids: Uint32Array.of(4, 9, 2),
  names: ['web', 'empty', 'v6'],
  counters: Float64Array.of(11, 12, 13, 14, 21, 22, 23, 24, 31, 32, 33, 34),
  backendCounts: Uint32Array.of(2, 0, 1),
  backendIds: Uint32Array.of(40, 41, 20),
  addresses: '10.99.0.11,10.99.0.12,fd00:99::11',
  ports: Uint16Array.of(80, 8080, 443),
  backendCounters: Float64Array.of(101, 102, 103, 104, 111, 112, 113, 114, 201, 202, 203, 204),
});

const backend = (id: number, address: string, port: number, first: number) =>
  ({ id, address, port, packets: first, bytes: first + 1, newFlows: first + 2, activeFlows: first + 3 });
const wanted = [
  { id: 4, name: 'web', packets: 11, bytes: 12, newFlows: 13, activeFlows: 14,
    backends: [backend(40, '10.99.0.11', 80, 101), backend(41, '10.99.0.12', 8080, 111)] },
  { id: 9, name: 'empty', packets: 21, bytes: 22, newFlows: 23, activeFlows: 24, backends: [] },
  { id: 2, name: 'v6', packets: 31, bytes: 32, newFlows: 33, activeFlows: 34, backends: [backend(20, 'fd00:99::11', 443, 201)] },
];

test('every service and backend with its own numbers, fields in the order the addon\'s objects had them', () => {
  const services = unpackServices(packed());
  assert.deepStrictEqual(services, wanted);
  assert.equal(JSON.stringify(services), JSON.stringify(wanted));
  const { examples } = addon().counters;
  assert.deepEqual(Object.keys(services[0]), ['id', 'name', ...Object.keys(examples.service), 'backends']);
  assert.deepEqual(Object.keys(services[0].backends[0]), ['id', 'address', 'port', ...Object.keys(examples.backend)]);
});

test('no services, and services without backends', () => {
  const none: PackedServiceStats = { ids: new Uint32Array(0), names: [], counters: new Float64Array(0),
    backendCounts: new Uint32Array(0), backendIds: new Uint32Array(0), addresses: '', ports: new Uint16Array(0),
    backendCounters: new Float64Array(0) };
  assert.deepStrictEqual(unpackServices(none), []);
  assert.equal(unpackService(undefined), undefined);
  const empty = { ...none, ids: Uint32Array.of(9), names: ['empty'], counters: Float64Array.of(21, 22, 23, 24),
    backendCounts: Uint32Array.of(0) };
  assert.deepStrictEqual(unpackService(empty), wanted[1]);
});

test('arrays that disagree are refused, not read past', () => {
  const broken: [string, Partial<PackedServiceStats>][] = [
    ['a name short', { names: ['web', 'empty'] }],
    ['a service counter short', { counters: packed().counters.subarray(1) }],
    ['backend counts that add up to more', { backendCounts: Uint32Array.of(2, 1, 1) }],
    ['an address short', { addresses: '10.99.0.11,10.99.0.12' }],
    ['a port short', { ports: Uint16Array.of(80, 8080) }],
    ['a backend counter short', { backendCounters: packed().backendCounters.subarray(1) }],
  ];
  for (const [what, change] of broken) {
    assert.throws(() => unpackServices({ ...packed(), ...change }), { code: 'SLUICE_INTERNAL', message: /arrays that disagree/ }, what);
  }
});
