// QUIC-LB connection IDs (tables/quic_lb.h) against the test vectors of
// draft-ietf-quic-load-balancers-21 (appendix "Load Balancer Test Vectors" and
// the four-pass "Encryption Example").
#include <doctest/doctest.h>
#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/coded_error.h"
#include "packet/quic_header.h"
#include "tables/quic_lb.h"

namespace sluice {
std::ostream& operator<<(std::ostream& os, QuicLbDecodeStatus s) {
  static const char* const kNames[] = {"kOk", "kOtherConfig", "kTooShort", "kCipherFailed"};
  const auto i = static_cast<unsigned>(s);
  return os << (i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "?");
}
}  // namespace sluice

namespace {

using sluice::CodedError;
using sluice::QuicLbAlgorithm;
using sluice::QuicLbCodec;
using sluice::QuicLbConfig;
using sluice::QuicLbDecodeStatus;
using sluice::QuicLbServerId;

using Bytes = std::vector<uint8_t>;

Bytes Hex(const std::string& hex) {
  REQUIRE(hex.size() % 2 == 0);
  Bytes b;
  for (size_t i = 0; i < hex.size(); i += 2) b.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return b;
}

std::string ToHex(const uint8_t* p, size_t n) {
  std::string s;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", p[i]);
    s += buf;
  }
  return s;
}
std::string ToHex(const Bytes& b) { return ToHex(b.data(), b.size()); }

QuicLbConfig Config(uint8_t config_id, uint8_t sid, uint8_t nonce, QuicLbAlgorithm algorithm,
                    const std::string& key_hex = "") {
  QuicLbConfig c{config_id, sid, nonce, algorithm, {}};
  if (!key_hex.empty()) {
    const Bytes key = Hex(key_hex);
    REQUIRE(key.size() == c.key.size());
    std::memcpy(c.key.data(), key.data(), key.size());
  }
  return c;
}

// Every allocation OpenSSL makes, counted from before its first: the
// functions can be replaced only then, hence a static initialiser.
long crypto_allocations = 0;
void* CountingMalloc(size_t n, const char*, int) {
  ++crypto_allocations;
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  ++crypto_allocations;
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) { std::free(p); }
const bool counting_crypto = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;

constexpr const char* kVectorKey = "8f95f09245765f80256934e50c66207f";

struct Vector {
  const char* description;
  uint8_t config_id;
  QuicLbAlgorithm algorithm;
  const char* key;
  const char* server_id;
  const char* nonce;
  const char* cid;
};

// The draft's vectors, with its two misprints put right (each checked in its
// own test case below against the bytes as printed):
// - plaintext, config 1: printed "1 350d28b420 3487d970b 20a350d28b4203487d970b".
//   The nonce has nine hex digits and the CID's first octet is written "2" "0a":
//   the numbers were printed without their leading zeros. Read with them, the
//   first octet is 0x2a (config 1, length 10) and the nonce 03487d970b, the only
//   reading whose server ID is the printed one.
// - four-pass, config 3: the CID is printed with first octet 0x12 (config 0),
//   draft-17 printed 0x72 (config 3, length 18). The 18 encrypted octets do not
//   depend on the first octet (and match the draft's own); 0x72 is used here.
const Vector kVectors[] = {
    {"plaintext, 3 + 4", 0, QuicLbAlgorithm::kPlaintext, "", "c4605e", "4504cc4f", "07c4605e4504cc4f"},
    {"plaintext, 5 + 5", 1, QuicLbAlgorithm::kPlaintext, "", "350d28b420", "03487d970b", "2a350d28b42003487d970b"},
    {"four-pass, 3 + 4 (odd, three decoding passes)", 0, QuicLbAlgorithm::kFourPass, kVectorKey, "ed793a",
     "ee080dbf", "0720b1d07b359d3c"},
    {"four-pass, 10 + 5 (odd, server ID longer than the nonce: four passes)", 1, QuicLbAlgorithm::kFourPass,
     kVectorKey, "ed793a51d49b8f5fab65", "ee080dbf48", "2fcc381bc74cb4fbad2823a3d1f8fed2"},
    {"single-pass, 8 + 8", 2, QuicLbAlgorithm::kSinglePass, kVectorKey, "ed793a51d49b8f5f", "ee080dbf48c0d1e5",
     "504dd2d05a7b0de9b2b9907afb5ecf8cc3"},
    {"four-pass, 9 + 9 (even)", 3, QuicLbAlgorithm::kFourPass, kVectorKey, "ed793a51d49b8f5fab",
     "ee080dbf48c0d1e55d", "725779c9cc86beb3a3a4a3ca96fce4bfe0cdbc"},
    // Section 5.4.2.4, "Encryption Example", another key.
    {"four-pass example, 3 + 4", 0, QuicLbAlgorithm::kFourPass, "fdf726a9893ec05c0632d3956680baf0", "31441a",
     "9c69c275", "0767947d29be054a"},
};

