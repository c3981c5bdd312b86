#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "packet/local_reply.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::PacketInfo;
using sluice::ParsePacket;
using sluice::ParseStatus;

const Bytes kBroadcast(6, 0xff);
constexpr uint32_t kRequesterIp = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kVipIp = 0x0a000064;        // 10.0.0.100

uint32_t NetIp(uint32_t host) {
  const uint8_t b[4] = {static_cast<uint8_t>(host >> 24), static_cast<uint8_t>(host >> 16),
                        static_cast<uint8_t>(host >> 8), static_cast<uint8_t>(host)};
  uint32_t v;
  std::memcpy(&v, b, 4);
  return v;
}

PacketInfo MustParse(const Bytes& f, ParseStatus expect) {
  PacketInfo info;
  const ParseStatus s = ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info);
  REQUIRE(s == expect);
  return info;
}

Bytes ArpRequestFrame(std::initializer_list<uint16_t> tags = {}) {
  return PadTo(Cat({Ether(0x0806, tags, kBroadcast, kMacA),
                    Arp(1, kMacA, kRequesterIp, Bytes(6, 0), kVipIp)}),
               60 + 4 * tags.size());
}

Bytes EchoFrame(uint8_t ihl, const Bytes& payload, std::initializer_list<uint16_t> tags = {},
                uint16_t id = 0x1234, uint16_t seq = 7) {
  return Cat({Ether(0x0800, tags, kMacOurs, kMacA),
              Ipv4({.proto = 1, .ttl = 17, .ihl = ihl, .src = kRequesterIp, .dst = kVipIp},
                   IcmpEcho(8, id, seq, payload))});
}

// Checks `reply` is the echo reply to `request` whose IP header starts at l3.
void CheckEchoReply(const Bytes& request, const Bytes& reply, size_t l3) {
  REQUIRE(reply.size() == request.size());
  const size_t ihl = (request[l3] & 0x0f) * 4u;
  const size_t total = Get16(request, l3 + 2);
  const size_t icmp = l3 + ihl;
  CHECK(Bytes(reply.begin(), reply.begin() + 6) == Bytes(request.begin() + 6, request.begin() + 12));
  CHECK(Bytes(reply.begin() + 6, reply.begin() + 12) == kMacOurs);
  // VLAN tags and ethertype untouched.
  CHECK(Bytes(reply.begin() + 12, reply.begin() + l3) == Bytes(request.begin() + 12, request.begin() + l3));
  CHECK(Bytes(reply.begin() + l3 + 12, reply.begin() + l3 + 16) ==
        Bytes(request.begin() + l3 + 16, request.begin() + l3 + 20));
  CHECK(Bytes(reply.begin() + l3 + 16, reply.begin() + l3 + 20) ==
        Bytes(request.begin() + l3 + 12, request.begin() + l3 + 16));
  CHECK(reply[l3 + 8] == 64);
  CHECK(reply[l3 + 9] == 1);
  CHECK(Get16(reply, l3 + 2) == total);
  // Options survive and are covered by the checksum.
  CHECK(Bytes(reply.begin() + l3 + 20, reply.begin() + icmp) ==
        Bytes(request.begin() + l3 + 20, request.begin() + icmp));
  CHECK(OnesSum(reply.data() + l3, ihl) == 0xffff);
  CHECK(reply[icmp] == 0);
  CHECK(reply[icmp + 1] == request[icmp + 1]);
  CHECK(OnesSum(reply.data() + icmp, total - ihl) == 0xffff);
  // Identifier, sequence, payload, and anything past the IP packet unchanged.
  CHECK(Bytes(reply.begin() + icmp + 4, reply.end()) == Bytes(request.begin() + icmp + 4, request.end()));
}

}  // namespace

TEST_CASE("local reply: ARP request becomes the byte-exact reply") {
  Bytes f = ArpRequestFrame();
  const PacketInfo info = MustParse(f, ParseStatus::kArp);
  uint32_t target = 0;
  REQUIRE(sluice::ArpRequestTarget(f.data(), static_cast<uint32_t>(f.size()), info, &target));
  CHECK(target == NetIp(kVipIp));

  sluice::MakeArpReply(f.data(), static_cast<uint32_t>(f.size()), info, kMacOurs.data());
  const uint8_t expected[60] = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,  // to the requester
      0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01,  // from us
      0x08, 0x06,                          // ARP
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04,  // Ethernet, IPv4, 6, 4
      0x00, 0x02,                          // reply
      0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01,  // sha: us
      0x0a, 0x00, 0x00, 0x64,              // spa: the asked address
      0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,  // tha: requester
      0x0a, 0x00, 0x00, 0x01,              // tpa: requester
  };
  CHECK(f == Bytes(expected, expected + 60));
}

