import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  arpReplyFrame,
  arpRequestFrame,
  checksum16,
  decodeFrame,
  ether,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  flowKey,
  icmpEcho,
  icmpEchoFrame,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_DF,
  IPV4_MF,
  ipv4,
  ipv6,
  mulberry32,
  normalizeIp,
  parseIp,
  randomFlows,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcp,
  tcpFlags,
  tcpFrame,
  udp,
  udpFrame,
} from '../helpers/packets';
import { decodePcap, encodePcap, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, readPcap, writePcap } from '../helpers/pcap';

const CLIENT_MAC = '02:00:00:00:00:11';
const LB_MAC = '02:00:00:00:00:22';
const macs = { srcMac: CLIENT_MAC, dstMac: LB_MAC };
const v4 = { src: '10.0.0.1', dst: '10.0.0.2' };
const v6 = { src: '2001:db8::1', dst: '2001:db8::2' };

const tmp = mkdtempSync(join(tmpdir(), 'sluice-packets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const eth4 = (ip: Buffer): Buffer => ether({ dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV4 }, ip);
const eth6 = (ip: Buffer): Buffer => ether({ dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV6 }, ip);

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

describe('checksum16', () => {
  test('RFC 1071 section 3 example', () => {
    // The RFC sums these eight bytes to 0xddf2; the checksum is its complement.
    assert.equal(checksum16(hex('0001 f203 f4f5 f6f7')), 0x220d);
  });

  test('well-known IPv4 header', () => {
    const withZero = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    assert.equal(checksum16(withZero), 0xb861);
    assert.equal(checksum16(hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7')), 0);
  });

  test('odd length pads with a zero byte; carries fold back in', () => {
    assert.equal(checksum16(hex('01')), 0xfeff);
    assert.equal(checksum16(hex('0100')), 0xfeff);
    assert.equal(checksum16(hex('ffff 0001')), 0xfffe);
    assert.equal(checksum16(Buffer.alloc(0)), 0xffff);
  });

  test('ipv4 builder reproduces the well-known header byte for byte', () => {
    const pkt = ipv4(
      { src: '192.168.0.1', dst: '192.168.0.199', proto: IPPROTO_UDP, flags: IPV4_DF },
      Buffer.alloc(0x73 - 20),
    );
    assert.deepEqual(pkt.subarray(0, 20), hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7'));
  });

  test('UDP checksum, hand-computed', () => {
    // Pseudo-header 0a00 0001 0a00 0002 0011 0008 + header 0001 0002 0008 0000:
    // 0x1400 + 0x27 = 0x1427, complement 0xebd8.
    const seg = udp({ sport: 1, dport: 2 }, v4);
    assert.deepEqual(seg, hex('0001 0002 0008 ebd8'));
  });

  test('UDP checksum over IPv6, hand-computed', () => {
    // Pseudo-header ::1, ::2, 32-bit length 8, next header 17 in the last byte:
    // 0x0001 + 0x0002 + 0x0008 + 0x0011 + header 0x000b = 0x0027, complement 0xffd8.
    const seg = udp({ sport: 1, dport: 2 }, { src: '::1', dst: '::2' });
    assert.deepEqual(seg, hex('0001 0002 0008 ffd8'));
  });

  test('a UDP checksum that computes to zero is sent as 0xffff', () => {
    const probe = udp({ sport: 1, dport: 2, payload: Buffer.alloc(2) }, v4);
    // Adding the probe's checksum as a payload word makes the ones' complement sum 0xffff.
    const seg = udp({ sport: 1, dport: 2, payload: probe.subarray(6, 8) }, v4);
    assert.equal(seg.readUInt16BE(6), 0xffff);
    const d = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_UDP }, seg)));
    assert.equal(d.udp?.checksumValid, true);
  });
});

describe('addresses', () => {
  test('IPv6 text is normalized as RFC 5952 says', () => {
    assert.equal(normalizeIp('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
    assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(normalizeIp('0:0:0:0:0:0:0:0'), '::');
    assert.equal(normalizeIp('::1'), '::1');
    assert.equal(normalizeIp('fe80::'), 'fe80::');
    assert.equal(normalizeIp('::ffff:0a00:0001'), '::ffff:10.0.0.1');
    assert.equal(normalizeIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
  });

  test('bad addresses throw', () => {
    assert.throws(() => parseIp('10.0.0.256'), /bad IP address/);
    assert.throws(() => parseIp('fe80::1%eth0'), /bad IP address/);
    assert.throws(() => parseIp('1:2:3:4:5:6:7:8:9'), /bad IP address/);
    assert.throws(
      () => tcpFrame({ ...macs, srcMac: '02:00:00:00:11', ...v4, sport: 1, dport: 2, flags: 'S' }),
      /bad MAC/,
    );
    assert.throws(
      () => tcpFrame({ ...macs, src: '10.0.0.1', dst: '2001:db8::2', sport: 1, dport: 2, flags: 'S' }),
      /address families/,
    );
    assert.throws(() => tcpFrame({ ...macs, ...v4, sport: 65536, dport: 2, flags: 'S' }), /sport must be an integer/);
  });
});

describe('ether', () => {
  test('pads short frames to 60 bytes and keeps long ones', () => {
    const f = ether({ dst: LB_MAC, src: CLIENT_MAC, type: 0x88b5 }, Buffer.from('hi'));
    assert.equal(f.length, 60);
    assert.equal(ether({ dst: LB_MAC, src: CLIENT_MAC, type: 0x88b5, pad: false }, Buffer.from('hi')).length, 16);
    assert.equal(ether({ dst: LB_MAC, src: CLIENT_MAC, type: 0x88b5 }, Buffer.alloc(100)).length, 114);
    const d = decodeFrame(f);
    assert.equal(d.dstMac, LB_MAC);
    assert.equal(d.srcMac, CLIENT_MAC);
    assert.equal(d.etherType, 0x88b5);
    assert.deepEqual(d.payload?.subarray(0, 2), Buffer.from('hi'));
    assert.equal(d.error, undefined);
  });

  test('VLAN tags go outermost first, 0x8100 each', () => {
    const f = ether(
      { dst: LB_MAC, src: CLIENT_MAC, vlans: [100, 4095], type: ETHERTYPE_IPV4 },
      ipv4({ ...v4, proto: 253 }),
    );
    assert.deepEqual(f.subarray(12, 22), hex('8100 0064 8100 0fff 0800'));
    const d = decodeFrame(f);
    assert.deepEqual(d.vlans, [100, 4095]);
    assert.equal(d.etherType, ETHERTYPE_IPV4);
    assert.equal(d.ipv4?.proto, 253);
    assert.throws(() => ether({ dst: LB_MAC, src: CLIENT_MAC, vlans: [4096], type: 0x0800 }), /VLAN id/);
  });

  test('decoder also reads 802.1ad outer tags and ignores PCP/DEI in the VLAN id', () => {
    const f = Buffer.concat([hex('020000000022 020000000011 88a8 e00a 8100 3014 88b5'), Buffer.alloc(40)]);
    assert.deepEqual(decodeFrame(f).vlans, [10, 20]);
  });
});

describe('ipv4', () => {
  test('round trip of every field', () => {
    const pkt = ipv4({ ...v4, proto: IPPROTO_TCP, ttl: 3, id: 0xbeef, tos: 0xb8, flags: IPV4_DF }, Buffer.from('data'));
    const d = decodeFrame(eth4(pkt));
    assert.deepEqual(d.ipv4, {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      proto: IPPROTO_TCP,
      ttl: 3,
      tos: 0xb8,
      ihl: 5,
      totalLength: 24,
      id: 0xbeef,
      flags: IPV4_DF,
      fragOffset: 0,
      checksum: pkt.readUInt16BE(10),
      checksumValid: true,
      options: Buffer.alloc(0),
    });
    // Four bytes of "TCP" cannot be a header: reported, not thrown.
    assert.match(d.error ?? '', /truncated TCP header/);
  });

  test('options are zero-padded to a multiple of 4 and covered by the checksum', () => {
    const routerAlert = hex('94040000');
    const pkt = ipv4({ ...v4, proto: 253, options: Buffer.concat([routerAlert, hex('01')]) });
    assert.equal(pkt.length, 28);
    const d = decodeFrame(eth4(pkt));
    assert.equal(d.ipv4?.ihl, 7);
    assert.deepEqual(d.ipv4?.options, hex('9404 0000 0100 0000'));
    assert.equal(d.ipv4?.checksumValid, true);
    assert.throws(() => ipv4({ ...v4, proto: 6, options: Buffer.alloc(41) }), /at most 40/);
  });

  test('fragments: header decoded, L4 left as payload', () => {
    const seg = udp({ sport: 1, dport: 2, payload: Buffer.alloc(16, 7) }, v4);
    for (const [flags, fragOffset] of [
      [IPV4_MF, 0],
      [0, 185],
      [IPV4_MF | IPV4_DF, 3],
    ]) {
      const d = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_UDP, flags, fragOffset }, seg)));
      assert.equal(d.ipv4?.flags, flags);
      assert.equal(d.ipv4?.fragOffset, fragOffset);
      assert.equal(d.udp, undefined);
      assert.deepEqual(d.payload, seg);
      assert.equal(d.error, undefined);
    }
  });

  test('overrides build malformed headers the decoder reports', () => {
    const bad = decodeFrame(eth4(ipv4({ ...v4, proto: 253, checksum: 0x1234 })));
    assert.equal(bad.ipv4?.checksum, 0x1234);
    assert.equal(bad.ipv4?.checksumValid, false);

    const long = decodeFrame(eth4(ipv4({ ...v4, proto: 253, totalLength: 1500 })));
    assert.equal(long.ipv4?.totalLength, 1500);
    assert.match(long.error ?? '', /total length 1500 exceeds the 46 bytes present/);

    const short = decodeFrame(eth4(ipv4({ ...v4, proto: 253, totalLength: 12 })));
    assert.match(short.error ?? '', /shorter than its 20-byte header/);

    const ihl3 = eth4(ipv4({ ...v4, proto: 253 }));
    ihl3[14] = 0x43;
    assert.match(decodeFrame(ihl3).error ?? '', /bad IPv4 IHL 3/);

    const v6inV4 = eth4(ipv4({ ...v4, proto: 253 }));
    v6inV4[14] = 0x65;
    const d = decodeFrame(v6inV4);
    assert.match(d.error ?? '', /IP version 6/);
    assert.equal(d.ipv4, undefined);
  });

  test('Ethernet padding is not mistaken for payload', () => {
    const d = decodeFrame(udpFrame({ ...macs, ...v4, sport: 1, dport: 2, payload: Buffer.from('ab') }));
    assert.equal(d.length, 60);
    assert.equal(d.ipv4?.totalLength, 30);
    assert.deepEqual(d.payload, Buffer.from('ab'));
  });
});

