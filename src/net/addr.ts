// Address parsing for config validation. Parsers return undefined instead of
// throwing so a validator can collect every bad field and word its own reason.
// Normalized text is the identity used for comparisons (duplicate VIPs, stable
// backend ids), so "10.0.0.1" and an equivalent spelling never count as two.
import { isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** network order: 4 bytes for IPv4, 16 for IPv6 */
  bytes: Uint8Array;
}

export interface Cidr {
  family: IpFamily;
  /** normalized address as written (host bits kept: it is an interface address) */
  address: string;
  prefixLength: number;
  /** normalized network address (host bits cleared) */
  network: string;
}

/**
 * Four decimal octets, 0 to 255, without leading zeros (which some libcs would
 * read as octal): what node:net's isIPv4 accepts, read in one pass, as every
 * backend of a 4,096-backend change is read several times.
 */
export function parseIPv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 0x30);
      if (value > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = value;
  return out;
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function parseIPv6(s: string): Uint8Array | undefined {
  // A zone ("fe80::1%eth0") names a kernel interface, which means nothing to DPDK.
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const embedded = text.slice(lastColon + 1);
  if (embedded.includes('.')) {
    const v4 = parseIPv4(embedded);
    if (v4 === undefined) return undefined;
    const hi = ((v4[0] << 8) | v4[1]).toString(16);
    const lo = ((v4[2] << 8) | v4[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  const toGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const head = toGroups(halves[0]);
  const rest = halves.length > 1 ? toGroups(halves[1]) : [];
  const zeros = halves.length > 1 ? 8 - head.length - rest.length : 0;
  if (zeros < 0) return undefined;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...rest];
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** RFC 5952 text: lowercase, no leading zeros, longest run (>= 2) of zero groups as "::". */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  const isV4Mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isV4Mapped) return `::ffff:${formatIPv4(bytes.subarray(12))}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function parseIp(s: string): IpAddress | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(s);
  if (v6 !== undefined) return { family: 6, bytes: v6 };
  return undefined;
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIPv4(ip.bytes) : formatIPv6(ip.bytes);
}

/**
 * Every address is normalised on each change by validation, ids, the data
 * plane's input and the views, for every backend of every service: remember
 * the answers, so each distinct string is parsed once. Bounded: cleared whole
 * when full (more addresses than any config holds; MAX_BACKEND_IDS is below it).
 */
const NORMALIZED_MAX = 1 << 18;
const normalized = new Map<string, string | undefined>();

export function normalizeIp(s: string): string | undefined {
  let out = normalized.get(s);
  if (out === undefined && !normalized.has(s)) {
    const ip = parseIp(s);
    out = ip === undefined ? undefined : formatIp(ip);
    if (normalized.size >= NORMALIZED_MAX) normalized.clear();
    normalized.set(s, out);
  }
  return out;
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > ip.bytes.length * 8) return undefined;
  const network: IpAddress = { family: ip.family, bytes: maskBytes(ip.bytes, prefixLength) };
  return { family: ip.family, address: formatIp(ip), prefixLength, network: formatIp(network) };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefixLength}`;
}

/** False when either side does not parse or the families differ. */
export function inSubnet(addr: string, cidr: string | Cidr): boolean {
  const subnet = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const ip = parseIp(addr);
  if (subnet === undefined || ip === undefined || ip.family !== subnet.family) return false;
  const network = parseIp(subnet.network)!.bytes;
  const masked = maskBytes(ip.bytes, subnet.prefixLength);
  return masked.every((byte, i) => byte === network[i]);
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Only colon-separated hex pairs; returns lowercase. */
export function normalizeMac(s: string): string | undefined {
  return MAC_RE.test(s) ? s.toLowerCase() : undefined;
}

// domain:bus:device.function; DPDK names PCI ethdevs by the full form.
const PCI_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

/** "01:00.0" -> "0000:01:00.0"; undefined when not a PCI address. */
export function normalizePciAddress(s: string): string | undefined {
  const m = PCI_RE.exec(s);
  if (m === null) return undefined;
  const [, domain = '0000', bus, device, fn] = m;
  if (parseInt(device, 16) > 0x1f) return undefined;
  return `${domain}:${bus}:${device}.${fn}`.toLowerCase();
}

export function isPciAddress(s: string): boolean {
  return normalizePciAddress(s) !== undefined;
}
