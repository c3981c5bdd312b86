#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "modes/nat/nat_pool.h"
#include "control/nat_steering_rules.h"

namespace {

constexpr uint16_t kPort = 1;  // the pool's port; every worker also polls port 0

std::array<uint8_t, 16> Address6(uint8_t last) {
  std::array<uint8_t, 16> a{0xfd, 0x00, 0x00, 0x99};
  a[15] = last;
  return a;
}

sluice::NatPoolConfig Pool(uint16_t port_min, uint16_t port_max) {
  sluice::NatPoolConfig pool;
  pool.addresses = {htonl(0x0a6300c8), htonl(0x0a6300c9)};
  pool.addresses6 = {Address6(0xc8), Address6(0xc9)};
  pool.port_min = port_min;
  pool.port_max = port_max;
  return pool;
}

// The queue worker k polls on kPort: not k, so a rule that used the worker index
// as its queue would be caught.
uint16_t QueueOfWorker(uint32_t k, uint32_t n) { return static_cast<uint16_t>(2 * (n - 1 - k) + 1); }

std::vector<sluice::WorkerConfig> Workers(uint32_t n) {
  std::vector<sluice::WorkerConfig> workers;
  for (uint32_t k = 0; k < n; k++) {
    workers.push_back({10 + k, {{0, static_cast<uint16_t>(k)}, {kPort, QueueOfWorker(k, n)}}});
  }
  return workers;
}

// What an rte_flow rule with these items matches: the family, the whole
// destination address, the protocol, and the destination port under the mask.
bool Matches(const sluice::NatSteeringRule& rule, uint8_t family, const uint8_t* address, uint8_t proto,
             uint16_t port) {
  if (rule.family != family || rule.proto != proto) return false;
  bool same = family == 4 ? std::memcmp(&rule.address, address, 4) == 0 : std::memcmp(rule.address6.data(), address, 16) == 0;
  return same && (port & rule.port_mask) == (rule.port_spec & rule.port_mask);
}

// The rules of `plan` that match; -1 for none, -2 for more than one.
int MatchingRule(const sluice::NatSteeringPlan& plan, uint8_t family, const uint8_t* address, uint8_t proto,
                 uint16_t port) {
  int found = -1;
  for (size_t i = 0; i < plan.rules.size(); i++) {
    if (!Matches(plan.rules[i], family, address, proto, port)) continue;
    if (found >= 0) return -2;
    found = static_cast<int>(i);
  }
  return found;
}

}  // namespace

TEST_CASE("nat steering: every pool port of both families meets exactly one rule, to its owner's queue") {
  const std::vector<std::pair<uint16_t, uint16_t>> ranges = {
      {1024, 65535}, {1025, 1030}, {3, 9}, {40001, 40001}, {65534, 65535}, {1021, 1100}};
  for (uint32_t n : {1u, 2u, 4u}) {
    for (auto [port_min, port_max] : ranges) {
      CAPTURE(n);
      CAPTURE(port_min);
      CAPTURE(port_max);
      sluice::NatPoolConfig pool = Pool(port_min, port_max);
      sluice::NatSteeringPlan plan = sluice::PlanNatSteering(pool, Workers(n), kPort);
      REQUIRE(plan.refusal.empty());
      sluice::NatPoolLayout layout({&pool}, n);
      uint32_t owners = 0;
      for (uint32_t w = 0; w < n; w++) owners += layout.PairsOf(w, 0, 4) > 0 ? 1 : 0;
      CHECK(plan.rules.size() == (pool.addresses.size() + pool.addresses6.size()) * 2 * owners);
      for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
        uint64_t pairs = 0;
        for (uint32_t w = 0; w < n; w++) {
          for (uint32_t i = 0; i < layout.PairsOf(w, 0, family); i++, pairs++) {
            sluice::NatPair pair = layout.Pair(w, 0, i, family);
            REQUIRE(layout.Owner(pair.port) == w);
            const uint8_t* address = family == 4 ? reinterpret_cast<const uint8_t*>(&pair.address)
                                                 : layout.Address6(0, pair.address_index);
            for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
              int r = MatchingRule(plan, family, address, proto, ntohs(pair.port));
              REQUIRE(r >= 0);
              CHECK(plan.rules[r].queue == QueueOfWorker(w, n));
              CHECK(plan.rules[r].worker == w);
            }
          }
        }
        // The owners' pairs are every (address, port) of the pool: no pool port was left out.
        CHECK(pairs == 2u * (port_max - port_min + 1u));
      }
      // Another address of either family is not steered.
      uint32_t other = htonl(0x0a6300ca);
      std::array<uint8_t, 16> other6 = Address6(0xca);
      CHECK(MatchingRule(plan, 4, reinterpret_cast<const uint8_t*>(&other), IPPROTO_TCP, port_min) == -1);
      CHECK(MatchingRule(plan, 6, other6.data(), IPPROTO_UDP, port_min) == -1);
      // A pool address under the other family's item is not either.
      CHECK(MatchingRule(plan, 6, reinterpret_cast<const uint8_t*>(&pool.addresses[0]), IPPROTO_TCP, port_min) == -1);
    }
  }
}

