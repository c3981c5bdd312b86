// The configuration as worker lcores see it: built whole on the control thread,
// published with one atomic pointer store, never modified afterwards, and freed
// only after every worker has passed an RCU quiescent state (see
// control/snapshot_publisher.h).
#pragma once

#include <rte_ether.h>

#include <nmmintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config_types.h"
#include "modes/tunnel.h"
#include "modes/tunnel6.h"
#include "tables/lookup_table.h"
#include "tables/quic_lb_route.h"
#include "tables/service_index6.h"

namespace sluice {

// BackendView::keeps_flows_of when the backend keeps no flows.
constexpr uint32_t kKeepsNoFlows = UINT32_MAX;

struct BackendView {
  uint32_t service_id;      // owner: a flow entry naming another service re-picks
  // service_id while the backend exists, is not disabled and is healthy: its
  // existing flows stay. Else kKeepsNoFlows. One compare answers both questions.
  uint32_t keeps_flows_of = kKeepsNoFlows;
  uint32_t address;         // network order
  // The backend itself when it is on a port's subnet; otherwise (tunnel only) the
  // gateway of the egress port. `mac` is the next hop's.
  uint32_t next_hop;        // network order
  struct rte_ether_addr mac;
  // The egress port's own MAC, right after `mac`: a dsr rewrite copies the
  // frame's destination and source as one 12-byte block (DsrMacs).
  struct rte_ether_addr egress_mac;
  uint16_t egress_mtu;      // the egress port's, copied here for the same reason
  uint16_t port_index;      // egress port
  uint16_t port;            // network order; forwarding nat rewrites to it
  uint8_t mac_known;
  TunnelTarget tunnel;      // forwarding tunnel only
  // IPv6 backends (family 6): address, next_hop and tunnel above are unused.
  uint8_t family;
  uint8_t address6[16];
  uint8_t next_hop6[16];
  TunnelTarget6 tunnel6;
};

static_assert(offsetof(BackendView, egress_mac) == offsetof(BackendView, mac) + sizeof(struct rte_ether_addr),
              "a frame's destination and source MACs are adjacent in BackendView as in the frame");

// Whether a flow of service `service_id` remembered on `b` (nullptr: no longer
// in the snapshot) stays there.
inline bool KeepsFlowsOf(const BackendView* b, uint32_t service_id) {
  return b != nullptr && b->keeps_flows_of == service_id;
}

// The 12 bytes a dsr rewrite writes at the start of the frame: `mac`, then `egress_mac`.
inline const uint8_t* DsrMacs(const BackendView& b) {
  return reinterpret_cast<const uint8_t*>(&b) + offsetof(BackendView, mac);
}

struct ServiceView {
  uint32_t id;
  uint32_t vip;             // network order
  uint16_t port;            // network order
  uint8_t proto;
  uint8_t forwarding;       // Forwarding
  uint32_t table_size;
  // The service's lookup table: table_size global backend ids, kNoBackend where
  // none; a new flow's backend is LookupPick(its hash).
  const uint32_t* lookup;
  uint8_t family;           // 4, or 6: vip6 instead of vip
  uint8_t vip6[16];
  // QUIC-LB (UDP, IPv4): packets whose connection ID names a backend go there;
  // nullptr for every other service. Owned by the snapshot.
  const QuicLbRoute* quic_lb;

  uint32_t LookupPick(uint32_t sig) const { return lookup[LookupSlot(sig, table_size)]; }
};

// Open addressing over (vip, port, proto), sized to a power of two at least twice
// the number of services, so a lookup is one hash and usually one probe. rte_hash
// is built for in-place updates; an immutable per-snapshot table is smaller and
// needs no reader/writer protocol at all.
class ServiceIndex {
 public:
  ServiceIndex() = default;
  // Not copyable: the slots point into the services vector it was built from. A
  // Snapshot moves both together, and a moved vector keeps its elements in place.
  ServiceIndex(const ServiceIndex&) = delete;
  ServiceIndex& operator=(const ServiceIndex&) = delete;
  ServiceIndex(ServiceIndex&&) = default;
  ServiceIndex& operator=(ServiceIndex&&) = default;

