import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, SluiceError, type ConfigProblem } from '../../src/errors';
import {
  IdAllocator,
  ServiceIdMap,
  defaultWorkers,
  loadConfigFile,
  parseLcores,
  toNativeServices,
  toNativeStart,
  validateConfig,
} from '../../src/config';

// Plain data so each case can mutate its own copy; `any` keeps mutations short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;

function base(): Raw {
  return {
    eal: { lcores: '0@0,1@1,2@1' },
    ports: [
      {
        name: 'eth0',
        device: 'net_af_packet0,iface=veth-lb,qpairs=2',
        queues: 2,
        address: '10.99.0.2/24',
        gateway: '10.99.0.1',
      },
    ],
    services: [
      {
        name: 'web',
        vip: '10.99.0.100',
        port: 80,
        protocol: 'tcp',
        backends: [
          { address: '10.99.0.11', port: 80, mac: '02:00:00:00:00:11' },
          { address: '10.99.0.12', port: 80 },
        ],
      },
    ],
  };
}

function withChange(change: (c: Raw) => void): Raw {
  const c = base();
  change(c);
  return c;
}

function configProblems(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SluiceError, `expected SluiceError, got ${String(err)}`);
    assert.equal(err.code, 'SLUICE_CONFIG_INVALID');
    return err.details as ConfigProblem[];
  }
  assert.fail('expected SLUICE_CONFIG_INVALID, nothing was thrown');
}

function tunnel(c: Raw, options: Raw): void {
  c.services[0].forwarding = 'tunnel';
  c.services[0].tunnel = options;
}

const secondPort = { name: 'eth1', device: 'net_null1', queues: 2, address: '10.98.0.2/24' };

describe('validateConfig fills defaults', () => {
  test('minimal config', () => {
    const cfg = validateConfig(base());
    assert.deepEqual(cfg.eal, { lcores: '0@0,1@1,2@1', hugepages: true, memoryMb: 1024, extraArgs: [] });
    assert.equal(cfg.ports[0].mtu, 1500);
    assert.equal(cfg.ports[0].rxDescriptors, 1024);
    assert.deepEqual(cfg.flowTable, {
      entriesPerLcore: 1048576,
      tcpTimeoutSec: 300,
      tcpClosingTimeoutSec: 10,
      udpTimeoutSec: 30,
      admission: { newFlowsPerSec: 200000, burst: 50000 },
    });
    assert.deepEqual(cfg.dataplane, { idleSleepMaxUs: 100, mbufsPerSocket: 0, neighborRefreshSec: 30 });
    assert.deepEqual(cfg.fragments, { enabled: true, entriesPerLcore: 4096, holdMs: 10, heldBytesPerLcore: 1048576 });
    assert.equal(cfg.services[0].forwarding, 'dsr');
    assert.equal(cfg.services[0].lookupTableSize, 65537);
    assert.equal(cfg.services[0].backends[1].weight, 100);
    assert.equal(cfg.services[0].backends[1].state, 'active');
    assert.equal(cfg.workers, undefined);
  });

  test('services may be omitted', () => {
    assert.deepEqual(validateConfig(withChange((c) => delete c.services)).services, []);
  });

  test('input is not modified', () => {
    const raw = base();
    const before = JSON.stringify(raw);
    validateConfig(raw);
    assert.equal(JSON.stringify(raw), before);
  });

  const accepted: { name: string; change: (c: Raw) => void }[] = [
    { name: 'same VIP and port, other protocol', change: (c) => c.services.push({ ...c.services[0], name: 'dns', protocol: 'udp' }) },
    { name: 'short PCI address', change: (c) => (c.ports[0].device = '01:00.0') },
    { name: 'ring device', change: (c) => (c.ports[0].device = 'ring') },
    { name: 'uppercase MAC', change: (c) => (c.services[0].backends[0].mac = '02:AB:00:00:00:11') },
    { name: 'backend on a second port', change: (c) => {
      c.ports.push(secondPort);
      c.services[0].backends[1].address = '10.98.0.12';
    } },
    { name: 'loopback backend inside a port\'s loopback subnet (as the health-check tests run)', change: (c) => {
      c.ports[0].address = '127.0.0.2/8';
      delete c.ports[0].gateway;
      c.services[0].backends.forEach((b: { address: string }, i: number) => (b.address = `127.0.0.${10 + i}`));
    } },
    { name: 'weight 0 and drain', change: (c) => Object.assign(c.services[0].backends[0], { weight: 0, state: 'drain' }) },
    { name: 'no gateway', change: (c) => delete c.ports[0].gateway },
    { name: 'explicit workers', change: (c) => (c.workers = [
      { lcore: 1, rx: [{ port: 'eth0', queue: 0 }] },
      { lcore: 2, rx: [{ port: 'eth0', queue: 1 }] },
    ]) },
    { name: 'udp service, busy poll', change: (c) => {
      c.services[0].protocol = 'udp';
      c.dataplane = { idleSleepMaxUs: 0 };
    } },
    { name: 'names with dots, dashes and underscores after the first character, 32 long', change: (c) => {
      c.services[0].name = 'a.b-c_d';
      c.ports[0].name = `e${'x'.repeat(31)}`;
    } },
    { name: 'API beyond loopback with a token', change: (c) => (c.api = { listen: '0.0.0.0:9090', tokenEnv: 'T' }) },
    { name: 'API beyond loopback, explicitly open', change: (c) => (c.api = { listen: '[::]:9090', allowUnauthenticated: true }) },
    { name: 'API on IPv6 loopback or localhost without a token', change: (c) => (c.api = { listen: '[::1]:9090' }) },
    { name: 'API on localhost without a token', change: (c) => (c.api = { listen: 'localhost:9090' }) },
    { name: 'a backend on a /31 port (no network or broadcast address there)', change: (c) => {
      c.ports[0].address = '10.99.0.2/31';
      delete c.ports[0].gateway;
      c.services[0].backends = [{ address: '10.99.0.3', port: 80 }];
    } },
  ];
  for (const { name, change } of accepted) {
    test(`accepts: ${name}`, () => {
      validateConfig(withChange(change));
    });
  }
});