TEST_CASE("nat steering: an IPv6-only or IPv4-only pool gets rules for its own family only") {
  sluice::NatPoolConfig pool = Pool(2000, 2999);
  pool.addresses.clear();
  sluice::NatSteeringPlan plan = sluice::PlanNatSteering(pool, Workers(2), kPort);
  REQUIRE(plan.refusal.empty());
  CHECK(plan.rules.size() == 2 * 2 * 2);
  for (const sluice::NatSteeringRule& rule : plan.rules) CHECK(rule.family == 6);
  pool = Pool(2000, 2999);
  pool.addresses6.clear();
  plan = sluice::PlanNatSteering(pool, Workers(2), kPort);
  REQUIRE(plan.refusal.empty());
  CHECK(plan.rules.size() == 2 * 2 * 2);
  for (const sluice::NatSteeringRule& rule : plan.rules) CHECK(rule.family == 4);
}

TEST_CASE("nat steering: a worker count that is not a power of two is refused, with the reason") {
  sluice::NatSteeringPlan plan = sluice::PlanNatSteering(Pool(1024, 65535), Workers(3), kPort);
  CHECK(plan.rules.empty());
  CHECK(plan.refusal == "3 workers: rules can only match a power-of-two count by port bits");
}

TEST_CASE("nat steering: the rule budget counts both families") {
  // 4 workers, 2 protocols: 8 rules per address.
  size_t fit = sluice::kMaxNatSteeringRules / 8;
  sluice::NatPoolConfig pool = Pool(1024, 65535);
  pool.addresses.clear();
  pool.addresses6.clear();
  for (size_t i = 0; i < fit / 2; i++) pool.addresses.push_back(htonl(0x0a000000u + static_cast<uint32_t>(i)));
  for (size_t i = 0; i < fit - fit / 2; i++) {
    std::array<uint8_t, 16> a = Address6(0);
    a[14] = static_cast<uint8_t>(i >> 8);
    a[15] = static_cast<uint8_t>(i);
    pool.addresses6.push_back(a);
  }
  sluice::NatSteeringPlan plan = sluice::PlanNatSteering(pool, Workers(4), kPort);
  CHECK(plan.refusal.empty());
  CHECK(plan.rules.size() == sluice::kMaxNatSteeringRules);
  pool.addresses6.push_back(Address6(0xff));
  plan = sluice::PlanNatSteering(pool, Workers(4), kPort);
  CHECK(plan.rules.empty());
  CHECK(plan.refusal == "the pool needs " + std::to_string(sluice::kMaxNatSteeringRules + 8) + " rules, more than " +
                            std::to_string(sluice::kMaxNatSteeringRules));
}

TEST_CASE("nat steering: a worker that owns pool ports but polls no queue of the port is refused, with the reason") {
  std::vector<sluice::WorkerConfig> workers = Workers(2);
  workers[1].rx = {{0, 1}};
  sluice::NatSteeringPlan plan = sluice::PlanNatSteering(Pool(1024, 65535), workers, kPort);
  CHECK(plan.rules.empty());
  CHECK(plan.refusal == "lcore 11 polls no queue of this port");
  // With a one-port range worker 1 owns nothing, needs no queue and gets no rule.
  plan = sluice::PlanNatSteering(Pool(40000, 40000), workers, kPort);
  REQUIRE(plan.refusal.empty());
  CHECK(plan.rules.size() == 4 * 2);
  for (const sluice::NatSteeringRule& rule : plan.rules) CHECK(rule.worker == 0);
}

TEST_CASE("nat steering: no workers or no addresses, no plan") {
  CHECK(sluice::PlanNatSteering(Pool(1024, 2048), {}, kPort).refusal == "no workers");
  sluice::NatPoolConfig empty = Pool(1024, 2048);
  empty.addresses.clear();
  empty.addresses6.clear();
  CHECK(sluice::PlanNatSteering(empty, Workers(2), kPort).refusal == "the pool has no addresses");
}
