#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>
#include <random>
#include <set>

#include "packet/ipv4_checksum.h"
#include "modes/nat/nat_pool.h"
#include "modes/nat/nat_translate.h"
#include "packet/packet_parse.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;

// Fields as they lie in memory (network order), as the rewrite takes them.
uint32_t Get32Raw(const Bytes& f, size_t at) {
  uint32_t v;
  std::memcpy(&v, &f[at], 4);
  return v;
}
uint16_t Get16Raw(const Bytes& f, size_t at) {
  uint16_t v;
  std::memcpy(&v, &f[at], 2);
  return v;
}

// The TCP/UDP checksum over the pseudo-header and the segment of an IPv4 packet
// at `ip`: 0 when the stored checksum is right.
uint16_t L4Verify(const Bytes& frame, size_t ip, uint8_t proto) {
  size_t hl = (frame[ip] & 0x0f) * 4u;
  size_t total = (frame[ip + 2] << 8) | frame[ip + 3];
  Bytes pseudo(frame.begin() + ip + 12, frame.begin() + ip + 20);
  Put8(pseudo, 0);
  Put8(pseudo, proto);
  Put16(pseudo, static_cast<uint32_t>(total - hl));
  pseudo.insert(pseudo.end(), frame.begin() + ip + hl, frame.begin() + ip + total);
  if (pseudo.size() % 2) pseudo.push_back(0);
  return Checksum(pseudo.data(), pseudo.size());
}

// Fills in a correct L4 checksum (the frame builders leave it 0).
void SetL4Checksum(Bytes& frame, size_t ip, uint8_t proto) {
  size_t off = ip + (frame[ip] & 0x0f) * 4u + (proto == 6 ? 16 : 6);
  uint16_t c = L4Verify(frame, ip, proto);
  if (proto == 17 && c == 0) c = 0xffff;
  frame[off] = static_cast<uint8_t>(c >> 8);
  frame[off + 1] = static_cast<uint8_t>(c);
}

// The same over IPv6's pseudo-header, for a packet at `ip` without extension headers.
uint16_t L4Verify6(const Bytes& frame, size_t ip, uint8_t proto) {
  size_t len = (frame[ip + 4] << 8) | frame[ip + 5];
  Bytes pseudo(frame.begin() + ip + 8, frame.begin() + ip + 40);
  Put32(pseudo, static_cast<uint32_t>(len));
  Put32(pseudo, proto);
  pseudo.insert(pseudo.end(), frame.begin() + ip + 40, frame.begin() + ip + 40 + len);
  if (pseudo.size() % 2) pseudo.push_back(0);
  return Checksum(pseudo.data(), pseudo.size());
}

Bytes Frame6(uint8_t proto) {
  Bytes payload = {'n', 'a', 't', '6', 1, 2, 3};
  Bytes l4 = proto == 6 ? Tcp(33000, 80, 0x18, 5, payload) : Udp(33000, 53, payload);
  Bytes f = Cat({Ether(0x86dd), Ipv6(proto, l4)});
  size_t off = 14 + 40 + (proto == 6 ? 16 : 6);
  uint16_t c = L4Verify6(f, 14, proto);
  if (proto == 17 && c == 0) c = 0xffff;
  f[off] = static_cast<uint8_t>(c >> 8);
  f[off + 1] = static_cast<uint8_t>(c);
  return f;
}

Bytes Frame(uint8_t proto, bool checksum) {
  Bytes payload = {'n', 'a', 't', 1, 2, 3, 4};
  Ipv4Opts o;
  o.proto = proto;
  Bytes l4 = proto == 6 ? Tcp(33000, 80, 0x18, 5, payload) : Udp(33000, 53, payload);
  Bytes f = Cat({Ether(0x0800), Ipv4(o, l4)});
  if (checksum) SetL4Checksum(f, 14, proto);
  return f;
}

