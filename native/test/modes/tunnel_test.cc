#include <doctest/doctest.h>

#include <netinet/in.h>

#include <cstring>
#include <set>

#include "modes/tunnel.h"
#include "packet/packet_parse.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::Encapsulation;
using sluice::TunnelConfig;
using sluice::TunnelTarget;

constexpr uint32_t kClient = 0xc0a80a01;     // 192.168.10.1
constexpr uint32_t kVip = 0x0a000064;        // 10.0.0.100
constexpr uint32_t kBackend = 0x0a01020b;    // 10.1.2.11
constexpr uint32_t kEgress = 0x0a630002;     // 10.99.0.2
constexpr size_t kHeadroom = 64;

uint32_t Net(uint32_t host) { return rte_cpu_to_be_32(host); }
uint32_t Host(const Bytes& b, size_t off) { return (uint32_t{Get16(b, off)} << 16) | Get16(b, off + 2); }

sluice::IpAddr Ip(uint32_t host) {
  sluice::IpAddr ip;
  uint32_t n = Net(host);
  std::memcpy(ip.bytes.data(), &n, 4);
  return ip;
}

struct rte_ether_addr Mac(const Bytes& b) {
  struct rte_ether_addr m;
  std::memcpy(m.addr_bytes, b.data(), 6);
  return m;
}

TunnelConfig Config(Encapsulation e) {
  TunnelConfig c;
  c.encapsulation = e;
  c.gue_port = 6080;
  c.source_network = Ip(0xac100000);  // 172.16.0.0
  c.source_prefix_len = 16;
  return c;
}

Bytes ClientFrame(std::initializer_list<uint16_t> tags, uint16_t frag = 0x4000, uint8_t tos = 0x2e) {
  Bytes ip = Ipv4({.proto = 6, .ttl = 57, .frag = frag, .src = kClient, .dst = kVip},
                  Tcp(40000, 80, 0x18, 5, Bytes(100, 0xab)));
  ip[1] = tos;  // after the builder summed the header: sum it again
  ip[10] = ip[11] = 0;
  const uint16_t sum = Checksum(ip.data(), 20);
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
  return Cat({Ether(0x0800, tags, kMacOurs, kMacA), ip});
}

// What the worker passes as l2_len: the parser's offset of the IP header.
uint32_t L2Length(const uint8_t* frame, size_t len) {
  sluice::PacketInfo info;
  REQUIRE(sluice::ParsePacket(frame, static_cast<uint32_t>(len), &info) == sluice::ParseStatus::kOk);
  return info.l3_offset;
}

// Runs Encapsulate the way the worker does: the frame sits after headroom, the
// new start is `overhead` bytes before it. Returns the new frame.
Bytes Encap(const Bytes& frame, const TunnelTarget& t, uint32_t hash, uint16_t id) {
  Bytes buf(kHeadroom + frame.size());
  std::memcpy(buf.data() + kHeadroom, frame.data(), frame.size());
  uint8_t* start = buf.data() + kHeadroom - t.overhead;
  const uint32_t l2 = L2Length(frame.data(), frame.size());
  const uint16_t inner = static_cast<uint16_t>(frame.size() - l2);
  sluice::Encapsulate(start, l2, inner, t, hash, id, Mac(kMacB), Mac(kMacOurs));
  return Bytes(start, buf.data() + buf.size());
}

// The checks every mode shares; returns the offset of the outer IP header.
size_t CheckOuter(const Bytes& in, const Bytes& out, const TunnelTarget& t, uint8_t proto) {
  const size_t l2 = L2Length(in.data(), in.size());
  REQUIRE(out.size() == in.size() + t.overhead);
  CHECK(Bytes(out.begin(), out.begin() + 6) == kMacB);
  CHECK(Bytes(out.begin() + 6, out.begin() + 12) == kMacOurs);
  CHECK(Bytes(out.begin() + 12, out.begin() + l2) == Bytes(in.begin() + 12, in.begin() + l2));
  CHECK(out[l2] == 0x45);
  CHECK(out[l2 + 1] == in[l2 + 1]);  // TOS
  CHECK(Get16(out, l2 + 2) == in.size() - l2 + t.overhead);
  CHECK((Get16(out, l2 + 6) & 0xbfff) == 0);  // no MF, no offset
  CHECK((Get16(out, l2 + 6) & 0x4000) == (Get16(in, l2 + 6) & 0x4000));  // DF copied
  CHECK(out[l2 + 8] == 64);
  CHECK(out[l2 + 9] == proto);
  CHECK(OnesSum(out.data() + l2, 20) == 0xffff);
  CHECK(Host(out, l2 + 16) == kBackend);
  CHECK(Bytes(out.begin() + l2 + t.overhead, out.end()) == Bytes(in.begin() + l2, in.end()));
  return l2;
}

}  // namespace

