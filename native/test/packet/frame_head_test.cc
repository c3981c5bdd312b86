#include "packet/frame_head.h"

#include <cstring>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

const struct rte_ether_addr kPortMac = {{0x02, 0x53, 0x4c, 0x00, 0x00, 0x07}};

// The common frame's first 16 bytes, to the port, from a unicast source: IPv4, IHL 5.
std::vector<uint8_t> CommonHead() {
  std::vector<uint8_t> f = {0x02, 0x53, 0x4c, 0x00, 0x00, 0x07,  // destination: the port
                            0x02, 0x00, 0x00, 0x00, 0x00, 0x99,  // source
                            0x08, 0x00,                          // IPv4
                            0x45, 0x10};                         // IHL 5, a TOS
  return f;
}

}  // namespace

TEST_CASE("frame head: the common frame to the port matches") {
  sluice::FrameHead head(kPortMac);
  CHECK(head.Matches(CommonHead().data()));
}

TEST_CASE("frame head: bytes outside the checked ones do not matter") {
  sluice::FrameHead head(kPortMac);
  std::mt19937 rng(3);
  for (int n = 0; n < 1000; n++) {
    std::vector<uint8_t> f = CommonHead();
    for (uint32_t i : {7u, 8u, 9u, 10u, 11u, 15u}) f[i] = static_cast<uint8_t>(rng());
    f[6] = static_cast<uint8_t>(rng() & 0xfe);  // any unicast source
    CHECK(head.Matches(f.data()));
  }
}

TEST_CASE("frame head: a changed destination, source group bit, ethertype or first IP byte fails") {
  sluice::FrameHead head(kPortMac);
  struct Case {
    uint32_t byte;
    uint8_t flip;
    const char* what;
  };
  std::vector<Case> cases = {{6, 0x01, "source is a group address"}, {12, 0x80, "ethertype 0x8800"},
                             {13, 0xdd, "ethertype 0x08dd"}, {12, 0x08 ^ 0x86, "ethertype 0x8600"},
                             {14, 0x01, "IHL 4"}, {14, 0x0b, "IHL 14 (options)"}, {14, 0x20, "version 6"}};
  for (uint32_t byte = 0; byte < 6; byte++) {
    for (uint32_t bit = 0; bit < 8; bit++) cases.push_back({byte, static_cast<uint8_t>(1u << bit), "destination"});
  }
  for (const Case& c : cases) {
    std::vector<uint8_t> f = CommonHead();
    f[c.byte] ^= c.flip;
    INFO(c.what << ": byte " << c.byte << " ^ " << static_cast<int>(c.flip));
    CHECK_FALSE(head.Matches(f.data()));
  }
  std::vector<uint8_t> broadcast = CommonHead();
  std::memset(broadcast.data(), 0xff, 6);
  CHECK_FALSE(head.Matches(broadcast.data()));
}

TEST_CASE("frame head: another port's MAC is another head") {
  const struct rte_ether_addr other = {{0x02, 0x53, 0x4c, 0x00, 0x00, 0x08}};
  CHECK_FALSE(sluice::FrameHead(other).Matches(CommonHead().data()));
}
