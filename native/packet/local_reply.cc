#include "packet/local_reply.h"

#include <cstring>

#include "packet/ones_complement.h"

namespace sluice {
namespace {

using parse_detail::Be16;

// Ethernet/IPv4 ARP body (RFC 826): htype(2) ptype(2) hlen(1) plen(1) op(2)
// sha(6) spa(4) tha(6) tpa(4).
constexpr uint32_t kArpLen = 28;
constexpr uint32_t kArpOpOff = 6;
constexpr uint32_t kArpShaOff = 8;
constexpr uint32_t kArpSpaOff = 14;
constexpr uint32_t kArpThaOff = 18;
constexpr uint32_t kArpTpaOff = 24;
constexpr uint16_t kArpHtypeEthernet = 1;
constexpr uint16_t kArpOpRequest = 1;
constexpr uint16_t kArpOpReply = 2;
constexpr uint32_t kMinEtherFrame = 60;  // without FCS

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint32_t kIcmpEchoHeaderLen = 8;  // type, code, checksum, id, seq
constexpr uint8_t kReplyTtl = 64;

constexpr uint32_t kMacLen = 6;

// The ARP body of `info`'s frame when it lies wholly inside the frame after an
// Ethernet header and carries Ethernet/IPv4 addresses; nullptr otherwise. The
// offset comes from the caller, so it is checked, not trusted.
const uint8_t* EthIpv4Arp(const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  const uint32_t l3 = info.l3_offset;
  if (l3 < parse_detail::kEtherHeaderLen || l3 > len || len - l3 < kArpLen) return nullptr;
  const uint8_t* arp = frame + l3;
  if (Be16(arp) != kArpHtypeEthernet || Be16(arp + 2) != parse_detail::kEtherTypeIpv4 ||
      arp[4] != kMacLen || arp[5] != 4) {
    return nullptr;
  }
  return arp;
}

}  // namespace

bool ArpRequestTarget(const uint8_t* frame, uint32_t len, const PacketInfo& info,
                      uint32_t* target_ip) {
  const uint8_t* arp = EthIpv4Arp(frame, len, info);
  if (arp == nullptr || Be16(arp + kArpOpOff) != kArpOpRequest) return false;
  std::memcpy(target_ip, arp + kArpTpaOff, 4);
  return true;
}

bool ArpSender(const uint8_t* frame, uint32_t len, const PacketInfo& info,
               uint32_t* sender_ip, uint8_t sender_mac[6]) {
  const uint8_t* arp = EthIpv4Arp(frame, len, info);
  if (arp == nullptr) return false;
  const uint16_t op = Be16(arp + kArpOpOff);
  if (op != kArpOpRequest && op != kArpOpReply) return false;
  std::memcpy(sender_ip, arp + kArpSpaOff, 4);
  std::memcpy(sender_mac, arp + kArpShaOff, kMacLen);
  return true;
}

void MakeArpReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                  const uint8_t our_mac[6]) {
  // The contract has no failure return; a frame that is not a request is left
  // alone rather than turned into a reply nobody asked for.
  uint32_t unused;
  if (!ArpRequestTarget(frame, len, info, &unused)) return;
  uint8_t* arp = frame + info.l3_offset;
  uint8_t requester_mac[kMacLen];
  uint8_t requester_ip[4];
  uint8_t asked_ip[4];
  std::memcpy(requester_mac, arp + kArpShaOff, kMacLen);
  std::memcpy(requester_ip, arp + kArpSpaOff, 4);
  std::memcpy(asked_ip, arp + kArpTpaOff, 4);

  // RFC 826 sends the reply to the sender hardware address, which for a proxy or
  // bridged requester can differ from the Ethernet source.
  std::memcpy(frame, requester_mac, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);
  PutBe16(arp + kArpOpOff, kArpOpReply);
  std::memcpy(arp + kArpShaOff, our_mac, kMacLen);
  std::memcpy(arp + kArpSpaOff, asked_ip, 4);
  std::memcpy(arp + kArpThaOff, requester_mac, kMacLen);
  std::memcpy(arp + kArpTpaOff, requester_ip, 4);
}