describe('ipv6', () => {
  test('round trip of the fixed header', () => {
    const pkt = ipv6(
      { ...v6, nextHeader: 253, hopLimit: 9, trafficClass: 0xb8, flowLabel: 0xabcde },
      Buffer.from('xyz'),
    );
    assert.equal(pkt.length, 43);
    const d = decodeFrame(eth6(pkt));
    assert.deepEqual(d.ipv6, {
      src: '2001:db8::1',
      dst: '2001:db8::2',
      nextHeader: 253,
      proto: 253,
      hopLimit: 9,
      trafficClass: 0xb8,
      flowLabel: 0xabcde,
      payloadLength: 3,
      extHeaders: [],
    });
    assert.deepEqual(d.payload, Buffer.from('xyz'));
    assert.equal(d.error, undefined);
  });

  test('extension headers chain, are 8n bytes long, and are walked to the L4 header', () => {
    const seg = tcp({ sport: 9, dport: 10, flags: 'A', payload: Buffer.from('p') }, v6);
    const pkt = ipv6(
      {
        ...v6,
        nextHeader: IPPROTO_TCP,
        extHeaders: [
          { type: 0 },
          { type: 60, options: hex('1e01aa') },
          { type: 43, routingType: 253, data: Buffer.alloc(3) },
          { type: 44, id: 0xdeadbeef },
        ],
      },
      seg,
    );
    // 40 fixed + 8 + 8 (2 + 3 option bytes, PadN 3) + 16 (routing: 6 + 3 data, padded) + 8 fragment
    assert.equal(pkt.length, 40 + 8 + 8 + 16 + 8 + seg.length);
    assert.deepEqual(pkt.subarray(40, 48), hex('3c00 0104 0000 0000'));
    assert.deepEqual(pkt.subarray(48, 56), hex('2b00 1e01 aa01 0100'));
    const d = decodeFrame(ether({ dst: LB_MAC, src: CLIENT_MAC, vlans: [7], type: ETHERTYPE_IPV6 }, pkt));
    assert.equal(d.ipv6?.nextHeader, 0);
    assert.deepEqual(d.ipv6?.extHeaders, [0, 60, 43, 44]);
    assert.equal(d.ipv6?.proto, IPPROTO_TCP);
    assert.deepEqual(d.ipv6?.fragment, { fragOffset: 0, more: false, id: 0xdeadbeef });
    assert.equal(d.tcp?.checksumValid, true);
    assert.deepEqual(d.payload, Buffer.from('p'));
    assert.equal(d.error, undefined);
  });

  test('a non-first fragment is left as payload', () => {
    const body = Buffer.alloc(24, 1);
    const pkt = ipv6(
      { ...v6, nextHeader: IPPROTO_UDP, extHeaders: [{ type: 44, fragOffset: 3, more: true, id: 1 }] },
      body,
    );
    const d = decodeFrame(eth6(pkt));
    assert.deepEqual(d.ipv6?.fragment, { fragOffset: 3, more: true, id: 1 });
    assert.equal(d.udp, undefined);
    assert.deepEqual(d.payload, body);
  });

  test('payload length past the frame is reported', () => {
    const pkt = ipv6({ ...v6, nextHeader: 253, payloadLength: 100 }, Buffer.alloc(20));
    const d = decodeFrame(eth6(pkt));
    assert.match(d.error ?? '', /payload length 100 exceeds the 20 bytes present/);
  });
});