QuicLbCodec CodecFor(const Vector& v) {
  const Bytes sid = Hex(v.server_id);
  const Bytes nonce = Hex(v.nonce);
  return QuicLbCodec(Config(v.config_id, static_cast<uint8_t>(sid.size()), static_cast<uint8_t>(nonce.size()),
                            v.algorithm, v.key));
}

QuicLbDecodeStatus Decode(QuicLbCodec& codec, const Bytes& cid, QuicLbServerId* out) {
  // An exact-size heap copy, so ASan sees a read past the DCID.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[cid.size()]);
  if (!cid.empty()) std::memcpy(copy.get(), cid.data(), cid.size());
  return codec.Decode(copy.get(), static_cast<uint32_t>(cid.size()), out);
}

std::string DecodedHex(QuicLbCodec& codec, const Bytes& cid) {
  QuicLbServerId out;
  std::memset(&out, 0xab, sizeof(out));
  const QuicLbDecodeStatus s = Decode(codec, cid, &out);
  REQUIRE(s == QuicLbDecodeStatus::kOk);
  for (size_t i = out.length; i < sizeof(out.bytes); ++i) CHECK(out.bytes[i] == 0);
  return ToHex(out.bytes, out.length);
}

TEST_CASE("quic-lb: the draft's test vectors decode to their server IDs and encode to their CIDs") {
  for (const Vector& v : kVectors) {
    CAPTURE(v.description);
    QuicLbCodec codec = CodecFor(v);
    CHECK(DecodedHex(codec, Hex(v.cid)) == v.server_id);
    CHECK(ToHex(codec.Encode(Hex(v.server_id), Hex(v.nonce))) == v.cid);
    CHECK(codec.cid_length() == Hex(v.cid).size());
  }
}

TEST_CASE("quic-lb: the draft's misprinted vectors, as printed") {
  SUBCASE("plaintext 5 + 5: the printed hex is our CID with its leading zeros dropped") {
    CHECK(std::string("20a350d28b4203487d970b") == std::string("2") + "0a" + "350d28b420" + "3487d970b");
  }
  SUBCASE("four-pass 9 + 9: the printed CID decodes with config 0, whose ID its first octet carries") {
    QuicLbCodec codec(Config(0, 9, 9, QuicLbAlgorithm::kFourPass, kVectorKey));
    CHECK(DecodedHex(codec, Hex("125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc")) == "ed793a51d49b8f5fab");
  }
}

TEST_CASE("quic-lb: octets the server appends after the block are ignored") {
  for (const Vector& v : kVectors) {
    CAPTURE(v.description);
    QuicLbCodec codec = CodecFor(v);
    Bytes cid = Hex(v.cid);
    while (cid.size() < sluice::kQuicMaxCidLength) cid.push_back(0x5a);
    CHECK(DecodedHex(codec, cid) == v.server_id);
  }
}

