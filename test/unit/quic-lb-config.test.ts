// A UDP service's quicLb and its backends' serverId: what validates, what the
// addon is handed, and each rule the schema cannot say as a
// SLUICE_CONFIG_INVALID naming its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceIdMap, toNativeServices, validateConfig } from '../../src/config';
import { configProblems } from '../helpers/config-problems';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const KEY = '8F95F09245765F80256934E50C66207F';

const base = (quicLb: Raw | undefined, serverIds: (string | undefined)[] = ['0a01', '0a02'], svc: Raw = {}): Raw => ({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
  services: [{
    name: 'quic', vip: '10.99.0.100', port: 443, protocol: 'udp', ...(quicLb === undefined ? {} : { quicLb }), ...svc,
    backends: serverIds.map((serverId, i) => ({ address: `10.99.0.${11 + i}`, port: 443, ...(serverId === undefined ? {} : { serverId }) })),
  }],
});

const problems = (raw: Raw): string[] => configProblems(raw);

const plaintext = { configId: 1, serverIdLength: 2, nonceLength: 6, algorithm: 'plaintext' };

test('a valid config reaches the addon with hex in lower case; a backend without a server ID is allowed', () => {
  const cfg = validateConfig(base({ configId: 2, serverIdLength: 8, nonceLength: 8, algorithm: 'single-pass', key: KEY },
    ['ED793A51D49B8F5F', undefined]));
  const [native] = toNativeServices(cfg.services, new ServiceIdMap());
  assert.deepEqual(native.quicLb, { configId: 2, serverIdLength: 8, nonceLength: 8, algorithm: 'single-pass', key: KEY.toLowerCase() });
  assert.deepEqual(native.backends.map((b) => b.serverId), ['ed793a51d49b8f5f', undefined]);
  assert.equal(validateConfig(base(plaintext)).services[0].quicLb?.algorithm, 'plaintext');
  assert.equal(toNativeServices(validateConfig(base(undefined, [undefined])).services, new ServiceIdMap())[0].quicLb, undefined);
});

test('each rule, named by its path', () => {
  const cases: [Raw, RegExp][] = [
    [base(plaintext, ['0a01'], { protocol: 'tcp' }), /^services\[0\]\.quicLb: QUIC runs over UDP; this service is tcp/],
    [base({ ...plaintext, serverIdLength: 10, nonceLength: 10 }), /^services\[0\]\.quicLb: serverIdLength \+ nonceLength is 20/],
    [base({ ...plaintext, algorithm: 'single-pass', key: KEY }), /^services\[0\]\.quicLb\.algorithm: single-pass needs serverIdLength \+ nonceLength = 16/],
    [base({ configId: 1, serverIdLength: 8, nonceLength: 8, algorithm: 'four-pass', key: KEY }, ['0a01020304050607']), /^services\[0\]\.quicLb\.algorithm: serverIdLength \+ nonceLength is 16: use single-pass/],
    [base({ ...plaintext, algorithm: 'four-pass' }), /^services\[0\]\.quicLb\.key: four-pass needs a key/],
    [base({ ...plaintext, algorithm: 'four-pass', key: 'abc' }), /^services\[0\]\.quicLb\.key: must be 32 hex digits/],
    [base({ ...plaintext, algorithm: 'four-pass', key: 'g'.repeat(32) }), /^services\[0\]\.quicLb\.key: must be 32 hex digits/],
    [base({ ...plaintext, key: KEY }), /^services\[0\]\.quicLb\.key: plaintext uses no key/],
    [base(plaintext, ['0a01', '0A01']), /^services\[0\]\.backends\[1\]\.serverId: server ID 0a01 is also backends\[0\]'s/],
    [base(plaintext, ['0a0102']), /^services\[0\]\.backends\[0\]\.serverId: "0a0102" must be 2 octets in hex \(4 digits\)/],
    [base(plaintext, ['zz01']), /^services\[0\]\.backends\[0\]\.serverId: "zz01" must be 2 octets in hex/],
    [base(undefined, ['0a01']), /^services\[0\]\.backends\[0\]\.serverId: applies only to a service with quicLb/],
    [base({ ...plaintext, configId: 7 }), /services\/0\/quicLb\/configId|services\[0\]\.quicLb\.configId/],
  ];
  for (const [raw, expected] of cases) {
    const found = problems(raw);
    assert.ok(found.some((p) => expected.test(p)), `${expected} among ${JSON.stringify(found)}`);
  }
});

test('an IPv6 service takes quicLb too', () => {
  const raw = base(plaintext, ['0a01'], { vip: 'fd00:99::100' });
  raw.ports[0].address6 = 'fd00:99::2/64';
  raw.services[0].backends[0].address = 'fd00:99::11';
  assert.equal(validateConfig(raw).services[0].quicLb?.configId, 1);
});

test('a nat service takes quicLb too: its new sessions start on the backend the connection ID names', () => {
  const raw = base(plaintext, ['0a01'], { forwarding: 'nat', vip: '10.99.0.100' });
  raw.ports[0].natPool = { addresses: ['10.99.0.200'] };
  assert.equal(validateConfig(raw).services[0].quicLb?.algorithm, 'plaintext');
});