  // Keeps pointers into `services`, which must not change afterwards (a
  // snapshot's never does): a hit is then one load, not an index into a vector.
  // Returns the place of the first service whose (vip, port, proto) an earlier
  // one has, that one's in `*earlier`; -1 when each has its own. The index is
  // then not whole: the snapshot is refused (kInvariantUniqueVip).
  int64_t Build(const std::vector<ServiceView>& services, size_t* earlier);
  const ServiceView* Find(uint32_t vip, uint16_t port, uint8_t proto) const {
    const uint64_t key = Key(vip, port, proto);
    for (uint32_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return slot.service;
      if (slot.key == kEmptyKey) return nullptr;
    }
  }
  bool IsVip(uint32_t vip) const {
    if (vip_slots_.empty()) return false;
    for (uint32_t i = HashVip(vip) & vip_mask_;; i = (i + 1) & vip_mask_) {
      if (vip_slots_[i] == 0) return false;
      if (vip_slots_[i] == vip) return true;
    }
  }

 private:
  // (vip, port, proto) as one word, so a probe is one compare. The top byte of a
  // real key is zero, so kEmptyKey never matches one.
  static constexpr uint64_t kEmptyKey = UINT64_MAX;
  static uint64_t Key(uint32_t vip, uint16_t port, uint8_t proto) {
    return vip | static_cast<uint64_t>(port) << 32 | static_cast<uint64_t>(proto) << 48;
  }
  struct Slot {
    uint64_t key;
    const ServiceView* service;
  };
  static uint32_t HashVip(uint32_t vip) {
    uint32_t h = vip * 0x9e3779b1u;
    return h ^ (h >> 16);
  }
  // One instruction (SSE4.2 is part of -march=corei7); the low bits of a CRC
  // depend on every bit of the key.
  static uint32_t Hash(uint64_t key) { return static_cast<uint32_t>(_mm_crc32_u64(0, key)); }
  std::vector<Slot> slots_ = {Slot{kEmptyKey, nullptr}};  // one empty slot until Build
  uint32_t mask_ = 0;
  std::vector<uint32_t> vip_slots_;  // 0.0.0.0 marks empty: it is never a VIP
  uint32_t vip_mask_ = 0;
};

struct Snapshot {
  uint64_t generation = 0;
  std::vector<ServiceView> services;
  ServiceIndex index;       // IPv4 services
  ServiceIndex6 index6;     // IPv6 services
  std::vector<BackendView> backends;  // indexed by global backend id
  // Lookup tables are shared between snapshots while their inputs are unchanged.
  std::vector<std::shared_ptr<const std::vector<uint32_t>>> tables;
  std::vector<std::unique_ptr<QuicLbRoute>> quic_routes;  // what services' quic_lb point to

