// Rules that relate fields to each other, run on a config that already matches the
// schema. Every rule reports and moves on, so one pass shows the operator every
// problem; a rule that needs an earlier field to be sound skips when it is not.
import type { ConfigProblem } from '../errors';
import { isSluiceError } from '../errors';
import { formatIp, inSubnet, normalizeIp, normalizeMac, parseCidr, parseIp, type Cidr } from '../net/addr';
import { deviceIdentity, parseDevice } from './device';
import { MAX_BACKEND_IDS } from './ids';
import { isLoopbackHost, parseListen } from './listen';
import { natPoolEntryAddresses } from './nat-pool';
import { parseLcores } from './lcores';
import { MAX_NAT_POOL_ADDRESSES, type ApiConfig, type BackendConfig, type PortConfig, type ServiceConfig,
  type SluiceConfig, type WorkerConfig } from './schema';
import { checkBgp } from './semantics-bgp';
import { checkQuicLb } from './semantics-quic-lb';
import { checkNatPools6, checkPortsIpv6, checkSameFamily, checkSourceNetwork6, isUnicast,
  notAHostAddress } from './semantics-ipv6';

/** native kMaxWorkers */
export const MAX_WORKERS = 64;

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function nextPrime(n: number): number {
  let p = n + 1;
  while (!isPrime(p)) p++;
  return p;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: string, reason: string): void {
    this.list.push({ path, reason });
  }
}

/**
 * What earlier checks against the same config found valid, kept by whoever
 * validates change after change (the store, through validateServices): a
 * service object in `services` passed its own rules, and a backend object in
 * `backends` passed its own in a service of the same forwarding, port and VIP
 * family, giving that key. Only the rules between services, or between a
 * service's backends, are checked again for them.
 */
export interface KnownValid {
  services: WeakSet<object>;
  backends: WeakMap<object, { context: string; key: string }>;
}

/** Reports each entry whose key an earlier entry already has, with that earlier index. */
function firstSeen<T>(items: readonly T[], key: (t: T) => string | undefined,
                      report: (i: number, first: number, k: string) => void): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else report(i, first, k);
  });
}

function checkLcores(p: Problems, cfg: SluiceConfig): number[] | undefined {
  let lcores: number[];
  try {
    lcores = parseLcores(cfg.eal.lcores);
  } catch (err) {
    if (!isSluiceError(err, 'SLUICE_CONFIG_INVALID')) throw err;
    p.list.push(...(err.details as ConfigProblem[]));
    return undefined;
  }
  if (lcores.length < 2) {
    p.add('eal.lcores',
      `needs at least 2 lcores (the first is the main lcore, the rest are workers), got "${cfg.eal.lcores}"`);
  } else if (lcores.length - 1 > MAX_WORKERS) {
    p.add('eal.lcores', `has ${lcores.length - 1} worker lcores; at most ${MAX_WORKERS} are supported`);
  }
  return lcores;
}