TEST_CASE("quic-lb: the first octet's low bits do not matter, its config bits do") {
  const Vector& v = kVectors[3];  // four-pass, config 1
  QuicLbCodec codec = CodecFor(v);
  Bytes cid = Hex(v.cid);
  for (uint8_t low = 0; low < 32; ++low) {
    cid[0] = static_cast<uint8_t>(1 << 5 | low);
    CHECK(DecodedHex(codec, cid) == v.server_id);
  }
  for (uint8_t config = 0; config < 8; ++config) {
    if (config == 1) continue;
    CAPTURE(config);
    cid[0] = static_cast<uint8_t>(config << 5 | 0x0f);
    QuicLbServerId out;
    CHECK(Decode(codec, cid, &out) == QuicLbDecodeStatus::kOtherConfig);
  }
}

TEST_CASE("quic-lb: a DCID shorter than first octet + server ID + nonce is kTooShort") {
  for (const Vector& v : kVectors) {
    CAPTURE(v.description);
    QuicLbCodec codec = CodecFor(v);
    const Bytes cid = Hex(v.cid);
    for (size_t len = 0; len < cid.size(); ++len) {
      CAPTURE(len);
      QuicLbServerId out;
      CHECK(Decode(codec, Bytes(cid.begin(), cid.begin() + len), &out) == QuicLbDecodeStatus::kTooShort);
    }
  }
}

