#include <doctest/doctest.h>

#include <cstring>

#include "packet/icmpv6_errors.h"
#include "packet/ndp.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::NdpMessage;
using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;

const Bytes kClient6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Bytes kPort6 = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
const Bytes kVip6 = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
const Bytes kUnspecified(16, 0);
const Bytes kSolicitedGroupMac = {0x33, 0x33, 0xff, 0x00, 0x01, 0x00};

// ICMPv6 checksum from the RFC 8200 pseudo header, computed here independently.
uint16_t Icmp6Sum(const Bytes& src, const Bytes& dst, const Bytes& msg) {
  Bytes pseudo;
  Append(pseudo, src);
  Append(pseudo, dst);
  Put32(pseudo, static_cast<uint32_t>(msg.size()));
  Put32(pseudo, 58);
  Append(pseudo, msg);
  return Checksum(pseudo.data(), pseudo.size());
}

Bytes Ip6(const Bytes& src, const Bytes& dst, uint8_t hop, uint8_t next, const Bytes& payload) {
  Bytes b;
  Put32(b, 6u << 28);
  Put16(b, static_cast<uint32_t>(payload.size()));
  Put8(b, next);
  Put8(b, hop);
  Append(b, src);
  Append(b, dst);
  Append(b, payload);
  return b;
}

Bytes Icmp6(const Bytes& src, const Bytes& dst, uint8_t type, const Bytes& body, bool good_sum = true) {
  Bytes m;
  Put8(m, type);
  Put8(m, 0);
  Put16(m, 0);
  Append(m, body);
  uint16_t sum = Icmp6Sum(src, dst, m);
  if (!good_sum) sum ^= 0x0101;
  m[2] = static_cast<uint8_t>(sum >> 8);
  m[3] = static_cast<uint8_t>(sum);
  return m;
}

// NS or NA body: flags/reserved, target, then one link-layer option if `mac`.
Bytes NdBody(uint8_t flags, const Bytes& target, uint8_t opt_type, const Bytes& mac, uint8_t opt_len = 1) {
  Bytes b;
  Put8(b, flags);
  Append(b, {0, 0, 0});
  Append(b, target);
  if (!mac.empty()) {
    Put8(b, opt_type);
    Put8(b, opt_len);
    Append(b, mac);
  }
  return b;
}

Bytes NsFrame(const Bytes& src, const Bytes& target, uint8_t hop = 255, bool good_sum = true, bool slla = true,
              uint8_t opt_len = 1) {
  Bytes dst = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, target[13], target[14], target[15]};
  Bytes icmp = Icmp6(src, dst, 135, NdBody(0, target, 1, slla ? kMacA : Bytes{}, opt_len), good_sum);
  Bytes group_mac = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
  return Cat({Ether(0x86dd, {}, group_mac, kMacA), Ip6(src, dst, hop, 58, icmp)});
}

PacketInfo Parsed(const Bytes& f) {
  PacketInfo info;
  REQUIRE(ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == ParseStatus::kOk);
  return info;
}

Bytes Slice(const Bytes& b, size_t off, size_t n) { return Bytes(b.begin() + off, b.begin() + off + n); }

