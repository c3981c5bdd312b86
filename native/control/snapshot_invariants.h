// The invariants BuildSnapshot checks (common/invariant.h), as the reasons their
// errors give; each is checked in one place, in control/snapshot_build.cc or,
// for IPv6 backends, control/snapshot_build_ipv6.cc. The table size's invariant
// is the table builder's (tables/permutations.h).
#pragma once

#include "common/config_types.h"

namespace sluice {

// Per-service and per-backend counters and the snapshot's backend views are
// arrays indexed by these ids.
constexpr const char* kInvariantServiceId = "must be below 1024 and not used by another service";
constexpr const char* kInvariantBackendId = "must be below 65536";
constexpr const char* kInvariantBackendIdUnique = "backend id used twice";
static_assert(kMaxServices == 1024 && kMaxBackendIds == 65536, "the invariants state the bounds");

// The worker picks a backend's rewrite by the packet's family.
constexpr const char* kInvariantBackendIs4 = "must be IPv4, as the VIP";
constexpr const char* kInvariantBackendIs6 = "must be IPv6, as the VIP";

// A backend's packets leave by a port: the one whose subnet holds it, else (not
// dsr) the first port with a gateway.
constexpr const char* kInvariantOnLinkOrGateway = "not inside any port's subnet, and no port has a gateway";
constexpr const char* kInvariantQuicLbUdp = "QUIC-LB routes UDP services only";
constexpr const char* kInvariantServerIdUnique = "is another backend's server ID in this service";
constexpr const char* kInvariantDsrOnLink = "not inside any port's subnet; dsr needs the backend on-link";
constexpr const char* kInvariantOnLinkOrGateway6 = "not inside any port's IPv6 prefix, and no port has gateway6";
constexpr const char* kInvariantDsrOnLink6 = "not inside any port's IPv6 prefix; dsr needs the backend on-link";

// A nat backend's replies come back to the pool of the port the packet left by;
// pool addresses belong to the sessions and are nobody else's.
constexpr const char* kInvariantNatPool = "forwarding nat needs a nat pool on the backend's egress port";
constexpr const char* kInvariantNatPool6 =
    "forwarding nat needs an IPv6 nat pool (addresses6) on the backend's egress port";
constexpr const char* kInvariantNotPoolAddress = "the address is a nat pool address";
constexpr const char* kInvariantVipNotPoolAddress = "the VIP is a nat pool address";

// Neither dsr nor tunnel touches the client's packet, ports included; the
// message ends with the service's port.
constexpr const char* kInvariantKeepsPort = "forwards without rewriting ports, so the backend port must be";

// The service index finds one service per VIP, port and protocol; the message
// ends with the other service.
constexpr const char* kInvariantUniqueVip = "same VIP, port and protocol as";

}  // namespace sluice