describe('tcp', () => {
  test('flag letters', () => {
    assert.equal(tcpFlags('S'), TCP_SYN);
    assert.equal(tcpFlags('SA'), TCP_SYN | TCP_ACK);
    assert.equal(tcpFlags('as'), TCP_SYN | TCP_ACK);
    assert.equal(tcpFlags('A'), TCP_ACK);
    assert.equal(tcpFlags('F'), TCP_FIN);
    assert.equal(tcpFlags('FA'), TCP_FIN | TCP_ACK);
    assert.equal(tcpFlags('R'), TCP_RST);
    assert.equal(tcpFlags('PA'), TCP_PSH | TCP_ACK);
    assert.equal(tcpFlags('FSRPAUEC'), 0xff);
    assert.equal(tcpFlags(0x29), 0x29);
    assert.throws(() => tcpFlags('SX'), /bad TCP flag "X"/);
    assert.throws(() => tcpFlags(256), /TCP flags must be/);
  });

  for (const [name, addrs] of [
    ['IPv4', v4],
    ['IPv6', v6],
  ] as const) {
    test(`tcpFrame round trip over ${name}`, () => {
      const payload = Buffer.from('GET / HTTP/1.0\r\n\r\n');
      const f = tcpFrame({
        ...macs,
        ...addrs,
        vlans: [42],
        ttl: 17,
        sport: 40000,
        dport: 80,
        flags: 'PA',
        seq: 0xfffffff0,
        ack: 12345,
        window: 512,
        payload,
      });
      const d = decodeFrame(f);
      assert.equal(d.error, undefined);
      assert.deepEqual(d.vlans, [42]);
      assert.equal(d.etherType, name === 'IPv4' ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
      assert.equal((d.ipv4 ?? d.ipv6)?.src, addrs.src);
      assert.equal(d.ipv4?.ttl ?? d.ipv6?.hopLimit, 17);
      assert.deepEqual(d.tcp, {
        sport: 40000,
        dport: 80,
        seq: 0xfffffff0,
        ack: 12345,
        dataOffset: 5,
        flags: TCP_PSH | TCP_ACK,
        window: 512,
        urgent: 0,
        checksum: d.tcp?.checksum,
        checksumValid: true,
        options: Buffer.alloc(0),
      });
      assert.deepEqual(d.payload, payload);
    });
  }

  test('options are padded and kept; a wrong checksum is reported', () => {
    const mss = hex('0204 05b4 01');
    const seg = tcp({ sport: 1, dport: 2, flags: 'S', options: mss }, v4);
    assert.equal(seg.length, 28);
    const d = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_TCP }, seg)));
    assert.equal(d.tcp?.dataOffset, 7);
    assert.deepEqual(d.tcp?.options, hex('0204 05b4 0100 0000'));
    assert.equal(d.tcp?.checksumValid, true);

    const bad = tcp({ sport: 1, dport: 2, flags: 'S', checksum: 0 }, v4);
    const db = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_TCP }, bad)));
    assert.equal(db.tcp?.checksumValid, false);
  });

  test('the checksum covers the addresses', () => {
    const f = tcpFrame({ ...macs, ...v4, sport: 1, dport: 2, flags: 'S' });
    f[14 + 19] ^= 1; // destination address, with the IP checksum fixed up below
    f.writeUInt16BE(0, 14 + 10);
    f.writeUInt16BE(checksum16(f.subarray(14, 34)), 14 + 10);
    const d = decodeFrame(f);
    assert.equal(d.ipv4?.checksumValid, true);
    assert.equal(d.tcp?.checksumValid, false);
  });

  test('a data offset under 5 is reported', () => {
    const seg = tcp({ sport: 1, dport: 2, flags: 'S' }, v4);
    seg[12] = 0x40;
    const d = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_TCP }, seg)));
    assert.match(d.error ?? '', /bad TCP data offset 4/);
    assert.equal(d.tcp, undefined);
  });
});