describe('validateConfig rejects, naming the path', () => {
  const rejected: { name: string; change: (c: Raw) => void; path: string; reason: string }[] = [
    // schema
    { name: 'unknown field', change: (c) => (c.ports[0].colour = 'red'), path: 'ports[0].colour', reason: 'unknown field' },
    { name: 'unknown top-level field', change: (c) => (c.listen = 1), path: 'listen', reason: 'unknown field' },
    { name: 'unknown backend field', change: (c) => (c.services[0].backends[0].host = 'a'), path: 'services[0].backends[0].host', reason: 'unknown field' },
    { name: 'missing lcores', change: (c) => delete c.eal.lcores, path: 'eal.lcores', reason: 'is required' },
    { name: 'missing ports', change: (c) => delete c.ports, path: 'ports', reason: 'is required' },
    { name: 'no ports', change: (c) => (c.ports = []), path: 'ports', reason: 'at least 1' },
    { name: 'queues as a string', change: (c) => (c.ports[0].queues = '2'), path: 'ports[0].queues', reason: 'must be an integer' },
    { name: 'hugepages as a string', change: (c) => (c.eal.hugepages = 'yes'), path: 'eal.hugepages', reason: 'true or false' },
    { name: 'fractional weight', change: (c) => (c.services[0].backends[0].weight = 1.5), path: 'services[0].backends[0].weight', reason: 'must be an integer' },
    { name: 'backends not a list', change: (c) => (c.services[0].backends = {}), path: 'services[0].backends', reason: 'must be a list' },
    { name: 'flowTable as a list', change: (c) => (c.flowTable = []), path: 'flowTable', reason: 'must be a mapping' },
    { name: 'extraArgs as a mapping', change: (c) => (c.eal.extraArgs = {}), path: 'eal.extraArgs', reason: 'must be a list' },
    { name: 'backend port too high', change: (c) => (c.services[0].backends[1].port = 65536), path: 'services[0].backends[1].port', reason: 'must be <= 65535' },
    { name: 'service port 0', change: (c) => (c.services[0].port = 0), path: 'services[0].port', reason: 'must be >= 1' },
    { name: 'negative weight', change: (c) => (c.services[0].backends[0].weight = -1), path: 'services[0].backends[0].weight', reason: 'must be >= 0' },
    { name: 'weight too high', change: (c) => (c.services[0].backends[0].weight = 65536), path: 'services[0].backends[0].weight', reason: 'must be <= 65535' },
    { name: 'mtu too high', change: (c) => (c.ports[0].mtu = 9601), path: 'ports[0].mtu', reason: 'must be <= 9600' },
    { name: 'mtu too low', change: (c) => (c.ports[0].mtu = 67), path: 'ports[0].mtu', reason: 'must be >= 68' },
    { name: 'too many queues', change: (c) => (c.ports[0].queues = 65), path: 'ports[0].queues', reason: 'must be <= 64' },
    { name: 'tiny flow table', change: (c) => (c.flowTable = { entriesPerLcore: 100 }), path: 'flowTable.entriesPerLcore', reason: 'must be >= 1024' },
    { name: 'negative admission rate', change: (c) => (c.flowTable = { admission: { newFlowsPerSec: -1 } }), path: 'flowTable.admission.newFlowsPerSec', reason: 'must be >= 0' },
    { name: 'zero admission burst', change: (c) => (c.flowTable = { admission: { burst: 0 } }), path: 'flowTable.admission.burst', reason: 'must be >= 1' },
    { name: 'unknown admission field', change: (c) => (c.flowTable = { admission: { rate: 5 } }), path: 'flowTable.admission.rate', reason: 'unknown field' },
    { name: 'fragment table under a bucket', change: (c) => (c.fragments = { entriesPerLcore: 4 }), path: 'fragments.entriesPerLcore', reason: 'must be >= 8' },
    { name: 'fragments held no time', change: (c) => (c.fragments = { holdMs: 0 }), path: 'fragments.holdMs', reason: 'must be >= 1' },
    { name: 'fragments held too long', change: (c) => (c.fragments = { holdMs: 10001 }), path: 'fragments.holdMs', reason: 'must be <= 10000' },
    { name: 'negative held bytes', change: (c) => (c.fragments = { heldBytesPerLcore: -1 }), path: 'fragments.heldBytesPerLcore', reason: 'must be >= 0' },
    { name: 'fragments enabled as a string', change: (c) => (c.fragments = { enabled: 'yes' }), path: 'fragments.enabled', reason: 'must be true or false' },
    { name: 'idle sleep too long', change: (c) => (c.dataplane = { idleSleepMaxUs: 100001 }), path: 'dataplane.idleSleepMaxUs', reason: 'must be <= 100000' },
    { name: 'lookup table size below range', change: (c) => (c.services[0].lookupTableSize = 250), path: 'services[0].lookupTableSize', reason: 'must be >= 251' },
    { name: 'lookup table size under its old name', change: (c) => (c.services[0].maglevTableSize = 65537), path: 'services[0].maglevTableSize', reason: 'was renamed to lookupTableSize' },
    { name: 'unknown protocol', change: (c) => (c.services[0].protocol = 'sctp'), path: 'services[0].protocol', reason: 'must be one of: tcp, udp' },
    { name: 'unknown state', change: (c) => (c.services[0].backends[0].state = 'paused'), path: 'services[0].backends[0].state', reason: 'one of: active, drain, disabled' },
    { name: 'port name with a space', change: (c) => (c.ports[0].name = 'eth 0'), path: 'ports[0].name', reason: '1 to 32 of' },
    { name: 'empty lcores', change: (c) => (c.eal.lcores = ''), path: 'eal.lcores', reason: 'must not be empty' },
    // semantics: eal
    { name: 'one lcore only', change: (c) => (c.eal.lcores = '0'), path: 'eal.lcores', reason: 'at least 2 lcores' },
    { name: 'garbage lcores', change: (c) => (c.eal.lcores = '0,x'), path: 'eal.lcores', reason: 'expected lcore number' },
    { name: 'duplicate lcore', change: (c) => (c.eal.lcores = '0,1,1@2'), path: 'eal.lcores', reason: 'lcore 1 appears more than once' },
    { name: 'lcore id 128', change: (c) => (c.eal.lcores = '0,128'), path: 'eal.lcores', reason: 'must be <= 127' },
    // semantics: ports
    { name: 'duplicate port name', change: (c) => c.ports.push({ ...secondPort, name: 'eth0' }), path: 'ports[1].name', reason: 'duplicate port name "eth0"' },
    { name: 'kernel interface named twice', change: (c) => { c.ports[0].kernelInterface = 'sluice0'; c.ports.push({ ...secondPort, kernelInterface: 'sluice0' }); }, path: 'ports[1].kernelInterface', reason: 'sluice0 is already the kernel interface of ports[0]' },
    { name: 'kernel rate without a kernel interface', change: (c) => (c.ports[0].kernelPacketsPerSec = 100), path: 'ports[0].kernelPacketsPerSec', reason: 'needs kernelInterface' },
    { name: 'kernel interface name too long', change: (c) => (c.ports[0].kernelInterface = 'sluice-kernel-if0'), path: 'ports[0].kernelInterface', reason: 'a Linux interface name' },
    { name: 'kernel interface named ..', change: (c) => (c.ports[0].kernelInterface = '..'), path: 'ports[0].kernelInterface', reason: 'a Linux interface name' },
    { name: 'kernel rate of 0', change: (c) => { c.ports[0].kernelInterface = 'sluice0'; c.ports[0].kernelPacketsPerSec = 0; }, path: 'ports[0].kernelPacketsPerSec', reason: 'must be >= 1' },
    { name: 'duplicate device', change: (c) => c.ports.push({ ...secondPort, device: 'net_af_packet0,iface=other' }), path: 'ports[1].device', reason: 'already used by ports[0]' },
    { name: 'same PCI device in two spellings', change: (c) => {
      c.ports[0].device = '01:00.0';
      c.ports.push({ ...secondPort, device: '0000:01:00.0' });
    }, path: 'ports[1].device', reason: 'already used' },
    { name: 'bad PCI function', change: (c) => (c.ports[0].device = '0000:01:00.9'), path: 'ports[0].device', reason: 'PCI address' },
    { name: 'unknown device kind', change: (c) => (c.ports[0].device = 'eth0'), path: 'ports[0].device', reason: 'not a vdev spec' },
    { name: 'CIDR without prefix', change: (c) => (c.ports[0].address = '10.99.0.2'), path: 'ports[0].address', reason: 'prefix length' },
    { name: 'CIDR prefix too long', change: (c) => (c.ports[0].address = '10.99.0.2/33'), path: 'ports[0].address', reason: 'prefix length' },
    { name: 'IPv6 port address', change: (c) => (c.ports[0].address = 'fd00::2/64'), path: 'ports[0].address', reason: 'IPv6' },
    { name: 'gateway off subnet', change: (c) => (c.ports[0].gateway = '10.98.0.1'), path: 'ports[0].gateway', reason: 'outside the port\'s subnet 10.99.0.0/24' },
    { name: 'gateway not an address', change: (c) => (c.ports[0].gateway = 'router'), path: 'ports[0].gateway', reason: 'IPv4 address' },
    { name: 'descriptors not a power of two', change: (c) => (c.ports[0].rxDescriptors = 1000), path: 'ports[0].rxDescriptors', reason: 'power of two' },
    { name: 'duplicate port address', change: (c) => c.ports.push({ ...secondPort, address: '10.99.0.2/16' }), path: 'ports[1].address', reason: 'already the address of ports[0]' },
    // semantics: workers
    { name: 'worker lcore not in eal.lcores', change: (c) => (c.workers = [{ lcore: 5, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }] }]), path: 'workers[0].lcore', reason: 'not in eal.lcores' },
    { name: 'worker is the main lcore', change: (c) => (c.workers = [{ lcore: 0, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }] }]), path: 'workers[0].lcore', reason: 'main lcore' },
    { name: 'worker listed twice', change: (c) => (c.workers = [{ lcore: 1, rx: [{ port: 'eth0', queue: 0 }] }, { lcore: 1, rx: [{ port: 'eth0', queue: 1 }] }]), path: 'workers[1].lcore', reason: 'listed twice' },
    { name: 'queue not assigned', change: (c) => (c.workers = [{ lcore: 1, rx: [{ port: 'eth0', queue: 0 }] }]), path: 'workers', reason: 'not assigned: eth0 queue 1' },
    { name: 'queue assigned twice', change: (c) => (c.workers = [
      { lcore: 1, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }] },
      { lcore: 2, rx: [{ port: 'eth0', queue: 1 }] },
    ]), path: 'workers[1].rx[0]', reason: 'eth0 queue 1 is already assigned to workers[0]' },
    { name: 'unknown port in workers', change: (c) => (c.workers = [{ lcore: 1, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }, { port: 'eth9', queue: 0 }] }]), path: 'workers[0].rx[2].port', reason: 'no port named "eth9"' },
    { name: 'queue beyond the port', change: (c) => (c.workers = [{ lcore: 1, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }, { port: 'eth0', queue: 2 }] }]), path: 'workers[0].rx[2].queue', reason: 'must be < 2' },
    // semantics: services
    { name: 'lookup table size not prime', change: (c) => (c.services[0].lookupTableSize = 65536), path: 'services[0].lookupTableSize', reason: 'must be prime; 65536 is not (the next prime is 65537)' },
    { name: 'duplicate service name', change: (c) => c.services.push({ ...c.services[0], port: 443, backends: [] }), path: 'services[1].name', reason: 'duplicate service name "web"' },
    { name: 'duplicate VIP, port and protocol', change: (c) => c.services.push({ ...c.services[0], name: 'web2', backends: [] }), path: 'services[1]', reason: '10.99.0.100:80/tcp is already served by services[0]' },
    { name: 'duplicate backend', change: (c) => (c.services[0].backends[1].address = '10.99.0.11'), path: 'services[0].backends[1]', reason: '10.99.0.11:80 is listed twice' },
    { name: 'dsr port mismatch', change: (c) => (c.services[0].backends[0].port = 8080), path: 'services[0].backends[0].port', reason: 'dsr forwards without rewriting ports: backend port must equal the service port 80' },
    { name: 'backend off-link', change: (c) => (c.services[0].backends[0].address = '10.98.0.11'), path: 'services[0].backends[0].address', reason: 'not inside any port\'s subnet (10.99.0.0/24)' },
    { name: 'backend is a port address', change: (c) => (c.services[0].backends[0].address = '10.99.0.2'), path: 'services[0].backends[0].address', reason: 'own address of ports[0]' },
    { name: 'IPv6 backend', change: (c) => (c.services[0].backends[0].address = 'fd00::11'), path: 'services[0].backends[0].address', reason: 'fd00::11 is IPv6 but the VIP is IPv4: a service, its backends share one address family' },
    { name: 'IPv6 VIP', change: (c) => (c.services[0].vip = 'fd00::100'), path: 'services[0].vip', reason: 'no port has an IPv6 address (ports[].address6)' },
    { name: 'VIP not an address', change: (c) => (c.services[0].vip = '10.99.0.256'), path: 'services[0].vip', reason: 'must be an IPv4 or IPv6 address' },
    { name: 'VIP is a port address', change: (c) => (c.services[0].vip = '10.99.0.2'), path: 'services[0].vip', reason: 'own address of ports[0] (eth0)' },
    // semantics: tunnel
    { name: 'tunnel options on a dsr service', change: (c) => (c.services[0].tunnel = { encapsulation: 'ipip' }), path: 'services[0].tunnel', reason: 'applies to forwarding tunnel only' },
    { name: 'unknown encapsulation', change: (c) => tunnel(c, { encapsulation: 'gre' }), path: 'services[0].tunnel.encapsulation', reason: 'must be one of: ipip, gue' },
    { name: 'unknown tunnel field', change: (c) => tunnel(c, { ttl: 3 }), path: 'services[0].tunnel.ttl', reason: 'unknown field' },
    { name: 'guePort with ipip', change: (c) => tunnel(c, { encapsulation: 'ipip', guePort: 9886 }), path: 'services[0].tunnel.guePort', reason: 'applies to encapsulation gue only' },
    { name: 'guePort 0', change: (c) => tunnel(c, { encapsulation: 'gue', guePort: 0 }), path: 'services[0].tunnel.guePort', reason: 'must be >= 1' },
    { name: 'sourceNetwork with gue', change: (c) => tunnel(c, { encapsulation: 'gue', sourceNetwork: '172.16.0.0/16' }), path: 'services[0].tunnel.sourceNetwork', reason: 'applies to encapsulation ipip only' },
    { name: 'source and sourceNetwork', change: (c) => tunnel(c, { source: '10.99.0.2', sourceNetwork: '172.16.0.0/16' }), path: 'services[0].tunnel', reason: 'not both' },
    { name: 'source not an address', change: (c) => tunnel(c, { source: 'lb' }), path: 'services[0].tunnel.source', reason: 'must be an IP address' },
    { name: 'IPv6 source', change: (c) => tunnel(c, { source: 'fd00::2' }), path: 'services[0].tunnel.source', reason: 'is IPv6 but the VIP is IPv4' },
    { name: 'multicast source', change: (c) => tunnel(c, { source: '239.1.1.1' }), path: 'services[0].tunnel.source', reason: 'not a unicast address' },
    { name: 'sourceNetwork without prefix', change: (c) => tunnel(c, { sourceNetwork: '172.16.0.0' }), path: 'services[0].tunnel.sourceNetwork', reason: 'IPv4 prefix' },
    { name: 'sourceNetwork /28', change: (c) => tunnel(c, { sourceNetwork: '172.16.0.0/28' }), path: 'services[0].tunnel.sourceNetwork', reason: 'prefix length must be 8 to 24' },
    { name: 'sourceNetwork host bits', change: (c) => tunnel(c, { sourceNetwork: '172.16.1.0/16' }), path: 'services[0].tunnel.sourceNetwork', reason: 'host bits set; the prefix is 172.16.0.0/16' },
    { name: 'tunnel port mismatch', change: (c) => { tunnel(c, {}); c.services[0].backends[0].port = 8080; }, path: 'services[0].backends[0].port', reason: 'tunnel forwards without rewriting ports' },
    { name: 'tunnel backend off-link with no gateway', change: (c) => {
      tunnel(c, {});
      delete c.ports[0].gateway;
      c.services[0].backends[0].address = '10.1.2.11';
    }, path: 'services[0].backends[0].address', reason: 'no port has a gateway' },
    { name: 'nat without a pool on the egress port', change: (c) => (c.services[0].forwarding = 'nat'), path: 'services[0].backends[0].address', reason: 'which has no natPool' },
    { name: 'nat pool off the port subnet', change: (c) => (c.ports[0].natPool = { addresses: ['10.1.0.5'], portRange: [1024, 65535] }), path: 'ports[0].natPool.addresses[0]', reason: 'outside the port\'s subnet' },
    { name: 'nat pool holds the port address', change: (c) => (c.ports[0].natPool = { addresses: ['10.99.0.2/31'], portRange: [1024, 65535] }), path: 'ports[0].natPool.addresses[0]', reason: 'own address of a port' },
    { name: 'nat pool port range reversed', change: (c) => (c.ports[0].natPool = { addresses: ['10.99.0.60'], portRange: [2000, 1999] }), path: 'ports[0].natPool.portRange', reason: 'reversed' },
    { name: 'nat pool address listed twice', change: (c) => (c.ports[0].natPool = { addresses: ['10.99.0.60', '10.99.0.60/31'], portRange: [1024, 65535] }), path: 'ports[0].natPool.addresses[1]', reason: 'listed twice' },
    { name: 'VIP in a nat pool', change: (c) => (c.ports[0].natPool = { addresses: [c.services[0].vip], portRange: [1024, 65535] }), path: 'services[0].vip', reason: 'nat pool address' },
    { name: 'backend in a nat pool', change: (c) => (c.ports[0].natPool = { addresses: [c.services[0].backends[0].address], portRange: [1024, 65535] }), path: 'services[0].backends[0].address', reason: 'nat pool address' },
    { name: 'MAC with dashes', change: (c) => (c.services[0].backends[0].mac = '02-00-00-00-00-11'), path: 'services[0].backends[0].mac', reason: 'must be a MAC address' },
    { name: 'short MAC', change: (c) => (c.services[0].backends[0].mac = '02:00:00:00:11'), path: 'services[0].backends[0].mac', reason: 'must be a MAC address' },
    { name: 'multicast MAC', change: (c) => (c.services[0].backends[0].mac = '01:00:5e:00:00:01'), path: 'services[0].backends[0].mac', reason: 'multicast' },
    // IPv6
    { name: 'address6 without prefix', change: (c) => (c.ports[0].address6 = 'fd00:99::2'), path: 'ports[0].address6', reason: 'IPv6 address with a prefix length' },
    { name: 'address6 IPv4', change: (c) => (c.ports[0].address6 = '10.99.0.3/24'), path: 'ports[0].address6', reason: 'IPv6 address with a prefix length' },
    { name: 'address6 link-local', change: (c) => (c.ports[0].address6 = 'fe80::2/64'), path: 'ports[0].address6', reason: 'not link-local' },
    { name: 'address6 /128', change: (c) => (c.ports[0].address6 = 'fd00:99::2/128'), path: 'ports[0].address6', reason: 'prefix length must be 8 to 127' },
    { name: 'gateway6 without address6', change: (c) => (c.ports[0].gateway6 = 'fe80::1'), path: 'ports[0].gateway6', reason: 'needs address6' },
    { name: 'gateway6 off prefix', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].gateway6 = 'fd00:98::1'; }, path: 'ports[0].gateway6', reason: 'neither inside the port\'s prefix fd00:99::/64 nor link-local' },
    { name: 'gateway6 multicast', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].gateway6 = 'ff02::1'; }, path: 'ports[0].gateway6', reason: 'not a unicast address' },
    { name: 'duplicate address6', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports.push({ ...secondPort, address6: 'fd00:99::2/48' }); }, path: 'ports[1].address6', reason: 'already the address of ports[0]' },
    { name: 'IPv4 backend of an IPv6 VIP', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; }, path: 'services[0].backends[0].address', reason: '10.99.0.11 is IPv4 but the VIP is IPv6' },
    { name: 'IPv6 nat without an IPv6 pool', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'] }; c.services[0].vip = 'fd00:99::100'; c.services[0].forwarding = 'nat'; c.services[0].backends[0].address = 'fd00:99::11'; }, path: 'services[0].backends[0].address', reason: 'which has no IPv6 nat pool (natPool.addresses6)' },
    { name: 'nat addresses6 without address6', change: (c) => (c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::200'] }), path: 'ports[0].natPool.addresses6', reason: 'needs address6' },
    { name: 'nat addresses6 off the prefix', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:98::200'] }; }, path: 'ports[0].natPool.addresses6[0]', reason: 'outside the port\'s prefix fd00:99::/64' },
    { name: 'nat addresses6 IPv4', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['10.99.0.201'] }; }, path: 'ports[0].natPool.addresses6[0]', reason: 'must be an IPv6 address or a prefix' },
    { name: 'nat addresses6 prefix too large', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::/112'] }; }, path: 'ports[0].natPool.addresses6[0]', reason: 'a prefix of at most 4096 addresses' },
    { name: 'nat addresses6 holds the port address6', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::/126'] }; }, path: 'ports[0].natPool.addresses6[0]', reason: 'own address of a port' },
    { name: 'nat addresses6 listed twice', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::200', 'FD00:99::0200'] }; }, path: 'ports[0].natPool.addresses6[1]', reason: 'listed twice' },
    { name: 'IPv6 VIP in a nat pool', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::100'] }; c.services[0].vip = 'fd00:99::100'; c.services[0].backends[0].address = 'fd00:99::11'; }, path: 'services[0].vip', reason: 'nat pool address of ports[0]' },
    { name: 'IPv6 backend in a nat pool', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['fd00:99::11'] }; c.services[0].vip = 'fd00:99::100'; c.services[0].forwarding = 'nat'; c.services[0].backends[0].address = 'fd00:99::11'; }, path: 'services[0].backends[0].address', reason: 'nat pool address of ports[0]' },
    { name: 'IPv6 VIP is the port address6', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::2'; c.services[0].backends = []; }, path: 'services[0].vip', reason: 'own address of ports[0]' },
    { name: 'IPv6 dsr backend off-link', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = [{ address: '2001:db8::11', port: 80 }]; }, path: 'services[0].backends[0].address', reason: 'dsr only rewrites MACs' },
    { name: 'IPv6 tunnel backend off-link with no gateway6', change: (c) => {
      c.ports[0].address6 = 'fd00:99::2/64';
      c.services[0].vip = 'fd00:99::100';
      tunnel(c, {});
      c.services[0].backends = [{ address: '2001:db8::11', port: 80 }];
    }, path: 'services[0].backends[0].address', reason: 'no port has a gateway6' },
    { name: 'IPv6 tunnel with an IPv4 sourceNetwork', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = []; tunnel(c, { sourceNetwork: '172.16.0.0/16' }); }, path: 'services[0].tunnel.sourceNetwork', reason: 'must be an IPv6 prefix' },
    { name: 'IPv6 sourceNetwork /64', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = []; tunnel(c, { sourceNetwork: 'fd00:5c::/64' }); }, path: 'services[0].tunnel.sourceNetwork', reason: 'prefix length must be 96 to 120' },
    { name: 'IPv6 sourceNetwork host bits', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = []; tunnel(c, { sourceNetwork: 'fd00:5c::1/96' }); }, path: 'services[0].tunnel.sourceNetwork', reason: 'host bits set; the prefix is fd00:5c::/96' },
    // names: URL path segments and CLI arguments
    { name: 'service named "."', change: (c) => (c.services[0].name = '.'), path: 'services[0].name', reason: 'starting with a letter or digit' },
    { name: 'service named ".."', change: (c) => (c.services[0].name = '..'), path: 'services[0].name', reason: 'starting with a letter or digit' },
    { name: 'service name like an option', change: (c) => (c.services[0].name = '-web'), path: 'services[0].name', reason: 'starting with a letter or digit' },
    { name: 'port named ".."', change: (c) => (c.ports[0].name = '..'), path: 'ports[0].name', reason: 'starting with a letter or digit' },
    // VIPs and backends: one host's unicast address
    { name: 'loopback backend outside every port\'s subnet', change: (c) => (c.services[0].backends[0].address = '127.0.0.5'), path: 'services[0].backends[0].address', reason: 'a loopback address' },
    { name: 'VIP 0.0.0.0', change: (c) => (c.services[0].vip = '0.0.0.0'), path: 'services[0].vip', reason: '0.0.0.0 is the unspecified address' },
    { name: 'VIP in 0.0.0.0/8', change: (c) => (c.services[0].vip = '0.1.2.3'), path: 'services[0].vip', reason: '"this network"' },
    { name: 'multicast VIP', change: (c) => (c.services[0].vip = '239.1.2.3'), path: 'services[0].vip', reason: 'a multicast address (224.0.0.0/4)' },
    { name: 'VIP 255.255.255.255', change: (c) => (c.services[0].vip = '255.255.255.255'), path: 'services[0].vip', reason: 'the broadcast address' },
    { name: 'VIP in 240.0.0.0/4', change: (c) => (c.services[0].vip = '240.0.0.1'), path: 'services[0].vip', reason: 'a reserved address' },
    { name: 'loopback VIP', change: (c) => (c.services[0].vip = '127.0.0.1'), path: 'services[0].vip', reason: 'a loopback address' },
    { name: 'link-local VIP', change: (c) => (c.services[0].vip = '169.254.10.10'), path: 'services[0].vip', reason: 'a link-local address (169.254.0.0/16)' },
    { name: 'VIP on a port subnet\'s broadcast address', change: (c) => (c.services[0].vip = '10.99.0.255'), path: 'services[0].vip', reason: 'the broadcast address of the subnet 10.99.0.0/24' },
    { name: 'IPv6 VIP ::', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = '::'; c.services[0].backends = []; }, path: 'services[0].vip', reason: 'the unspecified address' },
    { name: 'IPv6 multicast VIP', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'ff05::1:3'; c.services[0].backends = []; }, path: 'services[0].vip', reason: 'a multicast address (ff00::/8)' },
    { name: 'IPv6 loopback VIP', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = '::1'; c.services[0].backends = []; }, path: 'services[0].vip', reason: 'the loopback address' },
    { name: 'IPv6 link-local VIP', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fe80::100'; c.services[0].backends = []; }, path: 'services[0].vip', reason: 'a link-local address (fe80::/10)' },
    { name: 'backend on its port subnet\'s broadcast address', change: (c) => (c.services[0].backends[1].address = '10.99.0.255'), path: 'services[0].backends[1].address', reason: 'the broadcast address of the subnet 10.99.0.0/24' },
    { name: 'backend on its port subnet\'s network address', change: (c) => (c.services[0].backends[1].address = '10.99.0.0'), path: 'services[0].backends[1].address', reason: 'the network address of the subnet 10.99.0.0/24' },
    { name: 'multicast tunnel backend', change: (c) => { tunnel(c, {}); c.services[0].backends[1].address = '224.0.0.5'; }, path: 'services[0].backends[1].address', reason: 'a multicast address' },
    { name: 'IPv6 backend on its prefix\'s subnet-router anycast address', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = [{ address: 'fd00:99::', port: 80 }]; }, path: 'services[0].backends[0].address', reason: 'the network address of the subnet fd00:99::/64' },
    { name: 'nat pool on the subnet\'s broadcast address', change: (c) => (c.ports[0].natPool = { addresses: ['10.99.0.255'] }), path: 'ports[0].natPool.addresses[0]', reason: 'the broadcast address of the subnet' },
    // api
    { name: 'tokenFile and tokenEnv together', change: (c) => (c.api = { tokenFile: '/etc/sluice/token', tokenEnv: 'T' }), path: 'api', reason: 'tokenFile and tokenEnv are both set' },
    { name: 'API beyond loopback without a token', change: (c) => (c.api = { listen: '0.0.0.0:9090' }), path: 'api.listen', reason: 'set api.tokenFile or api.tokenEnv, or api.allowUnauthenticated: true' },
    { name: 'API on a host name without a token', change: (c) => (c.api = { listen: 'lb.example.com:9090' }), path: 'api.listen', reason: 'not a loopback address' },
    { name: 'api.listen not host:port', change: (c) => (c.api = { listen: '9090' }), path: 'api.listen', reason: 'is not host:port' },
    { name: 'IPv6 multicast tunnel source', change: (c) => { c.ports[0].address6 = 'fd00:99::2/64'; c.services[0].vip = 'fd00:99::100'; c.services[0].backends = []; tunnel(c, { source: 'ff05::1' }); }, path: 'services[0].tunnel.source', reason: 'not a unicast address' },
  ];

  for (const { name, change, path, reason } of rejected) {
    test(name, () => {
      const problems = configProblems(() => validateConfig(withChange(change)));
      const hit = problems.find((p) => p.path === path);
      assert.ok(hit, `no problem at ${path}; got ${JSON.stringify(problems)}`);
      assert.ok(hit.reason.includes(reason), `reason at ${path} was "${hit.reason}", expected "${reason}"`);
    });
  }

  test('not a mapping at all', () => {
    for (const raw of [null, 42, 'eal', [base()]]) {
      assert.deepEqual(configProblems(() => validateConfig(raw)), [{ path: 'config', reason: 'must be a mapping' }]);
    }
  });

  test('a single problem: message is "path: reason"', () => {
    assert.throws(
      () => validateConfig(withChange((c) => (c.services[0].backends[1].port = 70000)))
      , { code: 'SLUICE_CONFIG_INVALID', message: 'services[0].backends[1].port: must be <= 65535' },
    );
  });

  test('every schema problem at once, one per line', () => {
    const raw = withChange((c) => {
      c.ports[0].mtu = 1;
      c.services[0].port = 0;
      c.eal.bogus = true;
    });
    try {
      validateConfig(raw);
      assert.fail('expected a throw');
    } catch (err) {
      assert.ok(err instanceof SluiceError);
      const lines = err.message.split('\n');
      assert.equal(lines.length, 3);
      assert.deepEqual((err.details as ConfigProblem[]).map((p) => p.path).sort(),
        ['eal.bogus', 'ports[0].mtu', 'services[0].port']);
      assert.ok(lines.includes('ports[0].mtu: must be >= 68'));
    }
  });

  test('every semantic problem at once', () => {
    const problems = configProblems(() => validateConfig(withChange((c) => {
      c.services.push({ ...c.services[0], port: 443, backends: [] });
      c.services[0].backends[0].address = '10.98.0.11';
      c.services[0].lookupTableSize = 1000;
      c.ports[0].gateway = '192.168.0.1';
    })));
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      'ports[0].gateway',
      'services[0].backends[0].address',
      'services[0].lookupTableSize',
      'services[1].name',
    ]);
  });
});