/** Parsed port subnets by index; undefined where the address is bad (already reported). */
function checkPorts(p: Problems, ports: readonly PortConfig[]): (Cidr | undefined)[] {
  firstSeen(ports, (port) => port.name, (i, first, name) =>
    p.add(`ports[${i}].name`, `duplicate port name "${name}" (also ports[${first}])`));

  const devices = ports.map((port, i) => {
    const d = parseDevice(port.device);
    if (d === undefined) {
      p.add(`ports[${i}].device`,
        `"${port.device}" is not a vdev spec (net_...), a PCI address (0000:01:00.0 or 01:00.0), or "ring"`);
    }
    return d;
  });
  firstSeen(devices, (d) => (d === undefined ? undefined : deviceIdentity(d)), (i, first, id) =>
    p.add(`ports[${i}].device`, `device ${id} is already used by ports[${first}]`));

  const subnets = ports.map((port, i) => {
    const path = `ports[${i}]`;
    for (const key of ['rxDescriptors', 'txDescriptors'] as const) {
      if (!isPowerOfTwo(port[key])) p.add(`${path}.${key}`, `must be a power of two, got ${port[key]}`);
    }
    const cidr = parseCidr(port.address);
    if (cidr === undefined) {
      p.add(`${path}.address`, `"${port.address}" must be an IPv4 address with a prefix length, like 10.99.0.2/24`);
      return undefined;
    }
    if (cidr.family !== 4) {
      p.add(`${path}.address`, `${port.address} is IPv6: address is the port's IPv4 address; give an IPv6 one as address6`);
      return undefined;
    }
    if (port.gateway !== undefined) {
      const gw = parseIp(port.gateway);
      if (gw === undefined || gw.family !== 4) {
        p.add(`${path}.gateway`, `"${port.gateway}" must be an IPv4 address`);
      } else if (!inSubnet(port.gateway, cidr)) {
        p.add(`${path}.gateway`, `${port.gateway} is outside the port's subnet ${cidr.network}/${cidr.prefixLength}`);
      } else if (normalizeIp(port.gateway) === cidr.address) {
        p.add(`${path}.gateway`, 'must not be the port\'s own address');
      }
    }
    return cidr;
  });
  firstSeen(subnets, (c) => c?.address, (i, first, addr) =>
    p.add(`ports[${i}].address`, `${addr} is already the address of ports[${first}]`));
  firstSeen(ports, (port) => port.kernelInterface, (i, first, name) =>
    p.add(`ports[${i}].kernelInterface`, `${name} is already the kernel interface of ports[${first}]`));
  ports.forEach((port, i) => {
    if (port.kernelPacketsPerSec !== undefined && port.kernelInterface === undefined) {
      p.add(`ports[${i}].kernelPacketsPerSec`, 'needs kernelInterface: without one nothing is handed to the kernel');
    }
  });
  return subnets;
}

/** Each pool address with the port it belongs to; every problem of the pools reported. */
function checkNatPools(p: Problems, ports: readonly PortConfig[], subnets: readonly (Cidr | undefined)[]): Map<string, number> {
  const owner = new Map<string, number>();
  const ownAddresses = new Set(subnets.map((c) => c?.address));
  ports.forEach((port, i) => {
    const pool = port.natPool;
    const cidr = subnets[i];
    if (pool === undefined || cidr === undefined) return;
    const path = `ports[${i}].natPool`;
    const [min, max] = pool.portRange;
    if (min > max) p.add(`${path}.portRange`, `[${min}, ${max}] is reversed; write it [low, high]`);
    let count = 0;
    pool.addresses.forEach((entry, j) => {
      const where = `${path}.addresses[${j}]`;
      const addresses = natPoolEntryAddresses(entry);
      if (addresses === undefined) {
        p.add(where, `"${entry}" must be an IPv4 address or a prefix of at most ${MAX_NAT_POOL_ADDRESSES} addresses`);
        return;
      }
      count += addresses.length;
      for (const addr of addresses) {
        if (!inSubnet(addr, cidr)) {
          p.add(where, `${addr} is outside the port's subnet ${cidr.network}/${cidr.prefixLength}: backends must reach it on-link`);
          return;
        }
        const notHost = notAHostAddress(parseIp(addr)!, [cidr]);
        if (notHost !== undefined) {
          p.add(where, `${addr} is ${notHost}`);
          return;
        }
        if (ownAddresses.has(addr)) {
          p.add(where, `${addr} is the own address of a port`);
          return;
        }
        if (port.gateway !== undefined && normalizeIp(port.gateway) === addr) {
          p.add(where, `${addr} is the port's gateway`);
          return;
        }
        const first = owner.get(addr);
        if (first !== undefined) {
          p.add(where, `${addr} is already in the nat pool of ports[${first}]${first === i ? ' (listed twice)' : ''}`);
          return;
        }
        owner.set(addr, i);
      }
    });
    if (count > MAX_NAT_POOL_ADDRESSES) p.add(`${path}.addresses`, `${count} addresses; at most ${MAX_NAT_POOL_ADDRESSES}`);
  });
  return owner;
}

