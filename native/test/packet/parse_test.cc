#include <doctest/doctest.h>

#include <cstring>
#include <ostream>
#include <random>
#include <string>

#include "tables/flow_table.h"
#include "packet/frame_head.h"
#include "packet/packet_parse.h"
#include "test/frames.h"

namespace sluice {
std::ostream& operator<<(std::ostream& os, ParseStatus s) {
  static const char* const kNames[] = {"kOk",         "kArp",          "kTruncated", "kBadIpHeader",
                                       "kIpFragment", "kTooManyVlans", "kNonIp",    "kBadL4Header"};
  const auto i = static_cast<unsigned>(s);
  return os << (i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "?");
}
}  // namespace sluice

namespace {

using namespace sluice_test;
using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;

// The parser writes network order into src_port/dst_port; this is what such a
// field holds for a host-order port.
uint16_t Net16(uint16_t host) {
  const uint8_t b[2] = {static_cast<uint8_t>(host >> 8), static_cast<uint8_t>(host)};
  uint16_t v;
  std::memcpy(&v, b, 2);
  return v;
}

// Pre-filled with garbage so a field the parser forgets to write shows up.
ParseStatus Parse(const Bytes& frame, PacketInfo* info) {
  std::memset(info, 0xab, sizeof(*info));
  ExactCopy copy(frame, frame.size());
  return ParsePacket(copy.data.get(), static_cast<uint32_t>(copy.size), info);
}

Bytes V4Addr(uint32_t a) {
  Bytes b;
  Put32(b, a);
  b.resize(16, 0);
  return b;
}

Bytes Addr(const uint8_t (&a)[16]) { return Bytes(a, a + 16); }

constexpr uint16_t kV4 = 0x0800;
constexpr uint16_t kV6 = 0x86dd;
constexpr uint16_t kQ = 0x8100;
constexpr uint16_t kAd = 0x88a8;
constexpr uint8_t kSynAck = 0x12;

Bytes TcpV4Frame() {
  return Cat({Ether(kV4), Ipv4({}, Tcp(40000, 80, kSynAck))});
}

Bytes UdpV6VlanFrame() {
  return Cat({Ether(kV6, {kQ}), Ipv6(17, Udp(5353, 53, {1, 2, 3, 4, 5}))});
}

}  // namespace

TEST_CASE("parse: IPv4 TCP fills every field") {
  PacketInfo info;
  REQUIRE(Parse(TcpV4Frame(), &info) == ParseStatus::kOk);
  CHECK(info.l3_offset == 14);
  CHECK(info.l4_offset == 34);
  CHECK(info.ether_type == 0x0800);
  CHECK(info.vlan_tags == 0);
  CHECK(info.ip_version == 4);
  CHECK(info.l4_proto == 6);
  CHECK(info.tcp_flags == kSynAck);
  CHECK(info.icmp_type == 0);
  CHECK(info.ttl == 61);
  CHECK(info.src_port == Net16(40000));
  CHECK(info.dst_port == Net16(80));
  CHECK(info.l3_length == 40);
  CHECK(Addr(info.src_addr) == V4Addr(0xc0a80a01));
  CHECK(Addr(info.dst_addr) == V4Addr(0x0a000064));
}

TEST_CASE("parse: IPv4 UDP") {
  PacketInfo info;
  const Bytes f = Cat({Ether(kV4), Ipv4({.proto = 17, .ttl = 3}, Udp(1234, 53, {9, 9, 9}))});
  REQUIRE(Parse(f, &info) == ParseStatus::kOk);
  CHECK(info.l4_proto == 17);
  CHECK(info.l4_offset == 34);
  CHECK(info.src_port == Net16(1234));
  CHECK(info.dst_port == Net16(53));
  CHECK(info.tcp_flags == 0);
  CHECK(info.icmp_type == 0);
  CHECK(info.ttl == 3);
  CHECK(info.l3_length == 31);
}

