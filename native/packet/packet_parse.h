// Header parsing for the per-packet path. Pure: reads bytes, writes a PacketInfo,
// never touches an mbuf, so native unit tests and fuzzers run it without the EAL.
// INTERFACE CONTRACT (implemented below this comment block):
//
//   ParseStatus ParsePacket(const uint8_t* frame, uint32_t len, PacketInfo* out);
//   ParseStatus ParsePacket(const uint8_t* frame, uint32_t len, uint32_t pkt_len, PacketInfo* out);
//
// The second form is for a segmented packet (a chained mbuf): `frame`/`len` is
// the first segment, `pkt_len` the whole packet. Every header must lie in the
// first segment (kTruncated otherwise); IP and UDP length fields are checked
// against the whole packet. The first form is the second with pkt_len == len.
//
// - Ethernet II, then up to kMaxVlanTags 802.1Q / 802.1ad tags (0x8100, 0x88a8).
// - ARP (0x0806): status kArp; l3_offset set. The fixed 8-byte ARP header and the
//   addresses its hlen/plen announce must fit, else kTruncated.
// - IPv4: version 4, IHL >= 5, options allowed, IHL*4 <= total_length, total_length
//   <= bytes remaining in the frame (trailing Ethernet padding is fine). Otherwise
//   kBadIpHeader; frame shorter than a header: kTruncated. More-fragments flag or a
//   non-zero fragment offset: kIpFragment.
// - IPv6: fixed header, then extension headers hop-by-hop (0), routing (43),
//   destination options (60) are skipped; fragment header (44): kIpFragment;
//   payload_length + 40 <= remaining bytes, else kBadIpHeader.
// - TCP: data offset >= 5 and the header fits; UDP: 8 bytes fit and its length
//   field is >= 8 and <= the IP payload. Ports and TCP flags copied. A header cut
//   short: kTruncated; a data offset or length field that cannot be: kBadL4Header.
// - ICMP (v4 proto 1) and ICMPv6 (58): at least 4 bytes (type, code, checksum),
//   8 for echo request and reply (identifier, sequence); l4_offset, icmp_type set.
// - Any other L4 protocol: kOk with l4_proto set and ports zero.
// - Any other ethertype: kNonIp. More than kMaxVlanTags tags: kTooManyVlans.
#pragma once

#include <cstdint>
#include <cstring>

