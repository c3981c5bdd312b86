// What the fragment path needs of an IPv4 or IPv6 fragment, read after
// ParsePacket (packet/packet_parse.h) returned kIpFragment for it: that status
// keeps fragments off the per-packet fast path, and only they pay for this.
// Pure, like ParsePacket: no mbuf, no EAL, so unit tests and fuzzers run it.
#pragma once

#include <cstdint>
#include <cstring>

#include "packet/packet_parse.h"

namespace sluice {

enum class FragmentStatus : uint8_t {
  kOk = 0,
  kTooSmall,    // a first fragment without the whole TCP or UDP header
  kMalformed,   // a length not a multiple of 8 before the last, past 64 KiB, or headers cut
};

struct FragmentInfo {
  uint32_t id;             // network order as it lies (IPv4: 16 bits, zero-extended)
  uint32_t offset;         // bytes into the datagram's fragmentable part
  uint32_t length;         // bytes of that part this fragment carries
  uint8_t key_proto;       // IPv4 protocol, or the fragment header's next header
  bool more;               // more fragments follow
  uint16_t l4_header_len;  // first fragment: bytes of the part up to the TCP or UDP header's end; else 0
};

namespace parse_detail {

constexpr uint32_t kIpv6FragmentHeaderLen = 8;
constexpr uint32_t kMaxDatagram = 65535;

// A first fragment's TCP or UDP header: whole, like ParseL4 wants it, but a
// UDP length is the whole datagram's, which this fragment does not hold.
// `part` is where the fragmentable part begins: l4_header_len counts from there.
inline FragmentStatus ParseFirstFragmentL4(const uint8_t* frame, uint32_t part, uint32_t off, uint32_t seg_end,
                                           uint32_t ip_end, PacketInfo* out, FragmentInfo* frag) {
  out->l4_offset = static_cast<uint16_t>(off);
  const uint8_t* l4 = frame + off;
  const uint32_t payload = ip_end - off;
  const uint32_t avail = (seg_end < ip_end ? seg_end : ip_end) - off;
  const uint8_t proto = out->l4_proto;
  uint32_t need = 0;
  if (proto == kProtoTcp) {
    if (payload < kTcpMinHeaderLen) return FragmentStatus::kTooSmall;
    if (avail < kTcpMinHeaderLen) return FragmentStatus::kMalformed;
    need = (l4[12] >> 4) * 4u;
    if (need < kTcpMinHeaderLen) return FragmentStatus::kMalformed;
    out->tcp_flags = l4[13];
  } else if (proto == kProtoUdp) {
    need = kUdpHeaderLen;
    if (payload >= need && avail >= need && Be16(l4 + 4) < kUdpHeaderLen) return FragmentStatus::kMalformed;
  } else {
    return FragmentStatus::kOk;  // no ports: not a service's, the caller decides
  }
  // RFC 1858, RFC 7112: the first fragment holds the whole transport header,
  // so no later fragment can change what the balancer decided on.
  if (payload < need) return FragmentStatus::kTooSmall;
  if (avail < need) return FragmentStatus::kMalformed;
  std::memcpy(&out->src_port, l4, 2);
  std::memcpy(&out->dst_port, l4 + 2, 2);
  frag->l4_header_len = static_cast<uint16_t>(off - part + need);
  return FragmentStatus::kOk;
}

inline FragmentStatus CheckFragmentSpan(FragmentInfo* frag) {
  if (frag->more && (frag->length == 0 || frag->length % 8 != 0)) return FragmentStatus::kMalformed;
  if (frag->offset + frag->length > kMaxDatagram) return FragmentStatus::kMalformed;
  return FragmentStatus::kOk;
}

}  // namespace parse_detail

// Fills `frag` and, for a first fragment (offset 0), the ports, l4_offset and
// TCP flags of `info` as ParsePacket does for a whole packet; its l4_proto
// becomes the transport protocol (for IPv6 the one after the fragment header
// and any extension headers behind it). `frame`, `len` and `pkt_len` as given
// to ParsePacket, which must have returned kIpFragment with `info`.
inline FragmentStatus ParseFragment(const uint8_t* frame, uint32_t len, uint32_t pkt_len, PacketInfo* info,
                                    FragmentInfo* frag) {
  using namespace parse_detail;
  std::memset(frag, 0, sizeof(*frag));
  if (pkt_len < len) pkt_len = len;
  const uint32_t l3 = info->l3_offset;
  const uint8_t* ip = frame + l3;
  const uint32_t ip_end = l3 + info->l3_length;
  if (info->ip_version == 4) {
    const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
    const uint16_t word = Be16(ip + 6);
    frag->id = Be16(ip + 4);
    frag->offset = (word & 0x1fffu) * 8u;
    frag->more = word & 0x2000u;
    frag->length = info->l3_length - header_len;
    frag->key_proto = info->l4_proto;
    FragmentStatus span = CheckFragmentSpan(frag);
    if (span != FragmentStatus::kOk || frag->offset != 0) return span;
    return ParseFirstFragmentL4(frame, l3 + header_len, l3 + header_len, len, ip_end, info, frag);
  }
  // IPv6: walk again to the fragment header ParsePacket stopped at.
  const uint32_t hdr_end = ip_end < len ? ip_end : len;
  uint32_t off = l3 + kIpv6HeaderLen;
  uint8_t next = ip[6];
  while (next != kProtoFragment) {
    const uint32_t ext_len = (frame[off + 1] + 1u) * 8u;  // ParsePacket checked these fit
    next = frame[off];
    off += ext_len;
  }
  if (hdr_end - off < kIpv6FragmentHeaderLen) return FragmentStatus::kMalformed;
  const uint8_t* fh = frame + off;
  const uint16_t word = Be16(fh + 2);
  std::memcpy(&frag->id, fh + 4, 4);
  frag->offset = word & 0xfff8u;
  frag->more = word & 1u;
  frag->key_proto = fh[0];
  off += kIpv6FragmentHeaderLen;
  frag->length = ip_end - off;
  FragmentStatus span = CheckFragmentSpan(frag);
  if (span != FragmentStatus::kOk || frag->offset != 0) {
    info->l4_proto = frag->key_proto;
    return span;
  }
  // The first fragment carries the rest of the header chain (RFC 7112).
  const uint32_t part = off;
  next = fh[0];
  while (next == kProtoHopByHop || next == kProtoRouting || next == kProtoDstOpts) {
    if (hdr_end - off < kIpv6ExtMinLen) return FragmentStatus::kTooSmall;
    const uint32_t ext_len = (frame[off + 1] + 1u) * 8u;
    if (hdr_end - off < ext_len) return FragmentStatus::kTooSmall;
    next = frame[off];
    off += ext_len;
  }
  if (next == kProtoFragment || off > UINT16_MAX) return FragmentStatus::kMalformed;
  info->l4_proto = next;
  return ParseFirstFragmentL4(frame, part, off, len, ip_end, info, frag);
}

}  // namespace sluice
