// Every reason a packet is not forwarded. One list, so counters, names shown to
// operators and the docs cannot drift apart.
#pragma once

#include <cstdint>

namespace sluice {

#define SLUICE_DROP_REASONS(X)                                                  \
  X(kTruncated, "truncated")                 /* frame ends inside a header */    \
  X(kBadIpHeader, "bad_ip_header")           /* IP version or length wrong */    \
  X(kBadIpChecksum, "bad_ip_checksum")       /* IPv4 header checksum wrong */    \
  X(kIpFragment, "ip_fragment")              /* fragment not to a service, or off */\
  X(kTooManyVlans, "too_many_vlans")         /* more than two 802.1Q tags */     \
  X(kNonIp, "non_ip")                        /* neither IPv4, IPv6 nor ARP */    \
  X(kNotForUs, "not_for_us")                 /* destination MAC not ours */      \
  X(kNoService, "no_service")                /* no VIP:port:proto matches */     \
  X(kUnsupportedL4, "unsupported_l4")        /* IP to a VIP, not TCP/UDP/echo */ \
  X(kArpIgnored, "arp_ignored")              /* ARP not asking for our address */\
  X(kIcmpIgnored, "icmp_ignored")            /* ICMP other than echo request */  \
  X(kNoBackend, "no_backend")                /* service has no usable backend */ \
  X(kNeighborUnresolved, "neighbor_unresolved") /* backend MAC not known yet */  \
  X(kTxFull, "tx_full")                      /* tx queue did not take it */     \
  X(kMtuExceeded, "mtu_exceeded")            /* too long for the egress MTU */   \
  X(kBadSource, "bad_source")                /* multicast MAC or martian IP */   \
  X(kBadIcmpChecksum, "bad_icmp_checksum")   /* echo request to us, bad sum */   \
  X(kNoHeadroom, "no_headroom")              /* no mbuf room for outer headers */\
  X(kNatPoolExhausted, "nat_pool_exhausted") /* no free pool port for a new session */\
  X(kNatHandoffFull, "nat_handoff_full")     /* owner lcore's hand-off ring full */ \
  X(kNatNoSession, "nat_no_session")         /* pool reply or client RST, no session */\
  X(kBadNd, "bad_nd")                        /* NS/NA failing RFC 4861 checks */ \
  X(kNdIgnored, "nd_ignored")                /* NS/NA not about our addresses */ \
  X(kBadL4Header, "bad_l4_header")           /* TCP offset or UDP length/checksum impossible */ \
  X(kKernelRateLimited, "kernel_rate_limited") /* for the kernel interface, over its rate */ \
  X(kKernelQueueFull, "kernel_queue_full")   /* for the kernel interface, its ring full */ \
  X(kFragmentTooSmall, "fragment_too_small") /* first fragment without the whole L4 header */ \
  X(kFragmentOverlap, "fragment_overlap")    /* second first fragment, or over the L4 header or the end */ \
  X(kFragmentTableFull, "fragment_table_full") /* no fragment table entry free in its bucket */ \
  X(kFragmentHoldFull, "fragment_hold_full") /* held bytes, slots or the datagram's share used up */ \
  X(kFragmentTimeout, "fragment_timeout")    /* held, its first fragment did not come in time */

enum class DropReason : uint8_t {
#define SLUICE_DROP_ENUM(e, s) e,
  SLUICE_DROP_REASONS(SLUICE_DROP_ENUM)
#undef SLUICE_DROP_ENUM
  kCount
};

constexpr uint32_t kDropReasonCount = static_cast<uint32_t>(DropReason::kCount);

inline const char* DropReasonName(DropReason r) {
  switch (r) {
#define SLUICE_DROP_NAME(e, s) \
  case DropReason::e:          \
    return s;
    SLUICE_DROP_REASONS(SLUICE_DROP_NAME)
#undef SLUICE_DROP_NAME
    default:
      return "unknown";
  }
}

}  // namespace sluice
