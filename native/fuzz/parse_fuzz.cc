// ParsePacket on arbitrary bytes. libFuzzer hands over an exactly sized heap
// copy, so ASan reports any read past the frame; the checks below hold the
// parser to what its contract says the PacketInfo means.
#include <cstdint>
#include <cstring>

#include "tables/flow_table.h"
#include "packet/fragment_parse.h"
#include "packet/frame_head.h"
#include "packet/packet_parse.h"
#include "frame_checks.h"
#include "fuzz_check.h"

namespace {

using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;
namespace pd = sluice::parse_detail;

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != 0) return false;
  }
  return true;
}

// What every status that got past the Ethernet header shares: the tags skipped
// are the tags in the frame, and l3_offset is right behind them.
void CheckL2(const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  FUZZ_CHECK(info.vlan_tags <= sluice::kMaxVlanTags);
  FUZZ_CHECK(info.l3_offset == pd::kEtherHeaderLen + info.vlan_tags * pd::kVlanTagLen);
  FUZZ_CHECK(info.l3_offset <= len);
  FUZZ_CHECK(info.ether_type == sluice_fuzz::Get16(frame + info.l3_offset - 2));
}

// The L3 fields, valid on kOk and kIpFragment.
void CheckL3(const uint8_t* frame, uint32_t len, const PacketInfo& info) {
  const uint8_t* ip = frame + info.l3_offset;
  FUZZ_CHECK(uint32_t{info.l3_offset} + info.l3_length <= len);
  if (info.ip_version == 4) {
    FUZZ_CHECK(info.ether_type == pd::kEtherTypeIpv4);
    FUZZ_CHECK(info.l3_length >= pd::kIpv4MinHeaderLen);
    FUZZ_CHECK(info.l3_length == sluice_fuzz::Get16(ip + 2));
    FUZZ_CHECK(info.ttl == ip[8]);
    FUZZ_CHECK(std::memcmp(info.src_addr, ip + 12, 4) == 0 && AllZero(info.src_addr + 4, 12));
    FUZZ_CHECK(std::memcmp(info.dst_addr, ip + 16, 4) == 0 && AllZero(info.dst_addr + 4, 12));
  } else {
    FUZZ_CHECK(info.ip_version == 6);
    FUZZ_CHECK(info.ether_type == pd::kEtherTypeIpv6);
    FUZZ_CHECK(info.l3_length == sluice_fuzz::Get16(ip + 4) + pd::kIpv6HeaderLen);
    FUZZ_CHECK(info.ttl == ip[7]);
    FUZZ_CHECK(std::memcmp(info.src_addr, ip + 8, 16) == 0);
    FUZZ_CHECK(std::memcmp(info.dst_addr, ip + 24, 16) == 0);
  }
}

// kOk: the L4 header the fields were copied from lies inside the IP packet.
void CheckL4(const uint8_t* frame, const PacketInfo& info) {
  const uint32_t l3_end = uint32_t{info.l3_offset} + info.l3_length;
  const uint32_t min_l3 = info.ip_version == 4 ? pd::kIpv4MinHeaderLen : pd::kIpv6HeaderLen;
  FUZZ_CHECK(info.l4_offset >= info.l3_offset + min_l3);
  FUZZ_CHECK(info.l4_offset <= l3_end);
  const uint8_t* l4 = frame + info.l4_offset;
  const uint32_t avail = l3_end - info.l4_offset;
  const bool ports = info.l4_proto == pd::kProtoTcp || info.l4_proto == pd::kProtoUdp;
  if (info.ip_version == 4) FUZZ_CHECK(info.l4_proto == frame[info.l3_offset + 9]);
  if (info.l4_proto == pd::kProtoTcp) {
    FUZZ_CHECK(avail >= pd::kTcpMinHeaderLen && (l4[12] >> 4) * 4u >= pd::kTcpMinHeaderLen &&
               (l4[12] >> 4) * 4u <= avail);
    FUZZ_CHECK(info.tcp_flags == l4[13]);
  } else {
    FUZZ_CHECK(info.tcp_flags == 0);
  }
  if (info.l4_proto == pd::kProtoUdp) {
    FUZZ_CHECK(avail >= pd::kUdpHeaderLen && sluice_fuzz::Get16(l4 + 4) >= pd::kUdpHeaderLen);
  }
  if (ports) {
    FUZZ_CHECK(std::memcmp(&info.src_port, l4, 2) == 0 && std::memcmp(&info.dst_port, l4 + 2, 2) == 0);
  } else {
    FUZZ_CHECK(info.src_port == 0 && info.dst_port == 0);
  }
  const uint8_t icmp = info.ip_version == 4 ? pd::kProtoIcmp : pd::kProtoIcmpv6;
  if (info.l4_proto == icmp) {
    FUZZ_CHECK(avail >= pd::kIcmpMinLen && info.icmp_type == l4[0]);
  } else {
    FUZZ_CHECK(info.icmp_type == 0);
  }
}

