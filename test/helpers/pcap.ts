// Classic libpcap files, the format DPDK's net_pcap PMD reads and writes. Reading
// accepts both byte orders and both timestamp precisions because the PMD writes
// nanosecond files while tools like tcpdump write microsecond ones.

import { readFileSync, writeFileSync } from 'node:fs';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_SNAPLEN = 65535;

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const PCAPNG_MAGIC = 0x0a0d0d0a;

export interface PcapRecord {
  tsSec: number;
  /** Microseconds or nanoseconds, per PcapFile.nanosecond. */
  tsFrac: number;
  /** Length on the wire; more than data.length when the capture was cut at snaplen. */
  origLen: number;
  data: Buffer;
}

export interface PcapFile {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
}

/**
 * Little-endian microsecond pcap, linktype Ethernet. Frame i is stamped i
 * microseconds after the epoch so the bytes depend on the frames alone.
 */
export function encodePcap(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const g = Buffer.alloc(GLOBAL_HEADER_LEN);
  g.writeUInt32LE(PCAP_MAGIC_USEC, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(PCAP_SNAPLEN, 16);
  g.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  parts.push(g);
  frames.forEach((frame, i) => {
    // Refuse rather than truncate: a silently cut frame would fail later, far from here.
    if (frame.length > PCAP_SNAPLEN) {
      throw new RangeError(`frame ${i} is ${frame.length} bytes, over the ${PCAP_SNAPLEN}-byte snaplen`);
    }
    const r = Buffer.alloc(RECORD_HEADER_LEN);
    r.writeUInt32LE(Math.floor(i / 1e6), 0);
    r.writeUInt32LE(i % 1e6, 4);
    r.writeUInt32LE(frame.length, 8);
    r.writeUInt32LE(frame.length, 12);
    parts.push(r, frame);
  });
  return Buffer.concat(parts);
}

/**
 * Parses a whole pcap. An empty buffer or a lone global header is a capture of
 * nothing (the PMD leaves those when no packet went out); a cut record throws,
 * naming the record and byte offset. `source` names the input in errors.
 */
export function decodePcap(buf: Buffer, source = 'pcap'): PcapFile {
  const empty = (): PcapFile => ({
    littleEndian: true,
    nanosecond: false,
    versionMajor: 2,
    versionMinor: 4,
    snaplen: PCAP_SNAPLEN,
    linktype: LINKTYPE_ETHERNET,
    records: [],
  });
  if (buf.length === 0) return empty();
  if (buf.length < GLOBAL_HEADER_LEN) {
    throw new Error(`${source}: truncated global header: ${buf.length} of ${GLOBAL_HEADER_LEN} bytes`);
  }
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLE === PCAP_MAGIC_USEC || magicLE === PCAP_MAGIC_NSEC) {
    littleEndian = true;
    nanosecond = magicLE === PCAP_MAGIC_NSEC;
  } else if (magicBE === PCAP_MAGIC_USEC || magicBE === PCAP_MAGIC_NSEC) {
    littleEndian = false;
    nanosecond = magicBE === PCAP_MAGIC_NSEC;
  } else if (magicLE === PCAPNG_MAGIC) {
    throw new Error(`${source}: pcapng is not supported, only classic pcap`);
  } else {
    throw new Error(`${source}: not a pcap file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
  }
  const u16 = (off: number): number => (littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off));
  const u32 = (off: number): number => (littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const file: PcapFile = {
    littleEndian,
    nanosecond,
    versionMajor: u16(4),
    versionMinor: u16(6),
    snaplen: u32(16),
    // The upper bits may carry FCS information (pcap-linktype); the type is the low 16.
    linktype: u32(20) & 0xffff,
    records: [],
  };
  let off = GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    const index = file.records.length;
    if (buf.length - off < RECORD_HEADER_LEN) {
      throw new Error(
        `${source}: record ${index} at byte ${off} is truncated: ` +
          `${buf.length - off} of ${RECORD_HEADER_LEN} header bytes`,
      );
    }
    const capLen = u32(off + 8);
    const start = off + RECORD_HEADER_LEN;
    if (buf.length - start < capLen) {
      throw new Error(
        `${source}: record ${index} at byte ${off} is truncated: ` +
          `header says ${capLen} bytes, ${buf.length - start} remain`,
      );
    }
    file.records.push({
      tsSec: u32(off),
      tsFrac: u32(off + 4),
      origLen: u32(off + 12),
      data: Buffer.from(buf.subarray(start, start + capLen)),
    });
    off = start + capLen;
  }
  return file;
}

export function writePcap(path: string, frames: Buffer[]): void {
  writeFileSync(path, encodePcap(frames));
}

/** The frames of an Ethernet pcap; throws for another link type rather than mis-decode it. */
export function readPcap(path: string): Buffer[] {
  const file = decodePcap(readFileSync(path), path);
  if (file.linktype !== LINKTYPE_ETHERNET) {
    throw new Error(`${path}: link type ${file.linktype}, expected ${LINKTYPE_ETHERNET} (Ethernet)`);
  }
  return file.records.map((r) => r.data);
}