TEST_CASE("local reply: ARP reply keeps VLAN tags") {
  Bytes f = ArpRequestFrame({0x88a8, 0x8100});
  const Bytes request = f;
  const PacketInfo info = MustParse(f, ParseStatus::kArp);
  REQUIRE(info.l3_offset == 22);
  uint32_t target = 0;
  REQUIRE(sluice::ArpRequestTarget(f.data(), static_cast<uint32_t>(f.size()), info, &target));
  CHECK(target == NetIp(kVipIp));
  sluice::MakeArpReply(f.data(), static_cast<uint32_t>(f.size()), info, kMacOurs.data());
  CHECK(Bytes(f.begin(), f.begin() + 6) == kMacA);
  CHECK(Bytes(f.begin() + 6, f.begin() + 12) == kMacOurs);
  CHECK(Bytes(f.begin() + 12, f.begin() + 22) == Bytes(request.begin() + 12, request.begin() + 22));
  const Bytes expected_arp = Arp(2, kMacOurs, kVipIp, kMacA, kRequesterIp);
  CHECK(Bytes(f.begin() + 22, f.begin() + 50) == expected_arp);
  CHECK(Bytes(f.begin() + 50, f.end()) == Bytes(request.begin() + 50, request.end()));
}

TEST_CASE("local reply: ArpSender learns from requests and replies") {
  const Bytes req = ArpRequestFrame();
  uint32_t ip = 0;
  uint8_t mac[6] = {};
  REQUIRE(sluice::ArpSender(req.data(), static_cast<uint32_t>(req.size()),
                            MustParse(req, ParseStatus::kArp), &ip, mac));
  CHECK(ip == NetIp(kRequesterIp));
  CHECK(Bytes(mac, mac + 6) == kMacA);

  const Bytes reply = PadTo(Cat({Ether(0x0806, {0x8100}, kMacOurs, kMacB),
                                 Arp(2, kMacB, 0x0a000002, kMacOurs, kVipIp)}),
                            64);
  const PacketInfo info = MustParse(reply, ParseStatus::kArp);
  REQUIRE(sluice::ArpSender(reply.data(), static_cast<uint32_t>(reply.size()), info, &ip, mac));
  CHECK(ip == NetIp(0x0a000002));
  CHECK(Bytes(mac, mac + 6) == kMacB);
  uint32_t target = 0;
  CHECK_FALSE(sluice::ArpRequestTarget(reply.data(), static_cast<uint32_t>(reply.size()), info,
                                       &target));
}