TEST_CASE("encap: the L2 header the worker keeps counts the VLAN tags") {
  auto l2 = [](const Bytes& f) { return L2Length(f.data(), f.size()); };
  CHECK(l2(ClientFrame({})) == 14);
  CHECK(l2(ClientFrame({0x8100})) == 18);
  CHECK(l2(ClientFrame({0x88a8, 0x8100})) == 22);
}

TEST_CASE("encap: ipip puts an outer IPv4 header in front and leaves the packet alone") {
  const TunnelTarget t = sluice::MakeTunnelTarget(Config(Encapsulation::kIpip), Net(kBackend), Net(kEgress), 1500);
  CHECK(t.overhead == 20);
  CHECK(t.max_inner_length == 1480);
  for (auto tags : {std::initializer_list<uint16_t>{}, {0x8100}, {0x88a8, 0x8100}}) {
    const Bytes in = ClientFrame(tags);
    const Bytes out = Encap(in, t, 0x12345678, 0x0102);
    const size_t l2 = CheckOuter(in, out, t, IPPROTO_IPIP);
    CHECK(Get16(out, l2 + 4) == 0x0102);
    // Per flow inside 172.16.0.0/16: the hash's low 16 bits.
    CHECK(Host(out, l2 + 12) == 0xac105678);
  }
}

TEST_CASE("encap: a packet without DF gets an outer header without DF") {
  const TunnelTarget t = sluice::MakeTunnelTarget(Config(Encapsulation::kIpip), Net(kBackend), Net(kEgress), 1500);
  const Bytes in = ClientFrame({}, 0x0000, 0);
  const Bytes out = Encap(in, t, 1, 1);
  CheckOuter(in, out, t, IPPROTO_IPIP);
  CHECK(Get16(out, 14 + 6) == 0);
}

TEST_CASE("encap: gue adds UDP to the configured port from a per-flow ephemeral port") {
  TunnelConfig c = Config(Encapsulation::kGue);
  c.gue_port = 9886;
  const TunnelTarget t = sluice::MakeTunnelTarget(c, Net(kBackend), Net(kEgress), 9000);
  CHECK(t.overhead == 28);
  CHECK(t.max_inner_length == 9000 - 28);
  const Bytes in = ClientFrame({0x8100});
  std::set<uint16_t> ports;
  for (uint32_t hash : {0u, 1u, 2u, 0x1234u, 0xdeadbeefu}) {
    const Bytes out = Encap(in, t, hash, 7);
    const size_t l2 = CheckOuter(in, out, t, IPPROTO_UDP);
    CHECK(Host(out, l2 + 12) == kEgress);  // the egress port's address
    const size_t udp = l2 + 20;
    const uint16_t sport = Get16(out, udp);
    CHECK(sport >= 49152);
    ports.insert(sport);
    CHECK(Get16(out, udp + 2) == 9886);
    CHECK(Get16(out, udp + 4) == in.size() - l2 + 8);
    CHECK(Get16(out, udp + 6) == 0);
    CHECK(Encap(in, t, hash, 7) == out);  // the same flow, the same port
  }
  CHECK(ports.size() == 5);
}

TEST_CASE("encap: outer sources") {
  SUBCASE("ipip per flow stays inside the prefix and spreads") {
    TunnelConfig c = Config(Encapsulation::kIpip);
    c.source_network = Ip(0x0a800000);  // 10.128.0.0/9
    c.source_prefix_len = 9;
    const TunnelTarget t = sluice::MakeTunnelTarget(c, Net(kBackend), Net(kEgress), 1500);
    std::set<uint32_t> seen;
    for (uint32_t h = 0; h < 1000; h++) {
      const uint32_t s = rte_be_to_cpu_32(sluice::OuterSource(t, h * 2654435761u));
      CHECK((s & 0xff800000) == 0x0a800000);
      seen.insert(s);
    }
    CHECK(seen.size() == 1000);
    CHECK(sluice::OuterSource(t, 42) == sluice::OuterSource(t, 42));
  }
  SUBCASE("a fixed source wins, for ipip and gue") {
    for (Encapsulation e : {Encapsulation::kIpip, Encapsulation::kGue}) {
      TunnelConfig c = Config(e);
      c.has_source = true;
      c.source = Ip(0xc6336401);  // 198.51.100.1
      const TunnelTarget t = sluice::MakeTunnelTarget(c, Net(kBackend), Net(kEgress), 1500);
      CHECK(rte_be_to_cpu_32(sluice::OuterSource(t, 1)) == 0xc6336401);
      CHECK(rte_be_to_cpu_32(sluice::OuterSource(t, 0xffffffff)) == 0xc6336401);
    }
  }
}