describe('udp', () => {
  for (const [name, addrs] of [
    ['IPv4', v4],
    ['IPv6', v6],
  ] as const) {
    test(`udpFrame round trip over ${name}`, () => {
      const payload = Buffer.from('query');
      const d = decodeFrame(udpFrame({ ...macs, ...addrs, vlans: [1, 2], sport: 5000, dport: 9000, payload }));
      assert.equal(d.error, undefined);
      assert.deepEqual(d.vlans, [1, 2]);
      assert.equal((d.ipv4 ?? d.ipv6)?.dst, addrs.dst);
      assert.equal(d.udp?.sport, 5000);
      assert.equal(d.udp?.dport, 9000);
      assert.equal(d.udp?.length, 13);
      assert.notEqual(d.udp?.checksum, 0);
      assert.equal(d.udp?.checksumValid, true);
      assert.deepEqual(d.payload, payload);
    });
  }

  test('a zero checksum means "none" over IPv4 but is invalid over IPv6', () => {
    const d4 = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_UDP }, udp({ sport: 1, dport: 2, checksum: 0 }, v4))));
    assert.equal(d4.udp?.checksumValid, true);
    const d6 = decodeFrame(
      eth6(ipv6({ ...v6, nextHeader: IPPROTO_UDP }, udp({ sport: 1, dport: 2, checksum: 0 }, v6))),
    );
    assert.equal(d6.udp?.checksumValid, false);
  });

  test('a length field that does not fit is reported', () => {
    const seg = udp({ sport: 1, dport: 2, payload: Buffer.from('abcd'), length: 40 }, v4);
    const d = decodeFrame(eth4(ipv4({ ...v4, proto: IPPROTO_UDP }, seg)));
    assert.equal(d.udp?.length, 40);
    assert.equal(d.udp?.checksumValid, false);
    assert.match(d.error ?? '', /UDP length 40 does not fit the 12 bytes present/);
  });
});

describe('icmp', () => {
  test('echo request and reply over IPv4', () => {
    for (const type of [8, 0]) {
      const payload = Buffer.from('abcdefgh');
      const d = decodeFrame(icmpEchoFrame({ ...macs, ...v4, type, id: 0x1234, seq: 7, payload }));
      assert.equal(d.error, undefined);
      assert.equal(d.ipv4?.proto, 1);
      assert.deepEqual(d.icmp, {
        type,
        code: 0,
        checksum: d.icmp?.checksum,
        checksumValid: true,
        id: 0x1234,
        seq: 7,
        payload,
      });
      assert.deepEqual(d.payload, payload);
    }
  });

  test('echo request and reply over IPv6 use the pseudo-header', () => {
    for (const type of [128, 129]) {
      const d = decodeFrame(icmpEchoFrame({ ...macs, ...v6, type, id: 1, seq: 2 }));
      assert.equal(d.ipv6?.proto, 58);
      assert.equal(d.icmp?.type, type);
      assert.equal(d.icmp?.checksumValid, true);
    }
    assert.equal(decodeFrame(icmpEchoFrame({ ...macs, ...v6, id: 1, seq: 2 })).icmp?.type, 128);
    assert.throws(() => icmpEcho({ type: 128, id: 1, seq: 1 }), /pseudo-header/);
  });

  test('known-answer echo request', () => {
    // type 8, id 1, seq 1, no data: ~(0x0800 + 0x0001 + 0x0001) = 0xf7fd
    assert.deepEqual(icmpEcho({ id: 1, seq: 1 }), hex('0800 f7fd 0001 0001'));
  });

  test('a wrong checksum is reported', () => {
    const msg = icmpEcho({ id: 1, seq: 1, checksum: 0xf7fe });
    const d = decodeFrame(eth4(ipv4({ ...v4, proto: 1 }, msg)));
    assert.equal(d.icmp?.checksumValid, false);
  });
});