// The worker's fast path, FrameHead for a port whose MAC is the frame's
// destination and then ParseFastIpv4, answers exactly the untagged, option-less,
// unfragmented IPv4 TCP and UDP packets from a unicast source that ParsePacket
// parses (kOk), and then as ParsePacket does; for a whole frame and for the
// first segment of a longer chained packet.
void CheckFastPath(const uint8_t* frame, uint32_t len) {
  struct rte_ether_addr own{};
  if (len >= RTE_ETHER_ADDR_LEN) std::memcpy(own.addr_bytes, frame, RTE_ETHER_ADDR_LEN);
  const sluice::FrameHead head(own);
  for (uint32_t pkt_len : {len, len + 1000}) {
    PacketInfo full;
    const bool ok = ParsePacket(frame, len, pkt_len, &full) == ParseStatus::kOk;
    const bool common = ok && full.l3_offset == pd::kEtherHeaderLen && full.ip_version == 4 &&
                        frame[pd::kEtherHeaderLen] == 0x45 && (frame[RTE_ETHER_ADDR_LEN] & 1) == 0 &&
                        (full.l4_proto == pd::kProtoTcp || full.l4_proto == pd::kProtoUdp);
    sluice::FastIpv4 fast;
    FUZZ_CHECK((len >= sluice::kFastIpv4MinLen && head.Matches(frame) &&
                sluice::ParseFastIpv4(frame, len, pkt_len, &fast)) == common);
    if (!common) continue;
    uint32_t src = fast.src_addr(), dst = fast.dst_addr();
    FUZZ_CHECK(std::memcmp(&src, full.src_addr, 4) == 0 && std::memcmp(&dst, full.dst_addr, 4) == 0);
    FUZZ_CHECK(fast.src_port() == full.src_port && fast.dst_port() == full.dst_port);
    // The flow key from the loaded pairs is the one built field by field.
    sluice::FlowKeyWords pairs = sluice::MakeFlowKey4(fast.addrs, fast.ports, fast.l4_proto);
    sluice::FlowKeyWords fields = sluice::MakeFlowKey4(src, dst, full.src_port, full.dst_port, full.l4_proto);
    FUZZ_CHECK(pairs.lo == fields.lo && pairs.hi == fields.hi);
    FUZZ_CHECK(fast.l4_proto == full.l4_proto && fast.tcp_flags == full.tcp_flags);
  }
}

