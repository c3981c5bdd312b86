#include <doctest/doctest.h>

#include <cstring>

#include "packet/icmp_errors.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;

constexpr uint32_t kClient = 0xc0a80a01;  // 192.168.10.1
constexpr uint32_t kVip = 0x0a000064;     // 10.0.0.100

uint32_t Host(const Bytes& b, size_t off) { return (uint32_t{Get16(b, off)} << 16) | Get16(b, off + 2); }

Bytes BigFrame(size_t payload, std::initializer_list<uint16_t> tags = {}) {
  Bytes data(payload);
  for (size_t i = 0; i < payload; i++) data[i] = static_cast<uint8_t>(i * 7);
  return Cat({Ether(0x0800, tags, kMacOurs, kMacA),
              Ipv4({.proto = 6, .ttl = 57, .src = kClient, .dst = kVip}, Tcp(40000, 80, 0x10, 5, data))});
}

// Runs MakeIcmpFragNeeded on a copy with `extra` bytes of room after the frame.
Bytes Reply(const Bytes& in, size_t l2, uint16_t mtu, size_t extra = 600) {
  Bytes buf = in;
  buf.resize(in.size() + extra, 0xee);
  const uint32_t n = sluice::MakeIcmpFragNeeded(buf.data(), static_cast<uint32_t>(in.size()),
                                                static_cast<uint32_t>(buf.size()), static_cast<uint32_t>(l2),
                                                kMacOurs.data(), mtu);
  buf.resize(n);
  return buf;
}

void CheckReply(const Bytes& in, const Bytes& out, size_t l2, uint16_t mtu, size_t quote) {
  REQUIRE(out.size() == l2 + 28 + quote);
  CHECK(Bytes(out.begin(), out.begin() + 6) == kMacA);
  CHECK(Bytes(out.begin() + 6, out.begin() + 12) == kMacOurs);
  CHECK(Bytes(out.begin() + 12, out.begin() + l2) == Bytes(in.begin() + 12, in.begin() + l2));
  CHECK(out[l2] == 0x45);
  CHECK(Get16(out, l2 + 2) == 28 + quote);
  CHECK(Get16(out, l2 + 6) == 0);
  CHECK(out[l2 + 8] == 64);
  CHECK(out[l2 + 9] == 1);
  CHECK(Host(out, l2 + 12) == kVip);
  CHECK(Host(out, l2 + 16) == kClient);
  CHECK(OnesSum(out.data() + l2, 20) == 0xffff);
  const size_t icmp = l2 + 20;
  CHECK(out[icmp] == 3);
  CHECK(out[icmp + 1] == 4);
  CHECK(Get16(out, icmp + 4) == 0);
  CHECK(Get16(out, icmp + 6) == mtu);
  CHECK(OnesSum(out.data() + icmp, 8 + quote) == 0xffff);
  CHECK(Bytes(out.begin() + icmp + 8, out.end()) == Bytes(in.begin() + l2, in.begin() + l2 + quote));
}

}  // namespace

TEST_CASE("icmp errors: frag-needed quotes up to 576 bytes of datagram, VLAN tags kept") {
  const Bytes in = BigFrame(1460, {0x8100});
  const Bytes out = Reply(in, 18, 1480);
  CheckReply(in, out, 18, 1480, 576 - 28);
}

TEST_CASE("icmp errors: a short packet is quoted whole, even when the reply is longer") {
  const Bytes in = BigFrame(60);
  const Bytes out = Reply(in, 14, 40);
  CheckReply(in, out, 14, 40, 100);
}

TEST_CASE("icmp errors: malformed packets and too little room are refused untouched") {
  const Bytes good = BigFrame(60);
  Bytes bad_version = good;
  bad_version[14] = 0x65;
  Bytes long_total = good;
  long_total[16] = 0x05;  // total length past the frame
  for (const Bytes& in : {bad_version, long_total}) {
    Bytes buf = in;
    buf.resize(in.size() + 600);
    const Bytes before = buf;
    CHECK(sluice::MakeIcmpFragNeeded(buf.data(), static_cast<uint32_t>(in.size()), static_cast<uint32_t>(buf.size()),
                                     14, kMacOurs.data(), 1480) == 0);
    CHECK(buf == before);
  }
  Bytes buf = good;
  CHECK(sluice::MakeIcmpFragNeeded(buf.data(), static_cast<uint32_t>(buf.size()), static_cast<uint32_t>(buf.size()),
                                   14, kMacOurs.data(), 40) == 0);
  CHECK(buf == good);
  CHECK(sluice::MakeIcmpFragNeeded(buf.data(), 30, 2000, 14, kMacOurs.data(), 40) == 0);
  CHECK(sluice::MakeIcmpFragNeeded(buf.data(), static_cast<uint32_t>(buf.size()), 2000, 8, kMacOurs.data(), 40) == 0);
}

TEST_CASE("icmp errors: the rate limiter starts full, empties after the burst and refills at the rate") {
  sluice::IcmpRateLimiter limiter{};
  uint32_t allowed = 0;
  for (int i = 0; i < 200; i++) allowed += limiter.Allow(1000);
  CHECK(allowed == sluice::kIcmpErrorBurst);
  CHECK_FALSE(limiter.Allow(1000));
  // 1000 per second is one per millisecond.
  CHECK(limiter.Allow(1001));
  CHECK_FALSE(limiter.Allow(1001));
  allowed = 0;
  for (int i = 0; i < 200; i++) allowed += limiter.Allow(1011);
  CHECK(allowed == 10);
  // A long quiet spell refills up to the burst, no further.
  allowed = 0;
  for (int i = 0; i < 200; i++) allowed += limiter.Allow(60000);
  CHECK(allowed == sluice::kIcmpErrorBurst);
}