describe('arp', () => {
  test('request frame', () => {
    const f = arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: '10.0.0.100', vlans: [5] });
    assert.equal(f.length, 60);
    const d = decodeFrame(f);
    assert.equal(d.error, undefined);
    assert.equal(d.dstMac, 'ff:ff:ff:ff:ff:ff');
    assert.deepEqual(d.vlans, [5]);
    assert.equal(d.etherType, ETHERTYPE_ARP);
    assert.deepEqual(d.arp, {
      htype: 1,
      ptype: 0x0800,
      op: 1,
      sha: CLIENT_MAC,
      spa: '10.0.0.1',
      tha: '00:00:00:00:00:00',
      tpa: '10.0.0.100',
    });
  });

  test('reply frame', () => {
    const d = decodeFrame(
      arpReplyFrame({ srcMac: LB_MAC, dstMac: CLIENT_MAC, senderIp: '10.0.0.100', targetIp: '10.0.0.1' }),
    );
    assert.equal(d.dstMac, CLIENT_MAC);
    assert.equal(d.srcMac, LB_MAC);
    assert.deepEqual(d.arp, {
      htype: 1,
      ptype: 0x0800,
      op: 2,
      sha: LB_MAC,
      spa: '10.0.0.100',
      tha: CLIENT_MAC,
      tpa: '10.0.0.1',
    });
  });

  test('non-Ethernet/IPv4 ARP is reported, not decoded', () => {
    const f = arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: '10.0.0.2' });
    f[14 + 1] = 6; // htype 6 (IEEE 802)
    const d = decodeFrame(f);
    assert.equal(d.arp, undefined);
    assert.match(d.error ?? '', /ARP for htype 6/);
  });
});

function sampleFrames(): Buffer[] {
  return [
    tcpFrame({ ...macs, ...v4, vlans: [100, 200], sport: 1234, dport: 80, flags: 'SA', payload: Buffer.from('x') }),
    tcpFrame({ ...macs, ...v6, sport: 1234, dport: 80, flags: 'S' }),
    udpFrame({ ...macs, ...v4, sport: 1, dport: 2, payload: Buffer.alloc(50, 3) }),
    udpFrame({ ...macs, ...v6, vlans: [3], sport: 1, dport: 2 }),
    icmpEchoFrame({ ...macs, ...v4, id: 1, seq: 1, payload: Buffer.alloc(20) }),
    icmpEchoFrame({ ...macs, ...v6, id: 1, seq: 1 }),
    arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
    ether(
      { dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV4 },
      ipv4({ ...v4, proto: IPPROTO_UDP, options: hex('94040000') }, udp({ sport: 7, dport: 8 }, v4)),
    ),
    ether(
      { dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV6 },
      ipv6(
        { ...v6, nextHeader: IPPROTO_TCP, extHeaders: [{ type: 0 }, { type: 44 }] },
        tcp({ sport: 1, dport: 2, flags: 'A' }, v6),
      ),
    ),
  ];
}

describe('decoder on garbage', () => {
  const noThrow = (b: Buffer): void => {
    const d = decodeFrame(b);
    // The backstop catch must never be what produced the error.
    assert.doesNotMatch(d.error ?? '', /decoder failure/, `frame ${b.toString('hex')}`);
  };

  test('empty and tiny frames', () => {
    assert.deepEqual(decodeFrame(Buffer.alloc(0)), {
      length: 0,
      vlans: [],
      error: 'truncated Ethernet header: 0 of 14 bytes',
    });
    const d = decodeFrame(hex('020000000022 0200000000'));
    assert.equal(d.dstMac, LB_MAC);
    assert.equal(d.srcMac, undefined);
    assert.match(d.error ?? '', /truncated Ethernet header/);
    assert.match(decodeFrame(hex('020000000022 020000000011 8100 00')).error ?? '', /truncated VLAN tag/);
  });

  test('every truncation of every sample frame reports an error and never throws', () => {
    for (const f of sampleFrames()) {
      const full = decodeFrame(f);
      assert.equal(full.error, undefined);
      for (let len = 0; len < f.length; len++) {
        const cut = f.subarray(0, len);
        noThrow(cut);
        const d = decodeFrame(cut);
        // Cutting only Ethernet padding loses nothing; any shorter cut must be flagged.
        const l3Start = 14 + 4 * full.vlans.length;
        const l3Len = full.ipv4?.totalLength ?? (full.ipv6 ? 40 + full.ipv6.payloadLength : 28);
        if (len < l3Start + l3Len) assert.notEqual(d.error, undefined, `cut at ${len} of ${f.toString('hex')}`);
      }
    }
  });

  test('single-byte corruptions never throw', () => {
    for (const f of sampleFrames()) {
      for (let i = 0; i < f.length; i++) {
        for (const v of [0x00, 0xff, f[i] ^ 0x0f]) {
          const g = Buffer.from(f);
          g[i] = v;
          noThrow(g);
        }
      }
    }
  });

  test('random bytes behind plausible headers never throw', () => {
    const rand = mulberry32(0x5eed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const types = [ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP, 0x8100, 0x88a8, 0x1234];
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(Array.from({ length: Math.floor(rand() * 140) }, () => Math.floor(rand() * 256)));
      if (b.length < 14 + 40) {
        noThrow(b);
        continue;
      }
      const type = pick(types);
      b.writeUInt16BE(type, 12);
      // Valid-looking version, lengths and protocol numbers get the random bytes
      // past the IP checks and into the extension-header and L4 decoders.
      if (type === ETHERTYPE_IPV4) {
        b[14] = 0x45;
        b.writeUInt16BE(b.length - 14, 16);
        b[23] = pick([1, 6, 17]);
      } else if (type === ETHERTYPE_IPV6) {
        b[14] = 0x60;
        b.writeUInt16BE(b.length - 54, 18);
        b[20] = pick([0, 6, 17, 43, 44, 51, 58, 60]);
      }
      noThrow(b);
    }
  });
});