bool MakeIcmpEchoReply(uint8_t* frame, uint32_t len, const PacketInfo& info,
                       const uint8_t our_mac[6]) {
  if (info.ip_version != 4 || info.l4_proto != parse_detail::kProtoIcmp ||
      info.icmp_type != kIcmpEchoRequest) {
    return false;
  }
  // Lengths are re-read from the frame rather than taken from `info`, so a stale
  // or forged info can at worst make this return false.
  const uint32_t l3 = info.l3_offset;
  if (l3 < parse_detail::kEtherHeaderLen || l3 > len ||
      len - l3 < parse_detail::kIpv4MinHeaderLen) {
    return false;
  }
  uint8_t* ip = frame + l3;
  const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
  const uint32_t total_len = Be16(ip + 2);
  if ((ip[0] >> 4) != 4 || header_len < parse_detail::kIpv4MinHeaderLen ||
      total_len > len - l3 || total_len < header_len + kIcmpEchoHeaderLen ||
      ip[9] != parse_detail::kProtoIcmp) {
    return false;
  }
  // Answering one fragment would send a reply that still claims to be part of a
  // larger datagram; ParsePacket never reports a fragment as kOk anyway.
  if (Be16(ip + 6) & parse_detail::kIpv4FragMask) return false;
  uint8_t* icmp = ip + header_len;
  if (icmp[0] != kIcmpEchoRequest) return false;

  std::memcpy(frame, frame + kMacLen, kMacLen);
  std::memcpy(frame + kMacLen, our_mac, kMacLen);

  uint8_t addr[4];
  std::memcpy(addr, ip + 12, 4);
  std::memcpy(ip + 12, ip + 16, 4);
  std::memcpy(ip + 16, addr, 4);
  ip[8] = kReplyTtl;
  ip[10] = 0;
  ip[11] = 0;
  uint32_t sum = 0;
  for (uint32_t i = 0; i < header_len; i += 2) sum += Be16(ip + i);
  PutBe16(ip + 10, static_cast<uint16_t>(~FoldSum(sum)));

  // Incremental update (RFC 1624 eqn. 3) for the type byte alone: the payload can
  // be a full MTU and is not otherwise touched, so it is never summed.
  const uint16_t old_word = Be16(icmp);
  icmp[0] = kIcmpEchoReply;
  const uint16_t new_word = Be16(icmp);
  const uint16_t old_check = Be16(icmp + 2);
  const uint32_t icmp_sum = static_cast<uint16_t>(~old_check) +
                            static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) +
                            new_word;
  PutBe16(icmp + 2, static_cast<uint16_t>(~FoldSum(icmp_sum)));
  return true;
}

bool IcmpChecksumValid(const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  if (info.ip_version != 4 || info.l4_proto != parse_detail::kProtoIcmp) return false;
  const uint32_t start = info.l4_offset;
  const uint32_t end = uint32_t{info.l3_offset} + info.l3_length;
  // Offsets come from the caller and are checked, not trusted.
  if (start < info.l3_offset + parse_detail::kIpv4MinHeaderLen || end > len || start > end ||
      end - start < parse_detail::kIcmpMinLen) {
    return false;
  }
  uint32_t sum = 0;
  const uint8_t* p = frame + start;
  const uint32_t n = end - start;
  for (uint32_t i = 0; i + 1 < n; i += 2) sum += Be16(p + i);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  // A message that holds its own correct checksum sums to 0xffff (RFC 1071).
  return FoldSum(sum) == 0xffff;
}

uint32_t BuildArpRequest(uint8_t* buf, uint32_t cap, const uint8_t our_mac[6],
                         uint32_t our_ip, uint32_t target_ip) {
  if (cap < kMinEtherFrame) return 0;
  std::memset(buf, 0, kMinEtherFrame);
  std::memset(buf, 0xff, kMacLen);
  std::memcpy(buf + kMacLen, our_mac, kMacLen);
  PutBe16(buf + 12, parse_detail::kEtherTypeArp);
  uint8_t* arp = buf + parse_detail::kEtherHeaderLen;
  PutBe16(arp, kArpHtypeEthernet);
  PutBe16(arp + 2, parse_detail::kEtherTypeIpv4);
  arp[4] = kMacLen;
  arp[5] = 4;
  PutBe16(arp + kArpOpOff, kArpOpRequest);
  std::memcpy(arp + kArpShaOff, our_mac, kMacLen);
  std::memcpy(arp + kArpSpaOff, &our_ip, 4);
  std::memcpy(arp + kArpTpaOff, &target_ip, 4);
  return kMinEtherFrame;
}

}  // namespace sluice