describe('parseLcores', () => {
  const good: [string, number[]][] = [
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['1@2', [1]],
    ['(1,2)@(0,1)', [1, 2]],
    ['(1-3)@0', [1, 2, 3]],
    ['1@(0-1)', [1]],
    ['0@0,1@1,2@1', [0, 1, 2]],
    ['3,0-1', [3, 0, 1]],
    [' 0 , 1@ 1 ', [0, 1]],
    ['(0-1,4)@(0-2),5', [0, 1, 4, 5]],
    ['127', [127]],
  ];
  for (const [text, want] of good) {
    test(`"${text}" -> [${want.join(',')}]`, () => assert.deepEqual(parseLcores(text), want));
  }

  const bad: [string, string][] = [
    ['', 'is empty'],
    ['a', 'expected lcore number at offset 0'],
    ['1-', 'expected lcore number'],
    ['3-1', 'runs backwards'],
    ['(1,2', 'expected "," or ")"'],
    ['1@', 'expected cpu number'],
    ['1@@2', 'expected cpu number'],
    ['1,,2', 'expected lcore number at offset 2'],
    ['1)', 'expected "," or "@"'],
    ['0,0', 'appears more than once'],
    ['(0-2),1', 'lcore 1 appears more than once'],
    ['128', 'lcore 128 is out of range'],
    ['1@1024', 'cpu 1024 is out of range'],
    ['-1', 'expected lcore number'],
  ];
  for (const [text, reason] of bad) {
    test(`rejects "${text}"`, () => {
      const [problem] = configProblems(() => parseLcores(text));
      assert.equal(problem.path, 'eal.lcores');
      assert.ok(problem.reason.includes(reason), `"${problem.reason}" lacks "${reason}"`);
    });
  }
});