TEST_CASE("parse: IPv4 with options, IHL 6..15") {
  for (uint8_t ihl = 6; ihl <= 15; ++ihl) {
    CAPTURE(int(ihl));
    PacketInfo info;
    const Bytes f = Cat({Ether(kV4), Ipv4({.ihl = ihl}, Tcp(1, 2, 0x02))});
    REQUIRE(Parse(f, &info) == ParseStatus::kOk);
    CHECK(info.l4_offset == 14 + ihl * 4);
    CHECK(info.l3_length == ihl * 4u + 20);
    CHECK(info.src_port == Net16(1));
    CHECK(info.dst_port == Net16(2));
    CHECK(info.tcp_flags == 0x02);
  }
}

TEST_CASE("parse: VLAN tags") {
  struct Case {
    const char* name;
    std::initializer_list<uint16_t> tpids;
    uint8_t tags;
  };
  const Case cases[] = {
      {"one 802.1Q", {kQ}, 1},
      {"two 802.1Q", {kQ, kQ}, 2},
      {"802.1ad outer only", {kAd}, 1},
      {"802.1ad outer, 802.1Q inner", {kAd, kQ}, 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PacketInfo info;
    const Bytes f = Cat({Ether(kV4, c.tpids), Ipv4({.proto = 17}, Udp(7, 8))});
    REQUIRE(Parse(f, &info) == ParseStatus::kOk);
    CHECK(info.vlan_tags == c.tags);
    CHECK(info.l3_offset == 14 + 4 * c.tags);
    CHECK(info.l4_offset == 34 + 4 * c.tags);
    CHECK(info.ether_type == 0x0800);
    CHECK(info.src_port == Net16(7));
  }
  PacketInfo info;
  CHECK(Parse(Cat({Ether(kV4, {kQ, kQ, kQ}), Ipv4({}, Tcp(1, 2, 0))}), &info) ==
        ParseStatus::kTooManyVlans);
  CHECK(Parse(Cat({Ether(kV4, {kAd, kQ, kQ}), Ipv4({}, Tcp(1, 2, 0))}), &info) ==
        ParseStatus::kTooManyVlans);
  CHECK(info.ip_version == 0);
}

TEST_CASE("parse: IPv6 TCP and UDP") {
  PacketInfo info;
  REQUIRE(Parse(Cat({Ether(kV6), Ipv6(6, Tcp(443, 50000, 0x18))}), &info) == ParseStatus::kOk);
  CHECK(info.ip_version == 6);
  CHECK(info.ether_type == 0x86dd);
  CHECK(info.l3_offset == 14);
  CHECK(info.l4_offset == 54);
  CHECK(info.l4_proto == 6);
  CHECK(info.tcp_flags == 0x18);
  CHECK(info.ttl == 57);
  CHECK(info.l3_length == 60);
  CHECK(info.src_port == Net16(443));
  CHECK(info.dst_port == Net16(50000));
  CHECK(Addr(info.src_addr) == kV6Src);
  CHECK(Addr(info.dst_addr) == kV6Dst);

  REQUIRE(Parse(UdpV6VlanFrame(), &info) == ParseStatus::kOk);
  CHECK(info.vlan_tags == 1);
  CHECK(info.l3_offset == 18);
  CHECK(info.l4_offset == 58);
  CHECK(info.l4_proto == 17);
  CHECK(info.tcp_flags == 0);
  CHECK(info.l3_length == 53);
  CHECK(info.src_port == Net16(5353));
  CHECK(info.dst_port == Net16(53));
}

TEST_CASE("parse: IPv6 extension headers are skipped") {
  PacketInfo info;
  // hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP
  const Bytes chain = Cat({Ipv6Ext(60, 0), Ipv6Ext(6, 1), Tcp(1000, 2000, 0x10)});
  REQUIRE(Parse(Cat({Ether(kV6), Ipv6(0, chain)}), &info) == ParseStatus::kOk);
  CHECK(info.l4_offset == 14 + 40 + 8 + 16);
  CHECK(info.l4_proto == 6);
  CHECK(info.src_port == Net16(1000));
  CHECK(info.dst_port == Net16(2000));
  CHECK(info.tcp_flags == 0x10);

  // hop-by-hop -> routing (24 bytes) -> destination options -> UDP
  const Bytes chain2 = Cat({Ipv6Ext(43, 0), Ipv6Ext(60, 2), Ipv6Ext(17, 0), Udp(5, 6)});
  REQUIRE(Parse(Cat({Ether(kV6, {kQ}), Ipv6(0, chain2)}), &info) == ParseStatus::kOk);
  CHECK(info.l4_offset == 18 + 40 + 8 + 24 + 8);
  CHECK(info.l4_proto == 17);
  CHECK(info.dst_port == Net16(6));

  // An extension header whose length runs past payload_length.
  Bytes bad = Cat({Ipv6Ext(6, 3), Tcp(1, 2, 0)});  // claims 32 bytes, 8 + 20 follow
  bad.resize(8 + 20);
  CHECK(Parse(Cat({Ether(kV6), Ipv6(60, bad)}), &info) == ParseStatus::kTruncated);
}

TEST_CASE("parse: fragments") {
  PacketInfo info;
  const Bytes frag_hdr = {17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};  // offset 0, M=1
  CHECK(Parse(Cat({Ether(kV6), Ipv6(44, Cat({frag_hdr, Udp(1, 2)}))}), &info) ==
        ParseStatus::kIpFragment);
  CHECK(info.ip_version == 6);
  CHECK(info.l4_proto == 44);
  CHECK(Addr(info.src_addr) == kV6Src);
  CHECK(info.src_port == 0);
  CHECK(Parse(Cat({Ether(kV6), Ipv6(0, Cat({Ipv6Ext(44, 0), frag_hdr, Udp(1, 2)}))}), &info) ==
        ParseStatus::kIpFragment);

  const uint16_t frags[] = {0x2000 /* MF */, 0x0001 /* offset 8 */, 0x1fff, 0x6000 /* DF|MF */,
                            0x4001};
  for (uint16_t frag : frags) {
    CAPTURE(frag);
    REQUIRE(Parse(Cat({Ether(kV4), Ipv4({.proto = 17, .frag = frag}, Udp(1, 2))}), &info) ==
            ParseStatus::kIpFragment);
    CHECK(info.ip_version == 4);
    CHECK(info.l4_proto == 17);
    CHECK(info.l3_length == 28);
    CHECK(Addr(info.dst_addr) == V4Addr(0x0a000064));
    CHECK(info.src_port == 0);
    CHECK(info.l4_offset == 0);
  }
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.frag = 0x4000}, Tcp(1, 2, 0))}), &info) == ParseStatus::kOk);
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.frag = 0x0000}, Tcp(1, 2, 0))}), &info) == ParseStatus::kOk);
}

