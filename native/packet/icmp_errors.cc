#include "packet/icmp_errors.h"

#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#include "packet/packet_parse.h"

namespace sluice {
namespace {

constexpr uint32_t kMacLen = 6;
constexpr uint32_t kIpHeaderLen = sizeof(struct rte_ipv4_hdr);
constexpr uint32_t kIcmpHeaderLen = 8;  // type, code, checksum, unused, next-hop MTU
constexpr uint8_t kReplyTtl = 64;

}  // namespace

uint32_t MakeIcmpFragNeeded(uint8_t* frame, uint32_t len, uint32_t room, uint32_t l2_len,
                            const uint8_t our_mac[6], uint16_t next_hop_mtu) {
  using parse_detail::Be16;
  if (l2_len < parse_detail::kEtherHeaderLen || l2_len > len || len - l2_len < kIpHeaderLen) return 0;
  const uint8_t* ip = frame + l2_len;
  const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
  const uint32_t total_len = Be16(ip + 2);
  if ((ip[0] >> 4) != 4 || header_len < kIpHeaderLen || total_len < header_len || total_len > len - l2_len) {
    return 0;
  }
  const uint32_t quote_len = std::min(total_len, kIcmpErrorMaxDatagram - kIpHeaderLen - kIcmpHeaderLen);
  const uint32_t new_len = l2_len + kIpHeaderLen + kIcmpHeaderLen + quote_len;
  if (new_len > room) return 0;

  uint32_t client, vip;
  std::memcpy(&client, ip + 12, 4);
  std::memcpy(&vip, ip + 16, 4);
  uint8_t* quote = frame + l2_len + kIpHeaderLen + kIcmpHeaderLen;
  std::memmove(quote, ip, quote_len);

  std::memcpy(frame, frame + kMacLen, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);

  auto* reply = reinterpret_cast<struct rte_ipv4_hdr*>(frame + l2_len);
  reply->version_ihl = RTE_IPV4_VHL_DEF;
  reply->type_of_service = 0;
  reply->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(new_len - l2_len));
  reply->packet_id = 0;
  reply->fragment_offset = 0;
  reply->time_to_live = kReplyTtl;
  reply->next_proto_id = IPPROTO_ICMP;
  reply->hdr_checksum = 0;
  reply->src_addr = vip;
  reply->dst_addr = client;
  reply->hdr_checksum = rte_ipv4_cksum(reply);

  uint8_t* icmp = frame + l2_len + kIpHeaderLen;
  icmp[0] = kIcmpTypeUnreachable;
  icmp[1] = kIcmpCodeFragNeeded;
  std::memset(icmp + 2, 0, 4);
  uint16_t mtu = rte_cpu_to_be_16(next_hop_mtu);
  std::memcpy(icmp + 6, &mtu, 2);
  // The ones' complement sum does not depend on byte order, so the native-order
  // result is stored as is.
  uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(icmp, kIcmpHeaderLen + quote_len));
  std::memcpy(icmp + 2, &sum, 2);
  return new_len;
}

}  // namespace sluice
