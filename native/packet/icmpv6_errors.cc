#include "packet/icmpv6_errors.h"

#include <algorithm>
#include <cstring>

#include "packet/ndp.h"
#include "packet/packet_parse.h"

namespace sluice {
namespace {

constexpr uint32_t kMacLen = 6;
constexpr uint32_t kIpv6Len = parse_detail::kIpv6HeaderLen;
constexpr uint32_t kIcmpHeaderLen = 8;  // type, code, checksum, MTU
constexpr uint8_t kReplyHopLimit = 64;

}  // namespace

uint32_t MakeIcmpv6PacketTooBig(uint8_t* frame, uint32_t len, uint32_t room, uint32_t l2_len,
                                const uint8_t our_mac[6], uint32_t mtu) {
  using parse_detail::Be16;
  if (l2_len < parse_detail::kEtherHeaderLen || l2_len > len || len - l2_len < kIpv6Len) return 0;
  uint8_t* ip = frame + l2_len;
  const uint32_t total_len = Be16(ip + 4) + kIpv6Len;
  if ((ip[0] >> 4) != 6 || total_len > len - l2_len) return 0;
  const uint32_t quote_len = std::min(total_len, kIpv6MinMtu - kIpv6Len - kIcmpHeaderLen);
  const uint32_t body = kIcmpHeaderLen + quote_len;
  const uint32_t new_len = l2_len + kIpv6Len + body;
  if (new_len > room) return 0;

  uint8_t client[16], vip[16];
  std::memcpy(client, ip + 8, 16);
  std::memcpy(vip, ip + 24, 16);
  std::memmove(ip + kIpv6Len + kIcmpHeaderLen, ip, quote_len);

  std::memcpy(frame, frame + kMacLen, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);
  std::memset(ip, 0, 4);
  ip[0] = 0x60;
  ip[4] = static_cast<uint8_t>(body >> 8);
  ip[5] = static_cast<uint8_t>(body);
  ip[6] = parse_detail::kProtoIcmpv6;
  ip[7] = kReplyHopLimit;
  std::memcpy(ip + 8, vip, 16);
  std::memcpy(ip + 24, client, 16);

  uint8_t* icmp = ip + kIpv6Len;
  icmp[0] = kIcmpv6TypePacketTooBig;
  icmp[1] = 0;
  icmp[2] = icmp[3] = 0;
  icmp[4] = static_cast<uint8_t>(mtu >> 24);
  icmp[5] = static_cast<uint8_t>(mtu >> 16);
  icmp[6] = static_cast<uint8_t>(mtu >> 8);
  icmp[7] = static_cast<uint8_t>(mtu);
  const uint32_t pseudo = Ipv6PseudoHeaderSum(ip + 8, ip + 24, body, parse_detail::kProtoIcmpv6);
  const uint16_t sum = static_cast<uint16_t>(~OnesComplementSum(icmp, body, pseudo));
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  return new_len;
}

}  // namespace sluice