function checkWorkers(p: Problems, workers: readonly WorkerConfig[], lcores: number[] | undefined,
                      ports: readonly PortConfig[]): void {
  if (lcores !== undefined) {
    const [main, ...workerLcores] = lcores;
    workers.forEach((w, i) => {
      if (w.lcore === main) {
        p.add(`workers[${i}].lcore`,
          `lcore ${w.lcore} is the main lcore (first in eal.lcores); it runs the control plane, not a worker`);
      } else if (!workerLcores.includes(w.lcore)) {
        p.add(`workers[${i}].lcore`, `lcore ${w.lcore} is not in eal.lcores "${lcores.join(',')}"`);
      }
    });
  }
  firstSeen(workers, (w) => String(w.lcore), (i, first, lcore) =>
    p.add(`workers[${i}].lcore`, `lcore ${lcore} is listed twice (also workers[${first}])`));

  const portByName = new Map<string, PortConfig>();
  for (const port of ports) if (!portByName.has(port.name)) portByName.set(port.name, port);
  const assigned = new Map<string, string>();
  workers.forEach((w, i) => {
    w.rx.forEach((rx, j) => {
      const path = `workers[${i}].rx[${j}]`;
      const port = portByName.get(rx.port);
      if (port === undefined) {
        p.add(`${path}.port`, `no port named "${rx.port}"`);
        return;
      }
      if (rx.queue >= port.queues) {
        p.add(`${path}.queue`, `port ${port.name} has ${port.queues} queue(s), so the queue must be < ${port.queues}`);
        return;
      }
      const key = `${port.name} queue ${rx.queue}`;
      const first = assigned.get(key);
      if (first !== undefined) p.add(path, `${key} is already assigned to ${first}`);
      else assigned.set(key, `workers[${i}]`);
    });
  });

  const missing: string[] = [];
  for (const port of portByName.values()) {
    for (let q = 0; q < port.queues; q++) {
      if (!assigned.has(`${port.name} queue ${q}`)) missing.push(`${port.name} queue ${q}`);
    }
  }
  if (missing.length > 0) {
    p.add('workers', `every rx queue needs a worker; not assigned: ${missing.join(', ')}`);
  }
}

/** What the services need to know about the ports. */
interface PortFacts {
  /** "ports[0] (eth0)" for a port's own address, so nothing else claims it */
  ownerOf(normalizedAddr: string): string | undefined;
  onLink: readonly Cidr[];
  /** the index of the port whose subnet holds the address, or -1 */
  onLinkIndex(normalizedAddr: string): number;
  /** some port has a gateway: the next hop of off-link tunnel and nat backends */
  hasGateway: boolean;
  /** the index of the first port with a gateway */
  gatewayPort: number;
  /** nat pool address -> the index of the port whose pool holds it */
  natPoolPort: ReadonlyMap<string, number>;
  /** ports (by index) that have a nat pool */
  hasNatPool: readonly boolean[];
  /** the same for IPv6: port prefixes (address6), gateway6 and IPv6 nat pools */
  onLink6: readonly Cidr[];
  onLinkIndex6(normalizedAddr: string): number;
  hasGateway6: boolean;
  gatewayPort6: number;
  hasNatPool6: readonly boolean[];
}

/** "399-200" matches the schema's pattern but no status at all; an operator meant 200-399 or mistyped. */
function checkExpectStatus(p: Problems, expectStatus: string | undefined, path: string): void {
  if (expectStatus === undefined) return;
  const [lo, hi = lo] = expectStatus.split('-').map(Number);
  if (lo > hi) p.add(`${path}.expectStatus`, `"${expectStatus}" is a reversed range; write it low-high, like ${hi}-${lo}`);
}