// Every server ID and nonce length the draft allows, with each algorithm it
// allows there: random server IDs and nonces come back through Encode and
// Decode, and an encrypted CID shows neither its server ID nor which server's
// it is.
TEST_CASE("quic-lb: every length round-trips") {
  std::mt19937 rng(26);
  const auto random_bytes = [&rng](size_t n) {
    Bytes b(n);
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  int configs = 0;
  for (uint8_t sid = 1; sid <= 15; ++sid) {
    for (uint8_t nonce = 4; sid + nonce <= 19; ++nonce) {
      const bool block = sid + nonce == 16;
      for (QuicLbAlgorithm a : {QuicLbAlgorithm::kPlaintext, block ? QuicLbAlgorithm::kSinglePass
                                                                    : QuicLbAlgorithm::kFourPass}) {
        CAPTURE(int{sid});
        CAPTURE(int{nonce});
        CAPTURE(static_cast<int>(a));
        QuicLbConfig config = Config(static_cast<uint8_t>(configs % 7), sid, nonce, a);
        const Bytes key = random_bytes(16);
        std::memcpy(config.key.data(), key.data(), 16);
        QuicLbCodec codec(config);
        ++configs;
        int in_clear = 0;  // CIDs whose server ID shows as is
        for (int i = 0; i < 20; ++i) {
          const Bytes server_id = random_bytes(sid);
          const Bytes n = random_bytes(nonce);
          const Bytes cid = codec.Encode(server_id, n);
          REQUIRE(cid.size() == 1u + sid + nonce);
          CHECK(cid[0] == (config.config_id << 5 | (sid + nonce)));
          in_clear += Bytes(cid.begin() + 1, cid.begin() + 1 + sid) == server_id;
          CHECK(DecodedHex(codec, cid) == ToHex(server_id));
        }
        // Encrypted, a one-octet server ID still shows by chance once in 256 CIDs.
        if (a == QuicLbAlgorithm::kPlaintext) {
          CHECK(in_clear == 20);
        } else {
          CHECK(in_clear < 3);
          // One server's CIDs share no visible prefix: the nonce changes every octet.
          const Bytes server_id = random_bytes(sid);
          std::set<Bytes> prefixes;
          for (int i = 0; i < 20; ++i) {
            const Bytes cid = codec.Encode(server_id, random_bytes(nonce));
            prefixes.insert(Bytes(cid.begin() + 1, cid.begin() + 1 + sid));
          }
          CHECK(prefixes.size() > 10);
        }
      }
    }
  }
  CHECK(configs == 2 * (15 + 14 + 13 + 12 + 11 + 10 + 9 + 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1));
}

TEST_CASE("quic-lb: Decode makes OpenSSL allocate nothing") {
  if (!counting_crypto) {
    MESSAGE("OpenSSL allocated before this binary's static initialisers ran: allocations not counted");
    return;
  }
  for (const Vector& v : kVectors) {
    CAPTURE(v.description);
    QuicLbCodec codec = CodecFor(v);
    const Bytes cid = Hex(v.cid);
    QuicLbServerId out;
    const long before = crypto_allocations;
    for (int i = 0; i < 1000; ++i) REQUIRE(codec.Decode(cid.data(), static_cast<uint32_t>(cid.size()), &out) == QuicLbDecodeStatus::kOk);
    CHECK(crypto_allocations == before);
  }
  // The counter does count: keying a context allocates.
  const long before = crypto_allocations;
  QuicLbCodec codec = CodecFor(kVectors[2]);
  CHECK(crypto_allocations > before);
}

TEST_CASE("quic-lb: a copy decodes on its own contexts, and the original goes on working") {
  const Vector& v = kVectors[4];  // single-pass: both contexts
  QuicLbCodec original = CodecFor(v);
  QuicLbCodec copy(original);
  CHECK(DecodedHex(copy, Hex(v.cid)) == v.server_id);
  CHECK(DecodedHex(original, Hex(v.cid)) == v.server_id);
  QuicLbCodec moved(std::move(copy));
  CHECK(DecodedHex(moved, Hex(v.cid)) == v.server_id);
}

TEST_CASE("quic-lb: a bad config is a coded error naming where it is") {
  struct Bad {
    QuicLbConfig config;
    const char* message;
  };
  const Bad cases[] = {
      {Config(7, 3, 4, QuicLbAlgorithm::kPlaintext), "configId must be 0 to 6"},
      {Config(200, 3, 4, QuicLbAlgorithm::kPlaintext), "configId must be 0 to 6"},
      {Config(0, 0, 4, QuicLbAlgorithm::kPlaintext), "serverIdLength must be at least 1"},
      {Config(0, 3, 3, QuicLbAlgorithm::kFourPass), "nonceLength must be at least 4"},
      {Config(0, 16, 4, QuicLbAlgorithm::kPlaintext), "must be at most 19"},
      {Config(0, 4, 16, QuicLbAlgorithm::kFourPass), "must be at most 19"},
      {Config(0, 255, 255, QuicLbAlgorithm::kFourPass), "must be at most 19"},
      {Config(0, 3, 4, QuicLbAlgorithm::kSinglePass), "single-pass needs serverIdLength + nonceLength = 16"},
      {Config(0, 8, 8, QuicLbAlgorithm::kFourPass), "four-pass is for other lengths"},
      {Config(0, 3, 4, static_cast<QuicLbAlgorithm>(9)), "algorithm must be"},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.message);
    try {
      QuicLbCodec codec(b.config, "services[2].quicLb");
      FAIL("no error");
    } catch (const CodedError& e) {
      CHECK(std::string(e.code()) == sluice::codes::kInvalidArgument);
      CHECK(std::string(e.what()).rfind("services[2].quicLb: ", 0) == 0);
      CHECK(std::string(e.what()).find(b.message) != std::string::npos);
    }
  }
}

TEST_CASE("quic-lb: Encode refuses a server ID or nonce of the wrong length") {
  QuicLbCodec codec(Config(0, 3, 4, QuicLbAlgorithm::kFourPass, kVectorKey));
  for (const auto& [sid, nonce] : {std::pair<Bytes, Bytes>{Bytes(2), Bytes(4)}, {Bytes(4), Bytes(4)},
                                  {Bytes(3), Bytes(3)}, {Bytes(3), Bytes(5)}}) {
    CHECK_THROWS_AS(codec.Encode(sid, nonce), CodedError);
  }
}

}  // namespace