TEST_CASE("ndp: a neighbor solicitation for our address becomes the solicited advertisement") {
  Bytes f = NsFrame(kClient6, kVip6);
  PacketInfo info = Parsed(f);
  NdpMessage nd;
  REQUIRE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), info, &nd));
  CHECK(nd.type == sluice::kIcmpv6NeighborSolicit);
  CHECK(Bytes(nd.target, nd.target + 16) == kVip6);
  CHECK(nd.has_link_addr);
  CHECK(Bytes(nd.link_addr, nd.link_addr + 6) == kMacA);

  f.resize(200);
  uint32_t n = sluice::MakeNeighborAdvert(f.data(), 86, 200, info, kMacOurs.data(), nd.target);
  REQUIRE(n == 14 + 40 + 32);
  f.resize(n);
  CHECK(Slice(f, 0, 6) == kMacA);
  CHECK(Slice(f, 6, 6) == kMacOurs);
  CHECK(Get16(f, 12) == 0x86dd);
  CHECK(f[14] == 0x60);
  CHECK(Get16(f, 18) == 32);
  CHECK(f[20] == 58);
  CHECK(f[21] == 255);
  CHECK(Slice(f, 22, 16) == kVip6);
  CHECK(Slice(f, 38, 16) == kClient6);
  Bytes icmp = Slice(f, 54, 32);
  CHECK(icmp[0] == 136);
  CHECK(icmp[1] == 0);
  CHECK(icmp[4] == 0x60);  // Solicited, Override; not Router
  CHECK(Slice(icmp, 8, 16) == kVip6);
  CHECK(icmp[24] == 2);    // target link-layer address option
  CHECK(icmp[25] == 1);
  CHECK(Slice(icmp, 26, 6) == kMacOurs);
  Bytes zeroed = icmp;
  zeroed[2] = zeroed[3] = 0;
  CHECK(Get16(icmp, 2) == Icmp6Sum(kVip6, kClient6, zeroed));
  // And the data path's own validator agrees.
  PacketInfo reply = Parsed(f);
  NdpMessage na;
  REQUIRE(sluice::ParseNdp(f.data(), n, reply, &na));
  CHECK(na.type == sluice::kIcmpv6NeighborAdvert);
}

TEST_CASE("ndp: solicitations that RFC 4861 7.1.1 says to discard are refused") {
  NdpMessage nd;
  SUBCASE("hop limit below 255: it crossed a router") {
    Bytes f = NsFrame(kClient6, kVip6, 254);
    CHECK_FALSE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  }
  SUBCASE("bad checksum") {
    Bytes f = NsFrame(kClient6, kVip6, 255, false);
    CHECK_FALSE(sluice::Icmpv6ChecksumValid(f.data(), static_cast<uint32_t>(f.size()), Parsed(f)));
    CHECK_FALSE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  }
  SUBCASE("option of length zero") {
    Bytes f = NsFrame(kClient6, kVip6, 255, true, true, 0);
    CHECK_FALSE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  }
  SUBCASE("from the unspecified address with a source link-layer option") {
    Bytes f = NsFrame(kUnspecified, kVip6);
    CHECK_FALSE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  }
  SUBCASE("multicast target") {
    Bytes target = kVip6;
    target[0] = 0xff;
    Bytes f = NsFrame(kClient6, target);
    CHECK_FALSE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  }
}

