// The IPv6 rules of semantics.ts: port addresses (address6, gateway6) and the
// family a service shares with its backends and tunnel sources; and the kinds of
// address, of either family, that cannot be a VIP or a backend.
import { formatIp, inSubnet, normalizeIp, parseCidr, parseIp, type Cidr, type IpAddress } from '../net/addr';
import { natPoolEntryAddresses6 } from './nat-pool';
import { MAX_NAT_POOL_ADDRESSES, type PortConfig } from './schema';

export type AddProblem = (path: string, reason: string) => void;

/** fe80::/10: where routers usually answer neighbor solicitations from. */
export function isLinkLocal6(ip: IpAddress): boolean {
  return ip.family === 6 && ip.bytes[0] === 0xfe && (ip.bytes[1] & 0xc0) === 0x80;
}

type AddressKind = 'unicast' | 'unspecified' | 'this-network' | 'loopback' | 'link-local' | 'multicast' |
  'broadcast' | 'reserved';

/** The one classification of special addresses, IPv4 and IPv6, that every rule below uses; with the words for it. */
function addressKind(ip: IpAddress): [AddressKind, string] {
  const b = ip.bytes;
  if (b.every((x) => x === 0)) return ['unspecified', 'the unspecified address'];
  if (ip.family === 4) {
    if (b.every((x) => x === 255)) return ['broadcast', 'the broadcast address'];
    if (b[0] === 0) return ['this-network', 'in 0.0.0.0/8 ("this network")'];
    if (b[0] === 127) return ['loopback', 'a loopback address (127.0.0.0/8)'];
    if (b[0] === 169 && b[1] === 254) return ['link-local', 'a link-local address (169.254.0.0/16)'];
    if (b[0] >= 240) return ['reserved', 'a reserved address (240.0.0.0/4)'];
    if (b[0] >= 224) return ['multicast', 'a multicast address (224.0.0.0/4)'];
    return ['unicast', ''];
  }
  if (b[0] === 0xff) return ['multicast', 'a multicast address (ff00::/8)'];
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return ['loopback', 'the loopback address'];
  if (isLinkLocal6(ip)) return ['link-local', 'a link-local address (fe80::/10)'];
  return ['unicast', ''];
}

function isMulticastOrUnspecified(ip: IpAddress): boolean {
  const [kind] = addressKind(ip);
  return ip.family === 6 && (kind === 'multicast' || kind === 'unspecified');
}

/** Neither a group nor unspecified: IPv4 not in 0/8 or 224/3; IPv6 not ff00::/8 or ::. */
export function isUnicast(ip: IpAddress): boolean {
  return ['unicast', 'loopback', 'link-local'].includes(addressKind(ip)[0]);
}

/**
 * Why `ip` cannot be a VIP or a backend, or undefined when it can: it must be
 * one host's unicast address that other hosts reach, so not unspecified,
 * multicast, broadcast, reserved, loopback or link-local; and, inside a port's
 * subnet (`onLink`), not that subnet's network or broadcast address (IPv4
 * prefixes up to /30; IPv6 up to /126, whose network address is the
 * subnet-router anycast address).
 */
export function notAHostAddress(ip: IpAddress, onLink: readonly Cidr[]): string | undefined {
  const [kind, text] = addressKind(ip);
  if (kind !== 'unicast') return text;
  const addr = formatIp(ip);
  for (const c of onLink) {
    if (c.family !== ip.family || c.prefixLength > (ip.family === 4 ? 30 : 126) || !inSubnet(addr, c)) continue;
    if (addr === c.network) return `the network address of the subnet ${c.network}/${c.prefixLength}`;
    const host = ip.bytes.length * 8 - c.prefixLength;
    const allOnes = ip.bytes.every((x, i) => {
      const hostBits = Math.max(0, Math.min(8, host - 8 * (ip.bytes.length - 1 - i)));
      const mask = (1 << hostBits) - 1;
      return (x & mask) === mask;
    });
    if (ip.family === 4 && allOnes) return `the broadcast address of the subnet ${c.network}/${c.prefixLength}`;
  }
  return undefined;
}