namespace sluice {

constexpr uint32_t kMaxVlanTags = 2;

enum class ParseStatus : uint8_t {
  kOk = 0,        // IPv4 or IPv6 packet, L4 parsed as far as described above
  kArp,
  kTruncated,
  kBadIpHeader,
  kIpFragment,
  kTooManyVlans,
  kNonIp,
  kBadL4Header,   // TCP data offset under 5, UDP length under 8 or beyond the IP payload
};

struct PacketInfo {
  uint16_t l3_offset;     // bytes from frame start to the IP/ARP header
  uint16_t l4_offset;     // bytes from frame start to the L4 header (IP only)
  uint16_t ether_type;    // innermost ethertype, host order
  uint8_t vlan_tags;      // number of VLAN tags skipped
  uint8_t ip_version;     // 4 or 6; 0 when not IP
  uint8_t l4_proto;       // IPPROTO_* (after IPv6 extension headers)
  uint8_t tcp_flags;      // TCP flags byte; 0 for other protocols
  uint8_t icmp_type;      // ICMP / ICMPv6 type; 0 for other protocols
  uint8_t ttl;            // IPv4 TTL or IPv6 hop limit
  uint16_t src_port;      // network byte order; 0 when not TCP/UDP
  uint16_t dst_port;      // network byte order; 0 when not TCP/UDP
  uint32_t l3_length;     // IPv4 total_length, or IPv6 payload_length + 40
  // Addresses in network order. IPv4 uses the first 4 bytes of each and leaves
  // the other 12 zero, so a key built from these is the same for equal flows.
  uint8_t src_addr[16];
  uint8_t dst_addr[16];
};

ParseStatus ParsePacket(const uint8_t* frame, uint32_t len, PacketInfo* out);

// Plain offsets rather than DPDK's header structs: this header must also build in
// fuzzers and unit tests that never see rte_*.h, and every read is a bounds-checked
// byte read anyway. The names live in a nested namespace so they cannot collide
// with constants of the same meaning declared elsewhere in native/.
namespace parse_detail {

constexpr uint32_t kEtherHeaderLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint32_t kIpv4MinHeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kIpv6ExtMinLen = 8;
constexpr uint32_t kTcpMinHeaderLen = 20;
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kIcmpMinLen = 4;  // type, code, checksum
constexpr uint32_t kIcmpEchoLen = 8;  // and identifier, sequence
constexpr uint32_t kArpFixedLen = 8;  // htype, ptype, hlen, plen, op

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kEtherTypeQinQ = 0x88a8;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoDstOpts = 60;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;
constexpr uint8_t kIcmpv6EchoReply = 129;

// IPv4 flags/fragment-offset word: MF bit plus the 13-bit offset. DF is left out
// because a DF packet is whole.
constexpr uint16_t kIpv4FragMask = 0x3fff;

inline uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// `ip_end` is where the IP packet ends (from its own length field), not where the
// frame ends, so Ethernet padding is never mistaken for L4 header bytes. Header
// bytes are read only below `seg_end` as well: in a segmented packet the rest is
// not in this buffer.
inline ParseStatus ParseL4(const uint8_t* frame, uint32_t off, uint32_t seg_end, uint32_t ip_end,
                           uint8_t icmp_proto, PacketInfo* out) {
  out->l4_offset = static_cast<uint16_t>(off);
  const uint8_t* l4 = frame + off;
  const uint32_t payload = ip_end - off;
  const uint32_t avail = (seg_end < ip_end ? seg_end : ip_end) - off;
  const uint8_t proto = out->l4_proto;
  if (proto == kProtoTcp) {
    if (avail < kTcpMinHeaderLen) return ParseStatus::kTruncated;
    const uint32_t header_len = (l4[12] >> 4) * 4u;
    if (header_len < kTcpMinHeaderLen) return ParseStatus::kBadL4Header;
    if (header_len > avail) return ParseStatus::kTruncated;
    std::memcpy(&out->src_port, l4, 2);
    std::memcpy(&out->dst_port, l4 + 2, 2);
    out->tcp_flags = l4[13];
    return ParseStatus::kOk;
  }
  if (proto == kProtoUdp) {
    if (avail < kUdpHeaderLen) return ParseStatus::kTruncated;
    const uint32_t udp_len = Be16(l4 + 4);
    // A datagram claiming more than the IP packet holds is cut or forged; the
    // backend's stack would drop it (Linux: "short packet"), so it is not passed on.
    if (udp_len < kUdpHeaderLen || udp_len > payload) return ParseStatus::kBadL4Header;
    std::memcpy(&out->src_port, l4, 2);
    std::memcpy(&out->dst_port, l4 + 2, 2);
    return ParseStatus::kOk;
  }
  if (proto == icmp_proto) {
    if (avail < kIcmpMinLen) return ParseStatus::kTruncated;
    out->icmp_type = l4[0];
    const bool echo = icmp_proto == kProtoIcmp
                          ? (l4[0] == kIcmpEchoRequest || l4[0] == kIcmpEchoReply)
                          : (l4[0] == kIcmpv6EchoRequest || l4[0] == kIcmpv6EchoReply);
    if (echo && avail < kIcmpEchoLen) return ParseStatus::kTruncated;
  }
  return ParseStatus::kOk;
}

inline ParseStatus ParseIpv4(const uint8_t* frame, uint32_t len, uint32_t pkt_len, uint32_t l3,
                             PacketInfo* out) {
  const uint32_t avail = len - l3;
  if (avail < kIpv4MinHeaderLen) return ParseStatus::kTruncated;
  const uint8_t* ip = frame + l3;
  const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
  const uint32_t total_len = Be16(ip + 2);
  if ((ip[0] >> 4) != 4 || header_len < kIpv4MinHeaderLen) return ParseStatus::kBadIpHeader;
  if (header_len > avail) return ParseStatus::kTruncated;
  if (header_len > total_len || total_len > pkt_len - l3) return ParseStatus::kBadIpHeader;
  out->ip_version = 4;
  out->ttl = ip[8];
  out->l4_proto = ip[9];
  out->l3_length = total_len;
  std::memcpy(out->src_addr, ip + 12, 4);
  std::memcpy(out->dst_addr, ip + 16, 4);
  // Only the first fragment carries ports; balancing it alone would split the
  // datagram across backends, so every fragment is reported, none parsed.
  if (Be16(ip + 6) & kIpv4FragMask) return ParseStatus::kIpFragment;
  return ParseL4(frame, l3 + header_len, len, l3 + total_len, kProtoIcmp, out);
}

inline ParseStatus ParseIpv6(const uint8_t* frame, uint32_t len, uint32_t pkt_len, uint32_t l3,
                             PacketInfo* out) {
  const uint32_t avail = len - l3;
  if (avail < kIpv6HeaderLen) return ParseStatus::kTruncated;
  const uint8_t* ip = frame + l3;
  if ((ip[0] >> 4) != 6) return ParseStatus::kBadIpHeader;
  const uint32_t total_len = Be16(ip + 4) + kIpv6HeaderLen;
  if (total_len > pkt_len - l3) return ParseStatus::kBadIpHeader;
  out->ip_version = 6;
  out->ttl = ip[7];
  out->l3_length = total_len;
  std::memcpy(out->src_addr, ip + 8, 16);
  std::memcpy(out->dst_addr, ip + 24, 16);

  const uint32_t end = l3 + total_len;
  // Extension headers are headers: they are read from the first segment only.
  const uint32_t hdr_end = end < len ? end : len;
  uint32_t off = l3 + kIpv6HeaderLen;
  uint8_t next = ip[6];
  // Each extension header advances at least 8 bytes inside the packet, so the
  // walk is bounded by the packet length without a separate header count.
  while (next == kProtoHopByHop || next == kProtoRouting || next == kProtoDstOpts) {
    if (hdr_end - off < kIpv6ExtMinLen) return ParseStatus::kTruncated;
    const uint32_t ext_len = (frame[off + 1] + 1u) * 8u;
    if (hdr_end - off < ext_len) return ParseStatus::kTruncated;
    next = frame[off];
    off += ext_len;
  }
  out->l4_proto = next;
  if (next == kProtoFragment) return ParseStatus::kIpFragment;
  // Only a >64 KiB frame full of extension headers gets here; l4_offset is 16 bits.
  if (off > UINT16_MAX) return ParseStatus::kBadIpHeader;
  return ParseL4(frame, off, len, end, kProtoIcmpv6, out);
}

}  // namespace parse_detail

// Fields are filled as far as parsing got, so on kIpFragment the L3 fields
// (addresses, ttl, l3_length, ip_version, l4_proto: the IPv4 protocol, or 44 for
// IPv6) are valid; on other failures callers should look only at the status.
inline ParseStatus ParsePacket(const uint8_t* frame, uint32_t len, uint32_t pkt_len,
                               PacketInfo* out) {
  using namespace parse_detail;
  std::memset(out, 0, sizeof(*out));
  if (pkt_len < len) pkt_len = len;
  if (len < kEtherHeaderLen) return ParseStatus::kTruncated;
  uint32_t off = kEtherHeaderLen;
  uint16_t type = Be16(frame + 12);
  uint8_t tags = 0;
  while (type == kEtherTypeVlan || type == kEtherTypeQinQ) {
    if (tags == kMaxVlanTags) {
      out->vlan_tags = tags;
      out->ether_type = type;
      return ParseStatus::kTooManyVlans;
    }
    if (len - off < kVlanTagLen) return ParseStatus::kTruncated;
    type = Be16(frame + off + 2);
    off += kVlanTagLen;
    ++tags;
  }
  out->vlan_tags = tags;
  out->ether_type = type;
  out->l3_offset = static_cast<uint16_t>(off);
  if (type == kEtherTypeIpv4) return ParseIpv4(frame, len, pkt_len, off, out);
  if (type == kEtherTypeIpv6) return ParseIpv6(frame, len, pkt_len, off, out);
  if (type == kEtherTypeArp) {
    if (len - off < kArpFixedLen) return ParseStatus::kTruncated;
    const uint8_t* arp = frame + off;
    const uint32_t addresses = 2u * (arp[4] + arp[5]);  // sender and target, hardware and protocol
    return len - off - kArpFixedLen < addresses ? ParseStatus::kTruncated : ParseStatus::kArp;
  }
  return ParseStatus::kNonIp;
}

inline ParseStatus ParsePacket(const uint8_t* frame, uint32_t len, PacketInfo* out) {
  return ParsePacket(frame, len, len, out);
}

// What the per-packet fast path needs of the common packet. The addresses and
// the ports are kept as the header holds them, each pair one load: they are the
// flow key's two words almost as they are (tables/flow_table.h), and built from four
// fields the key cost a dozen shifts, ors and spills a packet.
struct FastIpv4 {
  uint64_t addrs;      // source | destination << 32, each in network order
  uint32_t ports;      // source | destination << 16, each in network order
  uint8_t l4_proto;
  uint8_t tcp_flags;
  uint32_t src_addr() const { return static_cast<uint32_t>(addrs); }
  uint32_t dst_addr() const { return static_cast<uint32_t>(addrs >> 32); }
  uint16_t src_port() const { return static_cast<uint16_t>(ports); }
  uint16_t dst_port() const { return static_cast<uint16_t>(ports >> 16); }
};

// The shortest frame ParseFastIpv4 takes: Ethernet, IPv4 without options, UDP.
constexpr uint32_t kFastIpv4MinLen = parse_detail::kEtherHeaderLen + parse_detail::kIpv4MinHeaderLen +
                                     parse_detail::kUdpHeaderLen;

// The common packet alone: untagged IPv4 without options and unfragmented,
// carrying a whole TCP header or a valid UDP header. `frame` is at least
// kFastIpv4MinLen long and FrameHead (packet/frame_head.h) has matched it, which
// checked its ethertype and its first IP byte (0x45) together with the MACs.
// True only when ParsePacket would return kOk for the frame with the same
// addresses, ports, protocol and flags and l3_offset 14 (parse_fuzz checks the
// two together on every input); false for anything else, which then goes
// through ParsePacket. It exists because ParsePacket, general and filling all of
// PacketInfo, is a large share of a forwarded packet's instructions
// (docs/performance-notes.md, "The per-packet path").
inline bool ParseFastIpv4(const uint8_t* frame, uint32_t len, uint32_t pkt_len, FastIpv4* out) {
  using namespace parse_detail;
  constexpr uint32_t l3 = kEtherHeaderLen;
  constexpr uint32_t l4_off = l3 + kIpv4MinHeaderLen;
  if (pkt_len < len) pkt_len = len;
  const uint8_t* ip = frame + l3;
  const uint32_t total_len = Be16(ip + 2);
  if (total_len < kIpv4MinHeaderLen || total_len > pkt_len - l3) return false;
  if (Be16(ip + 6) & kIpv4FragMask) return false;
  const uint32_t ip_end = l3 + total_len;
  const uint32_t avail = (len < ip_end ? len : ip_end) - l4_off;
  const uint8_t* l4 = ip + kIpv4MinHeaderLen;
  const uint8_t proto = ip[9];
  if (proto == kProtoTcp) {
    if (avail < kTcpMinHeaderLen) return false;
    const uint32_t header_len = (l4[12] >> 4) * 4u;
    if (header_len < kTcpMinHeaderLen || header_len > avail) return false;
    out->tcp_flags = l4[13];
  } else if (proto == kProtoUdp) {
    const uint32_t udp_len = Be16(l4 + 4);
    if (avail < kUdpHeaderLen || udp_len < kUdpHeaderLen || udp_len > total_len - kIpv4MinHeaderLen) return false;
    out->tcp_flags = 0;
  } else {
    return false;
  }
  out->l4_proto = proto;
  std::memcpy(&out->addrs, ip + 12, 8);  // little endian: source in the low half
  std::memcpy(&out->ports, l4, 4);
  return true;
}

// A source no host may send from (RFC 1122 3.2.1.3, RFC 1812 5.3.7; Linux calls
// these martians): 0.0.0.0/8, loopback 127.0.0.0/8, multicast 224.0.0.0/4 and the
// limited broadcast 255.255.255.255. `addr` is 4 bytes in network order.
// The first octet decides all but the broadcast address: one byte of a table
// indexed by it, which is fewer instructions than testing a bit in a bitmap.
namespace parse_detail {
struct MartianFirstOctets {
  uint8_t martian[256];
  constexpr MartianFirstOctets() : martian() {
    martian[0] = 1;
    martian[127] = 1;
    for (int octet = 224; octet < 240; octet++) martian[octet] = 1;
  }
};
inline constexpr MartianFirstOctets kMartianFirstOctets{};
}  // namespace parse_detail

inline bool IsMartianIpv4Source(const uint8_t* addr) {
  uint32_t whole;
  std::memcpy(&whole, addr, 4);
  return parse_detail::kMartianFirstOctets.martian[addr[0]] != 0 || whole == UINT32_MAX;
}

}  // namespace sluice