// kIpFragment, then ParseFragment (packet/fragment_parse.h) as the worker calls
// it: the fragment lies inside the datagram's 64 KiB, only a last fragment has
// a length that is not a multiple of 8, and a first fragment it calls kOk
// holds its whole TCP or UDP header inside the IP packet and the frame.
void CheckFragment(const uint8_t* frame, uint32_t len, const PacketInfo& parsed) {
  PacketInfo info = parsed;
  sluice::FragmentInfo frag;
  const sluice::FragmentStatus status = sluice::ParseFragment(frame, len, len, &info, &frag);
  if (status == sluice::FragmentStatus::kMalformed) return;
  FUZZ_CHECK(frag.offset + frag.length <= 65535);
  FUZZ_CHECK(frag.offset % 8 == 0);
  if (frag.more) FUZZ_CHECK(frag.length > 0 && frag.length % 8 == 0);
  FUZZ_CHECK(frag.length <= info.l3_length);
  // The key's fields are the L3 fields ParsePacket found; ParseFragment leaves them.
  FUZZ_CHECK(std::memcmp(info.src_addr, parsed.src_addr, 16) == 0);
  FUZZ_CHECK(std::memcmp(info.dst_addr, parsed.dst_addr, 16) == 0);
  if (parsed.ip_version == 4) FUZZ_CHECK(frag.key_proto == parsed.l4_proto);
  if (status == sluice::FragmentStatus::kTooSmall) {
    FUZZ_CHECK(frag.offset == 0);
    return;
  }
  if (frag.offset != 0 || frag.l4_header_len == 0) {
    FUZZ_CHECK(info.src_port == 0 && info.dst_port == 0);
    return;
  }
  const uint32_t l3_end = uint32_t{info.l3_offset} + info.l3_length;
  FUZZ_CHECK(info.l4_proto == pd::kProtoTcp || info.l4_proto == pd::kProtoUdp);
  FUZZ_CHECK(info.l4_offset > info.l3_offset);
  FUZZ_CHECK(frag.l4_header_len <= frag.length);
  const uint32_t l4_end = uint32_t{info.l4_offset} + (info.l4_proto == pd::kProtoTcp ? (frame[info.l4_offset + 12] >> 4) * 4u : 8u);
  FUZZ_CHECK(l4_end <= l3_end && l4_end <= len);
  FUZZ_CHECK(std::memcmp(&info.src_port, frame + info.l4_offset, 2) == 0);
  FUZZ_CHECK(std::memcmp(&info.dst_port, frame + info.l4_offset + 2, 2) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Frames longer than 64 KiB do not exist; the offsets in PacketInfo are 16 bits.
  if (size > UINT16_MAX) return 0;
  const uint32_t len = static_cast<uint32_t>(size);
  PacketInfo info;
  const ParseStatus status = ParsePacket(data, len, &info);

  PacketInfo again;
  FUZZ_CHECK(ParsePacket(data, len, &again) == status);
  FUZZ_CHECK(std::memcmp(&info, &again, sizeof(info)) == 0);
  CheckFastPath(data, len);

  switch (status) {
    case ParseStatus::kOk:
      CheckL2(data, len, info);
      CheckL3(data, len, info);
      CheckL4(data, info);
      break;
    case ParseStatus::kIpFragment:
      CheckL2(data, len, info);
      CheckL3(data, len, info);
      CheckFragment(data, len, info);
      break;
    case ParseStatus::kArp:
      CheckL2(data, len, info);
      FUZZ_CHECK(info.ether_type == pd::kEtherTypeArp && info.ip_version == 0);
      break;
    case ParseStatus::kNonIp:
      CheckL2(data, len, info);
      FUZZ_CHECK(info.ether_type != pd::kEtherTypeIpv4 && info.ether_type != pd::kEtherTypeIpv6 &&
                 info.ether_type != pd::kEtherTypeArp);
      break;
    case ParseStatus::kTooManyVlans:
      FUZZ_CHECK(info.vlan_tags == sluice::kMaxVlanTags);
      FUZZ_CHECK(info.ether_type == pd::kEtherTypeVlan || info.ether_type == pd::kEtherTypeQinQ);
      break;
    case ParseStatus::kTruncated:
    case ParseStatus::kBadIpHeader:
    case ParseStatus::kBadL4Header:
      break;
    default:
      FUZZ_CHECK(!"ParsePacket returned a status outside ParseStatus");
  }
  return 0;
}