TEST_CASE("parse: malformed headers") {
  const Bytes tcp = Tcp(1, 2, 0);
  struct Case {
    const char* name;
    Bytes frame;
    ParseStatus status;
  };
  const Case cases[] = {
      {"IHL 4", Cat({Ether(kV4), Ipv4({.ihl = 4}, tcp)}), ParseStatus::kBadIpHeader},
      {"IHL 0", Cat({Ether(kV4), Ipv4({.ihl = 0}, tcp)}), ParseStatus::kBadIpHeader},
      {"IHL*4 > total_length", Cat({Ether(kV4), Ipv4({.ihl = 6, .total_len = 20}, tcp)}),
       ParseStatus::kBadIpHeader},
      {"total_length > frame", Cat({Ether(kV4), Ipv4({.total_len = 41}, tcp)}),
       ParseStatus::kBadIpHeader},
      {"total_length 0", Cat({Ether(kV4), Ipv4({.total_len = 0}, tcp)}),
       ParseStatus::kBadIpHeader},
      {"version 6 in IPv4 ethertype", Cat({Ether(kV4), Ipv4({.version = 6}, tcp)}),
       ParseStatus::kBadIpHeader},
      {"version 4 in IPv6 ethertype", Cat({Ether(kV6), Ipv6(6, tcp, 64, -1, 4)}),
       ParseStatus::kBadIpHeader},
      {"IPv6 payload_length > frame", Cat({Ether(kV6), Ipv6(6, tcp, 64, 21)}),
       ParseStatus::kBadIpHeader},
      {"TCP data offset 4", Cat({Ether(kV4), Ipv4({}, Tcp(1, 2, 0, 4))}),
       ParseStatus::kBadL4Header},
      {"TCP data offset 0", Cat({Ether(kV4), Ipv4({}, Tcp(1, 2, 0, 0))}),
       ParseStatus::kBadL4Header},
      {"UDP length 7", Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {}, 7))}),
       ParseStatus::kBadL4Header},
      {"UDP length 0", Cat({Ether(kV6), Ipv6(17, Udp(1, 2, {}, 0))}), ParseStatus::kBadL4Header},
      // The IP packet ends inside the TCP header; the padding after it must not
      // be taken for the rest of the header.
      {"TCP header beyond total_length, inside padding",
       PadTo(Cat({Ether(kV4), Ipv4({.total_len = 30}, tcp)}), 60), ParseStatus::kTruncated},
      {"ICMP shorter than 4", Cat({Ether(kV4), Ipv4({.proto = 1}, {8, 0, 0})}),
       ParseStatus::kTruncated},
      {"ICMPv6 shorter than 4", Cat({Ether(kV6), Ipv6(58, {128, 0, 0})}), ParseStatus::kTruncated},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PacketInfo info;
    CHECK(Parse(c.frame, &info) == c.status);
  }
  PacketInfo info;
  Bytes doff15 = Cat({Ether(kV4), Ipv4({}, Tcp(1, 2, 0))});
  doff15[34 + 12] = 0xf0;
  CHECK(Parse(doff15, &info) == ParseStatus::kTruncated);
}