/** Parsed IPv6 port prefixes by index; undefined where the port has none or it is bad (reported). */
export function checkPortsIpv6(add: AddProblem, ports: readonly PortConfig[]): (Cidr | undefined)[] {
  return ports.map((port, i) => {
    const path = `ports[${i}]`;
    if (port.address6 === undefined) {
      if (port.gateway6 !== undefined) add(`${path}.gateway6`, 'needs address6, the port\'s own IPv6 address');
      return undefined;
    }
    const cidr = parseCidr(port.address6);
    if (cidr === undefined || cidr.family !== 6) {
      add(`${path}.address6`, `"${port.address6}" must be an IPv6 address with a prefix length, like fd00:99::2/64`);
      return undefined;
    }
    const own = parseIp(cidr.address)!;
    if (isMulticastOrUnspecified(own) || isLinkLocal6(own)) {
      add(`${path}.address6`, `${cidr.address} must be a unicast address that is not link-local`);
      return undefined;
    }
    if (cidr.prefixLength < 8 || cidr.prefixLength > 127) {
      add(`${path}.address6`, `prefix length must be 8 to 127, got ${cidr.prefixLength}`);
      return undefined;
    }
    if (port.gateway6 !== undefined) {
      const gw = parseIp(port.gateway6);
      if (gw === undefined || gw.family !== 6) {
        add(`${path}.gateway6`, `"${port.gateway6}" must be an IPv6 address`);
      } else if (isMulticastOrUnspecified(gw)) {
        add(`${path}.gateway6`, `${port.gateway6} is not a unicast address`);
      } else if (!isLinkLocal6(gw) && !inSubnet(port.gateway6, cidr)) {
        add(`${path}.gateway6`,
          `${port.gateway6} is neither inside the port's prefix ${cidr.network}/${cidr.prefixLength} nor link-local (fe80::/10)`);
      } else if (normalizeIp(port.gateway6) === cidr.address) {
        add(`${path}.gateway6`, 'must not be the port\'s own address');
      }
    }
    return cidr;
  });
}

const familyName = (f: 4 | 6): string => `IPv${f}`;

/**
 * A service and its backends share one address family; says so when `ip` is not
 * of the VIP's. True when the families match.
 */
export function checkSameFamily(add: AddProblem, path: string, what: string, ip: IpAddress, vip: IpAddress | undefined): boolean {
  if (vip === undefined || ip.family === vip.family) return true;
  add(path, `${formatIp(ip)} is ${familyName(ip.family)} but the VIP is ${familyName(vip.family)}: ` +
    `a service, its ${what} share one address family`);
  return false;
}

/** The tunnel's sourceNetwork rule for an IPv6 service: /96 to /120, host bits clear. */
export function checkSourceNetwork6(add: AddProblem, path: string, net: Cidr, text: string): void {
  if (net.prefixLength < 96 || net.prefixLength > 120) {
    add(path, `an IPv6 prefix length must be 96 to 120 (at least 256 sources, at most 2^32), got ${net.prefixLength}`);
  } else if (net.address !== net.network) {
    add(path, `${text} has host bits set; the prefix is ${net.network}/${net.prefixLength}`);
  }
}

/**
 * The IPv6 nat pools (natPool.addresses6): in the port's address6 prefix, none a
 * port's own address or gateway6, each in one pool once. Adds each address to
 * `owner` (address -> port index), which holds the IPv4 pools already.
 */
export function checkNatPools6(add: AddProblem, ports: readonly PortConfig[], subnets6: readonly (Cidr | undefined)[],
                               owner: Map<string, number>): void {
  const ownAddresses = new Set(subnets6.map((c) => c?.address));
  ports.forEach((port, i) => {
    const entries = port.natPool?.addresses6;
    if (entries === undefined) return;
    const path = `ports[${i}].natPool.addresses6`;
    const cidr = subnets6[i];
    if (cidr === undefined) {
      if (entries.length > 0 && port.address6 === undefined) add(path, 'needs address6, the port\'s own IPv6 address');
      return;
    }
    const gateway6 = port.gateway6 === undefined ? undefined : normalizeIp(port.gateway6);
    let count = 0;
    entries.forEach((entry, j) => {
      const where = `${path}[${j}]`;
      const addresses = natPoolEntryAddresses6(entry);
      if (addresses === undefined) {
        add(where, `"${entry}" must be an IPv6 address or a prefix of at most ${MAX_NAT_POOL_ADDRESSES} addresses`);
        return;
      }
      count += addresses.length;
      for (const addr of addresses) {
        let problem: string | undefined;
        const first = owner.get(addr);
        if (!inSubnet(addr, cidr)) {
          problem = `${addr} is outside the port's prefix ${cidr.network}/${cidr.prefixLength}: backends must reach it on-link`;
        } else if (ownAddresses.has(addr)) {
          problem = `${addr} is the own address of a port`;
        } else if (gateway6 === addr) {
          problem = `${addr} is the port's gateway6`;
        } else if (first !== undefined) {
          problem = `${addr} is already in the nat pool of ports[${first}]${first === i ? ' (listed twice)' : ''}`;
        }
        if (problem !== undefined) {
          add(where, problem);
          return;
        }
        owner.set(addr, i);
      }
    });
    if (count > MAX_NAT_POOL_ADDRESSES) add(path, `${count} addresses; at most ${MAX_NAT_POOL_ADDRESSES}`);
  });
}
