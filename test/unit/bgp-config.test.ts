// The config's `bgp` section: defaults, the schema's ranges and unknown fields,
// the rules between fields (router id, neighbor addresses and duplicates,
// communities, next hops and their defaults), each a SLUICE_CONFIG_INVALID
// naming its path; and a reload refuses a change of it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config';
import { restartFields } from '../../src/config/diff';
import { checkConfig } from '../../src/config/load';
import { defaultNextHops } from '../../src/config/semantics-bgp';
import { configProblems } from '../helpers/config-problems';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = (bgp: Raw = {}): Raw => ({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64' }],
  services: [{ name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80 }] }],
  bgp: { asn: 65001, routerId: '10.255.0.1', neighbors: [{ address: '10.99.0.1', asn: 65000 }], ...bgp },
});

const problems = (raw: Raw): string[] => configProblems(raw);

describe('bgp config', () => {
  test('defaults: listenPort 179, announce healthy, each neighbor hold 9 s, port 179, not passive', () => {
    const cfg = validateConfig(base());
    assert.deepEqual(cfg.bgp, {
      asn: 65001, routerId: '10.255.0.1', listenPort: 179, announce: 'healthy',
      neighbors: [{ address: '10.99.0.1', asn: 65000, holdTimeSec: 9, passive: false, port: 179 }],
    });
  });

  test('no bgp section: none', () => {
    const raw = base();
    delete raw.bgp;
    assert.equal(validateConfig(raw).bgp, undefined);
  });

  test('every field given is kept', () => {
    const bgp = {
      asn: 4200000000, routerId: '192.0.2.1', listenPort: 1179, announce: 'always', communities: ['65001:100', '0:65535'], med: 10,
      nextHop: '10.99.0.2', nextHop6: 'fd00:99::2',
      neighbors: [{ address: 'fd00:99::1', asn: 65000, holdTimeSec: 3, passive: true, password: 'secret', port: 2179 }],
    };
    assert.deepEqual(validateConfig(base(bgp)).bgp, bgp);
  });

  test('the schema: ranges, required fields and unknown fields, each named', () => {
    const got = problems(base({ asn: 0, listenPort: 70000, announce: 'sometimes', neighbors: [{ address: '10.99.0.1', asn: 65000, holdTimeSec: 2, colour: 1 }] }));
    for (const want of [/^bgp\.asn: /, /^bgp\.listenPort: /, /^bgp\.announce: /, /^bgp\.neighbors\[0\]\.holdTimeSec: must be >= 3/, /^bgp\.neighbors\[0\]\.colour: /]) {
      assert.ok(got.some((p) => want.test(p)), `${want} in ${JSON.stringify(got)}`);
    }
    assert.ok(problems(base({ neighbors: [] })).some((p) => /^bgp\.neighbors: /.test(p)));
    const noAsn = base();
    delete noAsn.bgp.asn;
    assert.deepEqual(problems(noAsn), ['bgp.asn: is required']);
    assert.ok(problems(base({ routerid: '1.2.3.4' })).some((p) => /^bgp\.routerid: /.test(p)));
    assert.ok(problems(base({ communities: ['65000-1'] })).some((p) => /^bgp\.communities\[0\]: /.test(p)));
    assert.ok(problems(base({ med: -1 })).some((p) => /^bgp\.med: /.test(p)));
  });

  test('the rules: router id, neighbor addresses, duplicates, communities, next hops', () => {
    assert.deepEqual(problems(base({ routerId: 'fd00::1' })), ['bgp.routerId: "fd00::1" must be an IPv4 address (a BGP identifier is 32 bits)']);
    assert.deepEqual(problems(base({ routerId: '0.0.0.0' })), ['bgp.routerId: must not be 0.0.0.0']);
    assert.deepEqual(problems(base({ neighbors: [{ address: 'router', asn: 1 }] })), ['bgp.neighbors[0].address: "router" must be an IPv4 or IPv6 address']);
    assert.deepEqual(problems(base({ neighbors: [{ address: '224.0.0.5', asn: 1 }] })), ['bgp.neighbors[0].address: 224.0.0.5 is not a unicast address']);
    assert.deepEqual(problems(base({ neighbors: [{ address: 'fd00::1', asn: 1 }, { address: 'fd00:0::1', asn: 2 }] })),
      ['bgp.neighbors[1].address: fd00::1 is already bgp.neighbors[0]']);
    assert.deepEqual(problems(base({ communities: ['65000:1', '65536:1'] })), ['bgp.communities[1]: "65536:1" must be ASN:VALUE with both 0-65535']);
    assert.deepEqual(problems(base({ nextHop: 'fd00::2' })), ['bgp.nextHop: "fd00::2" must be an IPv4 address (the next hop of IPv4 VIPs)']);
    assert.match(problems(base({ nextHop: '127.0.0.1' }))[0], /^bgp\.nextHop: 127\.0\.0\.1 is a loopback address/);
    assert.deepEqual(problems(base({ nextHop6: '10.0.0.1' })), ['bgp.nextHop6: "10.0.0.1" must be an IPv6 address (the next hop of IPv6 VIPs)']);
    // a loopback neighbor is fine (tests peer over lo)
    validateConfig(base({ neighbors: [{ address: '127.0.0.2', asn: 65002, port: 1790 }] }));
  });

  test('next hops default to the first port\'s address and address6', () => {
    const cfg = validateConfig(base());
    assert.deepEqual(defaultNextHops(cfg.ports), { v4: '10.99.0.2', v6: 'fd00:99::2' });
    assert.deepEqual(defaultNextHops([{ ...cfg.ports[0], address6: undefined }]), { v4: '10.99.0.2', v6: undefined });
  });

  test('a bgp change is a restart field: a reload refuses it, naming it', () => {
    const cfg = validateConfig(base());
    assert.deepEqual(restartFields(cfg, validateConfig(base({ asn: 65009 }))), ['bgp.asn']);
    assert.deepEqual(restartFields(cfg, validateConfig(base({ neighbors: [{ address: '10.99.0.1', asn: 65000, holdTimeSec: 30 }] }))),
      ['bgp.neighbors[0].holdTimeSec']);
    const none = base();
    delete none.bgp;
    assert.deepEqual(restartFields(cfg, validateConfig(none)), ['bgp']);
  });

  test('checkConfig reports bgp problems with the others in one pass', () => {
    const raw = base({ routerId: 'x' });
    raw.ports[0].mtu = 10;
    const paths = checkConfig(raw).problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['bgp.routerId', 'ports[0].mtu']);
  });
});
