// The DCID of a QUIC packet by the invariants (packet/quic_header.h).
#include <doctest/doctest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "packet/quic_header.h"
#include "test/frames.h"

namespace sluice {
std::ostream& operator<<(std::ostream& os, QuicHeaderStatus s) {
  static const char* const kNames[] = {"kLong", "kShort", "kVersionNegotiation", "kTruncated", "kDcidTooLong"};
  const auto i = static_cast<unsigned>(s);
  return os << (i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "?");
}
}  // namespace sluice

namespace {

using namespace sluice_test;
using sluice::ParseQuicDcid;
using sluice::QuicDcid;
using sluice::QuicHeaderStatus;

Bytes Cid(uint8_t length, uint8_t first = 0x40) {
  Bytes b;
  for (uint8_t i = 0; i < length; ++i) b.push_back(static_cast<uint8_t>(first + i));
  return b;
}

// RFC 8999 5.1: first byte (header form 1), version, DCID length and DCID, SCID
// length and SCID, then whatever the version puts there.
Bytes LongHeader(uint32_t version, const Bytes& dcid, const Bytes& scid = Cid(8, 0x90), size_t rest = 20) {
  Bytes b;
  Put8(b, 0xc3);
  Put32(b, version);
  Put8(b, static_cast<uint32_t>(dcid.size()));
  Append(b, dcid);
  Put8(b, static_cast<uint32_t>(scid.size()));
  Append(b, scid);
  b.resize(b.size() + rest, 0xee);
  return b;
}

// RFC 8999 5.2: first byte (header form 0), DCID, then the version's bytes.
Bytes ShortHeader(const Bytes& dcid, size_t rest = 20, uint8_t first = 0x43) {
  Bytes b;
  Put8(b, first);
  Append(b, dcid);
  b.resize(b.size() + rest, 0xee);
  return b;
}

// Parses from an exact-size heap copy, so ASan sees any read past the end, and
// fills `out` with garbage first, so a field left unwritten shows up.
QuicHeaderStatus Parse(const Bytes& payload, size_t len, uint8_t short_length, QuicDcid* out) {
  ExactCopy copy(payload, len);
  *out = QuicDcid{reinterpret_cast<const uint8_t*>(out), 0xab, 0xabababab};
  const QuicHeaderStatus s = ParseQuicDcid(copy.data.get(), static_cast<uint32_t>(len), short_length, out);
  if (s == QuicHeaderStatus::kLong || s == QuicHeaderStatus::kShort || s == QuicHeaderStatus::kVersionNegotiation) {
    // The DCID must point into the payload; compare its bytes while the copy lives.
    REQUIRE(out->data >= copy.data.get());
    REQUIRE(out->data + out->length <= copy.data.get() + len);
    const Bytes dcid(out->data, out->data + out->length);
    out->data = nullptr;
    const size_t offset = s == QuicHeaderStatus::kShort ? 1 : 6;
    CHECK(dcid == Bytes(payload.begin() + offset, payload.begin() + offset + dcid.size()));
  }
  return s;
}

TEST_CASE("quic header: long and short headers give their DCID") {
  struct Case {
    const char* description;
    Bytes payload;
    uint8_t short_length;
    QuicHeaderStatus status;
    uint8_t dcid_length;
    uint32_t version;
  };
  const Case cases[] = {
      {"v1 long header, 8-octet DCID", LongHeader(0x00000001, Cid(8)), 8, QuicHeaderStatus::kLong, 8, 1},
      {"v1 long header, the short length is ignored", LongHeader(0x00000001, Cid(12)), 4, QuicHeaderStatus::kLong,
       12, 1},
      {"v2 long header, 20-octet DCID", LongHeader(0x6b3343cf, Cid(20)), 8, QuicHeaderStatus::kLong, 20,
       0x6b3343cf},
      {"unknown version: the invariants still hold", LongHeader(0x1a2a3a4a, Cid(5)), 8, QuicHeaderStatus::kLong, 5,
       0x1a2a3a4a},
      {"long header, empty DCID", LongHeader(0x00000001, Cid(0)), 8, QuicHeaderStatus::kLong, 0, 1},
      {"version negotiation", LongHeader(0x00000000, Cid(8)), 8, QuicHeaderStatus::kVersionNegotiation, 8, 0},
      {"short header", ShortHeader(Cid(8)), 8, QuicHeaderStatus::kShort, 8, 0},
      {"short header, fixed bit clear (RFC 9287 greasing)", ShortHeader(Cid(8), 20, 0x03), 8,
       QuicHeaderStatus::kShort, 8, 0},
      {"short header, 20-octet DCID", ShortHeader(Cid(20)), 20, QuicHeaderStatus::kShort, 20, 0},
      {"short header, zero-length DCID", ShortHeader(Cid(0)), 0, QuicHeaderStatus::kShort, 0, 0},
      {"short header, exactly first byte + DCID", ShortHeader(Cid(8), 0), 8, QuicHeaderStatus::kShort, 8, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.description);
    QuicDcid dcid;
    const QuicHeaderStatus s = Parse(c.payload, c.payload.size(), c.short_length, &dcid);
    CHECK(s == c.status);
    CHECK(dcid.length == c.dcid_length);
    CHECK(dcid.version == c.version);
  }
}

TEST_CASE("quic header: a long header ending right after its DCID parses") {
  Bytes p = LongHeader(0x00000001, Cid(8));
  QuicDcid dcid;
  CHECK(Parse(p, 6 + 8, 8, &dcid) == QuicHeaderStatus::kLong);
  CHECK(dcid.length == 8);
}

TEST_CASE("quic header: every truncation is kTruncated and reads nothing past the end") {
  // Every prefix shorter than first byte + version + length + DCID, for each form.
  const Bytes long_header = LongHeader(0x00000001, Cid(20));
  for (size_t len = 0; len < 6 + 20; ++len) {
    CAPTURE(len);
    QuicDcid dcid;
    CHECK(Parse(long_header, len, 8, &dcid) == QuicHeaderStatus::kTruncated);
  }
  const Bytes short_header = ShortHeader(Cid(20));
  for (size_t len = 0; len < 1 + 20; ++len) {
    CAPTURE(len);
    QuicDcid dcid;
    CHECK(Parse(short_header, len, 20, &dcid) == QuicHeaderStatus::kTruncated);
  }
}

TEST_CASE("quic header: a DCID longer than 20 octets is kDcidTooLong") {
  for (uint32_t length : {21u, 100u, 255u}) {
    CAPTURE(length);
    // The length byte says more than 20 whether or not the bytes are there.
    Bytes p = LongHeader(0x00000001, Cid(static_cast<uint8_t>(length)));
    QuicDcid dcid;
    CHECK(Parse(p, p.size(), 8, &dcid) == QuicHeaderStatus::kDcidTooLong);
    CHECK(Parse(p, 6, 8, &dcid) == QuicHeaderStatus::kDcidTooLong);
  }
  Bytes p = ShortHeader(Cid(20), 20);
  QuicDcid dcid;
  CHECK(Parse(p, p.size(), 21, &dcid) == QuicHeaderStatus::kDcidTooLong);
}

TEST_CASE("quic header: random payloads parse within their bounds") {
  // Parse checks, on every success, that the DCID lies in the payload and holds
  // its bytes; under ASan a read past the end would be reported.
  std::mt19937 rng(8999);
  for (int i = 0; i < 20000; ++i) {
    Bytes p(rng() % 40);
    for (uint8_t& b : p) b = static_cast<uint8_t>(rng());
    if (!p.empty() && p.size() > 5 && (rng() & 1)) p[5] = static_cast<uint8_t>(rng() % 24);  // plausible lengths
    QuicDcid dcid;
    const QuicHeaderStatus s = Parse(p, p.size(), static_cast<uint8_t>(rng() % 24), &dcid);
    if (p.empty()) CHECK(s == QuicHeaderStatus::kTruncated);
  }
}

}  // namespace