TEST_CASE("local reply: malformed ARP is rejected and left alone") {
  struct Case {
    const char* name;
    Bytes arp;
    bool sender_ok;  // ArpSender still accepts it
  };
  const Bytes z(6, 0);
  const Case cases[] = {
      {"hlen 5", Arp(1, kMacA, kRequesterIp, z, kVipIp, 1, 0x0800, 5, 4), false},
      {"plen 6", Arp(1, kMacA, kRequesterIp, z, kVipIp, 1, 0x0800, 6, 6), false},
      {"htype 6", Arp(1, kMacA, kRequesterIp, z, kVipIp, 6, 0x0800, 6, 4), false},
      {"ptype IPv6", Arp(1, kMacA, kRequesterIp, z, kVipIp, 1, 0x86dd, 6, 4), false},
      {"op 3 (RARP)", Arp(3, kMacA, kRequesterIp, z, kVipIp), false},
      {"op 0", Arp(0, kMacA, kRequesterIp, z, kVipIp), false},
      {"op 2 (reply)", Arp(2, kMacA, kRequesterIp, z, kVipIp), true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Bytes f = PadTo(Cat({Ether(0x0806, {}, kBroadcast, kMacA), c.arp}), 60);
    const Bytes before = f;
    const PacketInfo info = MustParse(f, ParseStatus::kArp);
    uint32_t target = 0, ip = 0;
    uint8_t mac[6];
    CHECK_FALSE(sluice::ArpRequestTarget(f.data(), static_cast<uint32_t>(f.size()), info, &target));
    CHECK(sluice::ArpSender(f.data(), static_cast<uint32_t>(f.size()), info, &ip, mac) ==
          c.sender_ok);
    sluice::MakeArpReply(f.data(), static_cast<uint32_t>(f.size()), info, kMacOurs.data());
    CHECK(f == before);
  }
}

TEST_CASE("local reply: ICMP echo reply") {
  struct Case {
    const char* name;
    Bytes frame;
  };
  Bytes payload(56);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 37 + 1);
  const Case cases[] = {
      {"plain, 56-byte payload", EchoFrame(5, payload)},
      {"odd payload length", EchoFrame(5, Bytes(payload.begin(), payload.begin() + 55))},
      {"IPv4 options (IHL 8)", EchoFrame(8, payload)},
      {"IHL 15, VLAN", EchoFrame(15, payload, {0x8100})},
      {"QinQ, empty payload, Ethernet padding", PadTo(EchoFrame(5, {}, {0x88a8, 0x8100}), 64, 0xee)},
      {"1472-byte payload", EchoFrame(5, Bytes(1472, 0xa5))},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Bytes f = c.frame;
    const PacketInfo info = MustParse(f, ParseStatus::kOk);
    REQUIRE(info.icmp_type == 8);
    REQUIRE(OnesSum(f.data() + info.l3_offset, (f[info.l3_offset] & 0x0f) * 4u) == 0xffff);
    REQUIRE(sluice::MakeIcmpEchoReply(f.data(), static_cast<uint32_t>(f.size()), info,
                                      kMacOurs.data()));
    CheckEchoReply(c.frame, f, info.l3_offset);
  }
}

// The incremental ICMP update is where one's-complement edge cases (0x0000 vs
// 0xffff, end-around carry) hide; sweeping the identifier sweeps the checksum.
TEST_CASE("local reply: ICMP checksum is right for every identifier") {
  for (uint32_t id = 0; id <= 0xffff; ++id) {
    const Bytes request = EchoFrame(5, {0x00, 0x01, 0xff, 0xfe}, {}, static_cast<uint16_t>(id), 0);
    Bytes f = request;
    const PacketInfo info = MustParse(f, ParseStatus::kOk);
    REQUIRE(sluice::MakeIcmpEchoReply(f.data(), static_cast<uint32_t>(f.size()), info,
                                      kMacOurs.data()));
    if (OnesSum(f.data() + 34, f.size() - 34) != 0xffff || f[34] != 0) {
      CAPTURE(id);
      FAIL("bad ICMP checksum after reply");
    }
  }
}

TEST_CASE("local reply: non-echo or short ICMP is refused and left alone") {
  struct Case {
    const char* name;
    Bytes frame;
    ParseStatus status;
  };
  // The parser already calls an echo request without identifier and sequence
  // truncated; the responder must refuse it even so.
  const Case cases[] = {
      {"ICMP message of 4 bytes",
       Cat({Ether(0x0800), Ipv4({.proto = 1}, {8, 0, 0xf7, 0xff})}), ParseStatus::kTruncated},
      {"ICMP message of 7 bytes",
       PadTo(Cat({Ether(0x0800), Ipv4({.proto = 1}, {8, 0, 0xf7, 0xff, 0, 0, 0})}), 60),
       ParseStatus::kTruncated},
      {"echo reply", Cat({Ether(0x0800), Ipv4({.proto = 1}, IcmpEcho(0, 1, 1, {}))}), ParseStatus::kOk},
      {"timestamp request", Cat({Ether(0x0800), Ipv4({.proto = 1}, IcmpEcho(13, 1, 1, Bytes(12)))}),
       ParseStatus::kOk},
      {"ICMPv6 echo request", Cat({Ether(0x86dd), Ipv6(58, IcmpEcho(128, 1, 1, {}))}), ParseStatus::kOk},
      {"UDP", Cat({Ether(0x0800), Ipv4({.proto = 17}, Udp(8, 8))}), ParseStatus::kOk},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Bytes f = c.frame;
    PacketInfo info = MustParse(f, c.status);
    if (c.status != ParseStatus::kOk) CHECK(info.icmp_type == 8);
    CHECK_FALSE(sluice::MakeIcmpEchoReply(f.data(), static_cast<uint32_t>(f.size()), info,
                                          kMacOurs.data()));
    CHECK(f == c.frame);
  }
  // Infos claiming an echo request over a frame that is something else.
  Bytes frag = Cat({Ether(0x0800), Ipv4({.proto = 1, .frag = 0x2000}, IcmpEcho(8, 1, 1, Bytes(16)))});
  const Bytes frag_before = frag;
  PacketInfo frag_info = MustParse(frag, ParseStatus::kIpFragment);
  frag_info.icmp_type = 8;
  CHECK_FALSE(sluice::MakeIcmpEchoReply(frag.data(), static_cast<uint32_t>(frag.size()), frag_info,
                                        kMacOurs.data()));
  CHECK(frag == frag_before);

  Bytes udp = Cat({Ether(0x0800), Ipv4({.proto = 17}, Udp(8, 8))});
  const Bytes before = udp;
  PacketInfo forged = MustParse(udp, ParseStatus::kOk);
  forged.l4_proto = 1;
  forged.icmp_type = 8;
  CHECK_FALSE(sluice::MakeIcmpEchoReply(udp.data(), static_cast<uint32_t>(udp.size()), forged,
                                        kMacOurs.data()));
  CHECK(udp == before);
}