/** The backend's normalized "address:port", or undefined when its address is unusable. */
function checkBackend(p: Problems, svc: ServiceConfig, b: BackendConfig, path: string,
                      facts: PortFacts): string | undefined {
  if (svc.forwarding !== 'nat' && b.port !== svc.port) {
    p.add(`${path}.port`,
      `${svc.forwarding} forwards without rewriting ports: backend port must equal the service port ${svc.port}`);
  }
  checkExpectStatus(p, b.healthCheck?.expectStatus, `${path}.healthCheck`);
  if (b.mac !== undefined) {
    const mac = normalizeMac(b.mac);
    if (mac === undefined) {
      p.add(`${path}.mac`, `"${b.mac}" must be a MAC address like 02:00:00:00:00:11`);
    } else if (parseInt(mac.slice(0, 2), 16) & 1) {
      p.add(`${path}.mac`, `${mac} is a multicast address; a next hop must be unicast`);
    } else if (mac === '00:00:00:00:00:00') {
      p.add(`${path}.mac`, 'must not be all zeros');
    }
  }
  const ip = parseIp(b.address);
  if (ip === undefined) {
    p.add(`${path}.address`, `"${b.address}" must be an IPv4 or IPv6 address`);
    return undefined;
  }
  if (!checkSameFamily((q, r) => p.add(q, r), `${path}.address`, 'backends', ip, parseIp(svc.vip))) return undefined;
  const { ownerOf } = facts;
  const onLink = ip.family === 6 ? facts.onLink6 : facts.onLink;
  const hasGateway = ip.family === 6 ? facts.hasGateway6 : facts.hasGateway;
  const addr = formatIp(ip);
  const owner = ownerOf(addr);
  const poolPort = facts.natPoolPort.get(addr);
  // A port may be given a loopback subnet (the health-check tests probe servers
  // on 127/8 that way): a backend inside it is on-link, not a martian.
  const onLoopbackPort = ip.family === 4 && ip.bytes[0] === 127 && onLink.some((c) => inSubnet(addr, c));
  const notHost = onLoopbackPort ? undefined : notAHostAddress(ip, onLink);
  if (owner !== undefined) {
    p.add(`${path}.address`, `${addr} is the own address of ${owner}`);
  } else if (poolPort !== undefined) {
    p.add(`${path}.address`, `${addr} is a nat pool address of ports[${poolPort}]`);
  } else if (notHost !== undefined) {
    p.add(`${path}.address`, `${addr} is ${notHost}; a backend must be one host's unicast address`);
  } else if (onLink.length > 0 && !onLink.some((c) => inSubnet(addr, c))) {
    const nets = onLink.map((c) => `${c.network}/${c.prefixLength}`).join(', ');
    if (svc.forwarding === 'dsr') {
      p.add(`${path}.address`,
        `${addr} is not inside any port's subnet (${nets}); dsr only rewrites MACs, so backends must be on-link`);
    } else if (!hasGateway) {
      p.add(`${path}.address`,
        `${addr} is not inside any port's subnet (${nets}) and no port has a ${ip.family === 6 ? 'gateway6' : 'gateway'} to reach it through`);
    }
  }
  if (svc.forwarding === 'nat' && owner === undefined) checkNatEgress(p, addr, ip.family, path, facts);
  return `${addr}:${b.port}`;
}

/** A nat backend's replies come back to the pool of the port the packets leave by. */
function checkNatEgress(p: Problems, addr: string, family: 4 | 6, path: string, facts: PortFacts): void {
  const v6 = family === 6;
  const onLink = v6 ? facts.onLinkIndex6(addr) : facts.onLinkIndex(addr);
  const egress = onLink >= 0 ? onLink : v6 ? facts.gatewayPort6 : facts.gatewayPort;
  if (egress >= 0 && !(v6 ? facts.hasNatPool6 : facts.hasNatPool)[egress]) {
    p.add(`${path}.address`, `forwarding nat reaches ${addr} through ports[${egress}], which has no ` +
      (v6 ? 'IPv6 nat pool (natPool.addresses6)' : 'natPool'));
  }
}