describe('toNativeStart', () => {
  const tail = ['--log-level', 'lib.eal:notice'];
  const eal: { name: string; change: (c: Raw) => void; args: string[] }[] = [
    {
      name: 'hugepages, vdev',
      change: () => {},
      args: ['sluice', '--lcores', '0@0,1@1,2@1', '--main-lcore', '0', '--in-memory', '--file-prefix', 'sluice-t1',
        '--vdev', 'net_af_packet0,iface=veth-lb,qpairs=2', '--no-pci', ...tail],
    },
    {
      name: 'no hugepages',
      change: (c) => Object.assign(c.eal, { hugepages: false, memoryMb: 512 }),
      args: ['sluice', '--lcores', '0@0,1@1,2@1', '--main-lcore', '0',
        '--no-huge', '-m', '512', '--no-shconf', '--file-prefix', 'sluice-t1',
        '--vdev', 'net_af_packet0,iface=veth-lb,qpairs=2', '--no-pci', ...tail],
    },
    {
      name: 'PCI device: allow-listed in full form, PCI bus left on',
      change: (c) => (c.ports[0].device = '01:00.0'),
      args: ['sluice', '--lcores', '0@0,1@1,2@1', '--main-lcore', '0', '--in-memory', '--file-prefix', 'sluice-t1', '-a', '0000:01:00.0', ...tail],
    },
    {
      name: 'PCI and vdev together',
      change: (c) => c.ports.push({ ...secondPort, device: '0000:3b:00.1' }),
      args: ['sluice', '--lcores', '0@0,1@1,2@1', '--main-lcore', '0', '--in-memory', '--file-prefix', 'sluice-t1',
        '--vdev', 'net_af_packet0,iface=veth-lb,qpairs=2', '-a', '0000:3b:00.1', ...tail],
    },
    {
      name: 'ring port adds no device',
      change: (c) => (c.ports[0].device = 'ring'),
      args: ['sluice', '--lcores', '0@0,1@1,2@1', '--main-lcore', '0', '--in-memory', '--file-prefix', 'sluice-t1', '--no-pci', ...tail],
    },
    {
      name: 'main lcore is the first written, not the lowest; extraArgs last',
      change: (c) => Object.assign(c.eal, { lcores: '2@2, 0-1', extraArgs: ['--huge-unlink', '-n', '4'] }),
      args: ['sluice', '--lcores', '2@2,0-1', '--main-lcore', '2', '--in-memory', '--file-prefix', 'sluice-t1',
        '--vdev', 'net_af_packet0,iface=veth-lb,qpairs=2', '--no-pci', ...tail, '--huge-unlink', '-n', '4'],
    },
  ];
  for (const { name, change, args } of eal) {
    test(`ealArgs: ${name}`, () => {
      assert.deepEqual(toNativeStart(validateConfig(withChange(change)), 't1').ealArgs, args);
    });
  }

  test('an instance id that is not a plain name is refused', () => {
    assert.throws(() => toNativeStart(validateConfig(base()), '../x'), { code: 'SLUICE_INVALID_ARGUMENT' });
  });

  test('ports, flow table and dataplane settings', () => {
    const cfg = validateConfig(withChange((c) => {
      c.ports[0].device = '3B:00.0';
      c.ports[0].gateway = '10.99.0.1';
      c.flowTable = { entriesPerLcore: 4096, admission: { newFlowsPerSec: 0 } };
      c.dataplane = { mbufsPerSocket: 8192, idleSleepMaxUs: 0 };
    }));
    const start = toNativeStart(cfg, 'x');
    assert.deepEqual(start.ports, [{
      name: 'eth0', device: '0000:3b:00.0', queues: 2, address: '10.99.0.2', prefixLength: 24,
      gateway: '10.99.0.1', mtu: 1500, rxDescriptors: 1024, txDescriptors: 1024,
    }]);
    assert.deepEqual(start.flowTable, { entriesPerLcore: 4096, tcpTimeoutSec: 300, tcpClosingTimeoutSec: 10, udpTimeoutSec: 30,
      admission: { newFlowsPerSec: 0, burst: 50000 } });
    assert.deepEqual(start.fragments, { enabled: true, entriesPerLcore: 4096, holdMs: 10, heldBytesPerLcore: 1048576 });
    assert.equal(start.mbufsPerSocket, 8192);
    assert.equal(start.idleSleepMaxUs, 0);
    assert.equal(start.neighborRefreshSec, 30);
  });

  const spreads: { name: string; change: (c: Raw) => void; workers: { lcore: number; rx: [number, number][] }[] }[] = [
    {
      name: '1 port x 2 queues over 2 workers: one queue each',
      change: () => {},
      workers: [{ lcore: 1, rx: [[0, 0]] }, { lcore: 2, rx: [[0, 1]] }],
    },
    {
      name: '2 ports x 2 queues over 3 workers',
      change: (c) => {
        c.eal.lcores = '0-3';
        c.ports.push(secondPort);
      },
      workers: [{ lcore: 1, rx: [[0, 0], [1, 1]] }, { lcore: 2, rx: [[0, 1]] }, { lcore: 3, rx: [[1, 0]] }],
    },
    {
      name: 'more workers than queues: the extra worker idles',
      change: (c) => (c.ports[0].queues = 1),
      workers: [{ lcore: 1, rx: [[0, 0]] }, { lcore: 2, rx: [] }],
    },
    {
      name: 'explicit workers: in eal.lcores order, ports by index',
      change: (c) => {
        c.ports.push({ ...secondPort, queues: 1 });
        c.workers = [
          { lcore: 2, rx: [{ port: 'eth1', queue: 0 }, { port: 'eth0', queue: 0 }] },
          { lcore: 1, rx: [{ port: 'eth0', queue: 1 }] },
        ];
      },
      workers: [{ lcore: 1, rx: [[0, 1]] }, { lcore: 2, rx: [[1, 0], [0, 0]] }],
    },
    {
      name: 'explicit workers: a listed-less worker lcore gets no queues',
      change: (c) => {
        c.eal.lcores = '0-3';
        c.workers = [{ lcore: 3, rx: [{ port: 'eth0', queue: 0 }, { port: 'eth0', queue: 1 }] }];
      },
      workers: [{ lcore: 1, rx: [] }, { lcore: 2, rx: [] }, { lcore: 3, rx: [[0, 0], [0, 1]] }],
    },
  ];
  for (const { name, change, workers } of spreads) {
    test(`workers: ${name}`, () => {
      const got = toNativeStart(validateConfig(withChange(change)), 'x').workers;
      assert.deepEqual(got, workers.map((w) => ({ lcore: w.lcore, rx: w.rx.map(([port, queue]) => ({ port, queue })) })));
    });
  }

  test('defaultWorkers with no workers assigns nothing', () => {
    assert.deepEqual(defaultWorkers([], [2]), []);
  });
});