// The 16-bit words of `n` bytes at `p`, summed as they lie in memory.
uint32_t WordSum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; i += 2) {
    uint16_t w;
    std::memcpy(&w, p + i, 2);
    sum += w;
  }
  return sum;
}

// The frame with its checksums computed from scratch.
Bytes Recomputed(Bytes f, uint8_t proto) {
  f[24] = f[25] = 0;
  uint16_t ip_check = sluice::Ipv4HeaderChecksum(f.data() + 14);
  std::memcpy(&f[24], &ip_check, 2);
  size_t l4_check = 34 + (proto == 6 ? 16 : 6);
  f[l4_check] = f[l4_check + 1] = 0;
  SetL4Checksum(f, 14, proto);
  return f;
}

}  // namespace

TEST_CASE("nat rewrite: a session's deltas give byte for byte the checksums a full recomputation gives, both ways") {
  std::mt19937 rng(7);
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    for (int i = 0; i < 4000; i++) {
      Bytes f = Frame(proto, true);
      // Arbitrary client endpoints too, so that sums wrap every way they can.
      for (size_t b = 26; b < 38; b++) f[b] = static_cast<uint8_t>(rng());
      f = Recomputed(f, proto);
      const Bytes original = f;
      sluice::PacketInfo info;
      REQUIRE(sluice::ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == sluice::ParseStatus::kOk);
      uint32_t src = static_cast<uint32_t>(rng()), dst = static_cast<uint32_t>(rng());
      uint16_t sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
      if (i % 8 == 0) dst = src;  // some with nothing but ports changing sums
      uint8_t after[12];
      std::memcpy(after, &src, 4);
      std::memcpy(after + 4, &dst, 4);
      std::memcpy(after + 8, &sport, 2);
      std::memcpy(after + 10, &dport, 2);
      sluice::NatChecksumDeltas d = sluice::NatDeltasOf(WordSum(&f[26], 8), WordSum(after, 8), WordSum(&f[34], 4),
                                                         WordSum(after + 8, 4));
      CHECK(d.ip >= 1);
      CHECK(d.l4 >= 1);
      sluice::ApplyNatRewrite(f.data(), sluice::NatHeadersOf(info), src, sport, dst, dport, d.ip, d.l4);
      CHECK(Checksum(f.data() + 14, 20) == 0);
      CHECK(L4Verify(f, 14, proto) == 0);
      // Byte for byte what a full recomputation writes, not merely a valid form.
      CHECK(Recomputed(f, proto) == f);
      CHECK(std::memcmp(&f[26], after, 12) == 0);
      // The reply's way back restores the original, checksums and all.
      sluice::ApplyNatRewrite(f.data(), sluice::NatHeadersOf(info), Get32Raw(original, 26), Get16Raw(original, 34),
                              Get32Raw(original, 30), Get16Raw(original, 36), sluice::ReverseDelta(d.ip),
                              sluice::ReverseDelta(d.l4));
      CHECK(f == original);
    }
  }
}

TEST_CASE("nat rewrite: a translation that keeps the address sum (delta 0xffff, one's-complement zero) and its reverse") {
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    Bytes f = Recomputed(Frame(proto, true), proto);
    const Bytes original = f;
    sluice::PacketInfo info;
    REQUIRE(sluice::ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == sluice::ParseStatus::kOk);
    // Source and destination swapped: the same words, so the same sum.
    uint32_t src = Get32Raw(original, 30), dst = Get32Raw(original, 26);
    uint16_t sport = htons(40000), dport = htons(8080);
    sluice::NatChecksumDeltas d = sluice::NatDeltasOf(WordSum(&f[26], 8), sluice::WordsOf(src) + sluice::WordsOf(dst),
                                                       WordSum(&f[34], 4), uint32_t{sport} + dport);
    CHECK(d.ip == 0xffff);
    CHECK(sluice::ReverseDelta(d.ip) == 0xffff);
    CHECK(sluice::ReverseDelta(1) == 0xfffe);
    sluice::ApplyNatRewrite(f.data(), sluice::NatHeadersOf(info), src, sport, dst, dport, d.ip, d.l4);
    CHECK(Recomputed(f, proto) == f);
    sluice::ApplyNatRewrite(f.data(), sluice::NatHeadersOf(info), Get32Raw(original, 26), Get16Raw(original, 34),
                            Get32Raw(original, 30), Get16Raw(original, 36), sluice::ReverseDelta(d.ip),
                            sluice::ReverseDelta(d.l4));
    CHECK(f == original);
  }
}