function checkTunnel(p: Problems, svc: ServiceConfig, path: string): void {
  const vip = parseIp(svc.vip);
  const v6 = vip?.family === 6;
  const t = svc.tunnel;
  if (t === undefined) return;
  if (svc.forwarding !== 'tunnel') {
    p.add(path, `applies to forwarding tunnel only; this service uses ${svc.forwarding}`);
    return;
  }
  if (t.encapsulation !== 'gue' && t.guePort !== undefined) {
    p.add(`${path}.guePort`, 'applies to encapsulation gue only');
  }
  if (t.encapsulation !== 'ipip' && t.sourceNetwork !== undefined) {
    p.add(`${path}.sourceNetwork`, 'applies to encapsulation ipip only; gue spreads flows by UDP source port');
  }
  if (t.source !== undefined && t.sourceNetwork !== undefined) {
    p.add(path, 'give source (one fixed outer source) or sourceNetwork (one per flow), not both');
  }
  if (t.source !== undefined) {
    const ip = parseIp(t.source);
    if (ip === undefined) {
      p.add(`${path}.source`, `"${t.source}" must be an IP address`);
    } else if (checkSameFamily((q, r) => p.add(q, r), `${path}.source`, 'backends and tunnel source', ip, vip) &&
      !isUnicast(ip)) {
      p.add(`${path}.source`, `${t.source} is not a unicast address`);
    }
  }
  if (t.sourceNetwork !== undefined) {
    const net = parseCidr(t.sourceNetwork);
    if (v6 && net !== undefined && net.family === 6) {
      checkSourceNetwork6((q, r) => p.add(q, r), `${path}.sourceNetwork`, net, t.sourceNetwork);
    } else if (v6) {
      p.add(`${path}.sourceNetwork`, `"${t.sourceNetwork}" must be an IPv6 prefix like fd00:5c::/96, as the VIP is IPv6`);
    } else if (net === undefined || net.family !== 4) {
      p.add(`${path}.sourceNetwork`, `"${t.sourceNetwork}" must be an IPv4 prefix like 172.16.0.0/16`);
    } else if (net.prefixLength < 8 || net.prefixLength > 24) {
      p.add(`${path}.sourceNetwork`, `prefix length must be 8 to 24 (at least 256 sources), got ${net.prefixLength}`);
    } else if (net.address !== net.network) {
      p.add(`${path}.sourceNetwork`, `${t.sourceNetwork} has host bits set; the prefix is ${net.network}/${net.prefixLength}`);
    }
  }
}

/** What checkBackend reads of the service, besides the ports' facts. */
function backendContext(svc: ServiceConfig): string {
  return `${svc.forwarding}|${svc.port}|${parseIp(svc.vip)?.family}`;
}

/** checkBackend, unless `known` has `b` valid in the same context; what passes joins `known`. */
function checkKnownBackend(p: Problems, svc: ServiceConfig, b: BackendConfig, path: string, facts: PortFacts,
                           context: string, known: KnownValid | undefined): string | undefined {
  const seen = known?.backends.get(b);
  if (seen !== undefined && seen.context === context) return seen.key;
  const before = p.list.length;
  const key = checkBackend(p, svc, b, path, facts);
  if (known !== undefined && key !== undefined && p.list.length === before) known.backends.set(b, { context, key });
  return key;
}

function checkService(p: Problems, svc: ServiceConfig, path: string, facts: PortFacts, known?: KnownValid): void {
  const vip = parseIp(svc.vip);
  if (vip === undefined) p.add(`${path}.vip`, `"${svc.vip}" must be an IPv4 or IPv6 address`);
  else if (vip.family === 6 && facts.onLink6.length === 0) {
    p.add(`${path}.vip`, `${svc.vip} is IPv6 and no port has an IPv6 address (ports[].address6)`);
  } else {
    const owner = facts.ownerOf(formatIp(vip));
    const notHost = notAHostAddress(vip, vip.family === 6 ? facts.onLink6 : facts.onLink);
    if (owner !== undefined) {
      p.add(`${path}.vip`, `${svc.vip} is the own address of ${owner}; a VIP must be a separate address`);
    } else if (notHost !== undefined) {
      p.add(`${path}.vip`, `${svc.vip} is ${notHost}; a VIP must be one host's unicast address that clients reach`);
    }
  }

  checkExpectStatus(p, svc.healthCheck.expectStatus, `${path}.healthCheck`);
  if (vip !== undefined) {
    const poolPort = facts.natPoolPort.get(formatIp(vip));
    if (poolPort !== undefined) p.add(`${path}.vip`, `${svc.vip} is a nat pool address of ports[${poolPort}]`);
  }
  checkTunnel(p, svc, `${path}.tunnel`);
  checkQuicLb((q, r) => p.add(q, r), svc, path);
  if (!isPrime(svc.lookupTableSize)) {
    p.add(`${path}.lookupTableSize`,
      `must be prime; ${svc.lookupTableSize} is not (the next prime is ${nextPrime(svc.lookupTableSize)})`);
  } else if (svc.backends.length > svc.lookupTableSize) {
    p.add(`${path}.lookupTableSize`, `${svc.lookupTableSize} slots cannot hold ${svc.backends.length} backends`);
  }

  const context = backendContext(svc);
  const keys = svc.backends.map((b, i) => checkKnownBackend(p, svc, b, `${path}.backends[${i}]`, facts, context, known));
  firstSeen(keys, (k) => k, (i, first, k) =>
    p.add(`${path}.backends[${i}]`, `backend ${k} is listed twice (also backends[${first}])`));
}

