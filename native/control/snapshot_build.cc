#include "common/snapshot.h"

#include <arpa/inet.h>
#include <rte_common.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "common/coded_error.h"
#include "common/invariant.h"
#include "control/snapshot_invariants.h"

namespace sluice {

// Digits of `v` at `p`, as printf's %u writes them; returns the end.
static char* AppendDecimal(char* p, uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

// The address as inet_ntop writes it, at `p` (room for INET6_ADDRSTRLEN); returns the end.
static char* AppendIp(char* p, const IpAddr& ip) {
  if (ip.family == 6) {
    inet_ntop(AF_INET6, ip.bytes.data(), p, INET6_ADDRSTRLEN);
    return p + std::strlen(p);
  }
  // inet_ntop writes IPv4 through sprintf: for 4,096 backends, more than a
  // millisecond of a table build's few, and of a view's counters.
  for (int i = 0; i < 4; i++) {
    if (i > 0) *p++ = '.';
    p = AppendDecimal(p, ip.bytes[i]);
  }
  return p;
}

std::string FormatIp(const IpAddr& ip) {
  char text[INET6_ADDRSTRLEN];
  return std::string(text, AppendIp(text, ip));
}

std::string LookupKey(const IpAddr& address, uint16_t port) {
  char text[INET6_ADDRSTRLEN + 6];
  char* p = AppendIp(text, address);
  *p++ = ':';
  p = AppendDecimal(p, port);
  return std::string(text, p);
}

uint32_t Ipv4Of(const IpAddr& ip) {
  uint32_t v;
  std::memcpy(&v, ip.bytes.data(), 4);
  return v;
}

int64_t ServiceIndex::Build(const std::vector<ServiceView>& services, size_t* earlier) {
  uint32_t size = rte_align32pow2(std::max<uint32_t>(4, 2 * static_cast<uint32_t>(services.size())));
  slots_.assign(size, Slot{kEmptyKey, nullptr});
  mask_ = size - 1;
  vip_slots_.assign(size, 0);
  vip_mask_ = size - 1;
  for (uint32_t s = 0; s < services.size(); s++) {
    const ServiceView& view = services[s];
    if (view.family != 4) continue;
    const uint64_t key = Key(view.vip, view.port, view.proto);
    uint32_t i = Hash(key) & mask_;
    for (; slots_[i].key != kEmptyKey; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        *earlier = static_cast<size_t>(slots_[i].service - services.data());
        return s;
      }
    }
    slots_[i] = Slot{key, &view};
    uint32_t v = HashVip(view.vip) & vip_mask_;
    while (vip_slots_[v] != 0 && vip_slots_[v] != view.vip) v = (v + 1) & vip_mask_;
    vip_slots_[v] = view.vip;
  }
  return -1;
}

static bool TakesNewFlows(const BackendConfig& b) {
  return b.admin == AdminState::kActive && b.weight > 0 && b.healthy;
}

std::vector<LookupTableCache::Input> LookupTableCache::InputsOf(const ServiceConfig& service) {
  std::vector<Input> inputs;
  inputs.reserve(service.backends.size());
  for (const BackendConfig& b : service.backends) {
    if (TakesNewFlows(b)) inputs.push_back(Input{b.address, b.port, b.id, b.weight});
  }
  return inputs;
}

// A table of backend ids (the builder's slots are indexes into `inputs`).
static std::vector<uint32_t> BuildById(const std::vector<LookupTableCache::Input>& inputs, uint32_t size,
                                       const std::string& where) {
  std::vector<LookupBackend> keyed;
  keyed.reserve(inputs.size());
  for (const LookupTableCache::Input& in : inputs) {
    keyed.push_back(LookupBackend{LookupKey(in.address, in.port), in.weight});
  }
  std::vector<uint32_t> table = BuildLookupTable(keyed, size, where);
  for (uint32_t& slot : table) {
    if (slot != kNoBackend) slot = inputs[slot].id;
  }
  return table;
}

// The budget (SetLimit), checked before anything is allocated; the bytes count
// as alive from here.
void LookupTableCache::Reserve(uint64_t bytes, const std::string& where, uint32_t slots) {
  if (*live_bytes_ + bytes > limit_bytes_ && make_room_) make_room_();
  if (*live_bytes_ + bytes > limit_bytes_) {
    throw CodedError(codes::kLimitExceeded,
                     where + ": a table of " + std::to_string(slots) + " slots (" + std::to_string(bytes) +
                         " bytes) would take the lookup tables alive to " + std::to_string(*live_bytes_ + bytes) +
                         " bytes, beyond their limit of " + std::to_string(limit_bytes_) +
                         " bytes (limits.lookupTablesMb)");
  }
  *live_bytes_ += bytes;
}

// Reserved bytes go back when the last holder (the cache or a snapshot) lets go.
std::shared_ptr<const std::vector<uint32_t>> LookupTableCache::Keep(std::vector<uint32_t> table, uint64_t bytes) {
  return std::shared_ptr<const std::vector<uint32_t>>(new std::vector<uint32_t>(std::move(table)),
                                                      [live = live_bytes_, bytes](const std::vector<uint32_t>* t) {
                                                        *live -= bytes;
                                                        delete t;
                                                      });
}

std::shared_ptr<const std::vector<uint32_t>> LookupTableCache::Get(const ServiceConfig& service,
                                                                  const std::function<std::string()>& service_path) {
  Entry entry{service.lookup_table_size, InputsOf(service), nullptr};
  auto found = entries_.find(service.id);
  if (found != entries_.end() && found->second.SameTable(entry.size, entry.inputs)) return found->second.table;
  auto offered = offered_.find(service.id);
  if (offered != offered_.end() && offered->second.SameTable(entry.size, entry.inputs)) {
    auto shared = offered->second.table;
    builds_++;
    pending_.emplace_back(service.id, std::move(offered->second));
    offered_.erase(offered);
    return shared;
  }

  const std::string where = service_path() + ".lookupTableSize";
  const uint64_t bytes = uint64_t{service.lookup_table_size} * sizeof(uint32_t);
  Reserve(bytes, where, service.lookup_table_size);
  std::vector<uint32_t> table;
  try {
    table = BuildById(entry.inputs, service.lookup_table_size, where);
  } catch (...) {
    *live_bytes_ -= bytes;
    throw;
  }
  entry.table = Keep(std::move(table), bytes);
  builds_++;
  auto shared = entry.table;
  pending_.emplace_back(service.id, std::move(entry));
  return shared;
}

std::unique_ptr<LookupTableCache::Ahead> LookupTableCache::PlanAhead(const ServiceConfig& service,
                                                                     const std::string& where) {
  std::vector<Input> inputs = InputsOf(service);
  const auto same = [&](const std::unordered_map<uint32_t, Entry>& map) {
    auto it = map.find(service.id);
    return it != map.end() && it->second.SameTable(service.lookup_table_size, inputs);
  };
  if (same(entries_) || same(offered_)) return nullptr;
  const uint64_t bytes = uint64_t{service.lookup_table_size} * sizeof(uint32_t);
  // No make_room here: it waits for the data plane's grace period, and a build
  // ahead is only a head start.
  if (*live_bytes_ + bytes > limit_bytes_) return nullptr;
  std::unique_ptr<Ahead> ahead(new Ahead());
  ahead->service_id = service.id;
  ahead->size = service.lookup_table_size;
  ahead->where = where;
  ahead->inputs = std::move(inputs);
  *live_bytes_ += bytes;
  ahead->bytes = bytes;
  ahead->live = live_bytes_;
  return ahead;
}

void LookupTableCache::Ahead::Build() {
  try {
    table = BuildById(inputs, size, where);
    built = true;
  } catch (...) {
    // A table that cannot be built is the change's own build to refuse, with its error.
    built = false;
  }
}

LookupTableCache::Ahead::~Ahead() {
  if (live) *live -= bytes;
}

void LookupTableCache::Offer(std::unique_ptr<Ahead> ahead) {
  // Reserved in another cache (the data plane restarted meanwhile): not this one's.
  if (!ahead->built || ahead->live != live_bytes_) return;
  Entry entry{ahead->size, std::move(ahead->inputs), Keep(std::move(ahead->table), ahead->bytes)};
  ahead->live.reset();
  offered_[ahead->service_id] = std::move(entry);
}

void LookupTableCache::Commit(const std::vector<ServiceConfig>& services) {
  for (auto& pending : pending_) entries_[pending.first] = std::move(pending.second);
  pending_.clear();
  offered_.clear();
  std::vector<bool> alive(kMaxServices, false);
  for (const ServiceConfig& s : services) {
    if (s.id < kMaxServices) alive[s.id] = true;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->first < kMaxServices && alive[it->first] ? std::next(it) : entries_.erase(it);
  }
}

bool UseStaticMac(BackendView& view, const BackendConfig& b) {
  if (!b.has_static_mac) return false;
  std::memcpy(view.mac.addr_bytes, b.mac.data(), 6);
  view.mac_known = 1;
  return true;
}

void ResolveNextHop(BackendView& view, const NeighborLookup& neighbors) {
  // A copied view may hold an earlier answer: an unknown MAC is all zeros, as in a view made new.
  view.mac = {};
  const bool known = view.family == 6 ? neighbors.Lookup6(view.next_hop6, &view.mac)
                                      : neighbors.Lookup(view.next_hop, &view.mac);
  view.mac_known = known ? 1 : 0;
}

static int OnLinkPort(const std::vector<PortAddressing>& ports, uint32_t address) {
  for (size_t p = 0; p < ports.size(); p++) {
    if ((ports[p].address & ports[p].netmask) == (address & ports[p].netmask)) return static_cast<int>(p);
  }
  return -1;
}

// An off-link tunnel backend is reached through the gateway of the first port, in
// config order, that has one: one rule an operator can predict, and a single
// default route is how such hosts are usually set up.
static int GatewayPort(const std::vector<PortAddressing>& ports) {
  for (size_t p = 0; p < ports.size(); p++) {
    if (ports[p].gateway != 0) return static_cast<int>(p);
  }
  return -1;
}

static bool IsNatPoolAddress(const std::vector<PortAddressing>& ports, uint32_t address) {
  for (const PortAddressing& p : ports) {
    if (std::find(p.nat_pool.begin(), p.nat_pool.end(), address) != p.nat_pool.end()) return true;
  }
  return false;
}

// A nat backend: kInvariantNatPool, kInvariantNotPoolAddress.
template <typename Where>
static void CheckNatBackend(const std::vector<PortAddressing>& ports, int port, uint32_t address, const Where& where) {
  CheckInvariant(port < 0 || !ports[port].nat_pool.empty(), where, kInvariantNatPool);
  CheckInvariant(!IsNatPoolAddress(ports, address), where, ".address", kInvariantNotPoolAddress);
}

static std::string ServicePath(size_t i) { return "services[" + std::to_string(i) + "]"; }

static const QuicLbRoute* BuildQuicLbRoute(const ServiceConfig& s, uint32_t workers, const std::string& path,
                                           Snapshot& snap) {
  CheckInvariant(s.protocol == IPPROTO_UDP, path, ".quicLb", kInvariantQuicLbUdp);
  std::vector<std::pair<QuicLbServerId, uint32_t>> servers;
  std::vector<size_t> with_id;  // backend indexes, sorted by server ID to find a repeated one
  for (size_t j = 0; j < s.backends.size(); j++) {
    if (!s.backends[j].has_server_id) continue;
    servers.emplace_back(s.backends[j].server_id, s.backends[j].id);
    with_id.push_back(j);
  }
  const auto id_of = [&](size_t j) { return &s.backends[j].server_id; };
  std::sort(with_id.begin(), with_id.end(), [&](size_t a, size_t b) {
    const int order = std::memcmp(id_of(a), id_of(b), sizeof(QuicLbServerId));
    return order < 0 || (order == 0 && a < b);
  });
  for (size_t k = 1; k < with_id.size(); k++) {
    CheckInvariant(std::memcmp(id_of(with_id[k - 1]), id_of(with_id[k]), sizeof(QuicLbServerId)) != 0,
                   path + ".backends[" + std::to_string(with_id[k]) + "]", ".serverId", kInvariantServerIdUnique);
  }
  snap.quic_routes.push_back(std::make_unique<QuicLbRoute>(s.quic_lb, workers, servers, path + ".quicLb"));
  return snap.quic_routes.back().get();
}

// Whether a backend's view in `a` and in `b` is made the same from the same
// backend config: all of the service it reads (checks included) but its id,
// which views are looked up by.
static bool SameViewFields(const ServiceConfig& a, const ServiceConfig& b) {
  return a.vip.family == b.vip.family && a.port == b.port && a.forwarding == b.forwarding &&
         (b.forwarding != Forwarding::kTunnel || a.tunnel == b.tunnel);
}

// BuildSnapshot's one pass; nullptr when `base` cannot serve (its caller then
// builds without it).
static std::unique_ptr<Snapshot> Build(const std::vector<ServiceConfig>& services,
                                       const std::vector<PortAddressing>& ports, const NeighborLookup& neighbors,
                                       LookupTableCache& tables, uint64_t generation, uint32_t workers,
                                       const SnapshotBase* base) {
  // Tables this build makes are the cache's only if it succeeds; a refused set
  // frees them with the snapshot.
  struct AbandonUnlessCommitted {
    LookupTableCache& tables;
    bool committed = false;
    ~AbandonUnlessCommitted() {
      if (!committed) tables.Abandon();
    }
  } pending{tables};
  auto snap = std::make_unique<Snapshot>();
  snap->generation = generation;
  uint32_t max_backend_id = 0;
  bool any_backend = false;
  std::vector<bool> service_ids(kMaxServices, false);
  for (size_t i = 0; i < services.size(); i++) {
    const ServiceConfig& s = services[i];
    CheckInvariant(s.id < kMaxServices && !service_ids[s.id], [i] { return ServicePath(i); }, ".id",
                   kInvariantServiceId);
    service_ids[s.id] = true;
    for (size_t j = 0; j < s.backends.size(); j++) {
      const BackendConfig& b = s.backends[j];
      if (b.id >= kMaxBackendIds) {
        FailInvariant(ServicePath(i) + ".backends[" + std::to_string(j) + "].id", kInvariantBackendId);
      }
      max_backend_id = std::max(max_backend_id, b.id);
      any_backend = true;
    }
  }
  const size_t views_size = any_backend ? max_backend_id + 1 : 0;
  if (base != nullptr) {
    // One copy of what runs: unchanged backends' views are then in place, and
    // the others are made or cleared below.
    const std::vector<BackendView>& from = base->snapshot->backends;
    snap->backends.reserve(views_size);
    snap->backends.assign(from.begin(), from.begin() + static_cast<std::ptrdiff_t>(std::min(views_size, from.size())));
  }
  snap->backends.resize(views_size, BackendView{});
  std::vector<bool> backend_ids(snap->backends.size(), false);
  // What of `base` this build may keep: each of its services' place in its snapshot, and config, by id.
  std::vector<int32_t> base_at;
  std::vector<const ServiceConfig*> base_config;
  std::vector<bool> whole_ids;  // the services taken whole from `base`
  if (base != nullptr) {
    whole_ids.assign(kMaxServices, false);
    base_at.assign(kMaxServices, -1);
    base_config.assign(kMaxServices, nullptr);
    for (size_t k = 0; k < base->snapshot->services.size(); k++) {
      base_at[base->snapshot->services[k].id] = static_cast<int32_t>(k);
    }
    for (const ServiceConfig& was : *base->services) base_config[was.id] = &was;
  }

  for (size_t i = 0; i < services.size(); i++) {
    const ServiceConfig& s = services[i];
    // Paths are made only for a message: a string per backend per change cost
    // more than the rest of the snapshot for a large service.
    const auto path = [i] { return ServicePath(i); };
    const ServiceConfig* was = base != nullptr ? base_config[s.id] : nullptr;
    const int32_t at = was != nullptr ? base_at[s.id] : -1;
    // A QUIC-LB route belongs to the snapshot that made it: such a service is made again.
    const bool whole = at >= 0 && base->unchanged->services[i] && !s.has_quic_lb;
    if (whole) whole_ids[s.id] = true;
    // An unchanged backend's view is the one `base` made while what it is made of stays.
    const bool views = at >= 0 && (whole || SameViewFields(*was, s));
    static const std::vector<bool> kNone;
    const std::vector<bool>& kept = base != nullptr ? base->unchanged->backends : kNone;
    if (!whole) {
      CheckInvariant(s.vip.family == 6 ? !IsNatPoolAddress6(ports, s.vip.bytes.data())
                                       : !IsNatPoolAddress(ports, Ipv4Of(s.vip)),
                     path, kInvariantVipNotPoolAddress);
    }
    for (size_t j = 0; j < s.backends.size(); j++) {
      const BackendConfig& b = s.backends[j];
      const auto where = [&] { return path() + ".backends[" + std::to_string(j) + "]"; };
      CheckInvariant(!backend_ids[b.id], where, ".id", kInvariantBackendIdUnique);
      backend_ids[b.id] = true;
      BackendView& view = snap->backends[b.id];
      if (views && (whole || (b.id < kept.size() && kept[b.id]))) {
        const Snapshot& from = *base->snapshot;
        // Not the config `base` was built from after all: the caller's mistake, built whole.
        if (b.id >= from.backends.size()) return nullptr;
        if (!base->neighbors_same && !b.has_static_mac) ResolveNextHop(view, neighbors);
        continue;
      }
      CheckInvariant(b.address.family == s.vip.family, where, ".address",
                     s.vip.family == 6 ? kInvariantBackendIs6 : kInvariantBackendIs4);
      if (s.forwarding != Forwarding::kNat && b.port != s.port) {
        FailInvariant(where() + ".port", std::string(s.forwarding == Forwarding::kDsr ? "dsr " : "tunnel ") +
                                             kInvariantKeepsPort + " " + std::to_string(s.port));
      }
      view = BackendView{};
      view.service_id = s.id;
      view.family = b.address.family;
      view.keeps_flows_of = b.admin != AdminState::kDisabled && b.healthy ? s.id : kKeepsNoFlows;
      if (b.address.family == 6) {
        FillBackend6(view, s, b, ports, neighbors, where);
        continue;
      }
      uint32_t address = Ipv4Of(b.address);
      uint32_t next_hop = address;
      int port = OnLinkPort(ports, address);
      if (port < 0 && s.forwarding != Forwarding::kDsr) {
        port = GatewayPort(ports);
        CheckInvariant(port >= 0, where, ".address", kInvariantOnLinkOrGateway);
        next_hop = ports[port].gateway;
      }
      CheckInvariant(port >= 0, where, ".address", kInvariantDsrOnLink);
      if (s.forwarding == Forwarding::kNat) CheckNatBackend(ports, port, address, where);
      view.address = address;
      view.next_hop = next_hop;
      view.port_index = static_cast<uint16_t>(port);
      view.egress_mac = ports[port].mac;
      view.egress_mtu = ports[port].mtu;
      view.port = htons(b.port);
      if (s.forwarding == Forwarding::kTunnel) {
        view.tunnel = MakeTunnelTarget(s.tunnel, address, ports[port].address, ports[port].mtu);
      }
      if (!UseStaticMac(view, b)) ResolveNextHop(view, neighbors);
    }
    if (whole) {
      snap->tables.push_back(base->snapshot->tables[at]);
      snap->services.push_back(base->snapshot->services[at]);
      continue;
    }
    auto table = tables.Get(s, path);
    snap->tables.push_back(table);
    ServiceView view{};
    view.id = s.id;
    view.family = s.vip.family;
    if (s.vip.family == 6) {
      std::memcpy(view.vip6, s.vip.bytes.data(), 16);
    } else {
      view.vip = Ipv4Of(s.vip);
    }
    view.port = htons(s.port);
    view.proto = s.protocol;
    view.forwarding = static_cast<uint8_t>(s.forwarding);
    view.table_size = static_cast<uint32_t>(table->size());
    view.lookup = table->data();
    if (s.has_quic_lb) view.quic_lb = BuildQuicLbRoute(s, workers, path(), *snap);
    snap->services.push_back(view);
  }
  if (base != nullptr) {
    // The views of backends gone since: only services changed or removed had such.
    for (const ServiceConfig& was : *base->services) {
      if (whole_ids[was.id]) continue;
      for (const BackendConfig& b : was.backends) {
        if (b.id < views_size && !backend_ids[b.id]) snap->backends[b.id] = BackendView{};
      }
    }
  }
  // One service per listener (family, VIP, port, protocol): the first one that
  // shares another's, in order, is refused, as the index could find only one.
  size_t earlier4 = 0, earlier6 = 0;
  const int64_t twice4 = snap->index.Build(snap->services, &earlier4);
  const int64_t twice6 = snap->index6.Build(snap->services, &earlier6);
  if (twice4 >= 0 || twice6 >= 0) {
    const bool four = twice6 < 0 || (twice4 >= 0 && twice4 < twice6);
    const size_t i = static_cast<size_t>(four ? twice4 : twice6), j = four ? earlier4 : earlier6;
    FailInvariant(ServicePath(i), std::string(kInvariantUniqueVip) + " " + ServicePath(j) + " (" + services[j].name + ")");
  }
  tables.Commit(services);
  pending.committed = true;
  return snap;
}

std::unique_ptr<Snapshot> BuildSnapshot(const std::vector<ServiceConfig>& services,
                                        const std::vector<PortAddressing>& ports,
                                        const NeighborLookup& neighbors, LookupTableCache& tables,
                                        uint64_t generation, uint32_t workers, const SnapshotBase* base) {
  if (base != nullptr && base->snapshot != nullptr && base->services != nullptr && base->unchanged != nullptr &&
      base->unchanged->services.size() == services.size()) {
    auto snap = Build(services, ports, neighbors, tables, generation, workers, base);
    if (snap) return snap;
  }
  return Build(services, ports, neighbors, tables, generation, workers, nullptr);
}

}  // namespace sluice