TEST_CASE("nat rewrite over IPv6: the L4 checksum stays valid for any new addresses and ports, and is never 0 for UDP") {
  std::mt19937 rng(11);
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    for (int i = 0; i < 2000; i++) {
      Bytes f = Frame6(proto);
      const Bytes original = f;
      sluice::PacketInfo info;
      REQUIRE(sluice::ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == sluice::ParseStatus::kOk);
      REQUIRE(!sluice::MissingUdpChecksum(f.data(), info));
      uint8_t src[16], dst[16];
      for (uint8_t& b : src) b = static_cast<uint8_t>(rng());
      for (uint8_t& b : dst) b = static_cast<uint8_t>(rng());
      uint16_t sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
      uint32_t ports_new = uint32_t{sport} + dport;
      sluice::NatChecksumDeltas d = sluice::NatDeltasOf(WordSum(&f[22], 32), sluice::WordsOf6(src) + sluice::WordsOf6(dst),
                                                         WordSum(&f[54], 4), ports_new);
      sluice::ApplyNatRewrite6(f.data(), sluice::NatHeadersOf(info), src, sport, dst, dport, d.l4);
      CHECK(L4Verify6(f, 14, proto) == 0);
      CHECK(std::memcmp(f.data() + 22, src, 16) == 0);
      CHECK(std::memcmp(f.data() + 38, dst, 16) == 0);
      uint16_t got_sport, got_dport;
      std::memcpy(&got_sport, f.data() + 54, 2);
      std::memcpy(&got_dport, f.data() + 56, 2);
      CHECK(got_sport == sport);
      CHECK(got_dport == dport);
      if (proto == 17) CHECK(Get16(f, 54 + 6) != 0);
      sluice::ApplyNatRewrite6(f.data(), sluice::NatHeadersOf(info), &original[22], Get16Raw(original, 54),
                               &original[38], Get16Raw(original, 56), sluice::ReverseDelta(d.l4));
      CHECK(f == original);
    }
  }
}

TEST_CASE("nat over IPv6: a UDP datagram without a checksum is told apart") {
  Bytes f = Frame6(17);
  f[54 + 6] = 0;
  f[54 + 7] = 0;
  sluice::PacketInfo info;
  REQUIRE(sluice::ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == sluice::ParseStatus::kOk);
  CHECK(sluice::MissingUdpChecksum(f.data(), info));
}

TEST_CASE("nat rewrite: a UDP datagram without a checksum keeps none") {
  Bytes f = Frame(17, false);
  sluice::PacketInfo info;
  REQUIRE(sluice::ParsePacket(f.data(), static_cast<uint32_t>(f.size()), &info) == sluice::ParseStatus::kOk);
  uint32_t src = htonl(0x0a6300c8), dst = htonl(0x0a63000b);
  uint16_t sport = htons(20000), dport = htons(5353);
  sluice::NatChecksumDeltas d =
      sluice::NatDeltasOf(WordSum(&f[26], 8), sluice::WordsOf(src) + sluice::WordsOf(dst), WordSum(&f[34], 4),
                          uint32_t{sport} + dport);
  sluice::ApplyNatRewrite(f.data(), sluice::NatHeadersOf(info), src, sport, dst, dport, d.ip, d.l4);
  CHECK(Get16(f, 14 + 20 + 6) == 0);
  CHECK(Checksum(f.data() + 14, 20) == 0);
}

