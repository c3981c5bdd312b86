// IP fragments for packet tests: a UDP or TCP datagram built whole (so its L4
// checksum covers all of it, as a sender's stack computes it) and cut into
// IPv4 or IPv6 fragments; and the reassembly of what the data plane sent, to
// check that the backend would get the datagram back whole and intact.
import * as pk from './packets';

export interface FragmentedDatagram {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  /** the whole L4 segment (pk.udp or pk.tcp), checksum included */
  segment: Buffer;
  proto: number;
  /** IPv4 identification (16 bits) or IPv6 fragment identification */
  id: number;
  /** bytes of the segment per fragment but the last; a multiple of 8 */
  fragmentSize: number;
}

const v6 = (ip: string) => pk.parseIp(ip).length === 16;

/** One fragment of a datagram: `offset` bytes into its segment, `more` when others follow. */
export function fragmentFrame(d: Omit<FragmentedDatagram, 'segment' | 'fragmentSize'>, piece: Buffer, offset: number,
  more: boolean): Buffer {
  if (offset % 8 !== 0) throw new RangeError(`fragment offset ${offset} is not a multiple of 8`);
  const l3 = v6(d.src)
    ? pk.ipv6({ src: d.src, dst: d.dst, nextHeader: d.proto, extHeaders: [{ type: 44, fragOffset: offset / 8, more, id: d.id }] },
      piece)
    : pk.ipv4({ src: d.src, dst: d.dst, proto: d.proto, id: d.id, flags: more ? pk.IPV4_MF : 0, fragOffset: offset / 8 },
      piece);
  return pk.ether({ dst: d.dstMac, src: d.srcMac, type: v6(d.src) ? pk.ETHERTYPE_IPV6 : pk.ETHERTYPE_IPV4 }, l3);
}

/** The datagram's fragments, in order. */
export function fragments(d: FragmentedDatagram): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < d.segment.length; off += d.fragmentSize) {
    const end = Math.min(off + d.fragmentSize, d.segment.length);
    out.push(fragmentFrame(d, d.segment.subarray(off, end), off, end < d.segment.length));
  }
  return out;
}

export interface Reassembled {
  src: string;
  dst: string;
  proto: number;
  id: number;
  /** the L4 segment put back together */
  segment: Buffer;
}

/**
 * Puts fragments (frames the data plane sent, Ethernet first) back together, as
 * the backend's stack would; throws when they are not one datagram's complete,
 * non-overlapping set or an IPv4 header checksum is wrong.
 */
export function reassemble(frames: Buffer[]): Reassembled {
  let head: Omit<Reassembled, 'segment'> | undefined;
  const pieces: { offset: number; bytes: Buffer; more: boolean }[] = [];
  for (const f of frames) {
    const d = pk.decodeFrame(f);
    const ip = d.ipv4 ?? d.ipv6;
    if (ip === undefined) throw new Error(`not IP: ${d.error ?? ''}`);
    if (d.ipv4 !== undefined && !d.ipv4.checksumValid) throw new Error('bad IPv4 header checksum');
    const offset = d.ipv4 !== undefined ? d.ipv4.fragOffset * 8 : (d.ipv6!.fragment?.fragOffset ?? 0) * 8;
    const more = d.ipv4 !== undefined ? (d.ipv4.flags & pk.IPV4_MF) !== 0 : d.ipv6!.fragment?.more ?? false;
    const id = d.ipv4 !== undefined ? d.ipv4.id : d.ipv6!.fragment?.id ?? -1;
    const proto = ip.proto;
    if (head === undefined) head = { src: ip.src, dst: ip.dst, proto, id };
    if (head.src !== ip.src || head.dst !== ip.dst || head.proto !== proto || head.id !== id) {
      throw new Error(`fragments of different datagrams: ${head.src} ${head.dst} ${head.id}, ${ip.src} ${ip.dst} ${id}`);
    }
    // The first fragment's L4 part was decoded: take its bytes from the frame.
    const l3 = 14;
    const payloadStart = d.ipv4 !== undefined ? l3 + d.ipv4.ihl * 4 : l3 + 40 + 8 * d.ipv6!.extHeaders.length;
    const payloadEnd = d.ipv4 !== undefined ? l3 + d.ipv4.totalLength : l3 + 40 + d.ipv6!.payloadLength;
    pieces.push({ offset, bytes: f.subarray(payloadStart, payloadEnd), more });
  }
  if (head === undefined) throw new Error('no fragments');
  pieces.sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const p of pieces) {
    if (p.offset !== end) throw new Error(`a hole or an overlap at ${end} (next fragment at ${p.offset})`);
    end += p.bytes.length;
  }
  if (pieces[pieces.length - 1].more) throw new Error('the last fragment is missing');
  return { ...head, segment: Buffer.concat(pieces.map((p) => p.bytes)) };
}

/** Whether a reassembled UDP segment's checksum is right for its addresses. */
export function udpChecksumValid(r: Reassembled): boolean {
  const seg = r.segment;
  if (seg.readUInt16BE(6) === 0) return !v6(r.src);
  const rebuilt = pk.udp({ sport: seg.readUInt16BE(0), dport: seg.readUInt16BE(2), payload: seg.subarray(8) }, r);
  return rebuilt.equals(seg);
}
