// Frame builders for the native tests. Written from the RFC layouts, byte by
// byte, and sharing nothing with the code under test, so a misunderstanding in
// one is not silently repeated in the other.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace sluice_test {

using Bytes = std::vector<uint8_t>;

inline void Put8(Bytes& b, uint32_t v) { b.push_back(static_cast<uint8_t>(v)); }
inline void Put16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
inline void Append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline void Append(Bytes& b, std::initializer_list<uint8_t> more) { b.insert(b.end(), more); }
inline uint16_t Get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

const Bytes kMacA = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
const Bytes kMacB = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
const Bytes kMacOurs = {0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01};

// RFC 1071 checksum over any length (odd lengths padded with a zero byte).
// Summing a region that already holds its checksum gives 0xffff when valid.
inline uint16_t OnesSum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
inline uint16_t Checksum(const uint8_t* p, size_t n) {
  return static_cast<uint16_t>(~OnesSum(p, n));
}

// Ethernet header: dst, src, then one TPID+TCI per tag, then `type`.
inline Bytes Ether(uint16_t type, std::initializer_list<uint16_t> tpids = {},
                   const Bytes& dst = kMacOurs, const Bytes& src = kMacA) {
  Bytes b;
  Append(b, dst);
  Append(b, src);
  uint16_t vid = 100;
  for (uint16_t tpid : tpids) {
    Put16(b, tpid);
    Put16(b, vid++);
  }
  Put16(b, type);
  return b;
}

struct Ipv4Opts {
  uint8_t proto = 6;
  uint8_t ttl = 61;
  uint8_t ihl = 5;            // options (IHL-5 words of NOP) follow the fixed header
  uint16_t frag = 0x4000;     // DF
  int total_len = -1;         // -1: header + payload
  uint8_t version = 4;
  uint32_t src = 0xc0a80a01;  // 192.168.10.1
  uint32_t dst = 0x0a000064;  // 10.0.0.100
};

inline Bytes Ipv4(const Ipv4Opts& o, const Bytes& payload) {
  Bytes b;
  Put8(b, (o.version << 4) | o.ihl);
  Put8(b, 0);
  const uint32_t hl = (o.ihl >= 5 ? o.ihl : 5) * 4u;
  Put16(b, o.total_len >= 0 ? static_cast<uint32_t>(o.total_len) : hl + payload.size());
  Put16(b, 0x1234);
  Put16(b, o.frag);
  Put8(b, o.ttl);
  Put8(b, o.proto);
  Put16(b, 0);
  Put32(b, o.src);
  Put32(b, o.dst);
  while (b.size() < hl) Put8(b, 1);  // NOP options
  const uint16_t c = Checksum(b.data(), b.size());
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
  Append(b, payload);
  return b;
}

const Bytes kV6Src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Bytes kV6Dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64};

// `rest` is everything after the fixed header (extension headers already linked,
// then L4); `next` names the first of it.
inline Bytes Ipv6(uint8_t next, const Bytes& rest, uint8_t hop_limit = 57,
                  int payload_len = -1, uint8_t version = 6) {
  Bytes b;
  Put32(b, static_cast<uint32_t>(version) << 28);
  Put16(b, payload_len >= 0 ? static_cast<uint32_t>(payload_len) : rest.size());
  Put8(b, next);
  Put8(b, hop_limit);
  Append(b, kV6Src);
  Append(b, kV6Dst);
  Append(b, rest);
  return b;
}

// Extension header of `units` 8-byte units beyond the first (Hdr Ext Len).
inline Bytes Ipv6Ext(uint8_t next, uint8_t units) {
  Bytes b;
  Put8(b, next);
  Put8(b, units);
  // PadN option filling the rest, so it is also a valid options header.
  Put8(b, 1);
  Put8(b, 4 + units * 8);
  while (b.size() < 8u + units * 8u) Put8(b, 0);
  return b;
}

inline Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t doff = 5,
                 const Bytes& payload = {}) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put32(b, 1000);
  Put32(b, 0);
  Put8(b, doff << 4);
  Put8(b, flags);
  Put16(b, 65535);
  Put16(b, 0);  // checksum: the parser does not look at it
  Put16(b, 0);
  for (uint32_t i = 20; i < doff * 4u; ++i) Put8(b, 1);
  Append(b, payload);
  return b;
}

inline Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload = {},
                 int length = -1) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, length >= 0 ? static_cast<uint32_t>(length) : 8 + payload.size());
  Put16(b, 0);
  Append(b, payload);
  return b;
}

inline Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t seq, const Bytes& payload) {
  Bytes b;
  Put8(b, type);
  Put8(b, 0);
  Put16(b, 0);
  Put16(b, id);
  Put16(b, seq);
  Append(b, payload);
  const uint16_t c = Checksum(b.data(), b.size());
  b[2] = static_cast<uint8_t>(c >> 8);
  b[3] = static_cast<uint8_t>(c);
  return b;
}

// ARP body; op 1 request, 2 reply.
inline Bytes Arp(uint16_t op, const Bytes& sha, uint32_t spa, const Bytes& tha, uint32_t tpa,
                 uint16_t htype = 1, uint16_t ptype = 0x0800, uint8_t hlen = 6,
                 uint8_t plen = 4) {
  Bytes b;
  Put16(b, htype);
  Put16(b, ptype);
  Put8(b, hlen);
  Put8(b, plen);
  Put16(b, op);
  Append(b, sha);
  Put32(b, spa);
  Append(b, tha);
  Put32(b, tpa);
  return b;
}

inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) Append(b, p);
  return b;
}

inline Bytes PadTo(Bytes b, size_t n, uint8_t fill = 0) {
  if (b.size() < n) b.resize(n, fill);
  return b;
}

// An exactly sized heap copy of the first n bytes, so that ASan reports a read
// of byte n; a prefix of a larger vector would hide it.
struct ExactCopy {
  ExactCopy(const Bytes& b, size_t n) : data(new uint8_t[n]), size(n) {
    for (size_t i = 0; i < n; ++i) data[i] = b[i];
  }
  std::unique_ptr<uint8_t[]> data;
  size_t size;
};

}  // namespace sluice_test