TEST_CASE("nat pool: every pool pair has exactly one owner, found from the port alone") {
  sluice::NatPoolConfig pool;
  pool.addresses = {htonl(0x0a6300c8), htonl(0x0a6300c9), htonl(0x0a6300ca)};
  pool.port_min = 1021;
  pool.port_max = 1100;
  for (uint32_t workers : {1u, 2u, 3u, 7u}) {
    sluice::NatPoolLayout layout({nullptr, &pool}, workers);
    CHECK_FALSE(layout.HasPool(0));
    CHECK(layout.HasPool(1));
    std::set<std::pair<uint32_t, uint16_t>> seen;
    for (uint32_t w = 0; w < workers; w++) {
      CHECK(layout.PairsOf(w, 0) == 0);
      for (uint32_t i = 0; i < layout.PairsOf(w, 1); i++) {
        sluice::NatPair pair = layout.Pair(w, 1, i);
        CHECK(pair.port_index == 1);
        CHECK(layout.Owner(pair.port) == w);
        uint16_t host = ntohs(pair.port);
        CHECK((host >= pool.port_min && host <= pool.port_max));
        int32_t a = layout.AddressIndex(1, pair.address);
        REQUIRE(a >= 0);
        CHECK(layout.IndexOf(w, 1, a, pair.port) == i);
        CHECK(seen.insert({pair.address, host}).second);
      }
      // A port outside the range, or another worker's, has no index here.
      CHECK(layout.IndexOf(w, 1, 0, htons(pool.port_max + 1)) == -1);
      CHECK(layout.IndexOf(w, 1, 0, htons(1020)) == -1);
    }
    CHECK(seen.size() == pool.addresses.size() * (pool.port_max - pool.port_min + 1u));
    CHECK(layout.AddressIndex(1, htonl(0x0a6300cb)) == -1);
    CHECK(layout.AddressIndex(0, pool.addresses[0]) == -1);
  }
}

TEST_CASE("nat pool over IPv6: the IPv6 pool's pairs have one owner each, apart from the IPv4 pool's") {
  sluice::NatPoolConfig pool;
  pool.addresses = {htonl(0x0a6300c8)};
  for (uint8_t last : {0xc9, 0xc8}) {
    std::array<uint8_t, 16> a{0xfd, 0x00, 0x00, 0x99};
    a[15] = last;
    pool.addresses6.push_back(a);
  }
  pool.port_min = 1021;
  pool.port_max = 1100;
  for (uint32_t workers : {1u, 2u, 3u}) {
    sluice::NatPoolLayout layout({&pool}, workers);
    std::set<std::pair<std::array<uint8_t, 16>, uint16_t>> seen;
    for (uint32_t w = 0; w < workers; w++) {
      CHECK(layout.PairsOf(w, 0, 6) == layout.PairsOf(w, 0, 4) * 2);
      for (uint32_t i = 0; i < layout.PairsOf(w, 0, 6); i++) {
        sluice::NatPair pair = layout.Pair(w, 0, i, 6);
        CHECK(layout.Owner(pair.port) == w);
        std::array<uint8_t, 16> address;
        std::memcpy(address.data(), layout.Address6(0, pair.address_index), 16);
        int32_t a = layout.AddressIndex6(0, address.data());
        CHECK(a == static_cast<int32_t>(pair.address_index));
        CHECK(layout.IndexOf(w, 0, a, pair.port, 6) == i);
        CHECK(seen.insert({address, ntohs(pair.port)}).second);
      }
    }
    CHECK(seen.size() == pool.addresses6.size() * (pool.port_max - pool.port_min + 1u));
    std::array<uint8_t, 16> other{0xfd, 0x00, 0x00, 0x99};
    other[15] = 0xca;
    CHECK(layout.AddressIndex6(0, other.data()) == -1);
    CHECK(layout.AddressIndex6(1, pool.addresses6[0].data()) == -1);
  }
}