TEST_CASE("parse: ARP, other ethertypes, other L4 protocols") {
  PacketInfo info;
  const Bytes arp = Arp(1, kMacA, 0x0a000001, Bytes(6, 0), 0x0a000064);
  REQUIRE(Parse(PadTo(Cat({Ether(0x0806), arp}), 60), &info) == ParseStatus::kArp);
  CHECK(info.l3_offset == 14);
  CHECK(info.ether_type == 0x0806);
  CHECK(info.ip_version == 0);
  REQUIRE(Parse(PadTo(Cat({Ether(0x0806, {kQ}), arp}), 64), &info) == ParseStatus::kArp);
  CHECK(info.l3_offset == 18);
  CHECK(info.vlan_tags == 1);

  REQUIRE(Parse(PadTo(Ether(0x88cc), 60), &info) == ParseStatus::kNonIp);  // LLDP
  CHECK(info.ether_type == 0x88cc);
  CHECK(info.ip_version == 0);
  CHECK(Parse(PadTo(Ether(0x0040), 60), &info) == ParseStatus::kNonIp);  // 802.3 length
  CHECK(Parse(PadTo(Ether(0x88cc, {kQ}), 60), &info) == ParseStatus::kNonIp);

  REQUIRE(Parse(Cat({Ether(kV4), Ipv4({.proto = 47}, Bytes(12, 0))}), &info) == ParseStatus::kOk);
  CHECK(info.l4_proto == 47);
  CHECK(info.l4_offset == 34);
  CHECK(info.src_port == 0);
  CHECK(info.dst_port == 0);
  CHECK(info.icmp_type == 0);
  // Proto 1 inside IPv6 is not ICMPv6.
  REQUIRE(Parse(Cat({Ether(kV6), Ipv6(1, {8, 0, 0, 0})}), &info) == ParseStatus::kOk);
  CHECK(info.icmp_type == 0);
}

TEST_CASE("parse: ICMP and ICMPv6 echo") {
  PacketInfo info;
  REQUIRE(Parse(Cat({Ether(kV4), Ipv4({.proto = 1}, IcmpEcho(8, 1, 2, Bytes(56, 0x61)))}),
                &info) == ParseStatus::kOk);
  CHECK(info.l4_proto == 1);
  CHECK(info.icmp_type == 8);
  CHECK(info.l4_offset == 34);
  CHECK(info.src_port == 0);
  CHECK(info.dst_port == 0);
  CHECK(info.tcp_flags == 0);
  CHECK(info.l3_length == 20 + 8 + 56);

  REQUIRE(Parse(Cat({Ether(kV6, {kQ}), Ipv6(58, IcmpEcho(128, 1, 2, {}))}), &info) ==
          ParseStatus::kOk);
  CHECK(info.l4_proto == 58);
  CHECK(info.icmp_type == 128);
  CHECK(info.l4_offset == 58);
}

