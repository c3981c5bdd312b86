import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import {
  formatIPv4,
  inSubnet,
  isPciAddress,
  normalizeIp,
  normalizeMac,
  normalizePciAddress,
  parseCidr,
  parseIPv4,
} from '../../src/net/addr';

describe('parseIPv4', () => {
  test('accepts exactly what node:net isIPv4 accepts, with the same octets', () => {
    // Random strings of digits and dots (and a few other characters), biased
    // to look like addresses: leading zeros, 256, too many or too few parts.
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    const samples = ['0.0.0.0', '255.255.255.255', '1.2.3.4', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5',
      '1..2.3', '.1.2.3', '1.2.3.', '', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.255', '1.2.3.2555', '00.0.0.0', '0.0.0.00'];
    const part = () => {
      const kind = random(10);
      if (kind === 0) return '';
      if (kind === 1) return `0${random(30)}`;
      if (kind === 2) return `${random(10)}x`;
      return String(random(kind === 3 ? 1000 : 300));
    };
    for (let i = 0; i < 20000; i++) {
      const parts = random(8) === 0 ? 3 + 2 * random(2) : 4;
      samples.push(Array.from({ length: parts }, part).join('.'));
    }
    let accepted = 0;
    for (const s of samples) {
      const parsed = parseIPv4(s);
      assert.equal(parsed !== undefined, isIPv4(s), `"${s}"`);
      if (parsed === undefined) continue;
      accepted++;
      assert.deepEqual([...parsed], s.split('.').map(Number), `"${s}"`);
      assert.equal(formatIPv4(parsed), s, `"${s}" formats back as written`);
    }
    assert.ok(accepted > 1000 && accepted < samples.length - 1000, `${accepted} of ${samples.length} samples were addresses`);
  });
});

describe('normalizeIp', () => {
  const cases: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['010.0.0.1', undefined],
    ['10.0.0.256', undefined],
    ['10.0.0', undefined],
    [' 10.0.0.1', undefined],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['fd00:0000:0000:0001:0000:0000:0000:0001', 'fd00:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
    ['fe80::1%eth0', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['host', undefined],
  ];
  for (const [input, want] of cases) {
    test(`${input} -> ${want}`, () => assert.equal(normalizeIp(input), want));
  }
});

describe('parseCidr and inSubnet', () => {
  test('keeps the host address, derives the network', () => {
    assert.deepEqual(parseCidr('10.99.0.2/24'), { family: 4, address: '10.99.0.2', prefixLength: 24, network: '10.99.0.0' });
    assert.deepEqual(parseCidr('10.99.7.2/20')?.network, '10.99.0.0');
    assert.deepEqual(parseCidr('fd00::2/64'), { family: 6, address: 'fd00::2', prefixLength: 64, network: 'fd00::' });
  });
  for (const bad of ['10.99.0.2', '10.99.0.2/33', '10.99.0.2/', '10.99.0.2/024', '10.99.0.2/-1', 'fd00::/129', 'x/8']) {
    test(`rejects ${bad}`, () => assert.equal(parseCidr(bad), undefined));
  }
  const membership: [string, string, boolean][] = [
    ['10.99.0.11', '10.99.0.2/24', true],
    ['10.99.1.11', '10.99.0.2/24', false],
    ['10.99.1.11', '10.99.0.2/23', true],
    ['10.99.0.3', '10.99.0.2/31', true],
    ['10.99.0.4', '10.99.0.2/31', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['fd00::11', 'fd00::2/64', true],
    ['fd00:0:0:1::11', 'fd00::2/64', false],
    ['::ffff:10.99.0.11', '10.99.0.2/24', false],
    ['junk', '10.99.0.2/24', false],
  ];
  for (const [addr, cidr, want] of membership) {
    test(`${addr} in ${cidr}: ${want}`, () => assert.equal(inSubnet(addr, cidr), want));
  }
});

describe('normalizeMac', () => {
  const cases: [string, string | undefined][] = [
    ['02:00:00:00:00:11', '02:00:00:00:00:11'],
    ['02:AB:cd:00:00:11', '02:ab:cd:00:00:11'],
    ['02-00-00-00-00-11', undefined],
    ['0200.0000.0011', undefined],
    ['020000000011', undefined],
    ['2:0:0:0:0:11', undefined],
    ['02:00:00:00:00:1g', undefined],
    ['02:00:00:00:00:11:22', undefined],
  ];
  for (const [input, want] of cases) {
    test(`${input} -> ${want}`, () => assert.equal(normalizeMac(input), want));
  }
});

describe('normalizePciAddress', () => {
  const cases: [string, string | undefined][] = [
    ['01:00.0', '0000:01:00.0'],
    ['0000:01:00.0', '0000:01:00.0'],
    ['0000:3B:00.1', '0000:3b:00.1'],
    ['0001:af:1f.7', '0001:af:1f.7'],
    ['01:20.0', undefined],
    ['01:00.8', undefined],
    ['1:00.0', undefined],
    ['000:01:00.0', undefined],
    ['0000:01:00', undefined],
    ['net_null0', undefined],
  ];
  for (const [input, want] of cases) {
    test(`${input} -> ${want}`, () => {
      assert.equal(normalizePciAddress(input), want);
      assert.equal(isPciAddress(input), want !== undefined);
    });
  }
});