  // Compared as pointers: size() divides by sizeof(BackendView), per packet.
  const BackendView* Backend(uint32_t id) const {
    const BackendView* b = backends.data() + id;
    return b < backends.data() + backends.size() ? b : nullptr;
  }
};

// What the snapshot builder needs to know about the ports.
struct PortAddressing {
  uint32_t address;      // network order
  uint32_t netmask;      // network order
  uint32_t gateway;      // network order; 0 when the port has none
  uint16_t mtu;
  std::vector<uint32_t> nat_pool;  // network order; empty: the port has no nat pool
  std::vector<std::array<uint8_t, 16>> nat_pool6;  // empty: no IPv6 nat pool
  bool has_address6 = false;
  uint8_t address6[16] = {};
  uint8_t prefix6 = 0;
  bool has_gateway6 = false;
  uint8_t gateway6[16] = {};
  struct rte_ether_addr mac = {};  // the port's own
};

// Resolved next-hop MACs, by IPv4 address (network order).
class NeighborLookup {
 public:
  virtual ~NeighborLookup() = default;
  virtual bool Lookup(uint32_t address, struct rte_ether_addr* mac) const = 0;
  virtual bool Lookup6(const uint8_t[16], struct rte_ether_addr*) const { return false; }
};

// Builds lookup tables only for services whose eligible backends changed, and
// keeps every table it built within a memory limit. A table lives while the
// cache or a snapshot holds it, so the tables alive at once are the published
// snapshot's, those of retired snapshots waiting for their grace period, and
// the ones a build is making; their bytes (4 a slot) never exceed the limit.
class LookupTableCache {
 public:
  // `service_path()` names the service ("services[3]") in the error when its
  // table breaks the size invariant (tables/lookup_table.h) or the limit; it
  // is called only when a table is built. Tables built during a BuildSnapshot
  // are the cache's only once it succeeds (Commit).
  std::shared_ptr<const std::vector<uint32_t>> Get(const ServiceConfig& service,
                                                  const std::function<std::string()>& service_path);
  // Keeps what this build made and forgets removed services; Abandon drops
  // what a failed build made.
  void Commit(const std::vector<ServiceConfig>& services);
  void Abandon() { pending_.clear(); }
  uint64_t builds() const { return builds_; }

  // What a table depends on: its size and each backend that takes new flows,
  // in order. Compared field by field: a change costs a comparison per backend,
  // not the text of every backend's address.
  struct Input {
    IpAddr address;
    uint16_t port;
    uint32_t id;
    uint32_t weight;
    bool operator==(const Input& o) const {
      return address == o.address && port == o.port && id == o.id && weight == o.weight;
    }
  };

  // A table built ahead, off the event loop, for a change about to be applied:
  // PlanAhead (main thread) says what it needs and reserves its bytes in the
  // budget, or gives nothing when the cache holds it already or the budget has
  // no room (the change's own build then decides); Build (any thread) touches
  // nothing but the Ahead; Offer (main thread) keeps it for the next Get of the
  // same inputs. Offered tables no Get takes are dropped at the next Commit.
  class Ahead {
   public:
    ~Ahead();
    void Build();

   private:
    friend class LookupTableCache;
    Ahead() = default;
    uint32_t service_id = 0;
    uint32_t size = 0;
    std::string where;
    std::vector<Input> inputs;
    std::vector<uint32_t> table;
    bool built = false;
    uint64_t bytes = 0;
    std::shared_ptr<uint64_t> live;  // the reservation, given back unless Offer takes it
  };
  std::unique_ptr<Ahead> PlanAhead(const ServiceConfig& service, const std::string& where);
  void Offer(std::unique_ptr<Ahead> ahead);

  // The budget: a table is built only while the bytes of all tables
  // alive stay within `bytes`; when they would not, `make_room` (if any) is
  // called once to free what it can (the data plane waits for the retired
  // snapshots' grace period), and if that is not enough the build throws
  // CodedError SLUICE_LIMIT_EXCEEDED before allocating.
  void SetLimit(uint64_t bytes, std::function<void()> make_room) {
    limit_bytes_ = bytes;
    make_room_ = std::move(make_room);
  }
  uint64_t limit_bytes() const { return limit_bytes_; }
  // Bytes of every table alive: held by this cache or by any snapshot.
  uint64_t live_bytes() const { return *live_bytes_; }