TEST_CASE("parse: Ethernet padding after a short IPv4 packet") {
  PacketInfo info;
  const Bytes f = PadTo(Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {0x42, 0x43}))}), 60, 0xee);
  REQUIRE(f.size() == 60);
  REQUIRE(Parse(f, &info) == ParseStatus::kOk);
  CHECK(info.l3_length == 30);
  CHECK(info.dst_port == Net16(2));

  const Bytes f6 = PadTo(Cat({Ether(kV6), Ipv6(17, Udp(1, 2))}), 80, 0xee);
  REQUIRE(Parse(f6, &info) == ParseStatus::kOk);
  CHECK(info.l3_length == 48);
}

TEST_CASE("parse: every truncation is rejected without reading past the end") {
  struct Case {
    const char* name;
    Bytes frame;
  };
  const Case cases[] = {
      {"TCP/IPv4", TcpV4Frame()},
      {"VLAN IPv6 UDP", UdpV6VlanFrame()},
      {"QinQ IPv4 options TCP options",
       Cat({Ether(kV4, {kAd, kQ}), Ipv4({.ihl = 9}, Tcp(1, 2, 0, 8, {1, 2, 3}))})},
      {"IPv6 ext headers TCP", Cat({Ether(kV6), Ipv6(0, Cat({Ipv6Ext(60, 1), Ipv6Ext(6, 0),
                                                                Tcp(1, 2, 0)}))})},
      {"ICMP echo", Cat({Ether(kV4), Ipv4({.proto = 1}, IcmpEcho(8, 1, 1, {}))})},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PacketInfo info;
    REQUIRE(Parse(c.frame, &info) == ParseStatus::kOk);
    for (size_t n = 0; n < c.frame.size(); ++n) {
      CAPTURE(n);
      ExactCopy copy(c.frame, n);
      std::memset(&info, 0xab, sizeof(info));
      const ParseStatus s = ParsePacket(copy.data.get(), static_cast<uint32_t>(n), &info);
      CHECK(s != ParseStatus::kOk);
    }
  }
}

// Mutated real frames reach deep into the parser; pure noise rarely passes the
// ethertype check. Either way every kOk must describe bytes inside the frame.
TEST_CASE("parse: random and mutated frames keep the offset invariants") {
  std::mt19937 rng(12345);
  const Bytes seeds[] = {
      TcpV4Frame(),
      UdpV6VlanFrame(),
      Cat({Ether(kV6), Ipv6(0, Cat({Ipv6Ext(43, 0), Ipv6Ext(60, 1), Ipv6Ext(6, 0),
                                    Tcp(1, 2, 0)}))}),
      Cat({Ether(kV4, {kAd, kQ}), Ipv4({.proto = 1, .ihl = 7}, IcmpEcho(8, 3, 4, Bytes(9, 1)))}),
  };
  uint32_t ok = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    Bytes f = seeds[iter % 4];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 8), static_cast<uint8_t>(rng()));
    ExactCopy copy(f, f.size());
    PacketInfo info;
    const ParseStatus s = ParsePacket(copy.data.get(), static_cast<uint32_t>(f.size()), &info);
    if (s != ParseStatus::kOk) continue;
    ++ok;
    const uint32_t end = info.l3_offset + info.l3_length;
    REQUIRE(end <= f.size());
    REQUIRE(info.l4_offset > info.l3_offset);
    REQUIRE(info.l4_offset <= end);
    if (info.l4_proto == 6) REQUIRE(end - info.l4_offset >= 20);
    if (info.l4_proto == 17) REQUIRE(end - info.l4_offset >= 8);
  }
  CHECK(ok > 1000);  // the mutation still exercises the success path
}

