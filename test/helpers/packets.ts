// Packet builder and decoder for golden tests. Builders are strict (bad input
// throws, naming the field) because a malformed frame built by accident would make
// a test pass for the wrong reason; frames that are meant to be malformed are made
// with the explicit overrides (checksum, totalLength, length, payloadLength, pad).
// The decoder is the opposite: it reads whatever the data plane wrote and never
// throws, so one bad output frame shows up as an `error` in an assertion diff.

import { isIPv4, isIPv6 } from 'node:net';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_IPIP = 4;

export const IPV4_DF = 0x2;
export const IPV4_MF = 0x1;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

/** Shortest Ethernet frame a NIC puts on the wire, FCS excluded. */
export const MIN_FRAME_LEN = 60;

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------
// Field checks and address parsing

function checkUint(field: string, value: number, bits: number): number {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field} must be an integer in 0..${max}, got ${value}`);
  }
  return value;
}

export function parseMac(mac: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
    throw new TypeError(`bad MAC address "${mac}" (expected six colon-separated hex octets)`);
  }
  return Buffer.from(mac.split(':').map((o) => parseInt(o, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (o) => o.toString(16).padStart(2, '0')).join(':');
}

function parseIpv4Bytes(ip: string): number[] {
  return ip.split('.').map((o) => parseInt(o, 10));
}

/** 4 bytes for an IPv4 address, 16 for IPv6; throws on anything else (zone ids included). */
export function parseIp(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(parseIpv4Bytes(ip));
  if (!isIPv6(ip) || ip.includes('%')) throw new TypeError(`bad IP address "${ip}"`);
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const words = part.split(':');
    const last = words[words.length - 1];
    if (last.includes('.')) {
      const [a, b, c, d] = parseIpv4Bytes(last);
      return [...words.slice(0, -1).map((w) => parseInt(w, 16)), (a << 8) | b, (c << 8) | d];
    }
    return words.map((w) => parseInt(w, 16));
  };
  const halves = ip.split('::');
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** RFC 5952 text: lowercase, longest zero run (first on a tie, length >= 2) as "::". */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) return `<${b.length}-byte address>`;
  const buf = Buffer.from(b.buffer, b.byteOffset, 16);
  const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** The form decodeFrame reports an address in, so tests can compare against literals. */
export function normalizeIp(ip: string): string {
  return formatIp(parseIp(ip));
}

// ---------------------------------------------------------------------------
// Checksums

/** Internet checksum (RFC 1071): ones' complement of the ones' complement sum. */
export function checksum16(buf: Uint8Array): number {
  let sum = 0;
  const even = buf.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (buf.length & 1) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** What TCP, UDP and ICMPv6 checksums need from the IP header around them. */
export interface PseudoHeaderInfo {
  src: string;
  dst: string;
}

function pseudoHeader(ip: PseudoHeaderInfo, proto: number, l4Length: number): Buffer {
  const src = parseIp(ip.src);
  const dst = parseIp(ip.dst);
  if (src.length !== dst.length) {
    throw new TypeError(`pseudo-header mixes address families: ${ip.src} and ${ip.dst}`);
  }
  if (src.length === 4) {
    const p = Buffer.alloc(12);
    src.copy(p, 0);
    dst.copy(p, 4);
    p[9] = proto;
    p.writeUInt16BE(l4Length & 0xffff, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  src.copy(p, 0);
  dst.copy(p, 16);
  p.writeUInt32BE(l4Length >>> 0, 32);
  p[39] = proto;
  return p;
}

function l4Checksum(pseudo: Buffer, segment: Buffer): number {
  return checksum16(Buffer.concat([pseudo, segment]));
}

// ---------------------------------------------------------------------------
// Builders

export interface EtherOptions {
  dst: string;
  src: string;
  /** VLAN ids, outermost first; each tag is 0x8100 with PCP and DEI zero. */
  vlans?: number[];
  type: number;
  /** Pad to MIN_FRAME_LEN as a NIC would; false builds runts on purpose. Default true. */
  pad?: boolean;
}

export function ether(o: EtherOptions, payload: Buffer = EMPTY): Buffer {
  const vlans = o.vlans ?? [];
  const hdr = Buffer.alloc(14 + 4 * vlans.length);
  parseMac(o.dst).copy(hdr, 0);
  parseMac(o.src).copy(hdr, 6);
  let off = 12;
  for (const vid of vlans) {
    hdr.writeUInt16BE(ETHERTYPE_VLAN, off);
    hdr.writeUInt16BE(checkUint('VLAN id', vid, 12), off + 2);
    off += 4;
  }
  hdr.writeUInt16BE(checkUint('ethertype', o.type, 16), off);
  const frame = Buffer.concat([hdr, payload]);
  if (o.pad === false || frame.length >= MIN_FRAME_LEN) return frame;
  return Buffer.concat([frame, Buffer.alloc(MIN_FRAME_LEN - frame.length)]);
}

export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  id?: number;
  tos?: number;
  /** 3-bit field: IPV4_DF, IPV4_MF. Default 0. */
  flags?: number;
  /** In 8-byte units, as on the wire. */
  fragOffset?: number;
  /** Raw option bytes; zero-padded (End of Options List) to a multiple of 4. */
  options?: Buffer;
  /** Override the computed total length, for malformed-packet tests. */
  totalLength?: number;
  /** Override the computed header checksum, for malformed-packet tests. */
  checksum?: number;
}

export function ipv4(o: Ipv4Options, payload: Buffer = EMPTY): Buffer {
  const src = parseIp(o.src);
  const dst = parseIp(o.dst);
  if (src.length !== 4 || dst.length !== 4) {
    throw new TypeError(`ipv4 needs IPv4 addresses, got ${o.src} > ${o.dst}`);
  }
  const opts = o.options ?? EMPTY;
  const optLen = (opts.length + 3) & ~3;
  if (optLen > 40) throw new RangeError(`IPv4 options are ${opts.length} bytes; at most 40 fit`);
  const hdrLen = 20 + optLen;
  const totalLength = o.totalLength ?? hdrLen + payload.length;
  if (o.totalLength === undefined && totalLength > 0xffff) {
    throw new RangeError(`IPv4 datagram of ${totalLength} bytes exceeds 65535`);
  }
  const h = Buffer.alloc(hdrLen);
  h[0] = 0x40 | (hdrLen / 4);
  h[1] = checkUint('tos', o.tos ?? 0, 8);
  h.writeUInt16BE(checkUint('totalLength', totalLength, 16), 2);
  h.writeUInt16BE(checkUint('id', o.id ?? 0, 16), 4);
  const flags = checkUint('flags', o.flags ?? 0, 3);
  h.writeUInt16BE((flags << 13) | checkUint('fragOffset', o.fragOffset ?? 0, 13), 6);
  h[8] = checkUint('ttl', o.ttl ?? 64, 8);
  h[9] = checkUint('proto', o.proto, 8);
  src.copy(h, 12);
  dst.copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(o.checksum === undefined ? checksum16(h) : checkUint('checksum', o.checksum, 16), 10);
  return Buffer.concat([h, payload]);
}

export type Ipv6ExtHeader =
  /** Hop-by-hop (0) or destination options (60); padded with Pad1/PadN to 8n bytes. */
  | { type: 0 | 60; options?: Buffer }
  /** Routing; `data` follows the 4 fixed bytes and is zero-padded to 8n bytes. */
  | { type: 43; routingType?: number; segmentsLeft?: number; data?: Buffer }
  /** Fragment; `fragOffset` in 8-byte units. */
  | { type: 44; fragOffset?: number; more?: boolean; id?: number };

export interface Ipv6Options {
  src: string;
  dst: string;
  /** The upper-layer protocol; with extension headers it goes in the last one. */
  nextHeader: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extHeaders?: Ipv6ExtHeader[];
  /** Override the computed payload length, for malformed-packet tests. */
  payloadLength?: number;
}

function padOptions(options: Buffer): Buffer {
  const pad = (8 - ((2 + options.length) % 8)) % 8;
  if (pad === 0) return options;
  if (pad === 1) return Buffer.concat([options, Buffer.from([0])]);
  const padN = Buffer.alloc(pad);
  padN[0] = 1;
  padN[1] = pad - 2;
  return Buffer.concat([options, padN]);
}

function extHeaderBytes(e: Ipv6ExtHeader, next: number): Buffer {
  if (e.type === 44) {
    const h = Buffer.alloc(8);
    h[0] = next;
    h.writeUInt16BE((checkUint('fragOffset', e.fragOffset ?? 0, 13) << 3) | (e.more ? 1 : 0), 2);
    h.writeUInt32BE(checkUint('fragment id', e.id ?? 0, 32), 4);
    return h;
  }
  let body: Buffer;
  if (e.type === 43) {
    const fixed = Buffer.from([
      checkUint('routingType', e.routingType ?? 0, 8),
      checkUint('segmentsLeft', e.segmentsLeft ?? 0, 8),
      0,
      0,
      0,
      0,
    ]);
    const raw = Buffer.concat([fixed, e.data ?? EMPTY]);
    body = Buffer.concat([raw, Buffer.alloc((8 - ((2 + raw.length) % 8)) % 8)]);
  } else {
    body = padOptions(e.options ?? EMPTY);
  }
  const units = (2 + body.length) / 8 - 1;
  const h = Buffer.from([next, checkUint('extension header length', units, 8)]);
  return Buffer.concat([h, body]);
}

export function ipv6(o: Ipv6Options, payload: Buffer = EMPTY): Buffer {
  const src = parseIp(o.src);
  const dst = parseIp(o.dst);
  if (src.length !== 16 || dst.length !== 16) {
    throw new TypeError(`ipv6 needs IPv6 addresses, got ${o.src} > ${o.dst}`);
  }
  const exts = o.extHeaders ?? [];
  const extBytes = exts.map((e, i) =>
    extHeaderBytes(e, i + 1 < exts.length ? exts[i + 1].type : checkUint('nextHeader', o.nextHeader, 8)),
  );
  const body = Buffer.concat([...extBytes, payload]);
  const payloadLength = o.payloadLength ?? body.length;
  if (o.payloadLength === undefined && payloadLength > 0xffff) {
    throw new RangeError(`IPv6 payload of ${payloadLength} bytes exceeds 65535 (no jumbograms)`);
  }
  const h = Buffer.alloc(40);
  const tc = checkUint('trafficClass', o.trafficClass ?? 0, 8);
  h.writeUInt32BE(((6 << 28) | (tc << 20) | checkUint('flowLabel', o.flowLabel ?? 0, 20)) >>> 0, 0);
  h.writeUInt16BE(checkUint('payloadLength', payloadLength, 16), 4);
  h[6] = exts.length > 0 ? exts[0].type : checkUint('nextHeader', o.nextHeader, 8);
  h[7] = checkUint('hopLimit', o.hopLimit ?? 64, 8);
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, body]);
}

/** A flags number, or letters from "FSRPAUEC" in any order: 'S', 'SA', 'PA', 'FA', 'R'. */
export type TcpFlags = number | string;

const TCP_FLAG_LETTERS: Record<string, number> = {
  F: TCP_FIN,
  S: TCP_SYN,
  R: TCP_RST,
  P: TCP_PSH,
  A: TCP_ACK,
  U: TCP_URG,
  E: TCP_ECE,
  C: TCP_CWR,
};

export function tcpFlags(flags: TcpFlags): number {
  if (typeof flags === 'number') return checkUint('TCP flags', flags, 8);
  let bits = 0;
  for (const ch of flags.toUpperCase()) {
    const bit = TCP_FLAG_LETTERS[ch];
    if (bit === undefined) throw new TypeError(`bad TCP flag "${ch}" in "${flags}" (use FSRPAUEC)`);
    bits |= bit;
  }
  return bits;
}

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags: TcpFlags;
  window?: number;
  urgent?: number;
  /** Raw option bytes; zero-padded (End of Option List) to a multiple of 4. */
  options?: Buffer;
  payload?: Buffer;
  /** Override the computed checksum, for malformed-packet tests. */
  checksum?: number;
}

export function tcp(o: TcpOptions, ip: PseudoHeaderInfo): Buffer {
  const opts = o.options ?? EMPTY;
  const optLen = (opts.length + 3) & ~3;
  if (optLen > 40) throw new RangeError(`TCP options are ${opts.length} bytes; at most 40 fit`);
  const h = Buffer.alloc(20 + optLen);
  h.writeUInt16BE(checkUint('sport', o.sport, 16), 0);
  h.writeUInt16BE(checkUint('dport', o.dport, 16), 2);
  h.writeUInt32BE(checkUint('seq', o.seq ?? 0, 32), 4);
  h.writeUInt32BE(checkUint('ack', o.ack ?? 0, 32), 8);
  h[12] = (h.length / 4) << 4;
  h[13] = tcpFlags(o.flags);
  h.writeUInt16BE(checkUint('window', o.window ?? 65535, 16), 14);
  h.writeUInt16BE(checkUint('urgent', o.urgent ?? 0, 16), 18);
  opts.copy(h, 20);
  const seg = Buffer.concat([h, o.payload ?? EMPTY]);
  const sum =
    o.checksum === undefined
      ? l4Checksum(pseudoHeader(ip, IPPROTO_TCP, seg.length), seg)
      : checkUint('checksum', o.checksum, 16);
  seg.writeUInt16BE(sum, 16);
  return seg;
}

export interface UdpOptions {
  sport: number;
  dport: number;
  payload?: Buffer;
  /** Override the length field, for malformed-packet tests. */
  length?: number;
  /** Override the checksum; 0 means "no checksum" (legal over IPv4 only). */
  checksum?: number;
}

export function udp(o: UdpOptions, ip: PseudoHeaderInfo): Buffer {
  const payload = o.payload ?? EMPTY;
  const length = o.length ?? 8 + payload.length;
  const seg = Buffer.alloc(8 + payload.length);
  seg.writeUInt16BE(checkUint('sport', o.sport, 16), 0);
  seg.writeUInt16BE(checkUint('dport', o.dport, 16), 2);
  seg.writeUInt16BE(checkUint('UDP length', length, 16), 4);
  payload.copy(seg, 8);
  let sum: number;
  if (o.checksum !== undefined) {
    sum = checkUint('checksum', o.checksum, 16);
  } else {
    sum = l4Checksum(pseudoHeader(ip, IPPROTO_UDP, length), seg);
    // RFC 768: a computed zero goes out as all ones, since zero means "none".
    if (sum === 0) sum = 0xffff;
  }
  seg.writeUInt16BE(sum, 6);
  return seg;
}

export interface IcmpEchoOptions {
  /** 8 request / 0 reply (ICMP), 128 request / 129 reply (ICMPv6). Default 8. */
  type?: number;
  code?: number;
  id: number;
  seq: number;
  payload?: Buffer;
  /** Override the computed checksum, for malformed-packet tests. */
  checksum?: number;
}

/**
 * ICMP echo message. Pass `ip` with IPv6 addresses for ICMPv6, whose checksum
 * covers a pseudo-header; ICMP over IPv4 has none, so `ip` is optional there.
 */
export function icmpEcho(o: IcmpEchoOptions, ip?: PseudoHeaderInfo): Buffer {
  const payload = o.payload ?? EMPTY;
  const msg = Buffer.alloc(8 + payload.length);
  msg[0] = checkUint('ICMP type', o.type ?? 8, 8);
  msg[1] = checkUint('ICMP code', o.code ?? 0, 8);
  msg.writeUInt16BE(checkUint('ICMP id', o.id, 16), 4);
  msg.writeUInt16BE(checkUint('ICMP seq', o.seq, 16), 6);
  payload.copy(msg, 8);
  const v6 = ip !== undefined && parseIp(ip.src).length === 16;
  if (!v6 && (msg[0] === 128 || msg[0] === 129)) {
    throw new TypeError(`ICMPv6 type ${msg[0]} needs the IPv6 pseudo-header: pass ip {src, dst}`);
  }
  let sum: number;
  if (o.checksum !== undefined) sum = checkUint('checksum', o.checksum, 16);
  else if (v6) sum = l4Checksum(pseudoHeader(ip, IPPROTO_ICMPV6, msg.length), msg);
  else sum = checksum16(msg);
  msg.writeUInt16BE(sum, 2);
  return msg;
}

export interface ArpOptions {
  /** 1 request, 2 reply */
  op: number;
  sha: string;
  spa: string;
  /** Default 00:00:00:00:00:00, as in a request. */
  tha?: string;
  tpa: string;
}

/** Ethernet/IPv4 ARP packet, 28 bytes. */
export function arp(o: ArpOptions): Buffer {
  const spa = parseIp(o.spa);
  const tpa = parseIp(o.tpa);
  if (spa.length !== 4 || tpa.length !== 4) throw new TypeError(`ARP needs IPv4 addresses, got ${o.spa}, ${o.tpa}`);
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0);
  p.writeUInt16BE(ETHERTYPE_IPV4, 2);
  p[4] = 6;
  p[5] = 4;
  p.writeUInt16BE(checkUint('ARP op', o.op, 16), 6);
  parseMac(o.sha).copy(p, 8);
  spa.copy(p, 14);
  parseMac(o.tha ?? ZERO_MAC).copy(p, 18);
  tpa.copy(p, 24);
  return p;
}

// ---------------------------------------------------------------------------
// One-line frames. The IP version follows the addresses.

export interface FrameBase {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  vlans?: number[];
  /** IPv4 TTL or IPv6 hop limit. Default 64. */
  ttl?: number;
  /** IPv4 identification; ignored for IPv6. Default 0. */
  ipId?: number;
}

function ipFrame(f: FrameBase, proto: number, l4: Buffer): Buffer {
  const v6 = parseIp(f.src).length === 16;
  const l3 = v6
    ? ipv6({ src: f.src, dst: f.dst, nextHeader: proto, hopLimit: f.ttl }, l4)
    : ipv4({ src: f.src, dst: f.dst, proto, ttl: f.ttl, id: f.ipId }, l4);
  return ether({ dst: f.dstMac, src: f.srcMac, vlans: f.vlans, type: v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4 }, l3);
}

export interface TcpFrameOptions extends FrameBase {
  sport: number;
  dport: number;
  flags: TcpFlags;
  seq?: number;
  ack?: number;
  window?: number;
  payload?: Buffer;
}

export function tcpFrame(f: TcpFrameOptions): Buffer {
  const seg = tcp(
    { sport: f.sport, dport: f.dport, flags: f.flags, seq: f.seq, ack: f.ack, window: f.window, payload: f.payload },
    f,
  );
  return ipFrame(f, IPPROTO_TCP, seg);
}

export interface UdpFrameOptions extends FrameBase {
  sport: number;
  dport: number;
  payload?: Buffer;
}

export function udpFrame(f: UdpFrameOptions): Buffer {
  return ipFrame(f, IPPROTO_UDP, udp({ sport: f.sport, dport: f.dport, payload: f.payload }, f));
}

export interface IcmpEchoFrameOptions extends FrameBase {
  /** Default: echo request of the addresses' family (8, or 128 for IPv6). */
  type?: number;
  id: number;
  seq: number;
  payload?: Buffer;
}

export function icmpEchoFrame(f: IcmpEchoFrameOptions): Buffer {
  const v6 = parseIp(f.src).length === 16;
  const msg = icmpEcho({ type: f.type ?? (v6 ? 128 : 8), id: f.id, seq: f.seq, payload: f.payload }, f);
  return ipFrame(f, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, msg);
}

export interface ArpRequestFrameOptions {
  srcMac: string;
  senderIp: string;
  targetIp: string;
  vlans?: number[];
}

/** Broadcast "who has targetIp, tell senderIp". */
export function arpRequestFrame(f: ArpRequestFrameOptions): Buffer {
  const body = arp({ op: 1, sha: f.srcMac, spa: f.senderIp, tpa: f.targetIp });
  return ether({ dst: BROADCAST_MAC, src: f.srcMac, vlans: f.vlans, type: ETHERTYPE_ARP }, body);
}

export interface ArpReplyFrameOptions {
  /** The answering host; also the sender hardware address. */
  srcMac: string;
  /** The requester; also the target hardware address. */
  dstMac: string;
  senderIp: string;
  targetIp: string;
  vlans?: number[];
}

/** "senderIp is at srcMac", unicast to the requester. */
export function arpReplyFrame(f: ArpReplyFrameOptions): Buffer {
  const body = arp({ op: 2, sha: f.srcMac, spa: f.senderIp, tha: f.dstMac, tpa: f.targetIp });
  return ether({ dst: f.dstMac, src: f.srcMac, vlans: f.vlans, type: ETHERTYPE_ARP }, body);
}

// ---------------------------------------------------------------------------
// Decoder

export interface DecodedIpv4 {
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  tos: number;
  ihl: number;
  totalLength: number;
  id: number;
  flags: number;
  fragOffset: number;
  checksum: number;
  checksumValid: boolean;
  options: Buffer;
}

export interface DecodedIpv6 {
  src: string;
  dst: string;
  /** The fixed header's field: the first extension header's type when there are any. */
  nextHeader: number;
  /** The upper-layer protocol after the extension headers. */
  proto: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Types of the extension headers walked, in order. */
  extHeaders: number[];
  fragment?: { fragOffset: number; more: boolean; id: number };
}

export interface DecodedTcp {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  dataOffset: number;
  flags: number;
  window: number;
  urgent: number;
  checksum: number;
  checksumValid: boolean;
  options: Buffer;
}

export interface DecodedUdp {
  sport: number;
  dport: number;
  length: number;
  checksum: number;
  /** True for a zero checksum over IPv4, which means "none"; false for zero over IPv6. */
  checksumValid: boolean;
}

export interface DecodedIcmp {
  type: number;
  code: number;
  checksum: number;
  checksumValid: boolean;
  /** Bytes 4..7 read as echo identifier and sequence; absent when the message is shorter. */
  id?: number;
  seq?: number;
  /** Fragmentation needed (IPv4 type 3 code 4): the next-hop MTU in bytes 6..7. */
  nextHopMtu?: number;
  payload: Buffer;
}

export interface DecodedArp {
  htype: number;
  ptype: number;
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface DecodedFrame {
  /** Bytes in the frame, Ethernet padding included. */
  length: number;
  dstMac?: string;
  srcMac?: string;
  /** VLAN ids, outermost first (0x8100, 0x88a8 and 0x9100 tags). */
  vlans: number[];
  /** The innermost ethertype. */
  etherType?: number;
  ipv4?: DecodedIpv4;
  ipv6?: DecodedIpv6;
  tcp?: DecodedTcp;
  udp?: DecodedUdp;
  icmp?: DecodedIcmp;
  arp?: DecodedArp;
  /**
   * The innermost bytes not decoded: TCP/UDP/ICMP data, the IP payload of a
   * fragment or unknown protocol, or what follows an unknown ethertype. Ethernet
   * padding after an IP datagram is not included.
   */
  payload?: Buffer;
  /** Set when the frame is malformed or truncated; the fields above are what came before. */
  error?: string;
}

const VLAN_TPIDS = new Set([ETHERTYPE_VLAN, ETHERTYPE_QINQ, 0x9100]);

/** Never throws: what could be decoded, plus `error` when something was wrong. */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: DecodedFrame = { length: b.length, vlans: [] };
  try {
    decodeEthernet(b, out);
  } catch (e) {
    // Backstop only: every bounds check above returns an error string itself, so
    // reaching here is a decoder bug, still reported through `error`, not thrown.
    out.error = `decoder failure: ${e instanceof Error ? e.message : String(e)}`;
  }
  return out;
}

function decodeEthernet(b: Buffer, out: DecodedFrame): void {
  if (b.length >= 6) out.dstMac = formatMac(b.subarray(0, 6));
  if (b.length >= 12) out.srcMac = formatMac(b.subarray(6, 12));
  if (b.length < 14) {
    out.error = `truncated Ethernet header: ${b.length} of 14 bytes`;
    return;
  }
  let type = b.readUInt16BE(12);
  let off = 14;
  while (VLAN_TPIDS.has(type)) {
    if (b.length < off + 4) {
      out.error = `truncated VLAN tag at byte ${off - 2}`;
      return;
    }
    out.vlans.push(b.readUInt16BE(off) & 0x0fff);
    type = b.readUInt16BE(off + 2);
    off += 4;
  }
  out.etherType = type;
  const rest = b.subarray(off);
  if (type === ETHERTYPE_IPV4) decodeIpv4(rest, out);
  else if (type === ETHERTYPE_IPV6) decodeIpv6(rest, out);
  else if (type === ETHERTYPE_ARP) decodeArp(rest, out);
  else out.payload = rest;
}

function decodeIpv4(b: Buffer, out: DecodedFrame): void {
  if (b.length < 20) {
    out.error = `truncated IPv4 header: ${b.length} of 20 bytes`;
    return;
  }
  const version = b[0] >> 4;
  const ihl = b[0] & 0x0f;
  if (version !== 4) {
    out.error = `IPv4 ethertype but IP version ${version}`;
    return;
  }
  if (ihl < 5) {
    out.error = `bad IPv4 IHL ${ihl}`;
    return;
  }
  const hdrLen = ihl * 4;
  if (b.length < hdrLen) {
    out.error = `truncated IPv4 header: IHL says ${hdrLen} bytes, ${b.length} present`;
    return;
  }
  const fragWord = b.readUInt16BE(6);
  const ip: DecodedIpv4 = {
    src: formatIp(b.subarray(12, 16)),
    dst: formatIp(b.subarray(16, 20)),
    proto: b[9],
    ttl: b[8],
    tos: b[1],
    ihl,
    totalLength: b.readUInt16BE(2),
    id: b.readUInt16BE(4),
    flags: fragWord >> 13,
    fragOffset: fragWord & 0x1fff,
    checksum: b.readUInt16BE(10),
    checksumValid: checksum16(b.subarray(0, hdrLen)) === 0,
    options: Buffer.from(b.subarray(20, hdrLen)),
  };
  out.ipv4 = ip;
  if (ip.totalLength < hdrLen) {
    out.error = `IPv4 total length ${ip.totalLength} is shorter than its ${hdrLen}-byte header`;
    return;
  }
  let end = ip.totalLength;
  if (end > b.length) {
    // Keep going on what is there: the L4 checksum will then show the damage too.
    out.error = `IPv4 total length ${ip.totalLength} exceeds the ${b.length} bytes present`;
    end = b.length;
  }
  const body = b.subarray(hdrLen, end);
  if (ip.fragOffset !== 0 || (ip.flags & IPV4_MF) !== 0) {
    out.payload = body;
    return;
  }
  const pseudo = { src: ip.src, dst: ip.dst };
  decodeL4(ip.proto === IPPROTO_ICMP ? 'icmp' : ip.proto, body, pseudo, out);
}

const IPV6_OPTION_LIKE = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;

function decodeIpv6(b: Buffer, out: DecodedFrame): void {
  if (b.length < 40) {
    out.error = `truncated IPv6 header: ${b.length} of 40 bytes`;
    return;
  }
  const word0 = b.readUInt32BE(0);
  const version = word0 >>> 28;
  if (version !== 6) {
    out.error = `IPv6 ethertype but IP version ${version}`;
    return;
  }
  const ip: DecodedIpv6 = {
    src: formatIp(b.subarray(8, 24)),
    dst: formatIp(b.subarray(24, 40)),
    nextHeader: b[6],
    proto: b[6],
    hopLimit: b[7],
    trafficClass: (word0 >>> 20) & 0xff,
    flowLabel: word0 & 0xfffff,
    payloadLength: b.readUInt16BE(4),
    extHeaders: [],
  };
  out.ipv6 = ip;
  let end = 40 + ip.payloadLength;
  if (end > b.length) {
    out.error = `IPv6 payload length ${ip.payloadLength} exceeds the ${b.length - 40} bytes present`;
    end = b.length;
  }
  let off = 40;
  let next = ip.nextHeader;
  for (;;) {
    let len: number;
    if (IPV6_OPTION_LIKE.has(next)) len = end - off >= 2 ? (b[off + 1] + 1) * 8 : 2;
    else if (next === IPV6_AH) len = end - off >= 2 ? (b[off + 1] + 2) * 4 : 2;
    else if (next === IPV6_FRAGMENT) len = 8;
    else break;
    if (end - off < len) {
      out.error = `truncated IPv6 extension header ${next} at byte ${off}`;
      return;
    }
    ip.extHeaders.push(next);
    if (next === IPV6_FRAGMENT) {
      const w = b.readUInt16BE(off + 2);
      ip.fragment = { fragOffset: w >> 3, more: (w & 1) === 1, id: b.readUInt32BE(off + 4) };
    }
    next = b[off];
    off += len;
  }
  ip.proto = next;
  const body = b.subarray(off, end);
  if (ip.fragment && (ip.fragment.fragOffset !== 0 || ip.fragment.more)) {
    out.payload = body;
    return;
  }
  decodeL4(next === IPPROTO_ICMPV6 ? 'icmp' : next, body, { src: ip.src, dst: ip.dst }, out);
}

function decodeL4(proto: number | 'icmp', seg: Buffer, ip: PseudoHeaderInfo, out: DecodedFrame): void {
  if (proto === IPPROTO_TCP) {
    if (seg.length < 20) {
      out.error = `truncated TCP header: ${seg.length} of 20 bytes`;
      return;
    }
    const dataOffset = seg[12] >> 4;
    if (dataOffset < 5) {
      out.error = `bad TCP data offset ${dataOffset}`;
      return;
    }
    if (seg.length < dataOffset * 4) {
      out.error = `truncated TCP header: data offset says ${dataOffset * 4} bytes, ${seg.length} present`;
      return;
    }
    out.tcp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      seq: seg.readUInt32BE(4),
      ack: seg.readUInt32BE(8),
      dataOffset,
      flags: seg[13],
      window: seg.readUInt16BE(14),
      urgent: seg.readUInt16BE(18),
      checksum: seg.readUInt16BE(16),
      checksumValid: l4Checksum(pseudoHeader(ip, IPPROTO_TCP, seg.length), seg) === 0,
      options: Buffer.from(seg.subarray(20, dataOffset * 4)),
    };
    out.payload = seg.subarray(dataOffset * 4);
  } else if (proto === IPPROTO_UDP) {
    if (seg.length < 8) {
      out.error = `truncated UDP header: ${seg.length} of 8 bytes`;
      return;
    }
    const length = seg.readUInt16BE(4);
    const checksum = seg.readUInt16BE(6);
    const v4 = parseIp(ip.src).length === 4;
    let covered = seg;
    if (length < 8 || length > seg.length) {
      out.error = `UDP length ${length} does not fit the ${seg.length} bytes present`;
    } else {
      covered = seg.subarray(0, length);
    }
    out.udp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      length,
      checksum,
      checksumValid: checksum === 0 ? v4 : l4Checksum(pseudoHeader(ip, IPPROTO_UDP, covered.length), covered) === 0,
    };
    out.payload = covered.subarray(8);
  } else if (proto === 'icmp') {
    if (seg.length < 4) {
      out.error = `truncated ICMP header: ${seg.length} of 4 bytes`;
      return;
    }
    const v6 = parseIp(ip.src).length === 16;
    const sum = v6 ? l4Checksum(pseudoHeader(ip, IPPROTO_ICMPV6, seg.length), seg) : checksum16(seg);
    const icmp: DecodedIcmp = {
      type: seg[0],
      code: seg[1],
      checksum: seg.readUInt16BE(2),
      checksumValid: sum === 0,
      payload: seg.subarray(Math.min(8, seg.length)),
    };
    if (seg.length >= 8) {
      icmp.id = seg.readUInt16BE(4);
      icmp.seq = seg.readUInt16BE(6);
      if (!v6 && icmp.type === 3 && icmp.code === 4) icmp.nextHopMtu = icmp.seq;
    }
    out.icmp = icmp;
    out.payload = icmp.payload;
  } else {
    out.payload = seg;
  }
}

function decodeArp(b: Buffer, out: DecodedFrame): void {
  if (b.length < 8) {
    out.error = `truncated ARP header: ${b.length} of 8 bytes`;
    return;
  }
  const htype = b.readUInt16BE(0);
  const ptype = b.readUInt16BE(2);
  if (htype !== 1 || ptype !== ETHERTYPE_IPV4 || b[4] !== 6 || b[5] !== 4) {
    out.error = `ARP for htype ${htype} ptype 0x${ptype.toString(16)} hlen ${b[4]} plen ${b[5]} is not decoded`;
    return;
  }
  if (b.length < 28) {
    out.error = `truncated ARP packet: ${b.length} of 28 bytes`;
    return;
  }
  out.arp = {
    htype,
    ptype,
    op: b.readUInt16BE(6),
    sha: formatMac(b.subarray(8, 14)),
    spa: formatIp(b.subarray(14, 18)),
    tha: formatMac(b.subarray(18, 24)),
    tpa: formatIp(b.subarray(24, 28)),
  };
}

// ---------------------------------------------------------------------------
// Tunnels: what the balancer's tunnel forwarding sends to a backend

export interface OuterIpv4Options {
  src: string;
  dst: string;
  ttl?: number;
  id?: number;
  tos?: number;
  /** IPV4_DF, IPV4_MF */
  flags?: number;
}

/** IPv4-in-IPv4 (RFC 2003): an outer IPv4 header, protocol 4, in front of a whole IP packet. */
export function ipipPacket(o: OuterIpv4Options, inner: Buffer): Buffer {
  return ipv4({ ...o, proto: IPPROTO_IPIP }, inner);
}

export interface GueOptions extends OuterIpv4Options {
  sport: number;
  dport: number;
  /** Default 0: no checksum, as the balancer sends over IPv4. */
  udpChecksum?: number;
}

/** GUE variant 1: outer IPv4 and UDP, then the inner IP packet directly, no GUE header. */
export function guePacket(o: GueOptions, inner: Buffer): Buffer {
  const seg = udp({ sport: o.sport, dport: o.dport, payload: inner, checksum: o.udpChecksum ?? 0 }, o);
  return ipv4({ ...o, proto: IPPROTO_UDP }, seg);
}

/** ICMP destination unreachable, fragmentation needed (RFC 792, RFC 1191): next-hop MTU, then the quote. */
export function icmpFragNeeded(nextHopMtu: number, quote: Buffer): Buffer {
  const msg = Buffer.alloc(8 + quote.length);
  msg[0] = 3;
  msg[1] = 4;
  msg.writeUInt16BE(checkUint('next-hop MTU', nextHopMtu, 16), 6);
  quote.copy(msg, 8);
  msg.writeUInt16BE(checksum16(msg), 2);
  return msg;
}

/**
 * ICMPv6 destination unreachable (1) or packet too big (2, `mtu` in the 4-byte
 * field), then the quote; the checksum over the pseudo-header of `ip`.
 */
export function icmpv6Error(type: 1 | 2, code: number, mtu: number, quote: Buffer, ip: PseudoHeaderInfo): Buffer {
  const msg = Buffer.alloc(8 + quote.length);
  msg[0] = type;
  msg[1] = checkUint('code', code, 8);
  msg.writeUInt32BE(checkUint('MTU', mtu, 32), 4);
  quote.copy(msg, 8);
  msg.writeUInt16BE(l4Checksum(pseudoHeader(ip, IPPROTO_ICMPV6, msg.length), msg), 2);
  return msg;
}

/** The IP packet in an Ethernet frame (VLAN tags skipped, padding cut by the IP length); undefined if none. */
export function ipPacketOf(frame: Uint8Array): Buffer | undefined {
  const d = decodeFrame(frame);
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const l3 = 14 + 4 * d.vlans.length;
  if (d.ipv4) return b.subarray(l3, l3 + d.ipv4.totalLength);
  if (d.ipv6) return b.subarray(l3, l3 + 40 + d.ipv6.payloadLength);
  return undefined;
}

/** An IP packet without a link layer (what a tunnel carries), decoded as decodeFrame would. */
export function decodeIpPacket(packet: Uint8Array): DecodedFrame {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const out: DecodedFrame = { length: b.length, vlans: [] };
  const version = b.length > 0 ? b[0] >> 4 : 0;
  if (version === 4) decodeIpv4(b, out);
  else if (version === 6) decodeIpv6(b, out);
  else out.error = `not an IP packet: version ${version}`;
  return out;
}

export interface DecodedTunnel {
  encapsulation: 'ipip' | 'gue';
  outer: DecodedFrame;
  /** the carried IP packet, byte for byte */
  innerPacket: Buffer;
  inner: DecodedFrame;
}

/** ipip, or GUE variant 1 to `guePort`; undefined when the frame is neither. */
export function decodeTunnel(frame: Uint8Array, guePort: number): DecodedTunnel | undefined {
  const outer = decodeFrame(frame);
  if (outer.ipv4 === undefined || outer.payload === undefined) return undefined;
  let encapsulation: DecodedTunnel['encapsulation'];
  if (outer.ipv4.proto === IPPROTO_IPIP) encapsulation = 'ipip';
  // Variant 1 is told from a GUE header by its first two bits, 01: IPv4 and IPv6 start so.
  else if (outer.udp?.dport === guePort && outer.payload.length > 0 && outer.payload[0] >> 6 === 1) encapsulation = 'gue';
  else return undefined;
  const innerPacket = outer.payload;
  return { encapsulation, outer, innerPacket, inner: decodeIpPacket(innerPacket) };
}

// ---------------------------------------------------------------------------
// Flows

export type FlowProto = 'tcp' | 'udp';

export interface Flow {
  proto: FlowProto;
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

const PROTO_NAMES: Record<number, string> = {
  [IPPROTO_ICMP]: 'icmp',
  [IPPROTO_TCP]: 'tcp',
  [IPPROTO_UDP]: 'udp',
  [IPPROTO_ICMPV6]: 'icmpv6',
};

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * "tcp 10.0.0.1:1234 > 10.0.0.2:80" ("[2001:db8::1]:1234" for IPv6), from a
 * decoded frame or a Flow, so output frames can be matched to the flows sent.
 * Without ports: "icmp 10.0.0.1 > 10.0.0.2", "proto-47 ...". Undefined without IP.
 */
export function flowKey(x: DecodedFrame | Flow): string | undefined {
  if ('proto' in x) {
    return `${x.proto} ${endpoint(normalizeIp(x.src), x.sport)} > ${endpoint(normalizeIp(x.dst), x.dport)}`;
  }
  const ip = x.ipv4 ?? x.ipv6;
  if (!ip) return undefined;
  const name = PROTO_NAMES[ip.proto] ?? `proto-${ip.proto}`;
  const ports = x.tcp ?? x.udp;
  if (!ports) return `${name} ${ip.src} > ${ip.dst}`;
  return `${name} ${endpoint(ip.src, ports.sport)} > ${endpoint(ip.dst, ports.dport)}`;
}

/** Seeded PRNG with a 32-bit state; returns floats in [0, 1) that are k / 2^32 exactly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomFlowsOptions {
  vip: string;
  vport: number;
  proto: FlowProto;
  /** CIDR the client addresses are drawn from, same family as vip: "10.1.0.0/16". */
  clientNet: string;
  /** Inclusive client port range. Default [1024, 65535]. */
  ports?: [number, number];
}

/**
 * n flows to vip:vport from distinct client (ip, port) pairs, the same for the
 * same seed. Clients avoid the network and broadcast addresses (IPv4, prefixes
 * up to /30), the all-zero host (IPv6) and the VIP itself.
 */
export function randomFlows(n: number, seed: number, o: RandomFlowsOptions): Flow[] {
  const [netText, lenText, extra] = o.clientNet.split('/');
  const net = parseIp(netText);
  const bits = net.length * 8;
  const prefix = Number(lenText);
  if (extra !== undefined || lenText === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new TypeError(`bad clientNet "${o.clientNet}" (expected address/prefix)`);
  }
  const vip = parseIp(o.vip);
  if (vip.length !== net.length) throw new TypeError(`clientNet ${o.clientNet} and vip ${o.vip} differ in family`);
  checkUint('vport', o.vport, 16);
  const [pmin, pmax] = o.ports ?? [1024, 65535];
  checkUint('ports[0]', pmin, 16);
  checkUint('ports[1]', pmax, 16);
  if (pmin > pmax) throw new RangeError(`empty port range ${pmin}..${pmax}`);

  const hostBits = bits - prefix;
  const base = BigInt(`0x${net.toString('hex')}`);
  const hostMask = (1n << BigInt(hostBits)) - 1n;
  if ((base & hostMask) !== 0n) throw new TypeError(`clientNet ${o.clientNet} has host bits set`);
  let lo = 0n;
  let hi = hostMask;
  if (net.length === 4 && hostBits >= 2) {
    lo = 1n;
    hi = hostMask - 1n;
  } else if (net.length === 16 && hostBits >= 1) {
    lo = 1n;
  }
  const portCount = pmax - pmin + 1;
  const vipInNet = (BigInt(`0x${vip.toString('hex')}`) & ~hostMask) === base;
  const capacity = (hi - lo + 1n - (vipInNet ? 1n : 0n)) * BigInt(portCount);
  if (!Number.isInteger(n) || n < 0 || BigInt(n) > capacity) {
    throw new RangeError(`cannot draw ${n} distinct clients from ${o.clientNet} ports ${pmin}..${pmax}`);
  }

  const rand = mulberry32(seed);
  const words = Math.ceil(hostBits / 32);
  const randomHost = (): bigint => {
    for (;;) {
      let v = 0n;
      for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(rand() * 4294967296);
      v &= hostMask;
      if (v >= lo && v <= hi) return v;
    }
  };
  const toText = (v: bigint): string => formatIp(Buffer.from(v.toString(16).padStart(net.length * 2, '0'), 'hex'));

  const vipText = formatIp(vip);
  const seen = new Set<string>();
  const flows: Flow[] = [];
  while (flows.length < n) {
    const src = toText(base | randomHost());
    const sport = pmin + Math.floor(rand() * portCount);
    const key = `${src}|${sport}`;
    if (src === vipText || seen.has(key)) continue;
    seen.add(key);
    flows.push({ proto: o.proto, src, sport, dst: vipText, dport: o.vport });
  }
  return flows;
}
