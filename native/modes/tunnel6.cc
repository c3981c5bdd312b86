#include "modes/tunnel6.h"

#include <netinet/in.h>

namespace sluice {

TunnelTarget6 MakeTunnelTarget6(const TunnelConfig& config, const uint8_t backend[16],
                                const uint8_t egress_address[16], uint16_t egress_mtu) {
  TunnelTarget6 t{};
  std::memcpy(t.outer_dst, backend, 16);
  bool gue = config.encapsulation == Encapsulation::kGue;
  t.overhead = static_cast<uint8_t>(gue ? kGue6Overhead : kIp6ip6Overhead);
  t.outer_proto = gue ? static_cast<uint8_t>(IPPROTO_UDP) : kIpprotoIpv6;
  t.udp_dst_port = gue ? rte_cpu_to_be_16(config.gue_port) : 0;
  t.max_inner_length = static_cast<uint16_t>(egress_mtu > t.overhead ? egress_mtu - t.overhead : 0);
  if (config.has_source) {
    std::memcpy(t.source_base, config.source.bytes.data(), 16);
  } else if (gue) {
    std::memcpy(t.source_base, egress_address, 16);
  } else {
    // The config allows /96 to /120: the host bits all lie in the last four bytes.
    uint32_t shift = config.source_prefix_len > 96 ? config.source_prefix_len - 96u : 0u;
    uint32_t host_bits = shift >= 32 ? 0 : ~uint32_t{0} >> shift;
    std::memcpy(t.source_base, config.source_network.bytes.data(), 16);
    uint32_t low;
    std::memcpy(&low, t.source_base + 12, 4);
    low &= rte_cpu_to_be_32(~host_bits);
    std::memcpy(t.source_base + 12, &low, 4);
    t.source_hash_mask = rte_cpu_to_be_32(host_bits);
  }
  return t;
}

}  // namespace sluice
