// Pcap inputs for the benchmarks: minimum-size (60 bytes + FCS = 64 on the wire)
// IPv4/TCP frames to one VIP, one frame per distinct 5-tuple (or the flows
// repeated, to tell the PMD's cost of many frames from the flow table's cost of
// many flows). Written straight
// to a Buffer from one template because a million frames through a general
// packet builder would take longer than the benchmark itself.
import { writeFileSync } from 'node:fs';

/** DPDK 22.11's pcap PMD gives every port this fixed address ("\x02pcap\0"). */
export const PCAP_PORT_MAC = Buffer.from([0x02, 0x70, 0x63, 0x61, 0x70, 0x00]);
const CLIENT_MAC = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x99]);

export const FRAME_LEN = 60;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const PCAP_MAGIC_USEC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

/** 198.18.0.0/15, the benchmarking range (RFC 2544): 131072 sources. */
const SOURCE_BASE = (198 << 24) | (18 << 16);
const SOURCE_COUNT = 1 << 17;
const FIRST_SOURCE_PORT = 1024;

export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;

export interface FlowPcapOptions {
  flows: number;
  vip: string;
  port: number;
  /** TCP flags of every frame. */
  flags: number;
  /** Frames in the pcap, frame i of flow i % flows; default one frame per flow. */
  frames?: number;
  /** The first flow's index (flowSource): pcaps of disjoint ranges share no flow. Default 0. */
  firstFlow?: number;
}

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function sum16(buf: Buffer, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += buf.readUInt16BE(i);
  return s;
}

/** Frame i's 5-tuple: source address and port from i, destination the VIP. */
export function flowSource(i: number): { address: number; port: number } {
  return { address: (SOURCE_BASE + (i % SOURCE_COUNT)) >>> 0, port: FIRST_SOURCE_PORT + Math.floor(i / SOURCE_COUNT) };
}

/** A pcap of `frames` frames (default `flows`), frame i of flow i % flows. */
export function flowPcap(o: FlowPcapOptions): Buffer {
  const first = o.firstFlow ?? 0;
  if (!Number.isInteger(first) || first < 0 || first + o.flows > SOURCE_COUNT * (65536 - FIRST_SOURCE_PORT)) {
    throw new RangeError(`too many flows: ${first} + ${o.flows}`);
  }
  const frames = o.frames ?? o.flows;
  if (!Number.isInteger(o.flows) || o.flows < 1 || !Number.isInteger(frames) || frames < o.flows) {
    throw new RangeError(`flows must be a whole number of at least 1 and frames at least flows: ${o.flows}, ${frames}`);
  }
  const rec = RECORD_HEADER_LEN + FRAME_LEN;
  const out = Buffer.alloc(GLOBAL_HEADER_LEN + rec * frames);
  out.writeUInt32LE(PCAP_MAGIC_USEC, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const vip = ipToInt(o.vip);
  const f = Buffer.alloc(FRAME_LEN);
  PCAP_PORT_MAC.copy(f, 0);
  CLIENT_MAC.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  // IPv4: version/IHL, length 40, DF, TTL 64, TCP.
  f.writeUInt8(0x45, 14);
  f.writeUInt16BE(40, 16);
  f.writeUInt16BE(0x4000, 20);
  f.writeUInt8(64, 22);
  f.writeUInt8(6, 23);
  f.writeUInt32BE(vip, 30);
  // TCP: destination port, sequence 1, data offset 5, flags, window.
  f.writeUInt16BE(o.port, 36);
  f.writeUInt32BE(1, 38);
  f.writeUInt8(5 << 4, 46);
  f.writeUInt8(o.flags, 47);
  f.writeUInt16BE(65535, 48);
  for (let i = 0; i < o.flows; i++) {
    const src = flowSource(first + i);
    f.writeUInt32BE(src.address, 26);
    f.writeUInt16BE(src.port, 34);
    f.writeUInt16BE(0, 24);
    f.writeUInt16BE(fold(sum16(f, 14, 34)), 24);
    f.writeUInt16BE(0, 50);
    // Pseudo header: addresses, protocol, TCP length.
    const pseudo = sum16(f, 26, 34) + 6 + 20;
    f.writeUInt16BE(fold(pseudo + sum16(f, 34, 54)), 50);
    for (let frame = i; frame < frames; frame += o.flows) {
      const off = GLOBAL_HEADER_LEN + rec * frame;
      out.writeUInt32LE(Math.floor(frame / 1e6), off);
      out.writeUInt32LE(frame % 1e6, off + 4);
      out.writeUInt32LE(FRAME_LEN, off + 8);
      out.writeUInt32LE(FRAME_LEN, off + 12);
      f.copy(out, off + RECORD_HEADER_LEN);
    }
  }
  return out;
}

export function writeFlowPcap(path: string, o: FlowPcapOptions): void {
  writeFileSync(path, flowPcap(o));
}