TEST_CASE("parse: UDP length beyond the IP payload, short echo, short ARP") {
  struct Case {
    const char* name;
    Bytes frame;
    ParseStatus status;
  };
  const Bytes arp = Arp(1, kMacA, 0x0a000001, Bytes(6, 0), 0x0a000064);
  const Case cases[] = {
      {"UDP length = IP payload", Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {1, 2}))}),
       ParseStatus::kOk},
      {"UDP length < IP payload (trailing bytes)", Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {1, 2}, 9))}),
       ParseStatus::kOk},
      {"UDP length > IP payload", Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {1, 2}, 11))}),
       ParseStatus::kBadL4Header},
      {"UDP length reaching into Ethernet padding",
       PadTo(Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, {1, 2}, 20))}), 60), ParseStatus::kBadL4Header},
      {"IPv6 UDP length > payload", Cat({Ether(kV6), Ipv6(17, Udp(1, 2, {}, 9))}), ParseStatus::kBadL4Header},
      {"echo request of 7 bytes", Cat({Ether(kV4), Ipv4({.proto = 1}, {8, 0, 0, 0, 0, 0, 0})}),
       ParseStatus::kTruncated},
      {"echo reply of 4 bytes", Cat({Ether(kV4), Ipv4({.proto = 1}, {0, 0, 0, 0})}), ParseStatus::kTruncated},
      {"ICMPv6 echo request of 6 bytes", Cat({Ether(kV6), Ipv6(58, {128, 0, 0, 0, 0, 0})}),
       ParseStatus::kTruncated},
      {"destination unreachable of 4 bytes", Cat({Ether(kV4), Ipv4({.proto = 1}, {3, 1, 0, 0})}),
       ParseStatus::kOk},
      {"ARP of 28 bytes", Cat({Ether(0x0806), arp}), ParseStatus::kArp},
      {"ARP of 27 bytes", Cat({Ether(0x0806), Bytes(arp.begin(), arp.end() - 1)}), ParseStatus::kTruncated},
      {"ARP fixed header of 7 bytes", Cat({Ether(0x0806), Bytes(arp.begin(), arp.begin() + 7)}),
       ParseStatus::kTruncated},
      // hlen 7 announces 30 bytes: it fits the padded frame, so it is ARP, for the
      // responder to refuse as not Ethernet/IPv4.
      {"ARP with hlen 7, padded", PadTo(Cat({Ether(0x0806), Arp(1, kMacA, 1, Bytes(6, 0), 2, 1, 0x0800, 7)}), 60),
       ParseStatus::kArp},
      {"ARP with hlen 255", PadTo(Cat({Ether(0x0806), Arp(1, kMacA, 1, Bytes(6, 0), 2, 1, 0x0800, 255)}), 60),
       ParseStatus::kTruncated},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PacketInfo info;
    CHECK(Parse(c.frame, &info) == c.status);
  }
}

// A chained mbuf: headers from the first segment, lengths against the packet.
TEST_CASE("parse: a segmented packet") {
  const Bytes f = Cat({Ether(kV4, {kQ}), Ipv4({.ihl = 6}, Tcp(1, 2, 0x02, 8, Bytes(3000, 0x5a)))});
  const uint32_t headers = 18 + 24 + 32;
  PacketInfo info;
  for (uint32_t first = 0; first <= f.size(); first += (first < headers + 8 ? 1 : 500)) {
    CAPTURE(first);
    ExactCopy copy(f, first);
    std::memset(&info, 0xab, sizeof(info));
    const ParseStatus s = ParsePacket(copy.data.get(), first, static_cast<uint32_t>(f.size()), &info);
    if (first < headers) {
      CHECK(s == ParseStatus::kTruncated);
    } else {
      REQUIRE(s == ParseStatus::kOk);
      CHECK(info.l3_length == f.size() - 18);
      CHECK(info.l4_offset == 42);
      CHECK(info.dst_port == Net16(2));
    }
  }
  // The packet's length, not the first segment's, bounds the IP length fields.
  ExactCopy copy(f, headers);
  CHECK(ParsePacket(copy.data.get(), headers, static_cast<uint32_t>(f.size()) - 1, &info) ==
        ParseStatus::kBadIpHeader);
  // A UDP length is checked against the whole datagram too.
  const Bytes u = Cat({Ether(kV4), Ipv4({.proto = 17}, Udp(1, 2, Bytes(2000, 1)))});
  ExactCopy ucopy(u, 100);
  CHECK(ParsePacket(ucopy.data.get(), 100, static_cast<uint32_t>(u.size()), &info) == ParseStatus::kOk);
  const Bytes v6 = Cat({Ether(kV6), Ipv6(0, Cat({Ipv6Ext(6, 3), Tcp(1, 2, 0, 5, Bytes(1000, 1))}))});
  ExactCopy v6copy(v6, 14 + 40 + 16);  // cut inside the hop-by-hop header
  CHECK(ParsePacket(v6copy.data.get(), 14 + 40 + 16, static_cast<uint32_t>(v6.size()), &info) ==
        ParseStatus::kTruncated);
}