 private:
  struct Entry {
    uint32_t size;
    std::vector<Input> inputs;
    std::shared_ptr<const std::vector<uint32_t>> table;
    bool SameTable(uint32_t other_size, const std::vector<Input>& other_inputs) const {
      return size == other_size && inputs == other_inputs;
    }
  };
  std::unordered_map<uint32_t, Entry> entries_;          // by service id
  std::vector<std::pair<uint32_t, Entry>> pending_;  // built by the current BuildSnapshot
  std::unordered_map<uint32_t, Entry> offered_;      // built ahead (Offer), by service id
  static std::vector<Input> InputsOf(const ServiceConfig& service);
  std::shared_ptr<const std::vector<uint32_t>> Keep(std::vector<uint32_t> table, uint64_t bytes);
  void Reserve(uint64_t bytes, const std::string& where, uint32_t slots);
  uint64_t builds_ = 0;
  uint64_t limit_bytes_ = UINT64_MAX;
  std::function<void()> make_room_;
  // Shared with each table's deleter, which may run after the cache is gone.
  std::shared_ptr<uint64_t> live_bytes_ = std::make_shared<uint64_t>(0);
};

// A build's head start: the published snapshot, the services it was built
// from, and what of the new set is unchanged from those. An unchanged
// service's ServiceView and lookup table, and the view of an unchanged backend
// in a service whose own fields did not change either, are copied from
// `snapshot` rather than made again (backends stay at their ids, as ids are
// global), so a build costs what changed, not every backend of every service.
struct SnapshotBase {
  const Snapshot* snapshot = nullptr;
  const std::vector<ServiceConfig>* services = nullptr;
  const Unchanged* unchanged = nullptr;
  // Whether the neighbours answer every lookup as when `snapshot` was built; if
  // not, a copied view's next-hop MAC is looked up again.
  bool neighbors_same = false;
};

// Checks the invariants the data path relies on (common/invariant.h), each here
// and nowhere else: ids in range and unique, a backend of its VIP's family and
// reachable through a port, its nat pool, distinct VIP triples, and (through
// LookupTableCache) table sizes. A broken one throws CodedError
// SLUICE_INVALID_ARGUMENT naming the field as "services[i].backends[j].address";
// a table beyond the cache's memory limit, SLUICE_LIMIT_EXCEEDED naming
// "services[i].lookupTableSize". Nothing is published either way.
// `workers`: how many worker lcores decode QUIC-LB connection IDs (one codec each).
// With `base`, an unchanged service, or backend, passes again only the
// invariants that span services (unique service and backend ids, distinct VIP
// triples): the others depend on nothing but its own config (and its service's
// fields) and the ports, which never change, so they hold as they did. Every
// check is made in the same order either way: a refused set names the same
// field as a build without `base` would.
std::unique_ptr<Snapshot> BuildSnapshot(const std::vector<ServiceConfig>& services,
                                        const std::vector<PortAddressing>& ports,
                                        const NeighborLookup& neighbors, LookupTableCache& tables,
                                        uint64_t generation, uint32_t workers = 1,
                                        const SnapshotBase* base = nullptr);

// The IPv6 part of BuildSnapshot (control/snapshot_build_ipv6.cc): fills `view` for an IPv6
// backend of `s`, failing an invariant (on `where`, the backend's path) when no
// port can reach it.
void FillBackend6(BackendView& view, const ServiceConfig& s, const BackendConfig& b,
                  const std::vector<PortAddressing>& ports, const NeighborLookup& neighbors,
                  const std::function<std::string()>& where);
// Sets the backend's configured MAC, if it has one; false when it must be resolved.
bool UseStaticMac(BackendView& view, const BackendConfig& b);
// The MAC of the view's next hop (family and next hop set), as the neighbours know it now.
void ResolveNextHop(BackendView& view, const NeighborLookup& neighbors);
bool InPrefix6(const uint8_t address[16], const uint8_t prefix[16], uint8_t prefix_len);
bool IsNatPoolAddress6(const std::vector<PortAddressing>& ports, const uint8_t* address);

std::string FormatIp(const IpAddr& ip);
// A backend's key in its service's lookup table (tables/lookup_table.h):
// FormatIp(address) + ":" + port, the text every table ever built was keyed by.
std::string LookupKey(const IpAddr& address, uint16_t port);
uint32_t Ipv4Of(const IpAddr& ip);  // network order

}  // namespace sluice
