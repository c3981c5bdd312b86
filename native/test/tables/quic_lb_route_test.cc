// A snapshot's QUIC-LB routing (tables/quic_lb_route.h): server IDs to backend
// ids, one codec per worker, and nothing for what names no known server.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/coded_error.h"
#include "tables/quic_lb_route.h"

namespace {

using sluice::QuicLbAlgorithm;
using sluice::QuicLbConfig;
using sluice::QuicLbRoute;
using sluice::QuicLbServerId;

QuicLbServerId Id(std::vector<uint8_t> bytes) {
  QuicLbServerId id{};
  id.length = static_cast<uint8_t>(bytes.size());
  std::memcpy(id.bytes, bytes.data(), bytes.size());
  return id;
}

QuicLbConfig FourPass() {
  QuicLbConfig c{1, 2, 6, QuicLbAlgorithm::kFourPass, {}};
  for (size_t i = 0; i < c.key.size(); i++) c.key[i] = static_cast<uint8_t>(0x40 + i);
  return c;
}

}  // namespace

TEST_CASE("QuicLbRoute: each server ID to its backend, from every worker's codec") {
  std::vector<std::pair<QuicLbServerId, uint32_t>> servers;
  for (uint32_t k = 0; k < 300; k++) servers.emplace_back(Id({static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)}), 1000 + k);
  QuicLbRoute route(FourPass(), 3, servers, "services[0].quicLb");
  CHECK(route.cid_length() == 9);
  sluice::QuicLbCodec encoder(FourPass());
  for (uint32_t k = 0; k < 300; k++) {
    std::vector<uint8_t> cid = encoder.Encode({static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)}, {1, 2, 3, 4, 5, static_cast<uint8_t>(k)});
    for (uint32_t worker = 0; worker < 3; worker++) CHECK(route.BackendOf(worker, cid.data(), static_cast<uint32_t>(cid.size())) == 1000 + k);
  }
  // A server ID nobody has, another config, and a DCID too short: nothing.
  std::vector<uint8_t> unknown = encoder.Encode({0xff, 0xff}, {1, 2, 3, 4, 5, 6});
  CHECK(route.BackendOf(0, unknown.data(), static_cast<uint32_t>(unknown.size())) == QuicLbRoute::kNone);
  std::vector<uint8_t> other = encoder.Encode({0, 7}, {1, 2, 3, 4, 5, 6});
  other[0] = static_cast<uint8_t>((other[0] & 0x1f) | (2 << 5));
  CHECK(route.BackendOf(1, other.data(), static_cast<uint32_t>(other.size())) == QuicLbRoute::kNone);
  std::vector<uint8_t> shorter = encoder.Encode({0, 7}, {1, 2, 3, 4, 5, 6});
  CHECK(route.BackendOf(2, shorter.data(), 5) == QuicLbRoute::kNone);
}

TEST_CASE("QuicLbRoute: no servers routes nothing; a config the codec refuses throws, naming where") {
  QuicLbRoute empty(FourPass(), 1, {}, "services[0].quicLb");
  sluice::QuicLbCodec encoder(FourPass());
  std::vector<uint8_t> cid = encoder.Encode({0, 1}, {1, 2, 3, 4, 5, 6});
  CHECK(empty.BackendOf(0, cid.data(), static_cast<uint32_t>(cid.size())) == QuicLbRoute::kNone);
  QuicLbConfig bad = FourPass();
  bad.algorithm = QuicLbAlgorithm::kSinglePass;
  try {
    QuicLbRoute refused(bad, 1, {}, "services[3].quicLb");
    FAIL("a single-pass config of 8 octets was taken");
  } catch (const sluice::CodedError& e) {
    CHECK(std::string(e.what()).rfind("services[3].quicLb: single-pass needs", 0) == 0);
  }
}
