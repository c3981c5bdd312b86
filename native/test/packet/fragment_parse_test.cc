#include <doctest/doctest.h>

#include <cstring>

#include "packet/fragment_parse.h"
#include "packet/packet_parse.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::FragmentInfo;
using sluice::FragmentStatus;
using sluice::PacketInfo;
using sluice::ParseFragment;
using sluice::ParsePacket;
using sluice::ParseStatus;

constexpr uint16_t kV4 = 0x0800;
constexpr uint16_t kV6 = 0x86dd;

// ParsePacket, then ParseFragment, as the worker calls them.
FragmentStatus Parse(const Bytes& frame, PacketInfo* info, FragmentInfo* frag) {
  ExactCopy copy(frame, frame.size());
  REQUIRE(ParsePacket(copy.data.get(), static_cast<uint32_t>(copy.size), info) == ParseStatus::kIpFragment);
  return ParseFragment(copy.data.get(), static_cast<uint32_t>(copy.size), static_cast<uint32_t>(copy.size), info, frag);
}

Bytes FragHeader(uint8_t next, uint16_t offset_bytes, bool more, uint32_t id) {
  Bytes b;
  Put8(b, next);
  Put8(b, 0);
  Put16(b, offset_bytes | (more ? 1 : 0));
  Put32(b, id);
  return b;
}

uint16_t Host16(uint16_t net) {
  uint8_t b[2];
  std::memcpy(b, &net, 2);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

TEST_CASE("fragment parse: an IPv4 first fragment gives its ports; its UDP length is the datagram's") {
  PacketInfo info;
  FragmentInfo frag;
  // 4000-byte datagram: the first fragment carries 1480 bytes of it.
  Bytes frame = Cat({Ether(kV4), Ipv4({.proto = 17, .frag = 0x2000}, Udp(5353, 53, Bytes(1472, 7), 4000))});
  REQUIRE(Parse(frame, &info, &frag) == FragmentStatus::kOk);
  CHECK(frag.offset == 0);
  CHECK(frag.more);
  CHECK(frag.length == 1480);
  CHECK(frag.id == 0x1234);
  CHECK(frag.key_proto == 17);
  CHECK(frag.l4_header_len == 8);
  CHECK(Host16(info.src_port) == 5353);
  CHECK(Host16(info.dst_port) == 53);
  CHECK(info.l4_offset == 34);
}

TEST_CASE("fragment parse: IPv4 later fragments, and what is malformed") {
  PacketInfo info;
  FragmentInfo frag;
  REQUIRE(Parse(Cat({Ether(kV4), Ipv4({.proto = 17, .frag = 185}, Bytes(1480, 1))}), &info, &frag) ==
          FragmentStatus::kOk);
  CHECK(frag.offset == 1480);
  CHECK_FALSE(frag.more);
  CHECK(frag.length == 1480);
  CHECK(info.src_port == 0);
  // Not the last, but not a multiple of 8 long.
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.proto = 17, .frag = 0x2000 | 185}, Bytes(1001, 1))}), &info, &frag) ==
        FragmentStatus::kMalformed);
  // Past 64 KiB (the ping of death).
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.proto = 17, .frag = 0x1fff}, Bytes(100, 1))}), &info, &frag) ==
        FragmentStatus::kMalformed);
}

TEST_CASE("fragment parse: a first fragment without the whole TCP or UDP header is too small") {
  PacketInfo info;
  FragmentInfo frag;
  // 8 bytes of TCP (RFC 1858's tiny fragment): the flags are in the next one.
  Bytes tcp = Tcp(1234, 80, 0x02);
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.proto = 6, .frag = 0x2000}, Bytes(tcp.begin(), tcp.begin() + 8))}), &info,
              &frag) == FragmentStatus::kTooSmall);
  // A TCP header with options the fragment cuts.
  Bytes long_tcp = Tcp(1234, 80, 0x02, 8);
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.proto = 6, .frag = 0x2000}, Bytes(long_tcp.begin(), long_tcp.begin() + 24))}),
              &info, &frag) == FragmentStatus::kTooSmall);
  CHECK(Parse(Cat({Ether(kV4), Ipv4({.proto = 6, .frag = 0x2000}, Cat({long_tcp, Bytes(8, 0)}))}), &info, &frag) ==
        FragmentStatus::kOk);
  CHECK(frag.l4_header_len == 32);
  CHECK(info.tcp_flags == 0x02);
}

TEST_CASE("fragment parse: IPv6 fragments, with extension headers before and after the fragment header") {
  PacketInfo info;
  FragmentInfo frag;
  Bytes first = Cat({Ether(kV6), Ipv6(44, Cat({FragHeader(17, 0, true, 0xdeadbeef), Udp(40000, 53, Bytes(1224, 0), 3000)}))});
  REQUIRE(Parse(first, &info, &frag) == FragmentStatus::kOk);
  CHECK(frag.more);
  CHECK(frag.offset == 0);
  CHECK(frag.key_proto == 17);
  CHECK(info.l4_proto == 17);
  CHECK(Host16(info.dst_port) == 53);
  CHECK(frag.length == 1232);
  uint32_t id;
  const uint8_t want[4] = {0xde, 0xad, 0xbe, 0xef};
  std::memcpy(&id, want, 4);
  CHECK(frag.id == id);

  Bytes later = Cat({Ether(kV6), Ipv6(0, Cat({Ipv6Ext(44, 0), FragHeader(17, 1232, false, 0xdeadbeef), Bytes(800, 1)}))});
  REQUIRE(Parse(later, &info, &frag) == FragmentStatus::kOk);
  CHECK(frag.offset == 1232);
  CHECK_FALSE(frag.more);
  CHECK(frag.length == 800);
  CHECK(info.l4_proto == 17);

  // Destination options behind the fragment header count towards the header the first must hold.
  Bytes with_opts = Cat({Ether(kV6), Ipv6(44, Cat({FragHeader(60, 0, true, 1), Ipv6Ext(6, 0), Tcp(1, 80, 0x02, 5, Bytes(4, 0))}))});
  REQUIRE(Parse(with_opts, &info, &frag) == FragmentStatus::kOk);
  CHECK(frag.key_proto == 60);
  CHECK(info.l4_proto == 6);
  CHECK(frag.l4_header_len == 28);
  Bytes cut = Cat({Ether(kV6), Ipv6(44, Cat({FragHeader(60, 0, true, 1), Ipv6Ext(6, 0), Bytes(8, 0)}))});
  CHECK(Parse(cut, &info, &frag) == FragmentStatus::kTooSmall);
  // An atomic fragment (RFC 6946): offset 0, no more.
  Bytes atomic = Cat({Ether(kV6), Ipv6(44, Cat({FragHeader(17, 0, false, 2), Udp(1, 53, Bytes(8, 0))}))});
  REQUIRE(Parse(atomic, &info, &frag) == FragmentStatus::kOk);
  CHECK_FALSE(frag.more);
  CHECK(Host16(info.src_port) == 1);
}

}  // namespace
