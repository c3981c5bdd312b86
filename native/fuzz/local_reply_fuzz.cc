// The ARP and ICMP echo responders of local_reply.{h,cc}, and the IPv6 neighbor
// discovery and ICMPv6 echo responders of ndp.{h,cc}, on arbitrary frames.
// A reply that is produced must re-parse as what it claims to be, answer exactly
// what was asked and carry valid checksums; a frame that is not answered must be
// left untouched. The responders are also given a forged PacketInfo, which their
// contract says they check rather than trust: there only ASan has a say.
#include <cstdint>
#include <cstring>
#include <memory>

#include "packet/local_reply.h"
#include "packet/ndp.h"
#include "packet/packet_parse.h"
#include "frame_checks.h"
#include "fuzz_check.h"

namespace {

using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;
using sluice_fuzz::Get16;
namespace pd = sluice::parse_detail;

constexpr uint8_t kOurMac[6] = {0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01};
constexpr uint8_t kOurTarget[16] = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
constexpr uint32_t kArpLen = 28;
constexpr uint32_t kArpShaOff = 8, kArpSpaOff = 14, kArpThaOff = 18, kArpTpaOff = 24;

// An exactly sized heap copy, so ASan sees a write or read one byte past the frame.
struct Frame {
  Frame(const uint8_t* data, uint32_t n) : bytes(new uint8_t[n ? n : 1]), len(n) { std::memcpy(bytes.get(), data, n); }
  uint8_t* get() { return bytes.get(); }
  bool Same(const uint8_t* other) const { return std::memcmp(bytes.get(), other, len) == 0; }
  std::unique_ptr<uint8_t[]> bytes;
  uint32_t len;
};

bool SameBytes(const void* a, const void* b, uint32_t n) { return std::memcmp(a, b, n) == 0; }

void CheckArp(const uint8_t* request, uint32_t len, const PacketInfo& info) {
  uint32_t target = 0, sender_ip = 0;
  uint8_t sender_mac[6];
  const bool is_request = sluice::ArpRequestTarget(request, len, info, &target);
  const bool has_sender = sluice::ArpSender(request, len, info, &sender_ip, sender_mac);
  FUZZ_CHECK(!is_request || has_sender);

  Frame reply(request, len);
  sluice::MakeArpReply(reply.get(), len, info, kOurMac);
  if (!is_request) {
    FUZZ_CHECK(reply.Same(request));
    return;
  }
  const uint8_t* out = reply.get();
  const uint32_t l3 = info.l3_offset;
  PacketInfo again;
  FUZZ_CHECK(ParsePacket(out, len, &again) == ParseStatus::kArp);
  FUZZ_CHECK(again.l3_offset == l3 && again.vlan_tags == info.vlan_tags);
  FUZZ_CHECK(l3 + kArpLen <= len);
  // Sent to the requester's hardware address, from ours; tags and type kept.
  FUZZ_CHECK(SameBytes(out, sender_mac, 6) && SameBytes(out + 6, kOurMac, 6));
  FUZZ_CHECK(SameBytes(out + 12, request + 12, l3 - 12));
  const uint8_t* arp = out + l3;
  FUZZ_CHECK(SameBytes(arp, request + l3, 6));  // htype, ptype, hlen, plen
  FUZZ_CHECK(Get16(arp + 6) == 2);
  FUZZ_CHECK(SameBytes(arp + kArpShaOff, kOurMac, 6));
  FUZZ_CHECK(SameBytes(arp + kArpSpaOff, &target, 4));
  FUZZ_CHECK(SameBytes(arp + kArpThaOff, sender_mac, 6));
  FUZZ_CHECK(SameBytes(arp + kArpTpaOff, &sender_ip, 4));
  FUZZ_CHECK(SameBytes(arp + kArpLen, request + l3 + kArpLen, len - l3 - kArpLen));  // padding

  // The reply is not a request (no reply loops) and names us as its sender.
  uint32_t unused, replied_ip;
  uint8_t replied_mac[6];
  FUZZ_CHECK(!sluice::ArpRequestTarget(out, len, again, &unused));
  FUZZ_CHECK(sluice::ArpSender(out, len, again, &replied_ip, replied_mac));
  FUZZ_CHECK(replied_ip == target && SameBytes(replied_mac, kOurMac, 6));
}

void CheckIcmpEcho(const uint8_t* request, uint32_t len, const PacketInfo& info) {
  Frame reply(request, len);
  if (!sluice::MakeIcmpEchoReply(reply.get(), len, info, kOurMac)) {
    FUZZ_CHECK(reply.Same(request));
    return;
  }
  FUZZ_CHECK(info.icmp_type == 8);
  const uint8_t* out = reply.get();
  PacketInfo again;
  FUZZ_CHECK(ParsePacket(out, len, &again) == ParseStatus::kOk);
  FUZZ_CHECK(again.ip_version == 4 && again.l4_proto == pd::kProtoIcmp && again.icmp_type == 0);
  FUZZ_CHECK(again.l3_offset == info.l3_offset && again.l4_offset == info.l4_offset &&
             again.l3_length == info.l3_length && again.ttl == 64);
  FUZZ_CHECK(std::memcmp(again.src_addr, info.dst_addr, 16) == 0 && std::memcmp(again.dst_addr, info.src_addr, 16) == 0);
  FUZZ_CHECK(SameBytes(out, request + 6, 6) && SameBytes(out + 6, kOurMac, 6));
  FUZZ_CHECK(SameBytes(out + 12, request + 12, info.l3_offset - 12));

  const uint8_t* ip = out + info.l3_offset;
  const uint8_t* request_ip = request + info.l3_offset;
  // Only TTL, checksum and the swapped addresses change in the IP header.
  const uint32_t header_len = (ip[0] & 0x0fu) * 4u;
  FUZZ_CHECK(SameBytes(ip, request_ip, 8) && ip[9] == request_ip[9]);
  FUZZ_CHECK(SameBytes(ip + 20, request_ip + 20, header_len - 20));
  FUZZ_CHECK(sluice_fuzz::Ipv4HeaderChecksumValid(ip));
  // The ICMP checksum is updated, not recomputed: a request whose checksum was
  // wrong gets a reply whose checksum is wrong, and a right one a right one.
  FUZZ_CHECK(sluice_fuzz::IcmpChecksumValid(ip) == sluice_fuzz::IcmpChecksumValid(request_ip));
  // Code, identifier, sequence, payload and any Ethernet padding unchanged.
  const uint32_t l4 = info.l4_offset;
  FUZZ_CHECK(out[l4 + 1] == request[l4 + 1]);
  FUZZ_CHECK(SameBytes(out + l4 + 4, request + l4 + 4, len - l4 - 4));
}

// An NS the ND parser accepts becomes an NA that re-parses as the answer for
// the same target, from us, with a valid checksum; what ParseNdp refuses is
// never answered by the data path, so only the parser runs on it.
void CheckNdp(const uint8_t* request, uint32_t len, const PacketInfo& info) {
  sluice::NdpMessage nd;
  if (!sluice::ParseNdp(request, len, info, &nd)) return;
  FUZZ_CHECK(sluice::Icmpv6ChecksumValid(request, len, info));
  FUZZ_CHECK(request[info.l3_offset + 7] == 255);
  if (nd.type != sluice::kIcmpv6NeighborSolicit) return;
  const uint32_t room = info.l3_offset + 72;
  Frame reply(request, len > room ? len : room);
  const uint32_t n = sluice::MakeNeighborAdvert(reply.get(), len, room, info, kOurMac, nd.target);
  FUZZ_CHECK(n == room);
  PacketInfo again;
  FUZZ_CHECK(ParsePacket(reply.get(), n, &again) == ParseStatus::kOk);
  FUZZ_CHECK(again.l4_offset == info.l3_offset + 40u && again.icmp_type == sluice::kIcmpv6NeighborAdvert);
  sluice::NdpMessage na;
  FUZZ_CHECK(sluice::ParseNdp(reply.get(), n, again, &na));
  FUZZ_CHECK(SameBytes(na.target, nd.target, 16) && na.has_link_addr && SameBytes(na.link_addr, kOurMac, 6));
  FUZZ_CHECK(SameBytes(reply.get() + 6, kOurMac, 6) && SameBytes(again.src_addr, nd.target, 16));
  FUZZ_CHECK(SameBytes(reply.get() + 12, request + 12, info.l3_offset - 12));  // tags and ethertype kept
}

// An ICMPv6 echo request becomes the reply in place, its checksum as valid as
// the request's; anything else is left untouched.
void CheckIcmpv6Echo(const uint8_t* request, uint32_t len, const PacketInfo& info) {
  Frame reply(request, len);
  if (!sluice::MakeIcmpv6EchoReply(reply.get(), len, info, kOurMac)) {
    FUZZ_CHECK(reply.Same(request));
    return;
  }
  FUZZ_CHECK(info.icmp_type == pd::kIcmpv6EchoRequest);
  PacketInfo again;
  FUZZ_CHECK(ParsePacket(reply.get(), len, &again) == ParseStatus::kOk);
  FUZZ_CHECK(again.icmp_type == pd::kIcmpv6EchoReply && again.ttl == 64);
  FUZZ_CHECK(SameBytes(again.src_addr, info.dst_addr, 16) && SameBytes(again.dst_addr, info.src_addr, 16));
  FUZZ_CHECK(sluice::Icmpv6ChecksumValid(reply.get(), len, again) == sluice::Icmpv6ChecksumValid(request, len, info));
  const uint32_t l4 = info.l4_offset;
  FUZZ_CHECK(SameBytes(reply.get() + l4 + 4, request + l4 + 4, len - l4 - 4));
}

// The responders on a PacketInfo that does not describe the frame: offsets and
// fields taken from the input. Whatever they decide, they must stay inside it.
void ForgedInfo(const uint8_t* data, uint32_t len) {
  if (len < 4) return;
  PacketInfo forged{};
  forged.l3_offset = Get16(data);
  forged.l4_offset = Get16(data + 2);
  forged.ip_version = 4;
  forged.l4_proto = pd::kProtoIcmp;
  forged.icmp_type = 8;
  Frame frame(data, len);
  uint32_t ip;
  uint8_t mac[6];
  sluice::ArpRequestTarget(frame.get(), len, forged, &ip);
  sluice::ArpSender(frame.get(), len, forged, &ip, mac);
  sluice::MakeArpReply(frame.get(), len, forged, kOurMac);
  sluice::MakeIcmpEchoReply(frame.get(), len, forged, kOurMac);
  forged.ip_version = 6;
  forged.l4_proto = pd::kProtoIcmpv6;
  forged.icmp_type = pd::kIcmpv6EchoRequest;
  forged.l3_length = len >= 6 ? Get16(data + 4) : 0;
  sluice::NdpMessage nd;
  sluice::ParseNdp(frame.get(), len, forged, &nd);
  sluice::Icmpv6ChecksumValid(frame.get(), len, forged);
  sluice::MakeIcmpv6EchoReply(frame.get(), len, forged, kOurMac);
  sluice::MakeNeighborAdvert(frame.get(), len, len, forged, kOurMac, kOurTarget);
}

// BuildArpRequest with addresses and a buffer capacity taken from the input.
void CheckArpRequestBuilder(const uint8_t* data, uint32_t len) {
  if (len < 15) return;
  uint8_t mac[6];
  uint32_t our_ip, target_ip;
  std::memcpy(mac, data, 6);
  std::memcpy(&our_ip, data + 6, 4);
  std::memcpy(&target_ip, data + 10, 4);
  const uint32_t cap = data[14];
  std::unique_ptr<uint8_t[]> buf(new uint8_t[cap ? cap : 1]);
  const uint32_t n = sluice::BuildArpRequest(buf.get(), cap, mac, our_ip, target_ip);
  FUZZ_CHECK(n == (cap >= 60 ? 60u : 0u));
  if (n == 0) return;
  PacketInfo info;
  FUZZ_CHECK(ParsePacket(buf.get(), n, &info) == ParseStatus::kArp && info.l3_offset == 14);
  uint32_t asked, sender_ip;
  uint8_t sender_mac[6];
  FUZZ_CHECK(sluice::ArpRequestTarget(buf.get(), n, info, &asked) && asked == target_ip);
  FUZZ_CHECK(sluice::ArpSender(buf.get(), n, info, &sender_ip, sender_mac));
  FUZZ_CHECK(sender_ip == our_ip && SameBytes(sender_mac, mac, 6) && SameBytes(buf.get() + 6, mac, 6));
  static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  FUZZ_CHECK(SameBytes(buf.get(), kBroadcast, 6));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > UINT16_MAX) return 0;
  const uint32_t len = static_cast<uint32_t>(size);
  PacketInfo info;
  const ParseStatus status = ParsePacket(data, len, &info);
  if (status == ParseStatus::kArp) CheckArp(data, len, info);
  if (status == ParseStatus::kOk) CheckIcmpEcho(data, len, info);
  if (status == ParseStatus::kOk && info.ip_version == 6) {
    CheckNdp(data, len, info);
    CheckIcmpv6Echo(data, len, info);
  }
  ForgedInfo(data, len);
  CheckArpRequestBuilder(data, len);
  return 0;
}