TEST_CASE("local reply: ICMP checksum check") {
  Bytes payload(57);  // odd: the last byte is summed alone
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13 + 5);
  const Bytes frames[] = {EchoFrame(5, payload), EchoFrame(9, payload, {0x8100}),
                          PadTo(EchoFrame(5, {}), 60, 0xee)};
  for (const Bytes& good : frames) {
    const PacketInfo info = MustParse(good, ParseStatus::kOk);
    const uint32_t n = static_cast<uint32_t>(good.size());
    CHECK(sluice::IcmpChecksumValid(good.data(), n, info));
    // Any single flipped bit in the message, checksum field included, is caught.
    const uint32_t end = info.l3_offset + info.l3_length;
    for (uint32_t i = info.l4_offset; i < end; ++i) {
      Bytes bad = good;
      bad[i] ^= 0x10;
      CAPTURE(i);
      CHECK_FALSE(sluice::IcmpChecksumValid(bad.data(), n, info));
    }
    // Bytes past the IP length (padding) are not part of the message.
    Bytes padded = good;
    padded.push_back(0x77);
    CHECK(sluice::IcmpChecksumValid(padded.data(), n + 1, info));
    // The message must lie inside the bytes given.
    CHECK_FALSE(sluice::IcmpChecksumValid(good.data(), end - 1, info));
  }
  // Not IPv4 ICMP.
  const Bytes udp = Cat({Ether(0x0800), Ipv4({.proto = 17}, Udp(8, 8))});
  CHECK_FALSE(sluice::IcmpChecksumValid(udp.data(), static_cast<uint32_t>(udp.size()),
                                        MustParse(udp, ParseStatus::kOk)));
}

TEST_CASE("local reply: BuildArpRequest") {
  const uint8_t expected[60] = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // broadcast
      0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01,  // from us
      0x08, 0x06,                          // ARP
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04,  // Ethernet, IPv4, 6, 4
      0x00, 0x01,                          // request
      0x02, 0x5c, 0x1c, 0xe0, 0x00, 0x01,  // sha: us
      0xc0, 0xa8, 0x01, 0x0a,              // spa: 192.168.1.10
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // tha: unknown
      0xc0, 0xa8, 0x01, 0x01,              // tpa: 192.168.1.1
  };
  ExactCopy buf(Bytes(60, 0x5a), 60);  // exact size: ASan flags any write past 60
  const uint32_t n = sluice::BuildArpRequest(buf.data.get(), 60, kMacOurs.data(),
                                             NetIp(0xc0a8010a), NetIp(0xc0a80101));
  REQUIRE(n == 60);
  CHECK(Bytes(buf.data.get(), buf.data.get() + 60) == Bytes(expected, expected + 60));

  const Bytes built(buf.data.get(), buf.data.get() + 60);
  const PacketInfo info = MustParse(built, ParseStatus::kArp);
  uint32_t target = 0, ip = 0;
  uint8_t mac[6];
  REQUIRE(sluice::ArpRequestTarget(built.data(), 60, info, &target));
  CHECK(target == NetIp(0xc0a80101));
  REQUIRE(sluice::ArpSender(built.data(), 60, info, &ip, mac));
  CHECK(ip == NetIp(0xc0a8010a));
  CHECK(Bytes(mac, mac + 6) == kMacOurs);

  for (uint32_t cap : {0u, 1u, 42u, 59u}) {
    CAPTURE(cap);
    Bytes small(64, 0x5a);
    CHECK(sluice::BuildArpRequest(small.data(), cap, kMacOurs.data(), 1, 2) == 0);
    CHECK(small == Bytes(64, 0x5a));
  }
  Bytes big(1500, 0x5a);
  CHECK(sluice::BuildArpRequest(big.data(), 1500, kMacOurs.data(), 1, 2) == 60);
  CHECK(big[60] == 0x5a);
}

