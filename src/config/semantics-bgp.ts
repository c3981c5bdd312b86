// The rules of the `bgp` section (docs/bgp.md) that the schema cannot say: the
// router id and every address parse and are of the right family and kind, no
// neighbor twice, communities in range, and a next hop for each family of VIP.
import { formatIp, parseCidr, parseIp } from '../net/addr';
import type { BgpConfig, PortConfig, ServiceConfig } from './schema';
import { isUnicast, notAHostAddress, type AddProblem } from './semantics-ipv6';

function checkAddress(add: AddProblem, path: string, text: string, family: 4 | 6, what: string): void {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) {
    add(path, `"${text}" must be an ${family === 4 ? 'IPv4' : 'IPv6'} address (${what})`);
    return;
  }
  const bad = notAHostAddress(ip, []);
  if (bad !== undefined) add(path, `${text} is ${bad}; ${what} must be a unicast address other hosts reach`);
}

/** Where each family's VIPs are announced from when bgp names no next hop: the first port with an address of it. */
export function defaultNextHops(ports: readonly PortConfig[]): { v4?: string; v6?: string } {
  const v4 = ports.map((p) => parseCidr(p.address)).find((c) => c?.family === 4)?.address;
  const v6 = ports.map((p) => (p.address6 === undefined ? undefined : parseCidr(p.address6))).find((c) => c?.family === 6)?.address;
  return { v4, v6 };
}

export function checkBgp(add: AddProblem, bgp: BgpConfig, ports: readonly PortConfig[], services: readonly ServiceConfig[]): void {
  const rid = parseIp(bgp.routerId);
  if (rid === undefined || rid.family !== 4) add('bgp.routerId', `"${bgp.routerId}" must be an IPv4 address (a BGP identifier is 32 bits)`);
  else if (rid.bytes.every((b) => b === 0)) add('bgp.routerId', 'must not be 0.0.0.0');
  const seen = new Map<string, number>();
  bgp.neighbors.forEach((n, i) => {
    const path = `bgp.neighbors[${i}].address`;
    const ip = parseIp(n.address);
    if (ip === undefined) {
      add(path, `"${n.address}" must be an IPv4 or IPv6 address`);
      return;
    }
    if (!isUnicast(ip)) {
      add(path, `${n.address} is not a unicast address`);
      return;
    }
    const key = formatIp(ip);
    const first = seen.get(key);
    if (first !== undefined) add(path, `${key} is already bgp.neighbors[${first}]`);
    else seen.set(key, i);
    if (n.password !== undefined && n.password.includes('\0')) add(`bgp.neighbors[${i}].password`, 'must not hold a NUL character');
  });
  (bgp.communities ?? []).forEach((c, i) => {
    const [asn, value] = c.split(':').map(Number);
    if (!(asn <= 65535 && value <= 65535)) add(`bgp.communities[${i}]`, `"${c}" must be ASN:VALUE with both 0-65535`);
  });
  if (bgp.nextHop !== undefined) checkAddress(add, 'bgp.nextHop', bgp.nextHop, 4, 'the next hop of IPv4 VIPs');
  if (bgp.nextHop6 !== undefined) checkAddress(add, 'bgp.nextHop6', bgp.nextHop6, 6, 'the next hop of IPv6 VIPs');
  // IPv6 services need a port address6 anyway (semantics-ipv6); a next hop is then at hand.
  const defaults = defaultNextHops(ports);
  if (bgp.nextHop6 === undefined && defaults.v6 === undefined && services.some((s) => parseIp(s.vip)?.family === 6)) {
    add('bgp.nextHop6', 'IPv6 services are announced and no port has an address6: give bgp.nextHop6');
  }
}
