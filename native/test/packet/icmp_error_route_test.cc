#include <doctest/doctest.h>

#include <cstring>

#include "packet/icmp_error_route.h"
#include "packet/packet_parse.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;

constexpr uint32_t kVip = 0x0a000064;     // 10.0.0.100
constexpr uint32_t kClient = 0xc0a80a01;  // 192.168.10.1
constexpr uint32_t kRouter = 0x0a0000fe;

Bytes IcmpHeader(uint8_t type, uint8_t code) { return {type, code, 0, 0, 0, 0, 0x05, 0xdc}; }

// A router's ICMP error to the VIP quoting `quoted` (cut to `keep` bytes).
Bytes Icmp4Error(uint8_t type, const Bytes& quoted, size_t keep = 10000) {
  Ipv4Opts outer;
  outer.proto = 1;
  outer.src = kRouter;
  outer.dst = kVip;
  Bytes cut(quoted.begin(), quoted.begin() + std::min(keep, quoted.size()));
  return Cat({Ether(0x0800), Ipv4(outer, Cat({IcmpHeader(type, 4), cut}))});
}

Bytes ReplyFromVip(uint8_t proto = 6, uint16_t frag = 0x4000) {
  Ipv4Opts o;
  o.proto = proto;
  o.src = kVip;
  o.dst = kClient;
  o.frag = frag;
  return Ipv4(o, proto == 17 ? Udp(53, 40001, Bytes(20, 'a')) : Tcp(80, 40000, 0x10, 5, Bytes(100, 'x')));
}

PacketInfo Parsed(const Bytes& frame) {
  PacketInfo info;
  REQUIRE(ParsePacket(frame.data(), static_cast<uint32_t>(frame.size()), &info) == ParseStatus::kOk);
  return info;
}

uint16_t Net16(const uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

}  // namespace

TEST_CASE("ICMP error route: an IPv4 destination-unreachable names the client's flow, read backwards") {
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    Bytes frame = Icmp4Error(3, ReplyFromVip(proto), 28 + 20);
    sluice::QuotedFlow q{};
    REQUIRE(sluice::QuotedIpv4Flow(frame.data(), static_cast<uint32_t>(frame.size()), Parsed(frame), &q));
    CHECK(q.vip == __builtin_bswap32(kVip));
    CHECK(q.client == __builtin_bswap32(kClient));
    CHECK(q.vip_port == Net16(proto == 6 ? 80 : 53));
    CHECK(q.client_port == Net16(proto == 6 ? 40000 : 40001));
    CHECK(q.proto == proto);
  }
}

TEST_CASE("ICMP error route: IPv4 messages that name no flow") {
  sluice::QuotedFlow q{};
  auto quoted = [&q](const Bytes& frame) {
    return sluice::QuotedIpv4Flow(frame.data(), static_cast<uint32_t>(frame.size()), Parsed(frame), &q);
  };
  CHECK_FALSE(quoted(Icmp4Error(11, ReplyFromVip())));                     // time exceeded: not routed
  CHECK_FALSE(quoted(Icmp4Error(3, ReplyFromVip(), 20 + 3)));              // cut inside the ports
  CHECK(quoted(Icmp4Error(3, ReplyFromVip(), 20 + 4)));                    // the ports are enough
  CHECK_FALSE(quoted(Icmp4Error(3, ReplyFromVip(6, 0x2000 | 185))));       // a later fragment
  CHECK_FALSE(quoted(Icmp4Error(3, ReplyFromVip(1))));                     // quotes ICMP
  Bytes bad_version = ReplyFromVip();
  bad_version[0] = 0x65;
  CHECK_FALSE(quoted(Icmp4Error(3, bad_version)));
}

TEST_CASE("ICMP error route: ICMPv6 packet-too-big and destination-unreachable, extension headers walked") {
  // The quoted packet: from kV6Src (the VIP here) to kV6Dst (the client).
  const Bytes tcp = Tcp(80, 40000, 0x10, 5, Bytes(64, 'x'));
  const Bytes plain = Ipv6(6, tcp);
  const Bytes with_ext = Ipv6(0, Cat({Ipv6Ext(60, 1), Ipv6Ext(6, 0), tcp}));
  for (uint8_t type : {uint8_t{1}, uint8_t{2}}) {
    for (const Bytes* quote : {&plain, &with_ext}) {
      Bytes frame = Cat({Ether(0x86dd), Ipv6(58, Cat({IcmpHeader(type, 0), *quote}))});
      sluice::QuotedFlow6 q{};
      REQUIRE(sluice::QuotedIpv6Flow(frame.data(), static_cast<uint32_t>(frame.size()), Parsed(frame), &q));
      CHECK(std::memcmp(q.vip, kV6Src.data(), 16) == 0);
      CHECK(std::memcmp(q.client, kV6Dst.data(), 16) == 0);
      CHECK(q.vip_port == Net16(80));
      CHECK(q.client_port == Net16(40000));
      CHECK(q.proto == 6);
    }
  }
}

TEST_CASE("ICMP error route: ICMPv6 messages that name no flow") {
  sluice::QuotedFlow6 q{};
  auto quoted = [&q](uint8_t type, const Bytes& quote, size_t keep = 10000) {
    Bytes cut(quote.begin(), quote.begin() + std::min(keep, quote.size()));
    Bytes frame = Cat({Ether(0x86dd), Ipv6(58, Cat({IcmpHeader(type, 0), cut}))});
    return sluice::QuotedIpv6Flow(frame.data(), static_cast<uint32_t>(frame.size()), Parsed(frame), &q);
  };
  const Bytes tcp = Tcp(80, 40000, 0x10);
  CHECK_FALSE(quoted(3, Ipv6(6, tcp)));                                     // time exceeded
  CHECK_FALSE(quoted(128, Ipv6(6, tcp)));                                   // an echo request
  CHECK_FALSE(quoted(2, Ipv6(6, tcp), 40 + 3));                             // cut inside the ports
  CHECK(quoted(2, Ipv6(6, tcp), 40 + 4));
  CHECK_FALSE(quoted(2, Ipv6(44, Cat({Bytes{6, 0, 0, 0, 0, 0, 0, 1}, tcp}))));  // a fragment header
  CHECK_FALSE(quoted(2, Ipv6(0, Cat({Ipv6Ext(6, 2), tcp})), 40 + 16));       // cut inside an extension header
  CHECK_FALSE(quoted(2, Ipv6(58, IcmpHeader(128, 0))));                     // quotes ICMPv6
}
