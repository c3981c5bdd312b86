#include <doctest/doctest.h>

#include <netinet/in.h>

#include <cstring>
#include <set>

#include "modes/tunnel6.h"
#include "test/frames.h"

namespace {

using namespace sluice_test;
using sluice::Encapsulation;
using sluice::TunnelConfig;
using sluice::TunnelTarget6;

const Bytes kClient = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Bytes kVip = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
const Bytes kBackend = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
const Bytes kEgress = {0xfd, 0x00, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
const Bytes kSourceNet = {0xfd, 0x00, 0x00, 0x5c, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0, 0};
constexpr size_t kHeadroom = 64;

sluice::IpAddr Ip6(const Bytes& b) {
  sluice::IpAddr ip;
  ip.family = 6;
  std::memcpy(ip.bytes.data(), b.data(), 16);
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
  c.source_network = Ip6(kSourceNet);
  c.source_prefix_len = 112;
  return c;
}

// The client's IPv6 TCP packet (traffic class 0xb8) in a frame with `tags`.
Bytes ClientFrame(std::initializer_list<uint16_t> tags) {
  Bytes tcp = Tcp(40000, 80, 0x18, 5, Bytes(100, 0xab));
  Bytes ip;
  Put32(ip, (6u << 28) | (0xb8u << 20) | 0x12345);
  Put16(ip, static_cast<uint32_t>(tcp.size()));
  Put8(ip, 6);
  Put8(ip, 57);
  Append(ip, kClient);
  Append(ip, kVip);
  Append(ip, tcp);
  return Cat({Ether(0x86dd, tags, kMacOurs, kMacA), ip});
}

// Encapsulates `frame` the way the worker does: headroom in front, then Encapsulate6.
Bytes Encap(const Bytes& frame, size_t l2_len, const TunnelTarget6& t, uint32_t hash) {
  Bytes buf(kHeadroom, 0);
  Append(buf, frame);
  uint8_t* start = buf.data() + kHeadroom - t.overhead;
  const uint16_t inner_len = static_cast<uint16_t>(frame.size() - l2_len);
  sluice::Encapsulate6(start, static_cast<uint32_t>(l2_len), inner_len, t, hash, Mac(kMacB), Mac(kMacOurs));
  return Bytes(start, buf.data() + buf.size());
}

uint16_t UdpSum(const Bytes& f, size_t ip) {
  const uint32_t len = Get16(f, ip + 4);
  Bytes pseudo(f.begin() + ip + 8, f.begin() + ip + 40);
  Put32(pseudo, len);
  Put32(pseudo, 17);
  pseudo.insert(pseudo.end(), f.begin() + ip + 40, f.begin() + ip + 40 + len);
  return OnesSum(pseudo.data(), pseudo.size());
}

TEST_CASE("encap6: targets: per-flow sources from the prefix, the egress address for gue, a fixed one") {
  TunnelTarget6 ipip = sluice::MakeTunnelTarget6(Config(Encapsulation::kIpip), kBackend.data(), kEgress.data(), 1500);
  CHECK(ipip.overhead == 40);
  CHECK(ipip.outer_proto == 41);
  CHECK(ipip.max_inner_length == 1460);
  CHECK(Bytes(ipip.outer_dst, ipip.outer_dst + 16) == kBackend);
  CHECK(Bytes(ipip.source_base, ipip.source_base + 16) == kSourceNet);
  CHECK(ipip.source_hash_mask == rte_cpu_to_be_32(0x0000ffff));

  TunnelTarget6 gue = sluice::MakeTunnelTarget6(Config(Encapsulation::kGue), kBackend.data(), kEgress.data(), 1500);
  CHECK(gue.overhead == 48);
  CHECK(gue.outer_proto == IPPROTO_UDP);
  CHECK(gue.max_inner_length == 1452);
  CHECK(gue.udp_dst_port == rte_cpu_to_be_16(6080));
  CHECK(Bytes(gue.source_base, gue.source_base + 16) == kEgress);
  CHECK(gue.source_hash_mask == 0);

  TunnelConfig fixed = Config(Encapsulation::kIpip);
  fixed.has_source = true;
  fixed.source = Ip6(kEgress);
  TunnelTarget6 f = sluice::MakeTunnelTarget6(fixed, kBackend.data(), kEgress.data(), 1500);
  CHECK(Bytes(f.source_base, f.source_base + 16) == kEgress);
  CHECK(f.source_hash_mask == 0);
}

TEST_CASE("encap6: IPv6-in-IPv6 outer header by field, inner packet unchanged, tags kept") {
  TunnelTarget6 t = sluice::MakeTunnelTarget6(Config(Encapsulation::kIpip), kBackend.data(), kEgress.data(), 1500);
  const Bytes in = ClientFrame({0x8100});
  const Bytes out = Encap(in, 18, t, 0xdeadbeef);
  REQUIRE(out.size() == in.size() + 40);
  CHECK(Bytes(out.begin(), out.begin() + 6) == kMacB);
  CHECK(Bytes(out.begin() + 6, out.begin() + 12) == kMacOurs);
  CHECK(Bytes(out.begin() + 12, out.begin() + 18) == Bytes(in.begin() + 12, in.begin() + 18));
  const size_t ip = 18;
  const uint32_t vtc = (uint32_t{Get16(out, ip)} << 16) | Get16(out, ip + 2);
  CHECK((vtc >> 28) == 6u);
  CHECK(((vtc >> 20) & 0xff) == 0xb8);  // traffic class copied
  const uint32_t label = (0xdeadbeefu ^ (0xdeadbeefu >> 20)) & 0xfffff;
  CHECK((vtc & 0xfffff) == label);
  CHECK(Get16(out, ip + 4) == in.size() - 18);
  CHECK(out[ip + 6] == 41);
  CHECK(out[ip + 7] == 64);
  CHECK(Bytes(out.begin() + ip + 8, out.begin() + ip + 20) == Bytes(kSourceNet.begin(), kSourceNet.begin() + 12));
  CHECK(Get16(out, ip + 20) == 0xaabb);  // /112: the upper half of the last word is the prefix's
  CHECK(Get16(out, ip + 22) == 0xbeef);  // the hash's low 16 bits
  CHECK(Bytes(out.begin() + ip + 24, out.begin() + ip + 40) == kBackend);
  CHECK(Bytes(out.begin() + ip + 40, out.end()) == Bytes(in.begin() + 18, in.end()));

  std::set<uint16_t> sources;
  for (uint32_t h = 0; h < 64; h++) sources.insert(Get16(Encap(in, 18, t, h * 0x9e3779b1u), ip + 22));
  CHECK(sources.size() > 60);
}

TEST_CASE("encap6: GUE over IPv6, the UDP checksum the worker adds is valid") {
  TunnelTarget6 t = sluice::MakeTunnelTarget6(Config(Encapsulation::kGue), kBackend.data(), kEgress.data(), 1500);
  const Bytes in = ClientFrame({});
  Bytes out = Encap(in, 14, t, 0x1234567);
  REQUIRE(out.size() == in.size() + 48);
  const size_t ip = 14;
  CHECK(out[ip + 6] == 17);
  CHECK(Get16(out, ip + 4) == in.size() - 14 + 8);
  CHECK(Bytes(out.begin() + ip + 8, out.begin() + ip + 24) == kEgress);
  const size_t udp = ip + 40;
  CHECK(Get16(out, udp) >= 49152);
  CHECK(Get16(out, udp + 2) == 6080);
  CHECK(Get16(out, udp + 4) == in.size() - 14 + 8);
  CHECK(Get16(out, udp + 6) == 0);  // left for the worker
  CHECK(UdpSum(out, ip) != 0xffff);
  auto* outer = reinterpret_cast<struct rte_ipv6_hdr*>(out.data() + ip);
  uint16_t sum = rte_ipv6_udptcp_cksum(outer, outer + 1);
  std::memcpy(out.data() + udp + 6, &sum, 2);
  CHECK(UdpSum(out, ip) == 0xffff);
  CHECK(Bytes(out.begin() + udp + 8, out.end()) == Bytes(in.begin() + 14, in.end()));
}

}  // namespace
