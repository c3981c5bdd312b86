#include "modes/tunnel.h"

#include <netinet/in.h>

namespace sluice {

TunnelTarget MakeTunnelTarget(const TunnelConfig& config, uint32_t backend, uint32_t egress_address,
                              uint16_t egress_mtu) {
  TunnelTarget t{};
  t.outer_dst = backend;
  bool gue = config.encapsulation == Encapsulation::kGue;
  t.overhead = static_cast<uint8_t>(gue ? kGueOverhead : kIpipOverhead);
  t.outer_proto = gue ? IPPROTO_UDP : IPPROTO_IPIP;
  t.udp_dst_port = gue ? rte_cpu_to_be_16(config.gue_port) : 0;
  t.max_inner_length = static_cast<uint16_t>(egress_mtu > t.overhead ? egress_mtu - t.overhead : 0);
  if (config.has_source) {
    std::memcpy(&t.source_base, config.source.bytes.data(), 4);
  } else if (gue) {
    // The UDP source port already spreads flows over the backend's queues.
    t.source_base = egress_address;
  } else {
    uint32_t host_bits = ~uint32_t{0} >> config.source_prefix_len;
    std::memcpy(&t.source_base, config.source_network.bytes.data(), 4);
    t.source_base &= rte_cpu_to_be_32(~host_bits);
    t.source_hash_mask = rte_cpu_to_be_32(host_bits);
  }
  struct rte_ipv4_hdr fixed = {};
  fixed.time_to_live = kOuterTtl;
  fixed.next_proto_id = t.outer_proto;
  fixed.dst_addr = t.outer_dst;
  uint16_t words[sizeof(fixed) / 2];
  std::memcpy(words, &fixed, sizeof(fixed));
  for (uint16_t word : words) t.fixed_sum += word;
  return t;
}

}  // namespace sluice