describe('flowKey', () => {
  test('from decoded frames', () => {
    assert.equal(
      flowKey(decodeFrame(tcpFrame({ ...macs, ...v4, sport: 1234, dport: 80, flags: 'S' }))),
      'tcp 10.0.0.1:1234 > 10.0.0.2:80',
    );
    assert.equal(
      flowKey(decodeFrame(udpFrame({ ...macs, src: '2001:DB8::0:1', dst: v6.dst, sport: 53, dport: 5353 }))),
      'udp [2001:db8::1]:53 > [2001:db8::2]:5353',
    );
    assert.equal(flowKey(decodeFrame(icmpEchoFrame({ ...macs, ...v4, id: 1, seq: 1 }))), 'icmp 10.0.0.1 > 10.0.0.2');
    assert.equal(
      flowKey(decodeFrame(icmpEchoFrame({ ...macs, ...v6, id: 1, seq: 1 }))),
      'icmpv6 2001:db8::1 > 2001:db8::2',
    );
    assert.equal(flowKey(decodeFrame(eth4(ipv4({ ...v4, proto: 47 })))), 'proto-47 10.0.0.1 > 10.0.0.2');
    assert.equal(
      flowKey(decodeFrame(arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }))),
      undefined,
    );
  });

  test('a Flow and the frame built from it have the same key', () => {
    const flow = { proto: 'udp' as const, src: '2001:db8:0::7', sport: 4000, dst: '2001:db8::2', dport: 53 };
    assert.equal(flowKey(flow), flowKey(decodeFrame(udpFrame({ ...macs, ...flow }))));
  });
});

describe('randomFlows', () => {
  test('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1 && Number.isInteger(x * 2 ** 32)));
    assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, mulberry32(43)));
    assert.ok(new Set(xs).size > 990);
  });

  test('IPv4: distinct, inside clientNet, deterministic per seed', () => {
    const o = { vip: '192.0.2.10', vport: 443, proto: 'tcp' as const, clientNet: '10.1.0.0/16' };
    const flows = randomFlows(5000, 7, o);
    assert.equal(flows.length, 5000);
    assert.equal(new Set(flows.map((f) => `${f.src}:${f.sport}`)).size, 5000);
    for (const f of flows) {
      assert.equal(f.proto, 'tcp');
      assert.equal(f.dst, '192.0.2.10');
      assert.equal(f.dport, 443);
      assert.match(f.src, /^10\.1\.\d+\.\d+$/);
      assert.notEqual(f.src, '10.1.0.0');
      assert.notEqual(f.src, '10.1.255.255');
      assert.ok(f.sport >= 1024 && f.sport <= 65535);
    }
    assert.deepEqual(randomFlows(5000, 7, o), flows);
    assert.notDeepEqual(randomFlows(10, 8, o), flows.slice(0, 10));
    // Enough distinct hosts that RSS and the lookup table see real spread.
    assert.ok(new Set(flows.map((f) => f.src)).size > 4000);
  });

  test('IPv6 and exhaustive draws from a tiny net', () => {
    const six = randomFlows(100, 1, { vip: '2001:db8::10', vport: 80, proto: 'udp', clientNet: '2001:db8:1::/64' });
    assert.ok(six.every((f) => f.src.startsWith('2001:db8:1:0:') || f.src.startsWith('2001:db8:1::')));
    const all = randomFlows(4, 3, {
      vip: '10.9.9.9',
      vport: 80,
      proto: 'tcp',
      clientNet: '10.0.0.0/30',
      ports: [1000, 1001],
    });
    assert.deepEqual(all.map((f) => `${f.src}:${f.sport}`).sort(), [
      '10.0.0.1:1000',
      '10.0.0.1:1001',
      '10.0.0.2:1000',
      '10.0.0.2:1001',
    ]);
    // The VIP itself is never a client.
    const inNet = randomFlows(1, 3, {
      vip: '10.0.0.1',
      vport: 80,
      proto: 'tcp',
      clientNet: '10.0.0.0/30',
      ports: [5, 5],
    });
    assert.deepEqual(inNet.map((f) => f.src).sort(), ['10.0.0.2']);
  });

  test('impossible requests throw', () => {
    const o = {
      vip: '10.9.9.9',
      vport: 80,
      proto: 'tcp' as const,
      clientNet: '10.0.0.0/30',
      ports: [1000, 1001] as [number, number],
    };
    assert.throws(() => randomFlows(5, 1, o), /cannot draw 5 distinct clients/);
    assert.throws(() => randomFlows(1, 1, { ...o, clientNet: '10.0.0.1/30' }), /host bits set/);
    assert.throws(() => randomFlows(1, 1, { ...o, clientNet: '2001:db8::/64' }), /differ in family/);
    assert.throws(() => randomFlows(1, 1, { ...o, clientNet: '10.0.0.0' }), /bad clientNet/);
  });
});