/** "vip:port/protocol", the VIP normalized; undefined when the VIP does not parse. */
function listenerOf(s: ServiceConfig): string | undefined {
  const vip = normalizeIp(s.vip);
  return vip === undefined ? undefined : `${vip}:${s.port}/${s.protocol}`;
}

/** listenerOf, once per known (validated, never changed) service object. */
const listeners = new WeakMap<ServiceConfig, string | undefined>();
function knownListener(s: ServiceConfig): string | undefined {
  if (!listeners.has(s)) listeners.set(s, listenerOf(s));
  return listeners.get(s);
}

function portFacts(ports: readonly PortConfig[], subnets: readonly (Cidr | undefined)[],
                   subnets6: readonly (Cidr | undefined)[], natPoolPort: ReadonlyMap<string, number>): PortFacts {
  const owners = new Map<string, string>();
  [...subnets, ...subnets6].forEach((c, i) => {
    const port = i % ports.length;
    if (c !== undefined && !owners.has(c.address)) owners.set(c.address, `ports[${port}] (${ports[port].name})`);
  });
  return {
    ownerOf: (addr) => owners.get(addr),
    onLink: subnets.filter((c): c is Cidr => c !== undefined),
    onLinkIndex: (addr) => subnets.findIndex((c) => c !== undefined && inSubnet(addr, c)),
    hasGateway: ports.some((port) => port.gateway !== undefined),
    gatewayPort: ports.findIndex((port) => port.gateway !== undefined),
    natPoolPort,
    hasNatPool: ports.map((port) => port.natPool !== undefined),
    onLink6: subnets6.filter((c): c is Cidr => c !== undefined),
    onLinkIndex6: (addr) => subnets6.findIndex((c) => c !== undefined && inSubnet(addr, c)),
    hasGateway6: ports.some((port, i) => port.gateway6 !== undefined && subnets6[i] !== undefined),
    gatewayPort6: ports.findIndex((port, i) => port.gateway6 !== undefined && subnets6[i] !== undefined),
    hasNatPool6: ports.map((port) => (port.natPool?.addresses6?.length ?? 0) > 0),
  };
}

function checkServices(p: Problems, services: readonly ServiceConfig[], ports: readonly PortConfig[],
                       subnets: readonly (Cidr | undefined)[], subnets6: readonly (Cidr | undefined)[],
                       natPoolPort: ReadonlyMap<string, number>, known?: KnownValid): void {
  const facts = portFacts(ports, subnets, subnets6, natPoolPort);
  firstSeen(services, (s) => s.name, (i, first, name) =>
    p.add(`services[${i}].name`, `duplicate service name "${name}" (also services[${first}])`));
  // A service in `known` passed these rules before, against the same ports: only
  // the rules between services (above and below) can change for it.
  services.forEach((svc, i) => {
    if (known === undefined || !known.services.has(svc)) checkService(p, svc, `services[${i}]`, facts, known);
  });
  firstSeen(services, (s) => (known?.services.has(s) ? knownListener(s) : listenerOf(s)), (i, first, triple) =>
    p.add(`services[${i}]`, `${triple} is already served by services[${first}] (${services[first].name})`));
  const total = services.reduce((n, s) => n + s.backends.length, 0);
  if (total > MAX_BACKEND_IDS) {
    p.add('services', `${total} backends in total; at most ${MAX_BACKEND_IDS} are supported`);
  }
}

