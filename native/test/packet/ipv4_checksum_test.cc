#include "packet/ipv4_checksum.h"

#include <cstring>
#include <random>

#include <doctest/doctest.h>
#include "test/frames.h"

using sluice::Ipv4HeaderChecksumValid;
using sluice_test::OnesSum;

namespace {

// A random header of `words` 32-bit words with a correct checksum.
std::vector<uint8_t> SummedHeader(std::mt19937& rng, uint32_t words) {
  std::vector<uint8_t> ip(words * 4);
  for (uint8_t& b : ip) b = static_cast<uint8_t>(rng());
  ip[0] = static_cast<uint8_t>(0x40 | words);
  ip[10] = ip[11] = 0;
  const uint16_t sum = static_cast<uint16_t>(~OnesSum(ip.data(), ip.size()));
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
  return ip;
}

}  // namespace

TEST_CASE("IPv4 header checksum: agrees with the byte-wise RFC 1071 sum, options included") {
  std::mt19937 rng(7);
  for (uint32_t words = 5; words <= 15; words++) {
    for (int n = 0; n < 2000; n++) {
      std::vector<uint8_t> ip = SummedHeader(rng, words);
      REQUIRE(OnesSum(ip.data(), ip.size()) == 0xffff);
      CHECK(Ipv4HeaderChecksumValid(ip.data()));
      // Any single flipped bit is caught.
      size_t bit = rng() % (ip.size() * 8);
      if (bit < 8) continue;  // the IHL nibble: would change what is summed
      ip[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      CHECK_FALSE(Ipv4HeaderChecksumValid(ip.data()));
    }
  }
}

TEST_CASE("IPv4 header checksum: carries across 32-bit words fold back in") {
  // All 0xff but the checksum field: the largest sums, every fold carries.
  std::vector<uint8_t> ip(60, 0xff);  // room for options, though IHL says none
  ip[0] = 0x45;
  ip[10] = ip[11] = 0;
  const uint16_t sum = static_cast<uint16_t>(~OnesSum(ip.data(), 20));
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
  CHECK(Ipv4HeaderChecksumValid(ip.data()));
  ip[19] ^= 1;
  CHECK_FALSE(Ipv4HeaderChecksumValid(ip.data()));
}

TEST_CASE("IPv4 header checksum: the value written makes the header valid") {
  std::mt19937 rng(11);
  for (int n = 0; n < 5000; n++) {
    std::vector<uint8_t> ip = SummedHeader(rng, 5);
    const uint8_t expected[2] = {ip[10], ip[11]};
    ip[10] = ip[11] = 0;
    uint16_t sum = sluice::Ipv4HeaderChecksum(ip.data());
    std::memcpy(&ip[10], &sum, 2);
    CHECK(ip[10] == expected[0]);
    CHECK(ip[11] == expected[1]);
    CHECK(Ipv4HeaderChecksumValid(ip.data()));
  }
}

TEST_CASE("IPv4 header checksum: valid exactly when the byte-wise sum is 0xffff, whatever the bytes") {
  std::mt19937 rng(13);
  for (uint32_t words = 5; words <= 15; words++) {
    for (int n = 0; n < 20000; n++) {
      std::vector<uint8_t> ip(words * 4);
      for (uint8_t& b : ip) b = static_cast<uint8_t>(rng());
      ip[0] = static_cast<uint8_t>(0x40 | words);
      CHECK(Ipv4HeaderChecksumValid(ip.data()) == (OnesSum(ip.data(), ip.size()) == 0xffff));
    }
  }
}

TEST_CASE("IPv4 header checksum: 0x0000 and 0xffff, the two forms of zero, are both valid where one is") {
  std::mt19937 rng(17);
  for (int n = 0; n < 2000; n++) {
    std::vector<uint8_t> ip(20);
    for (uint8_t& b : ip) b = static_cast<uint8_t>(rng());
    ip[0] = 0x45;
    ip[10] = ip[11] = 0;
    // Make the rest of the header sum to 0xffff through the identification field,
    // so that a checksum of 0x0000 is the correct one.
    ip[4] = ip[5] = 0;
    const uint16_t rest = OnesSum(ip.data(), ip.size());
    const uint16_t id = static_cast<uint16_t>(0xffff - rest);
    ip[4] = static_cast<uint8_t>(id >> 8);
    ip[5] = static_cast<uint8_t>(id);
    REQUIRE(OnesSum(ip.data(), ip.size()) == 0xffff);
    CHECK(Ipv4HeaderChecksumValid(ip.data()));
    ip[10] = ip[11] = 0xff;
    REQUIRE(OnesSum(ip.data(), ip.size()) == 0xffff);
    CHECK(Ipv4HeaderChecksumValid(ip.data()));
  }
}

TEST_CASE("IPv4 header checksum without options: agrees with the general check on 20-byte headers") {
  std::mt19937 rng(17);
  for (int n = 0; n < 20000; n++) {
    std::vector<uint8_t> ip = n % 2 == 0 ? SummedHeader(rng, 5) : std::vector<uint8_t>(20);
    if (n % 2 != 0) {
      for (uint8_t& b : ip) b = static_cast<uint8_t>(rng());
      ip[0] = 0x45;
    }
    // Every other summed header gets one flipped bit past the version and IHL.
    if (n % 4 == 0) ip[1 + rng() % 19] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const bool valid = OnesSum(ip.data(), ip.size()) == 0xffff;
    CHECK(sluice::Ipv4OptionlessHeaderChecksumValid(ip.data()) == valid);
    CHECK(Ipv4HeaderChecksumValid(ip.data()) == valid);
  }
}

TEST_CASE("IPv4 header checksum without options: reads 20 bytes whatever the IHL says") {
  std::mt19937 rng(19);
  std::vector<uint8_t> ip = SummedHeader(rng, 5);
  // An IHL of 15 would send the general check 40 bytes further; this one sums
  // the 20 it was given (the fixed header's sum changes by the nibble, so the
  // header is then invalid, not read out of bounds).
  ip[0] = 0x4f;
  CHECK(sluice::Ipv4OptionlessHeaderChecksumValid(ip.data()) == (OnesSum(ip.data(), 20) == 0xffff));
  CHECK_FALSE(sluice::Ipv4OptionlessHeaderChecksumValid(ip.data()));
}
