// IPv6 neighbor discovery frames (RFC 4861) and IPv6 tunnel decoding for the
// IPv6 tests, built from the RFC layouts with the generic frame builder.
import * as pk from './packets';

export const ALL_NODES = 'ff02::1';

/** ff02::1:ffXX:XXXX for `target` (RFC 4291 2.7.1). */
export function solicitedNode(target: string): string {
  const t = pk.parseIp(target);
  const g = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]]);
  return pk.formatIp(g);
}

/** 33:33 followed by the group's last four bytes (RFC 2464 7). */
export function multicastMac(group: string): string {
  const g = pk.parseIp(group);
  return pk.formatMac(Buffer.from([0x33, 0x33, g[12], g[13], g[14], g[15]]));
}

export interface Icmpv6Options {
  type: number;
  code?: number;
  body: Buffer;
  /** Override the computed checksum, for malformed-packet tests. */
  checksum?: number;
}

/** An ICMPv6 message with its pseudo-header checksum (RFC 4443 2.3). */
export function icmpv6(o: Icmpv6Options, ip: pk.PseudoHeaderInfo): Buffer {
  const msg = Buffer.concat([Buffer.from([o.type, o.code ?? 0, 0, 0]), o.body]);
  const pseudo = Buffer.alloc(40);
  pk.parseIp(ip.src).copy(pseudo, 0);
  pk.parseIp(ip.dst).copy(pseudo, 16);
  pseudo.writeUInt32BE(msg.length, 32);
  pseudo[39] = pk.IPPROTO_ICMPV6;
  msg.writeUInt16BE(o.checksum ?? pk.checksum16(Buffer.concat([pseudo, msg])), 2);
  return msg;
}

function ndBody(flags: number, target: string, option?: { type: number; mac: string; units?: number }): Buffer {
  const fixed = Buffer.alloc(20);
  fixed[0] = flags;
  pk.parseIp(target).copy(fixed, 4);
  if (option === undefined) return fixed;
  const opt = Buffer.alloc(8);
  opt[0] = option.type;
  opt[1] = option.units ?? 1;
  pk.parseMac(option.mac).copy(opt, 2);
  return Buffer.concat([fixed, opt]);
}

export interface NsOptions {
  srcMac: string;
  src: string;
  target: string;
  /** default: the target's solicited-node group and its MAC */
  dst?: string;
  dstMac?: string;
  hopLimit?: number;
  /** default true */
  sourceLinkAddr?: boolean;
  checksum?: number;
  optionUnits?: number;
  vlans?: number[];
}

export function neighborSolicitFrame(o: NsOptions): Buffer {
  const dst = o.dst ?? solicitedNode(o.target);
  const body = ndBody(0, o.target,
    o.sourceLinkAddr === false ? undefined : { type: 1, mac: o.srcMac, units: o.optionUnits });
  const msg = icmpv6({ type: 135, body, checksum: o.checksum }, { src: o.src, dst });
  const ip = pk.ipv6({ src: o.src, dst, nextHeader: pk.IPPROTO_ICMPV6, hopLimit: o.hopLimit ?? 255 }, msg);
  return pk.ether({ dst: o.dstMac ?? multicastMac(dst), src: o.srcMac, vlans: o.vlans, type: pk.ETHERTYPE_IPV6 }, ip);
}

export interface NaOptions {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  target: string;
  /** default Solicited | Override */
  flags?: number;
  hopLimit?: number;
  /** the target link-layer address option; default srcMac, null for none */
  targetMac?: string | null;
}

export function neighborAdvertFrame(o: NaOptions): Buffer {
  const mac = o.targetMac === undefined ? o.srcMac : o.targetMac;
  const body = ndBody(o.flags ?? 0x60, o.target, mac === null ? undefined : { type: 2, mac });
  const msg = icmpv6({ type: 136, body }, { src: o.src, dst: o.dst });
  const ip = pk.ipv6({ src: o.src, dst: o.dst, nextHeader: pk.IPPROTO_ICMPV6, hopLimit: o.hopLimit ?? 255 }, msg);
  return pk.ether({ dst: o.dstMac, src: o.srcMac, type: pk.ETHERTYPE_IPV6 }, ip);
}

export interface DecodedNd {
  type: number;
  code: number;
  flags: number;
  target: string;
  /** the first link-layer address option: source (type 1) or target (type 2) */
  option?: { type: number; mac: string };
  checksumValid: boolean;
}

/** The NS or NA in a decoded frame; undefined when it is neither. */
export function decodeNd(frame: Buffer): DecodedNd | undefined {
  const d = pk.decodeFrame(frame);
  if (d.ipv6 === undefined || d.icmp === undefined || (d.icmp.type !== 135 && d.icmp.type !== 136)) return undefined;
  // The decoder reads bytes 4..7 as echo id and sequence: here flags and reserved.
  const body = d.icmp.payload;
  const out: DecodedNd = { type: d.icmp.type, code: d.icmp.code, flags: (d.icmp.id ?? 0) >> 8,
    target: pk.formatIp(body.subarray(0, 16)), checksumValid: d.icmp.checksumValid };
  if (body.length >= 24) out.option = { type: body[16], mac: pk.formatMac(body.subarray(18, 24)) };
  return out;
}

/** IPv6-in-IPv6 (next header 41) or GUE over IPv6 to `guePort`; undefined when the frame is neither. */
export function decodeTunnel6(frame: Uint8Array, guePort: number): pk.DecodedTunnel | undefined {
  const outer = pk.decodeFrame(frame);
  if (outer.ipv6 === undefined) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const l3 = 14 + 4 * outer.vlans.length;
  let encapsulation: pk.DecodedTunnel['encapsulation'];
  let innerPacket: Buffer;
  if (outer.ipv6.proto === 41) {
    encapsulation = 'ipip';
    innerPacket = b.subarray(l3 + 40, l3 + 40 + outer.ipv6.payloadLength);
  } else if (outer.udp?.dport === guePort && outer.payload !== undefined) {
    encapsulation = 'gue';
    innerPacket = outer.payload;
  } else {
    return undefined;
  }
  return { encapsulation, outer, innerPacket, inner: pk.decodeIpPacket(innerPacket) };
}
