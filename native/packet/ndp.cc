#include "packet/ndp.h"

#include <cstring>

#include "packet/ones_complement.h"

namespace sluice {
namespace {

using parse_detail::Be16;

constexpr uint32_t kMacLen = 6;
constexpr uint32_t kIpv6Len = parse_detail::kIpv6HeaderLen;
constexpr uint32_t kNdpBodyLen = 24;      // type, code, checksum, flags/reserved, target
constexpr uint32_t kLinkOptionLen = 8;    // type, length (in 8-byte units), MAC
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;
constexpr uint8_t kEchoHopLimit = 64;
constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

bool IsUnspecified(const uint8_t* a) {
  for (int i = 0; i < 16; i++) {
    if (a[i] != 0) return false;
  }
  return true;
}

// The ICMPv6 message of `info`'s frame when the offsets are consistent with an
// IPv6 header and the message lies inside `len`: [start, end) of the frame.
bool IcmpSpan(uint32_t len, const PacketInfo& info, uint32_t* start, uint32_t* end) {
  if (info.ip_version != 6 || info.l4_proto != parse_detail::kProtoIcmpv6) return false;
  *start = info.l4_offset;
  *end = uint32_t{info.l3_offset} + info.l3_length;
  return info.l3_offset >= parse_detail::kEtherHeaderLen && *start >= info.l3_offset + kIpv6Len &&
         *end <= len && *start <= *end && *end - *start >= parse_detail::kIcmpMinLen;
}

// The target, one link-layer address option and the checksum of an NS or NA
// whose IPv6 header (addresses set) is at `ip`, the ICMPv6 type and flags written.
void FinishNdMessage(uint8_t* ip, const uint8_t target[16], uint8_t option, const uint8_t mac[6]);

}  // namespace

uint32_t Ipv6PseudoHeaderSum(const uint8_t src[16], const uint8_t dst[16], uint32_t upper_len,
                             uint8_t next_header) {
  uint32_t sum = 0;
  for (int i = 0; i < 16; i += 2) sum += Be16(src + i) + Be16(dst + i);
  return sum + (upper_len >> 16) + (upper_len & 0xffff) + next_header;
}

uint16_t OnesComplementSum(const uint8_t* p, uint32_t n, uint32_t initial) {
  uint32_t sum = FoldSum(initial);
  for (uint32_t i = 0; i + 1 < n; i += 2) sum += Be16(p + i);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return FoldSum(sum);
}

bool Icmpv6ChecksumValid(const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  uint32_t start, end;
  if (!IcmpSpan(len, info, &start, &end)) return false;
  const uint8_t* ip = frame + info.l3_offset;
  const uint32_t pseudo = Ipv6PseudoHeaderSum(ip + 8, ip + 24, end - start, parse_detail::kProtoIcmpv6);
  return OnesComplementSum(frame + start, end - start, pseudo) == 0xffff;
}

bool ParseNdp(const uint8_t* frame, uint32_t len, const PacketInfo& info, NdpMessage* out) {
  uint32_t start, end;
  if (!IcmpSpan(len, info, &start, &end) || end - start < kNdpBodyLen) return false;
  const uint8_t* ip = frame + info.l3_offset;
  const uint8_t* icmp = frame + start;
  // A hop limit below 255 means a router forwarded it: off-link, so forged (RFC 4861 7.1).
  if (ip[7] != kNdpHopLimit || icmp[1] != 0) return false;
  if (icmp[0] != kIcmpv6NeighborSolicit && icmp[0] != kIcmpv6NeighborAdvert) return false;
  if (icmp[8] == 0xff) return false;  // a multicast target
  if (!Icmpv6ChecksumValid(frame, len, info)) return false;
  out->type = icmp[0];
  out->has_link_addr = false;
  std::memcpy(out->target, icmp + 8, 16);
  const uint8_t wanted = icmp[0] == kIcmpv6NeighborSolicit ? kOptSourceLinkAddr : kOptTargetLinkAddr;
  for (uint32_t off = start + kNdpBodyLen; off < end;) {
    if (end - off < 2) return false;
    const uint32_t opt_len = frame[off + 1] * 8u;
    if (opt_len == 0 || opt_len > end - off) return false;
    if (frame[off] == wanted && opt_len >= kLinkOptionLen) {
      out->has_link_addr = true;
      std::memcpy(out->link_addr, frame + off + 2, kMacLen);
    }
    off += opt_len;
  }
  if (out->type == kIcmpv6NeighborSolicit && out->has_link_addr && IsUnspecified(ip + 8)) return false;
  return true;
}

namespace {

void FinishNdMessage(uint8_t* ip, const uint8_t target[16], uint8_t option, const uint8_t mac[6]) {
  uint8_t* icmp = ip + kIpv6Len;
  std::memcpy(icmp + 8, target, 16);
  uint8_t* opt = icmp + kNdpBodyLen;
  opt[0] = option;
  opt[1] = 1;
  std::memcpy(opt + 2, mac, kMacLen);
  const uint32_t body = kNdpBodyLen + kLinkOptionLen;
  icmp[2] = icmp[3] = 0;
  const uint32_t pseudo = Ipv6PseudoHeaderSum(ip + 8, ip + 24, body, parse_detail::kProtoIcmpv6);
  PutBe16(icmp + 2, static_cast<uint16_t>(~OnesComplementSum(icmp, body, pseudo)));
}

}  // namespace

uint32_t MakeNeighborAdvert(uint8_t* frame, uint32_t len, uint32_t room, const PacketInfo& info,
                            const uint8_t our_mac[6], const uint8_t target[16]) {
  const uint32_t l3 = info.l3_offset;
  const uint32_t new_len = l3 + kIpv6Len + kNdpBodyLen + kLinkOptionLen;
  if (l3 < parse_detail::kEtherHeaderLen || l3 > len || len - l3 < kIpv6Len || new_len > room) return 0;
  uint8_t* ip = frame + l3;
  uint8_t asker[16];
  std::memcpy(asker, ip + 8, 16);
  const bool from_unspecified = IsUnspecified(asker);

  std::memcpy(frame, frame + kMacLen, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);
  if (from_unspecified) {
    const uint8_t all_nodes_mac[kMacLen] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(frame, all_nodes_mac, kMacLen);
  }
  ip[0] = 0x60;
  ip[1] = 0;
  ip[2] = 0;
  ip[3] = 0;
  PutBe16(ip + 4, static_cast<uint16_t>(kNdpBodyLen + kLinkOptionLen));
  ip[6] = parse_detail::kProtoIcmpv6;
  ip[7] = kNdpHopLimit;
  std::memcpy(ip + 8, target, 16);
  std::memcpy(ip + 24, from_unspecified ? kAllNodes : asker, 16);

  uint8_t* icmp = ip + kIpv6Len;
  icmp[0] = kIcmpv6NeighborAdvert;
  icmp[1] = 0;
  icmp[2] = 0;
  icmp[3] = 0;
  // An answer to a duplicate-address probe is unsolicited (RFC 4861 7.2.4).
  icmp[4] = static_cast<uint8_t>(kNaOverride | (from_unspecified ? 0 : kNaSolicited));
  icmp[5] = icmp[6] = icmp[7] = 0;
  FinishNdMessage(ip, target, kOptTargetLinkAddr, our_mac);
  return new_len;
}

uint32_t BuildNeighborSolicit(uint8_t* buf, uint32_t cap, const uint8_t our_mac[6],
                              const uint8_t our_ip6[16], const uint8_t target[16]) {
  if (cap < kNeighborSolicitFrameLen) return 0;
  std::memset(buf, 0, kNeighborSolicitFrameLen);
  const uint8_t group_mac[kMacLen] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
  std::memcpy(buf, group_mac, kMacLen);
  std::memcpy(buf + kMacLen, our_mac, kMacLen);
  PutBe16(buf + 12, parse_detail::kEtherTypeIpv6);
  uint8_t* ip = buf + parse_detail::kEtherHeaderLen;
  ip[0] = 0x60;
  PutBe16(ip + 4, static_cast<uint16_t>(kNdpBodyLen + kLinkOptionLen));
  ip[6] = parse_detail::kProtoIcmpv6;
  ip[7] = kNdpHopLimit;
  std::memcpy(ip + 8, our_ip6, 16);
  // Solicited-node group ff02::1:ffXX:XXXX (RFC 4291 2.7.1).
  ip[24] = 0xff;
  ip[25] = 0x02;
  ip[35] = 0x01;
  ip[36] = 0xff;
  std::memcpy(ip + 37, target + 13, 3);
  uint8_t* icmp = ip + kIpv6Len;
  icmp[0] = kIcmpv6NeighborSolicit;
  FinishNdMessage(ip, target, kOptSourceLinkAddr, our_mac);
  return kNeighborSolicitFrameLen;
}

bool MakeIcmpv6EchoReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                         const uint8_t our_mac[6]) {
  uint32_t start, end;
  if (!IcmpSpan(len, info, &start, &end) || end - start < parse_detail::kIcmpEchoLen) return false;
  uint8_t* icmp = frame + start;
  if (icmp[0] != parse_detail::kIcmpv6EchoRequest) return false;
  uint8_t* ip = frame + info.l3_offset;
  std::memcpy(frame, frame + kMacLen, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);
  uint8_t addr[16];
  std::memcpy(addr, ip + 8, 16);
  std::memcpy(ip + 8, ip + 24, 16);
  std::memcpy(ip + 24, addr, 16);
  ip[7] = kEchoHopLimit;
  // The pseudo header's sum does not change when the addresses swap, so only the
  // type byte is accounted for (RFC 1624 eqn. 3).
  const uint16_t old_word = Be16(icmp);
  icmp[0] = parse_detail::kIcmpv6EchoReply;
  const uint32_t sum = static_cast<uint16_t>(~Be16(icmp + 2)) +
                       static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) + Be16(icmp);
  PutBe16(icmp + 2, static_cast<uint16_t>(~FoldSum(sum)));
  return true;
}

}  // namespace sluice