describe('toNativeServices and ids', () => {
  test('shape: normalized MAC, defaults, healthy, no mac key when unset', () => {
    const cfg = validateConfig(withChange((c) => (c.services[0].backends[0].mac = '02:AB:CD:00:00:11')));
    const [svc] = toNativeServices(cfg.services, new ServiceIdMap());
    assert.deepEqual(svc, {
      id: 0, name: 'web', vip: '10.99.0.100', port: 80, protocol: 'tcp', forwarding: 'dsr', lookupTableSize: 65537,
      backends: [
        { id: 0, address: '10.99.0.11', port: 80, weight: 100, state: 'active', healthy: true, mac: '02:ab:cd:00:00:11' },
        { id: 1, address: '10.99.0.12', port: 80, weight: 100, state: 'active', healthy: true },
      ],
    });
    assert.ok(!('mac' in svc.backends[1]));
  });

  test('tunnel: defaults filled, addresses normalized, off-link backends accepted with a gateway', () => {
    const cfg = validateConfig(withChange((c) => {
      c.services[0].forwarding = 'tunnel';
      c.services[0].backends[1].address = '10.1.2.12';
      c.services.push({ name: 'gue', vip: '10.99.0.101', port: 53, protocol: 'udp', forwarding: 'tunnel',
        tunnel: { encapsulation: 'gue', source: '10.99.0.2' }, backends: [{ address: '10.1.2.13', port: 53 }] });
      c.services.push({ name: 'ipip', vip: '10.99.0.102', port: 80, forwarding: 'tunnel',
        tunnel: { sourceNetwork: '10.200.0.0/20' }, backends: [] });
    }));
    const [web, gue, ipip] = toNativeServices(cfg.services, new ServiceIdMap());
    assert.equal(web.forwarding, 'tunnel');
    assert.deepEqual(web.tunnel, { encapsulation: 'ipip', guePort: 6080, sourceNetwork: '172.16.0.0', sourcePrefixLength: 16 });
    assert.deepEqual(gue.tunnel, { encapsulation: 'gue', guePort: 6080, source: '10.99.0.2', sourceNetwork: '172.16.0.0', sourcePrefixLength: 16 });
    assert.deepEqual(ipip.tunnel, { encapsulation: 'ipip', guePort: 6080, sourceNetwork: '10.200.0.0', sourcePrefixLength: 20 });
    const [dsr] = toNativeServices(validateConfig(base()).services, new ServiceIdMap());
    assert.ok(!('tunnel' in dsr), 'dsr services carry no tunnel options');
  });

  test('nat: the pool expanded to addresses, the port range defaulted, backend ports free', () => {
    const cfg = validateConfig(withChange((c) => {
      c.ports[0].natPool = { addresses: ['10.99.0.200', '10.99.0.208/30'] };
      c.services[0].forwarding = 'nat';
      c.services[0].backends[0].port = 8080;
    }));
    assert.deepEqual(toNativeStart(cfg, 'x').ports[0].natPool,
      { addresses: ['10.99.0.200', '10.99.0.209', '10.99.0.210'], portMin: 1024, portMax: 65535 });
    const [web] = toNativeServices(cfg.services, new ServiceIdMap());
    assert.equal(web.forwarding, 'nat');
    assert.equal(web.backends[0].port, 8080);
    assert.ok(!('tunnel' in web));
  });

  test('nat over IPv6: addresses6 expanded (a prefix without its subnet-router address), backend ports free', () => {
    const cfg = validateConfig(withChange((c) => {
      c.ports[0].address6 = 'fd00:99::2/64';
      c.ports[0].natPool = { addresses: ['10.99.0.200'], addresses6: ['FD00:99::0200', 'fd00:99::1:0/126'] };
      c.services[0].vip = 'fd00:99::100';
      c.services[0].forwarding = 'nat';
      c.services[0].backends = [{ ...c.services[0].backends[0], address: 'fd00:99::11', port: 8080 }];
    }));
    assert.deepEqual(toNativeStart(cfg, 'x').ports[0].natPool, { addresses: ['10.99.0.200'], portMin: 1024, portMax: 65535,
      addresses6: ['fd00:99::200', 'fd00:99::1:1', 'fd00:99::1:2', 'fd00:99::1:3'] });
    const [web] = toNativeServices(cfg.services, new ServiceIdMap());
    assert.equal(web.forwarding, 'nat');
    assert.equal(web.vip, 'fd00:99::100');
    assert.equal(web.backends[0].port, 8080);
  });

  test('IPv6: port address6 and gateway6, IPv6 services with their own source network default', () => {
    const cfg = validateConfig(withChange((c) => {
      c.ports[0].address6 = 'FD00:99:0::2/64';
      c.ports[0].gateway6 = 'fe80::1';
      c.services.push({ name: 'web6', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99:0::11', port: 80 }] });
      c.services.push({ name: 'ipip6', vip: 'fd00:99::101', port: 80, forwarding: 'tunnel',
        backends: [{ address: '2001:db8::11', port: 80 }] });
      c.services.push({ name: 'gue6', vip: 'fd00:99::102', port: 53, protocol: 'udp', forwarding: 'tunnel',
        tunnel: { encapsulation: 'gue', source: 'fd00:99::2' }, backends: [] });
    }));
    const start = toNativeStart(cfg, 'ipv6-test');
    assert.equal(start.ports[0].address6, 'fd00:99::2');
    assert.equal(start.ports[0].prefixLength6, 64);
    assert.equal(start.ports[0].gateway6, 'fe80::1');
    const [, web6, ipip6, gue6] = toNativeServices(cfg.services, new ServiceIdMap());
    assert.equal(web6.vip, 'fd00:99::100');
    assert.equal(web6.backends[0].address, 'fd00:99::11');
    assert.deepEqual(ipip6.tunnel, { encapsulation: 'ipip', guePort: 6080, sourceNetwork: 'fd00:5c::', sourcePrefixLength: 96 });
    assert.deepEqual(gue6.tunnel, { encapsulation: 'gue', guePort: 6080, source: 'fd00:99::2', sourceNetwork: 'fd00:5c::',
      sourcePrefixLength: 96 });
    const v4 = toNativeStart(validateConfig(base()), 'ipv4-test');
    assert.ok(!('address6' in v4.ports[0]) && !('gateway6' in v4.ports[0]), 'no IPv6 keys when not configured');
  });

  test('with a health version: an unchanged service at the same version asks no backend again', () => {
    const cfg = validateConfig(withChange((c) => {
      c.services.push({ name: 'api', vip: '10.99.0.101', port: 443,
        backends: [{ address: '10.99.0.21', port: 443 }, { address: '10.99.0.22', port: 443 }] });
    }));
    const ids = new ServiceIdMap();
    const down = new Set<string>();
    const versions = new Map<string, number>();
    let asked: string[] = [];
    const healthy = (service: string, b: { address: string }) => {
      asked.push(`${service} ${b.address}`);
      return !down.has(b.address);
    };
    const version = (service: string) => versions.get(service) ?? 0;
    const first = toNativeServices(cfg.services, ids, healthy, version);
    const all = cfg.services.reduce((n, svc) => n + svc.backends.length, 0);
    assert.equal(asked.length, all, 'every backend asked once');
    asked = [];
    const again = toNativeServices(cfg.services, ids, healthy, version);
    assert.deepEqual(asked, [], 'nothing asked: same objects, same versions');
    assert.equal(again[1], first[1], 'the same shapes');
    // A verdict on api's first backend: api's version moves, and only api is asked.
    down.add('10.99.0.21');
    versions.set('api', 1);
    asked = [];
    const after = toNativeServices(cfg.services, ids, healthy, version);
    assert.deepEqual(asked, ['api 10.99.0.21', 'api 10.99.0.22']);
    assert.deepEqual(after[1].backends.map((b) => b.healthy), [false, true]);
    assert.equal(after[1].backends[1], first[1].backends[1], 'the unchanged backend keeps its shape');
    assert.equal(after[0], first[0], 'the other service keeps its shape');
    // Without a version every backend is asked each time, as before.
    asked = [];
    toNativeServices(cfg.services, ids, healthy);
    assert.equal(asked.length, all);
  });

  test('ids when only some services\' backends change (same names, same order): the rest kept, what goes freed', () => {
    const ids = new ServiceIdMap(8, 4);
    const svc = (name: string, ...addresses: string[]) => ({ name, backends: addresses.map((address) => ({ address, port: 80 })) });
    const a = svc('a', '10.0.0.1', '10.0.0.2');
    const b = svc('b', '10.0.0.3');
    ids.sync([a, b]);
    const idOf = (service: string, address: string) => ids.backendId(service, address, 80);
    const kept = idOf('b', '10.0.0.3');
    const gone = idOf('a', '10.0.0.2');
    // a loses a backend and gains one: the one gone gives its id back first, so four fit.
    ids.sync([svc('a', '10.0.0.1', '10.0.0.9', '10.0.0.8'), b]);
    assert.equal(idOf('b', '10.0.0.3'), kept, 'the unchanged service keeps its backend\'s id');
    assert.equal(idOf('a', '10.0.0.2'), undefined);
    assert.ok([idOf('a', '10.0.0.9'), idOf('a', '10.0.0.8')].includes(gone), 'the freed id is used again');
    // One more would be five of four: refused, nothing changed.
    const before = [idOf('a', '10.0.0.1'), idOf('a', '10.0.0.9'), idOf('a', '10.0.0.8'), kept];
    assert.throws(() => ids.sync([svc('a', '10.0.0.1', '10.0.0.9', '10.0.0.8', '10.0.0.7'), b]),
      (err: unknown) => (err as { code?: string }).code === 'SLUICE_RESOURCE_EXHAUSTED');
    assert.deepEqual([idOf('a', '10.0.0.1'), idOf('a', '10.0.0.9'), idOf('a', '10.0.0.8'), idOf('b', '10.0.0.3')], before);
    assert.equal(idOf('a', '10.0.0.7'), undefined);
    // Another order is a full sync, with the same ids.
    ids.sync([b, svc('a', '10.0.0.1', '10.0.0.9', '10.0.0.8')]);
    assert.deepEqual([idOf('a', '10.0.0.1'), idOf('a', '10.0.0.9'), idOf('a', '10.0.0.8'), idOf('b', '10.0.0.3')], before);
  });

  test('ids stay with unchanged services and backends across calls', () => {
    const ids = new ServiceIdMap();
    const first = toNativeServices(validateConfig(base()).services, ids);
    const second = toNativeServices(validateConfig(withChange((c) => {
      c.services.unshift({ name: 'api', vip: '10.99.0.101', port: 443, backends: [{ address: '10.99.0.21', port: 443 }] });
      c.services[1].backends.shift();
      c.services[1].backends.push({ address: '10.99.0.13', port: 80, weight: 5 });
    })).services, ids);
    const web1 = first.find((s) => s.name === 'web')!;
    const web2 = second.find((s) => s.name === 'web')!;
    assert.equal(web2.id, web1.id);
    const id12 = (svc: typeof web1) => svc.backends.find((b) => b.address === '10.99.0.12')!.id;
    assert.equal(id12(web2), id12(web1));
    const usedBefore = new Set(web1.backends.map((b) => b.id));
    const fresh = web2.backends.find((b) => b.address === '10.99.0.13')!.id;
    assert.ok(!usedBefore.has(fresh), 'the id freed by 10.99.0.11 must not be reused at once');
    assert.notEqual(second.find((s) => s.name === 'api')!.id, web1.id);

    // an unchanged third call changes nothing
    assert.deepEqual(toNativeServices(validateConfig(withChange((c) => {
      c.services.unshift({ name: 'api', vip: '10.99.0.101', port: 443, backends: [{ address: '10.99.0.21', port: 443 }] });
      c.services[1].backends.shift();
      c.services[1].backends.push({ address: '10.99.0.13', port: 80, weight: 5 });
    })).services, ids), second);
  });

  test('the same backend in two services has two ids', () => {
    const ids = new ServiceIdMap();
    const services = toNativeServices(validateConfig(withChange((c) =>
      c.services.push({ name: 'web-udp', vip: '10.99.0.100', port: 80, protocol: 'udp', backends: [{ address: '10.99.0.11', port: 80 }] }))).services, ids);
    assert.notEqual(services[0].backends[0].id, services[1].backends[0].id);
  });

  test('IdAllocator: fresh ids first, then freed ids oldest first', () => {
    const a = new IdAllocator(4);
    assert.deepEqual([a.allocate(), a.allocate(), a.allocate()], [0, 1, 2]);
    a.release(1);
    a.release(0);
    assert.equal(a.allocate(), 3, 'a never-used id comes before a freed one');
    assert.equal(a.allocate(), 1);
    assert.equal(a.allocate(), 0);
    assert.equal(a.available, 0);
    assert.throws(() => a.allocate(), { code: 'SLUICE_RESOURCE_EXHAUSTED' });
    assert.throws(() => a.release(9), { code: 'SLUICE_INTERNAL' });
  });

  test('ServiceIdMap: too many backends throws and changes nothing', () => {
    const ids = new ServiceIdMap(4, 2);
    ids.sync([{ name: 'a', backends: [{ address: '10.0.0.1', port: 1 }] }]);
    assert.throws(
      () => ids.sync([{ name: 'b', backends: [1, 2, 3].map((i) => ({ address: `10.0.0.${i}`, port: 1 })) }]),
      { code: 'SLUICE_RESOURCE_EXHAUSTED' },
    );
    assert.equal(ids.serviceId('a'), 0);
    assert.equal(ids.backendId('a', '10.0.0.1', 1), 0);
    assert.equal(ids.serviceId('b'), undefined);
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-test-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('YAML', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, [
      'eal:',
      '  lcores: "0@0,1@1"',
      'ports:',
      '  - name: eth0',
      '    device: net_null0',
      '    address: 10.99.0.2/24',
      'services:',
      '  - name: web',
      '    vip: 10.99.0.100',
      '    port: 80',
      '    backends:',
      '      - { address: 10.99.0.11, port: 80, mac: 02:00:00:00:00:11 }',
      '',
    ].join('\n'));
    const cfg = loadConfigFile(file);
    assert.equal(cfg.services[0].backends[0].mac, '02:00:00:00:00:11');
    assert.equal(cfg.ports[0].queues, 1);
  });

  test('JSON, tab-indented', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(base(), null, '\t'));
    assert.equal(loadConfigFile(file).services[0].name, 'web');
  });

  test('the shipped example', () => {
    const cfg = loadConfigFile(resolve(__dirname, '../../../config/example.yaml'));
    const start = toNativeStart(cfg, 'example');
    assert.ok(start.ealArgs.includes('net_null0,no-rx=1'), 'a net_null that receives nothing: no core spent on endless frames');
    assert.equal(toNativeServices(cfg.services, new ServiceIdMap())[0].backends.length, 2);
  });

  test('missing file: SLUICE_CONFIG_READ naming the file', () => {
    const file = join(dir, 'nope.yaml');
    assert.throws(() => loadConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_CONFIG_READ');
      assert.ok(err.message.includes(file));
      return true;
    });
  });

  test('malformed YAML: SLUICE_CONFIG_READ naming the file and line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'eal:\n  lcores: "0,1"\nports: [\n');
    assert.throws(() => loadConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_CONFIG_READ');
      assert.ok(err.message.startsWith(`${file}: `));
      assert.match(err.message, /line \d+/);
      return true;
    });
  });

  test('duplicate YAML key: SLUICE_CONFIG_READ', () => {
    const file = join(dir, 'dup.yaml');
    writeFileSync(file, 'eal: {lcores: "0,1"}\neal: {lcores: "0,2"}\n');
    assert.throws(() => loadConfigFile(file), { code: 'SLUICE_CONFIG_READ' });
  });

  test('well-formed but invalid: SLUICE_CONFIG_INVALID', () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, 'eal: {lcores: "0,1"}\nports: []\n');
    assert.throws(() => loadConfigFile(file), { code: 'SLUICE_CONFIG_INVALID', message: 'ports: must have at least 1 entry' });
  });

  test('empty file: SLUICE_CONFIG_INVALID at the root', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '# nothing\n');
    assert.throws(() => loadConfigFile(file), { code: 'SLUICE_CONFIG_INVALID', message: 'config: must be a mapping' });
  });
});

test('every error code has an HTTP status and a description', () => {
  for (const [code, { status, description }] of Object.entries(ErrorCodes)) {
    assert.match(code, /^SLUICE_[A-Z_]+$/);
    assert.ok(status >= 400 && status < 600, code);
    assert.ok(description.length > 0, code);
  }
});