TEST_CASE("parse: martian IPv4 sources") {
  const struct {
    uint8_t addr[4];
    bool martian;
  } cases[] = {
      {{0, 0, 0, 0}, true},        {{0, 1, 2, 3}, true},          {{127, 0, 0, 1}, true},
      {{127, 255, 255, 255}, true}, {{224, 0, 0, 1}, true},       {{239, 255, 255, 250}, true},
      {{255, 255, 255, 255}, true}, {{255, 255, 255, 254}, false}, {{1, 0, 0, 0}, false},
      {{126, 255, 255, 255}, false}, {{128, 0, 0, 0}, false},     {{223, 255, 255, 255}, false},
      {{240, 0, 0, 1}, false},     {{10, 0, 0, 255}, false},      {{172, 16, 0, 1}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(int{c.addr[0]});
    CAPTURE(int{c.addr[3]});
    CHECK(sluice::IsMartianIpv4Source(c.addr) == c.martian);
  }
  // Every first octet, against the ranges written out.
  for (int first = 0; first < 256; first++) {
    for (uint8_t rest : {uint8_t{0}, uint8_t{255}}) {
      uint8_t addr[4] = {static_cast<uint8_t>(first), rest, rest, rest};
      bool expected = first == 0 || first == 127 || (first >= 224 && first <= 239) || (first == 255 && rest == 255);
      CAPTURE(first);
      CAPTURE(int{rest});
      CHECK(sluice::IsMartianIpv4Source(addr) == expected);
    }
  }
}

TEST_CASE("fast path: the header's address and port pairs give ParsePacket's fields and the field-built flow key") {
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    sluice_test::Ipv4Opts o;
    o.proto = proto;
    o.src = 0x0a010203;  // 10.1.2.3
    o.dst = 0xc0000201;  // 192.0.2.1
    sluice_test::Bytes l4 = proto == 6 ? sluice_test::Tcp(40000, 80, 0x12) : sluice_test::Udp(40000, 53);
    sluice_test::Bytes f = sluice_test::Cat({sluice_test::Ether(0x0800), sluice_test::Ipv4(o, l4)});
    const uint32_t len = static_cast<uint32_t>(f.size());
    sluice::FastIpv4 fast;
    struct rte_ether_addr port_mac;
    std::memcpy(port_mac.addr_bytes, f.data(), RTE_ETHER_ADDR_LEN);
    REQUIRE(sluice::FrameHead(port_mac).Matches(f.data()));
    REQUIRE(sluice::ParseFastIpv4(f.data(), len, len, &fast));
    sluice::PacketInfo info;
    REQUIRE(sluice::ParsePacket(f.data(), len, &info) == sluice::ParseStatus::kOk);
    uint32_t src, dst;
    std::memcpy(&src, info.src_addr, 4);
    std::memcpy(&dst, info.dst_addr, 4);
    CHECK(fast.src_addr() == src);
    CHECK(fast.dst_addr() == dst);
    CHECK(fast.src_port() == info.src_port);
    CHECK(fast.dst_port() == info.dst_port);
    CHECK(fast.l4_proto == proto);
    CHECK(fast.tcp_flags == info.tcp_flags);
    sluice::FlowKeyWords pairs = sluice::MakeFlowKey4(fast.addrs, fast.ports, fast.l4_proto);
    sluice::FlowKeyWords fields = sluice::MakeFlowKey4(src, dst, info.src_port, info.dst_port, info.l4_proto);
    CHECK(pairs.lo == fields.lo);
    CHECK(pairs.hi == fields.hi);
  }
}