// Each function gets both the info of the whole frame (a caller passing stale
// info) and the info of the truncated one; ASan in the SANITIZE=1 build turns any
// access past n into a failure.
TEST_CASE("local reply: every function is safe on every truncation") {
  Bytes payload(20, 0x33);
  const Bytes frames[] = {
      ArpRequestFrame(),
      ArpRequestFrame({0x8100, 0x8100}),
      EchoFrame(5, payload),
      EchoFrame(9, payload, {0x8100}),
  };
  for (const Bytes& full : frames) {
    PacketInfo full_info;
    const ParseStatus full_status =
        ParsePacket(full.data(), static_cast<uint32_t>(full.size()), &full_info);
    REQUIRE((full_status == ParseStatus::kOk || full_status == ParseStatus::kArp));
    const uint32_t needed = full_status == ParseStatus::kArp
                                ? full_info.l3_offset + 28u
                                : full_info.l3_offset + full_info.l3_length;
    for (uint32_t n = 0; n <= full.size(); ++n) {
      CAPTURE(n);
      PacketInfo trunc_info;
      {
        ExactCopy c(full, n);
        ParsePacket(c.data.get(), n, &trunc_info);
      }
      for (const PacketInfo* info : {&full_info, &trunc_info}) {
        ExactCopy c(full, n);
        uint32_t ip = 0;
        uint8_t mac[6];
        const bool target = sluice::ArpRequestTarget(c.data.get(), n, *info, &ip);
        const bool sender = sluice::ArpSender(c.data.get(), n, *info, &ip, mac);
        sluice::MakeArpReply(c.data.get(), n, *info, kMacOurs.data());
        const bool echo = sluice::MakeIcmpEchoReply(c.data.get(), n, *info, kMacOurs.data());
        const bool icmp_sum = sluice::IcmpChecksumValid(c.data.get(), n, *info);
        if (n < needed) {
          CHECK_FALSE(icmp_sum);
          CHECK_FALSE(target);
          CHECK_FALSE(sender);
          CHECK_FALSE(echo);
        }
      }
    }
  }
}

TEST_CASE("local reply: random frames with forged infos stay in bounds") {
  std::mt19937 rng(99);
  const Bytes seeds[] = {ArpRequestFrame({0x8100}), EchoFrame(6, Bytes(30, 1), {0x8100})};
  uint32_t replies = 0, bad_ip_checksums = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    Bytes f = seeds[iter % 2];
    for (int i = 0; i < 3; ++i) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 4));
    ExactCopy c(f, f.size());
    const uint32_t n = static_cast<uint32_t>(f.size());
    PacketInfo info;
    ParsePacket(c.data.get(), n, &info);
    if (iter % 3 == 0) {
      info.l3_offset = static_cast<uint16_t>(rng() % 128);
      info.ip_version = 4;
      info.l4_proto = 1;
      info.icmp_type = 8;
    }
    uint32_t ip;
    uint8_t mac[6];
    sluice::ArpRequestTarget(c.data.get(), n, info, &ip);
    sluice::ArpSender(c.data.get(), n, info, &ip, mac);
    sluice::MakeArpReply(c.data.get(), n, info, kMacOurs.data());
    if (iter % 5 == 0) info.l4_offset = static_cast<uint16_t>(rng() % 128);
    sluice::IcmpChecksumValid(c.data.get(), n, info);
    if (sluice::MakeIcmpEchoReply(c.data.get(), n, info, kMacOurs.data())) {
      // Whatever it accepted, it must have accepted as a whole IPv4 header.
      ++replies;
      const uint8_t* ip = c.data.get() + info.l3_offset;
      bad_ip_checksums += OnesSum(ip, (ip[0] & 0x0f) * 4u) != 0xffff;
    }
  }
  CHECK(replies > 100);
  CHECK(bad_ip_checksums == 0);
}