TEST_CASE("ndp: a duplicate-address probe from :: is answered to all-nodes, not solicited") {
  Bytes f = NsFrame(kUnspecified, kVip6, 255, true, false);
  PacketInfo info = Parsed(f);
  NdpMessage nd;
  REQUIRE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), info, &nd));
  CHECK_FALSE(nd.has_link_addr);
  f.resize(200);
  uint32_t n = sluice::MakeNeighborAdvert(f.data(), 78, 200, info, kMacOurs.data(), nd.target);
  REQUIRE(n == 86);
  CHECK(Slice(f, 0, 6) == Bytes({0x33, 0x33, 0, 0, 0, 1}));
  CHECK(Slice(f, 38, 16) == Bytes({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(f[54 + 4] == 0x20);  // Override only
}

TEST_CASE("ndp: an advertisement yields its target and target link-layer address") {
  Bytes icmp = Icmp6(kClient6, kPort6, 136, NdBody(0x60, kClient6, 2, kMacB));
  Bytes f = Cat({Ether(0x86dd, {}, kMacOurs, kMacB), Ip6(kClient6, kPort6, 255, 58, icmp)});
  NdpMessage nd;
  REQUIRE(sluice::ParseNdp(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), &nd));
  CHECK(nd.type == sluice::kIcmpv6NeighborAdvert);
  CHECK(Bytes(nd.target, nd.target + 16) == kClient6);
  CHECK(nd.has_link_addr);
  CHECK(Bytes(nd.link_addr, nd.link_addr + 6) == kMacB);
}

TEST_CASE("ndp: the solicitation the resolver sends is valid and goes to the solicited-node group") {
  Bytes f(128);
  REQUIRE(sluice::BuildNeighborSolicit(f.data(), 85, kMacOurs.data(), kPort6.data(), kVip6.data()) == 0);
  uint32_t n = sluice::BuildNeighborSolicit(f.data(), 128, kMacOurs.data(), kPort6.data(), kVip6.data());
  REQUIRE(n == 86);
  f.resize(n);
  CHECK(Slice(f, 0, 6) == kSolicitedGroupMac);
  CHECK(Slice(f, 6, 6) == kMacOurs);
  CHECK(Slice(f, 22, 16) == kPort6);
  CHECK(Slice(f, 38, 16) == Bytes({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x01, 0x00}));
  NdpMessage nd;
  REQUIRE(sluice::ParseNdp(f.data(), n, Parsed(f), &nd));
  CHECK(nd.type == sluice::kIcmpv6NeighborSolicit);
  CHECK(Bytes(nd.target, nd.target + 16) == kVip6);
  CHECK(Bytes(nd.link_addr, nd.link_addr + 6) == kMacOurs);
}

TEST_CASE("ndp: an echo request becomes the reply with a valid checksum") {
  Bytes body = {0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g', '!'};
  Bytes icmp = Icmp6(kClient6, kVip6, 128, body);
  Bytes f = Cat({Ether(0x86dd, {0x8100}), Ip6(kClient6, kVip6, 57, 58, icmp)});
  PacketInfo info = Parsed(f);
  REQUIRE(sluice::MakeIcmpv6EchoReply(f.data(), static_cast<uint32_t>(f.size()), info, kMacOurs.data()));
  CHECK(Slice(f, 0, 6) == kMacA);
  CHECK(Slice(f, 6, 6) == kMacOurs);
  const size_t ip = 18;
  CHECK(f[ip + 7] == 64);
  CHECK(Slice(f, ip + 8, 16) == kVip6);
  CHECK(Slice(f, ip + 24, 16) == kClient6);
  Bytes reply = Slice(f, ip + 40, icmp.size());
  CHECK(reply[0] == 129);
  CHECK(Slice(reply, 4, body.size()) == body);
  Bytes zeroed = reply;
  zeroed[2] = zeroed[3] = 0;
  CHECK(Get16(reply, 2) == Icmp6Sum(kVip6, kClient6, zeroed));
  // Anything but a request is left alone.
  Bytes before = f;
  CHECK_FALSE(sluice::MakeIcmpv6EchoReply(f.data(), static_cast<uint32_t>(f.size()), Parsed(f), kMacOurs.data()));
  CHECK(f == before);
}

TEST_CASE("icmpv6: packet-too-big quotes the packet within 1280 bytes, from the VIP") {
  Bytes tcp_payload(1400, 0x5a);
  Bytes tcp = Tcp(40000, 80, 0x18, 5, tcp_payload);
  Bytes packet = Ip6(kClient6, kVip6, 57, 6, tcp);
  Bytes f = Cat({Ether(0x86dd), packet});
  const uint32_t len = static_cast<uint32_t>(f.size());
  f.resize(2048);
  CHECK(sluice::MakeIcmpv6PacketTooBig(f.data(), len, 1200, 14, kMacOurs.data(), 1452) == 0);
  uint32_t n = sluice::MakeIcmpv6PacketTooBig(f.data(), len, 2048, 14, kMacOurs.data(), 1452);
  REQUIRE(n == 14 + 1280);
  f.resize(n);
  CHECK(Slice(f, 0, 6) == kMacA);
  CHECK(Slice(f, 6, 6) == kMacOurs);
  CHECK(Get16(f, 18) == 1280 - 40);
  CHECK(f[20] == 58);
  CHECK(f[21] == 64);
  CHECK(Slice(f, 22, 16) == kVip6);
  CHECK(Slice(f, 38, 16) == kClient6);
  Bytes icmp = Slice(f, 54, 1240);
  CHECK(icmp[0] == 2);
  CHECK(icmp[1] == 0);
  CHECK(((uint32_t{Get16(icmp, 4)} << 16) | Get16(icmp, 6)) == 1452);
  CHECK(Slice(icmp, 8, 1232) == Slice(packet, 0, 1232));
  Bytes zeroed = icmp;
  zeroed[2] = zeroed[3] = 0;
  CHECK(Get16(icmp, 2) == Icmp6Sum(kVip6, kClient6, zeroed));
}

}  // namespace
