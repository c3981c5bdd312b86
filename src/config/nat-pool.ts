// forwarding nat's source pools: the addresses a port's pool entries stand for.
// Shared by the semantic checks and the conversion to the addon's shape, so both
// expand a prefix the same way.
import { formatIPv6, parseCidr, parseIPv4, parseIPv6 } from '../net/addr';
import { MAX_NAT_POOL_ADDRESSES } from './schema';

const toNumber = (b: Uint8Array) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
const toText = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');

/**
 * One pool entry as addresses: itself, or every host address of a prefix (the
 * network and broadcast addresses left out below /31). Undefined when the entry
 * is neither an IPv4 address nor an IPv4 prefix, or stands for more than the
 * pool may hold.
 */
export function natPoolEntryAddresses(entry: string): string[] | undefined {
  if (!entry.includes('/')) {
    const ip = parseIPv4(entry);
    return ip === undefined ? undefined : [toText(toNumber(ip))];
  }
  const cidr = parseCidr(entry);
  if (cidr === undefined || cidr.family !== 4) return undefined;
  const size = 2 ** (32 - cidr.prefixLength);
  const hostsOnly = cidr.prefixLength < 31;
  if (size - (hostsOnly ? 2 : 0) > MAX_NAT_POOL_ADDRESSES) return undefined;
  const first = toNumber(parseIPv4(cidr.network)!);
  const out: string[] = [];
  for (let i = hostsOnly ? 1 : 0; i < (hostsOnly ? size - 1 : size); i++) out.push(toText(first + i));
  return out;
}

/**
 * One IPv6 pool entry (addresses6) as addresses: itself, or every address of a
 * prefix but its first (the subnet-router anycast address, RFC 4291 2.6.1) below
 * /127. Undefined when the entry is neither an IPv6 address nor an IPv6 prefix,
 * or stands for more than the pool may hold.
 */
export function natPoolEntryAddresses6(entry: string): string[] | undefined {
  if (!entry.includes('/')) {
    const ip = parseIPv6(entry);
    return ip === undefined ? undefined : [formatIPv6(ip)];
  }
  const cidr = parseCidr(entry);
  if (cidr === undefined || cidr.family !== 6) return undefined;
  const hostBits = 128 - cidr.prefixLength;
  const skipFirst = cidr.prefixLength < 127;
  if (hostBits > 13 || 2 ** hostBits - (skipFirst ? 1 : 0) > MAX_NAT_POOL_ADDRESSES) return undefined;
  const base = parseIPv6(cidr.network)!;
  const out: string[] = [];
  for (let i = skipFirst ? 1 : 0; i < 2 ** hostBits; i++) {
    const bytes = Uint8Array.from(base);
    bytes[14] |= i >> 8;
    bytes[15] |= i & 0xff;
    out.push(formatIPv6(bytes));
  }
  return out;
}

/** Every address of a validated pool, in entry order. */
export function natPoolAddresses(entries: readonly string[]): string[] {
  return entries.flatMap((e) => natPoolEntryAddresses(e) ?? []);
}

/** The same for addresses6. */
export function natPoolAddresses6(entries: readonly string[]): string[] {
  return entries.flatMap((e) => natPoolEntryAddresses6(e) ?? []);
}