/**
 * The token comes from one place; an API other hosts may reach needs one unless
 * the operator says in so many words that it may run open.
 */
function checkApi(p: Problems, api: ApiConfig): void {
  if (api.tokenFile !== undefined && api.tokenEnv !== undefined) {
    p.add('api', 'tokenFile and tokenEnv are both set; give one of them');
  }
  let host: string;
  try {
    host = parseListen(api.listen).host;
  } catch (err) {
    if (!isSluiceError(err, 'SLUICE_CONFIG_INVALID')) throw err;
    p.list.push(...(err.details as ConfigProblem[]));
    return;
  }
  if (!isLoopbackHost(host) && api.tokenFile === undefined && api.tokenEnv === undefined && !api.allowUnauthenticated) {
    p.add('api.listen', `${api.listen} is not a loopback address and the API has no token, so anyone who reaches it ` +
      'could change every service: set api.tokenFile or api.tokenEnv, or api.allowUnauthenticated: true to run it open');
  }
}

/** The ports' facts of a config, once per (never changed) ports list: what backendProblems needs. */
const factsOfPorts = new WeakMap<readonly PortConfig[], PortFacts>();

/**
 * The problems of one backend `b` of service `svc` (its own rules, not those
 * between backends or services), `svc` being of `cfg` and valid. What passes
 * joins `known`, as in semanticProblems. Returns the backend's key too.
 */
export function backendProblems(cfg: SluiceConfig, svc: ServiceConfig, b: BackendConfig, path: string,
                                known: KnownValid): { problems: ConfigProblem[]; key: string | undefined } {
  let facts = factsOfPorts.get(cfg.ports);
  if (facts === undefined) {
    // cfg is valid: its ports' problems were reported when it was checked.
    const scratch = new Problems();
    const subnets = checkPorts(scratch, cfg.ports);
    const subnets6 = checkPortsIpv6((q, r) => scratch.add(q, r), cfg.ports);
    const natPoolPort = checkNatPools(scratch, cfg.ports, subnets);
    checkNatPools6((q, r) => scratch.add(q, r), cfg.ports, subnets6, natPoolPort);
    facts = portFacts(cfg.ports, subnets, subnets6, natPoolPort);
    factsOfPorts.set(cfg.ports, facts);
  }
  const p = new Problems();
  const key = checkKnownBackend(p, svc, b, path, facts, backendContext(svc), known);
  return { problems: p.list, key };
}

/**
 * Every cross-field problem in a config that already matches the schema.
 * What `known` holds is taken as passing its own rules (validateServices).
 */
export function semanticProblems(cfg: SluiceConfig, known?: KnownValid): ConfigProblem[] {
  const p = new Problems();
  checkApi(p, cfg.api);
  const lcores = checkLcores(p, cfg);
  const subnets = checkPorts(p, cfg.ports);
  const subnets6 = checkPortsIpv6((path, reason) => p.add(path, reason), cfg.ports);
  firstSeen(subnets6, (c) => c?.address, (i, first, addr) =>
    p.add(`ports[${i}].address6`, `${addr} is already the address of ports[${first}]`));
  if (cfg.workers !== undefined) checkWorkers(p, cfg.workers, lcores, cfg.ports);
  const natPoolPort = checkNatPools(p, cfg.ports, subnets);
  checkNatPools6((path, reason) => p.add(path, reason), cfg.ports, subnets6, natPoolPort);
  checkServices(p, cfg.services, cfg.ports, subnets, subnets6, natPoolPort, known);
  if (cfg.bgp !== undefined) checkBgp((path, reason) => p.add(path, reason), cfg.bgp, cfg.ports, cfg.services);
  return p.list;
}