// Writes a classic pcap by hand, so the reader is not only tested against its own writer.
function handPcap(
  le: boolean,
  nsec: boolean,
  records: { sec: number; frac: number; data: Buffer; origLen?: number }[],
  linktype = 1,
): Buffer {
  const g = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, off: number): number => (le ? b.writeUInt32LE(v, off) : b.writeUInt32BE(v, off));
  const w16 = (b: Buffer, v: number, off: number): number => (le ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off));
  w32(g, nsec ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, 262144, 16);
  w32(g, linktype, 20);
  const parts: Buffer[] = [g];
  for (const r of records) {
    const h = Buffer.alloc(16);
    w32(h, r.sec, 0);
    w32(h, r.frac, 4);
    w32(h, r.data.length, 8);
    w32(h, r.origLen ?? r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

describe('pcap', () => {
  test('write then read returns the same frames; header is LE usec Ethernet', () => {
    const frames = sampleFrames();
    const path = join(tmp, 'roundtrip.pcap');
    writePcap(path, frames);
    assert.deepEqual(readPcap(path), frames);
    const bytes = encodePcap(frames);
    assert.deepEqual(bytes.subarray(0, 24), hex('d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000'));
    const file = decodePcap(bytes);
    assert.equal(file.littleEndian, true);
    assert.equal(file.nanosecond, false);
    assert.deepEqual(
      file.records.map((r) => [r.tsSec, r.tsFrac, r.origLen]),
      frames.map((f, i) => [0, i, f.length]),
    );
  });

  for (const [le, nsec] of [
    [true, true],
    [false, false],
    [false, true],
  ] as const) {
    test(`reads a hand-written ${le ? 'little' : 'big'}-endian ${nsec ? 'nanosecond' : 'microsecond'} file`, () => {
      const frames = sampleFrames().slice(0, 3);
      const frac = nsec ? 999_999_999 : 999_999;
      const bytes = handPcap(
        le,
        nsec,
        frames.map((data, i) => ({ sec: 1_700_000_000 + i, frac, data })),
      );
      const path = join(tmp, `hand-${le}-${nsec}.pcap`);
      writeFileSync(path, bytes);
      assert.deepEqual(readPcap(path), frames);
      const file = decodePcap(bytes);
      assert.equal(file.littleEndian, le);
      assert.equal(file.nanosecond, nsec);
      assert.equal(file.snaplen, 262144);
      assert.deepEqual(
        file.records.map((r) => [r.tsSec, r.tsFrac]),
        [
          [1_700_000_000, frac],
          [1_700_000_001, frac],
          [1_700_000_002, frac],
        ],
      );
    });
  }

  test('a capture cut at snaplen keeps the original length', () => {
    const data = Buffer.alloc(64, 1);
    const file = decodePcap(handPcap(false, false, [{ sec: 1, frac: 2, data, origLen: 1514 }]));
    assert.equal(file.records[0].origLen, 1514);
    assert.deepEqual(file.records[0].data, data);
  });

  test('empty file and lone global header are captures of nothing', () => {
    const empty = join(tmp, 'empty.pcap');
    writeFileSync(empty, Buffer.alloc(0));
    assert.deepEqual(readPcap(empty), []);
    const headerOnly = join(tmp, 'header-only.pcap');
    writePcap(headerOnly, []);
    assert.deepEqual(readPcap(headerOnly), []);
    assert.deepEqual(readPcap(headerOnly), decodePcap(handPcap(true, true, [])).records);
  });

  test('truncation and wrong formats throw clear errors', () => {
    const frames = sampleFrames().slice(0, 2);
    const good = encodePcap(frames);
    const path = join(tmp, 'cut.pcap');
    const firstEnd = 24 + 16 + frames[0].length;

    writeFileSync(path, good.subarray(0, good.length - 1));
    assert.throws(() => readPcap(path), {
      message: `${path}: record 1 at byte ${firstEnd} is truncated: header says ${frames[1].length} bytes, ${frames[1].length - 1} remain`,
    });
    writeFileSync(path, good.subarray(0, firstEnd + 5));
    assert.throws(() => readPcap(path), /record 1 at byte \d+ is truncated: 5 of 16 header bytes/);
    writeFileSync(path, good.subarray(0, 10));
    assert.throws(() => readPcap(path), /truncated global header: 10 of 24 bytes/);
    writeFileSync(path, Buffer.concat([hex('0a0d0d0a'), Buffer.alloc(40)]));
    assert.throws(() => readPcap(path), /pcapng is not supported/);
    writeFileSync(path, Buffer.alloc(40, 0x41));
    assert.throws(() => readPcap(path), /not a pcap file \(magic 0x41414141\)/);
    writeFileSync(path, handPcap(true, false, [], 101));
    assert.throws(() => readPcap(path), /link type 101, expected 1/);
    assert.throws(() => encodePcap([Buffer.alloc(65536)]), /over the 65535-byte snaplen/);
  });
});

function hasTshark(): boolean {
  const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

// Wireshark's expert severities (epan/proto.h); anything at warn or above is a complaint.
const PI_WARN = 0x00600000;

describe('tshark agrees', () => {
  test(
    'built frames decode as built with good checksums',
    { skip: hasTshark() ? false : 'tshark not installed' },
    () => {
      const cases: { frame: Buffer; expect: Record<string, string> }[] = [
        {
          frame: tcpFrame({ ...macs, ...v4, vlans: [100], sport: 40001, dport: 8080, flags: 'S', seq: 1000 }),
          expect: {
            'eth.src': CLIENT_MAC,
            'eth.dst': LB_MAC,
            'vlan.id': '100',
            'ip.src': '10.0.0.1',
            'ip.dst': '10.0.0.2',
            'tcp.srcport': '40001',
            'tcp.dstport': '8080',
            'tcp.flags': '0x0002',
            'tcp.seq_raw': '1000',
            'ip.checksum.status': '1',
            'tcp.checksum.status': '1',
          },
        },
        {
          frame: tcpFrame({
            ...macs,
            ...v6,
            sport: 40002,
            dport: 8443,
            flags: 'PA',
            seq: 5,
            ack: 6,
            payload: Buffer.from('hello'),
          }),
          expect: {
            'ipv6.src': '2001:db8::1',
            'ipv6.dst': '2001:db8::2',
            'tcp.flags': '0x0018',
            'tcp.len': '5',
            'tcp.checksum.status': '1',
          },
        },
        {
          frame: udpFrame({ ...macs, ...v4, vlans: [10, 20], sport: 40003, dport: 9999, payload: Buffer.from('abc') }),
          expect: {
            'vlan.id': '10,20',
            'udp.srcport': '40003',
            'udp.length': '11',
            'udp.checksum.status': '1',
            'ip.checksum.status': '1',
          },
        },
        {
          frame: udpFrame({ ...macs, ...v6, sport: 40004, dport: 9998, payload: Buffer.alloc(100, 0x5a) }),
          expect: { 'ipv6.plen': '108', 'udp.dstport': '9998', 'udp.checksum.status': '1' },
        },
        {
          frame: icmpEchoFrame({ ...macs, ...v4, id: 7, seq: 9, payload: Buffer.from('ping') }),
          expect: { 'icmp.type': '8', 'icmp.ident': '7', 'icmp.seq': '9', 'icmp.checksum.status': '1' },
        },
        {
          frame: icmpEchoFrame({ ...macs, ...v6, type: 129, id: 7, seq: 9 }),
          expect: { 'icmpv6.type': '129', 'icmpv6.echo.identifier': '0x0007', 'icmpv6.checksum.status': '1' },
        },
        {
          frame: arpRequestFrame({ srcMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: '10.0.0.100' }),
          expect: {
            'eth.dst': 'ff:ff:ff:ff:ff:ff',
            'arp.opcode': '1',
            'arp.src.proto_ipv4': '10.0.0.1',
            'arp.dst.proto_ipv4': '10.0.0.100',
          },
        },
        {
          frame: arpReplyFrame({ srcMac: LB_MAC, dstMac: CLIENT_MAC, senderIp: '10.0.0.100', targetIp: '10.0.0.1' }),
          expect: { 'arp.opcode': '2', 'arp.src.hw_mac': LB_MAC, 'arp.dst.hw_mac': CLIENT_MAC },
        },
        {
          frame: ether(
            { dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV4 },
            ipv4(
              { ...v4, proto: IPPROTO_UDP, id: 77, options: Buffer.concat([hex('94040000'), hex('01')]) },
              udp({ sport: 40005, dport: 9997, payload: Buffer.from('opt') }, v4),
            ),
          ),
          expect: {
            'ip.hdr_len': '28',
            'ip.id': '0x004d',
            'udp.srcport': '40005',
            'ip.checksum.status': '1',
            'udp.checksum.status': '1',
          },
        },
        {
          frame: ether(
            { dst: LB_MAC, src: CLIENT_MAC, type: ETHERTYPE_IPV6 },
            ipv6(
              {
                ...v6,
                nextHeader: IPPROTO_TCP,
                extHeaders: [
                  { type: 0 },
                  { type: 60, options: hex('1e01aa') },
                  { type: 43, routingType: 253 },
                  { type: 44, id: 5 },
                ],
              },
              tcp({ sport: 40006, dport: 9996, flags: 'A', seq: 1, ack: 1 }, v6),
            ),
          ),
          expect: {
            'ipv6.nxt': '0',
            'ipv6.hopopts.nxt': '60',
            'ipv6.dstopts.nxt': '43',
            'ipv6.routing.nxt': '44',
            'ipv6.routing.type': '253',
            'ipv6.fraghdr.nxt': '6',
            'ipv6.fraghdr.ident': '0x00000005',
            'tcp.srcport': '40006',
            'tcp.checksum.status': '1',
          },
        },
      ];
      // A deliberately broken checksum proves the checks are switched on.
      const broken = tcpFrame({ ...macs, ...v4, sport: 40007, dport: 9995, flags: 'A' });
      broken[14 + 20 + 16] ^= 0xff;

      const path = join(tmp, 'tshark.pcap');
      writePcap(path, [...cases.map((c) => c.frame), broken]);
      const fields = [...new Set(cases.flatMap((c) => Object.keys(c.expect)))];
      const extra = ['_ws.expert.severity', '_ws.expert.message', '_ws.malformed'];
      const args = ['-r', path, '-n'];
      for (const proto of ['ip', 'tcp', 'udp']) args.push('-o', `${proto}.check_checksum:TRUE`);
      args.push('-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,');
      for (const f of [...fields, ...extra]) args.push('-e', f);
      const r = spawnSync('tshark', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t'));
      assert.equal(rows.length, cases.length + 1);

      cases.forEach((c, i) => {
        const row = rows[i];
        const got = (f: string): string => row[fields.indexOf(f)];
        for (const [f, want] of Object.entries(c.expect)) assert.equal(got(f), want, `frame ${i + 1} ${f}`);
        const severities = row[fields.length]
          .split(',')
          .filter((s) => s !== '')
          .map(Number);
        const messages = row[fields.length + 1];
        assert.ok(
          severities.every((s) => s < PI_WARN),
          `frame ${i + 1}: tshark complains: ${messages}`,
        );
        assert.doesNotMatch(messages, /bad checksum|malformed/i, `frame ${i + 1}`);
        assert.equal(row[fields.length + 2], '', `frame ${i + 1} malformed`);
      });
      const last = rows[cases.length];
      assert.match(last[fields.length + 1], /Bad checksum/);
      assert.equal(last[fields.indexOf('tcp.checksum.status')], '0');
      assert.equal(last[fields.indexOf('ip.checksum.status')], '1');
    },
  );
});
