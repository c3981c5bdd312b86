#include "control/dataplane.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <new>
#include <cstring>

#include "control/affinity.h"
#include "control/allocator.h"
#include "control/dataplane_ipv6.h"
#include "common/coded_error.h"
#include "packet/local_reply.h"
#include "packet/ndp.h"
#include "worker/fragments.h"
#include "control/telemetry.h"

#include <rte_telemetry.h>

namespace sluice {
namespace {

constexpr unsigned kMempoolCache = 256;
constexpr unsigned kLearnRingSize = 1024;
constexpr unsigned kSendRingSize = 1024;
constexpr unsigned kKernelRingSize = 1024;  // each worker's frames for the kernel, and what the kernel sends
constexpr unsigned kKernelTapMbufs = 1024;  // a TAP's rx and tx descriptors (control/kernel_interface.cc)
constexpr unsigned kRingPortDepth = 4096;  // control/port_setup.cc kRingPortSize

uint32_t Netmask(uint8_t prefix_len) {
  return prefix_len == 0 ? 0 : htonl(~uint32_t{0} << (32 - prefix_len));
}

uint32_t NextPow2Minus1(uint64_t n) {
  uint32_t v = rte_align32pow2(static_cast<uint32_t>(std::min<uint64_t>(n, 1u << 30)));
  return v - 1;
}

// The EAL's runtime directory (telemetry sockets) outlives rte_eal_cleanup and a
// failed rte_eal_init; every instance has its own, so remove ours, and only if
// it is one of ours.
void RemoveRuntimeDir(const std::string& runtime_dir) {
  std::error_code ignored;
  if (std::filesystem::path(runtime_dir).filename().string().rfind("sluice-", 0) == 0) {
    std::filesystem::remove_all(runtime_dir, ignored);
  }
}

std::string Mib(uint64_t bytes) {
  return std::to_string((bytes + (uint64_t{1} << 20) - 1) >> 20) + " MiB";
}

FragmentLimits FragmentLimitsOf(const FragmentConfig& c) {
  return FragmentLimits{c.entries_per_lcore, c.hold_ms, c.held_bytes_per_lcore};
}

bool AnyKernelInterface(const std::vector<PortConfig>& ports) {
  return std::any_of(ports.begin(), ports.end(), [](const PortConfig& p) { return !p.kernel_interface.empty(); });
}

}  // namespace

Dataplane& Dataplane::Instance() {
  static Dataplane instance;
  return instance;
}

void Dataplane::RequireRunning() const {
  if (state_ != State::kRunning) throw CodedError(codes::kNotRunning, "the data plane is not running");
}

uint64_t Dataplane::NowMs() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void Dataplane::Start(DataplaneConfig config, std::vector<ServiceConfig> services) {
  if (state_ != State::kIdle) {
    throw CodedError(codes::kAlreadyStarted,
                     "the data plane was started before in this process; the EAL initialises once per process");
  }
  config_ = std::move(config);
  // rte_eal_init runs here, on Node's main thread, on purpose: it pins the calling
  // thread to the main lcore's CPU, so the control plane (JS) runs on the CPU the
  // config reserved for it, and the rte_* calls the control side makes (mempool
  // caches, rings, RCU tokens) come from a registered EAL thread. It runs once per
  // process: a second Start is refused above, even after Stop.
  std::vector<std::string> args = config_.eal_args;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  state_ = State::kStopped;  // whatever happens next, the EAL cannot be initialised again
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
    int err = rte_errno;
    RemoveRuntimeDir(rte_eal_get_runtime_dir());
    std::string joined;
    for (const std::string& a : config_.eal_args) joined += " " + a;
    throw CodedError(codes::kEalInitFailed,
                     std::string("rte_eal_init failed: ") + rte_strerror(err) + " (arguments:" + joined + ")");
  }
  instance_ = static_cast<uint32_t>(getpid());
  // Best effort: without /proc the threads only stay where they were.
  ConfineControlThreads();
  // Best effort too: refused, each change only pays its page faults again.
  KeepFreedMemory();
  try {
    for (const WorkerConfig& w : config_.workers) {
      if (!rte_lcore_is_enabled(w.lcore) || w.lcore == rte_get_main_lcore()) {
        throw CodedError(codes::kInvalidArgument, "worker lcore " + std::to_string(w.lcore) +
                                                      " is not a worker lcore of the EAL's lcore set");
      }
    }
    uint16_t tx_queues = static_cast<uint16_t>(config_.workers.size());
    for (const PortConfig& p : config_.ports) ports_.push_back(ProbePort(p, tx_queues, instance_));
    CreateMempools();
    for (size_t i = 0; i < ports_.size(); i++) {
      PortRuntime rt{};
      rt.port_id = ports_[i].port_id;
      rt.mac = ports_[i].mac;
      rt.address = Ipv4Of(config_.ports[i].address);
      rt.netmask = Netmask(config_.ports[i].prefix_len);
      rt.mtu = static_cast<uint16_t>(config_.ports[i].mtu);
      rt.kernel_interface = !config_.ports[i].kernel_interface.empty();
      port_runtime_.push_back(rt);
      uint32_t gateway = config_.ports[i].has_gateway ? Ipv4Of(config_.ports[i].gateway) : 0;
      PortAddressing addressing{rt.address, rt.netmask, gateway, config_.ports[i].mtu,
                                config_.ports[i].nat_pool.addresses};
      addressing.nat_pool6 = config_.ports[i].nat_pool.addresses6;
      addressing.mac = rt.mac;
      SetIpv6Addressing(config_.ports[i], &port_runtime_.back(), &addressing);
      port_addressing_.push_back(addressing);
    }
    neighbors_ = std::make_unique<NeighborResolver>(config_.neighbor_refresh_sec);
    size_t rcu_size = rte_rcu_qsbr_get_memsize(static_cast<uint32_t>(config_.workers.size()));
    rcu_ = static_cast<struct rte_rcu_qsbr*>(rte_zmalloc("sluice_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
    if (rcu_ == nullptr || rte_rcu_qsbr_init(rcu_, static_cast<uint32_t>(config_.workers.size())) != 0) {
      throw CodedError(codes::kResourceExhausted, "cannot allocate the RCU state");
    }
    publisher_ = std::make_unique<SnapshotPublisher>(rcu_);
    // Replaced tables wait for their grace period; when the budget needs their
    // memory, the build waits for it rather than going beyond the limit.
    tables_.SetLimit(config_.limits.lookup_table_bytes, [this] { publisher_->ReclaimWaiting(); });
    service_baseline_.assign(kMaxServices, ServiceCounters{});
    backend_baseline_.assign(kMaxBackendIds, BackendCounters{});
    // The first snapshot already holds the services, and ports start only after
    // it is published: no packet ever meets an empty configuration.
    Apply(std::move(services), nullptr);
    CreateWorkers();
    for (size_t i = 0; i < ports_.size(); i++) StartPort(config_.ports[i], pools_.at(ports_[i].socket), ports_[i]);
    if (AnyKernelInterface(config_.ports)) {
      kernel_ = std::make_unique<KernelInterfaces>(config_.ports, port_runtime_, pools_, instance_);
    }
    nat_steering_.resize(ports_.size());
    for (size_t i = 0; i < ports_.size(); i++) {
      if (!config_.ports[i].has_nat_pool) continue;
      nat_steering_[i] = InstallNatSteering(ports_[i].port_id, static_cast<uint16_t>(i), config_.ports[i].nat_pool,
                                            config_.workers);
    }
    for (Worker& w : workers_) {
      int rc = rte_eal_remote_launch(WorkerMain, w.context, w.context->lcore);
      if (rc != 0) {
        throw CodedError(codes::kInternal, "cannot launch lcore " + std::to_string(w.context->lcore) + ": " +
                                               rte_strerror(-rc));
      }
    }
    if (kernel_) {
      std::vector<KernelInterfaces::WorkerRings> rings;
      for (Worker& w : workers_) {
        rings.push_back({w.context->kernel_ring, w.context->kernel_tx_ring, &w.context->counters->iterations});
      }
      kernel_->Start(std::move(rings));
    }
  } catch (...) {
    Teardown();
    throw;
  }
  state_ = State::kRunning;
  {
    std::lock_guard<std::mutex> lock(telemetry_mutex_);
    telemetry_ready_ = true;
  }
  RegisterTelemetryCommands();
  Poll();  // resolve next hops now rather than at the first timer tick
}

void Dataplane::CreateMempools() {
  std::map<int, uint64_t> mbufs;
  std::map<int, uint32_t> room;
  uint64_t per_worker = uint64_t{kRxBurst} * (ports_.size() + 2) + kMempoolCache * 3 / 2;
  for (size_t i = 0; i < ports_.size(); i++) {
    const PortConfig& pc = config_.ports[i];
    const PortState& ps = ports_[i];
    uint64_t n = uint64_t{ps.rx_queues} * pc.rx_descriptors + uint64_t{ps.tx_queues} * pc.tx_descriptors;
    if (!ps.inject_rings.empty()) n += uint64_t{kRingPortDepth} * (ps.inject_rings.size() + ps.capture_rings.size());
    if (!pc.kernel_interface.empty()) n += uint64_t{kKernelRingSize} * config_.workers.size() * 2 + kKernelTapMbufs;
    mbufs[ps.socket] += n;
    // Frame plus two VLAN tags must fit one segment: the data path reads headers
    // from the first segment only.
    room[ps.socket] = std::max<uint32_t>(room[ps.socket], std::max<uint32_t>(2048, pc.mtu + 26u));
  }
  for (auto& [socket, n] : mbufs) {
    n += per_worker * config_.workers.size() + kSendRingSize + 1024;
    uint32_t count = config_.mbufs_per_socket != 0 ? config_.mbufs_per_socket : NextPow2Minus1(n);
    char name[RTE_MEMPOOL_NAMESIZE];
    snprintf(name, sizeof(name), "sluice_mbuf_s%d", socket);
    uint32_t data_room = RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(room[socket], 64);
    struct rte_mempool* pool = rte_pktmbuf_pool_create(name, count, kMempoolCache, 0,
                                                       static_cast<uint16_t>(data_room), socket);
    if (pool == nullptr) {
      throw CodedError(codes::kResourceExhausted, "cannot create a pool of " + std::to_string(count) +
                                                      " mbufs on socket " + std::to_string(socket) + ": " +
                                                      rte_strerror(rte_errno) +
                                                      " (more hugepages, or eal.memoryMb with hugepages: false)");
    }
    pools_[socket] = pool;
  }
}

void Dataplane::CreateWorkers() {
  FlowTimeouts timeouts{config_.flow_table.tcp_timeout_sec * 1000, config_.flow_table.tcp_closing_timeout_sec * 1000,
                        config_.flow_table.udp_timeout_sec * 1000};
  uint64_t tsc_hz = rte_get_tsc_hz();
  uint64_t tsc_base = rte_rdtsc();
  // The flow tables' budget, before any is allocated.
  uint64_t flow_bytes = uint64_t{FlowTableBytes()} * config_.workers.size();
  if (flow_bytes > config_.limits.flow_table_bytes) {
    throw CodedError(codes::kLimitExceeded, "the flow tables of " + std::to_string(config_.workers.size()) +
                                                " workers would take " + std::to_string(flow_bytes) +
                                                " bytes, beyond their limit of " +
                                                std::to_string(config_.limits.flow_table_bytes) +
                                                " bytes (limits.flowTablesMb)");
  }
  if (std::any_of(config_.ports.begin(), config_.ports.end(), [](const PortConfig& p) { return p.has_nat_pool; })) {
    std::vector<int> sockets;
    for (const WorkerConfig& wc : config_.workers) sockets.push_back(static_cast<int>(rte_lcore_to_socket_id(wc.lcore)));
    nat_ = std::make_unique<NatRuntime>(config_.ports, sockets, config_.flow_table.entries_per_lcore, timeouts, instance_,
                                        config_.limits.nat_session_bytes);
  }
  for (size_t i = 0; i < config_.workers.size(); i++) {
    const WorkerConfig& wc = config_.workers[i];
    int socket = static_cast<int>(rte_lcore_to_socket_id(wc.lcore));
    auto* ctx = static_cast<WorkerContext*>(
        rte_zmalloc_socket("sluice_worker", sizeof(WorkerContext), RTE_CACHE_LINE_SIZE, socket));
    if (ctx == nullptr) throw CodedError(codes::kResourceExhausted, "cannot allocate a worker context");
    workers_.push_back(Worker{ctx});
    ctx->lcore = wc.lcore;
    ctx->rcu_thread_id = static_cast<uint32_t>(i);
    ctx->tx_queue = static_cast<uint16_t>(i);
    ctx->num_ports = static_cast<uint16_t>(ports_.size());
    ctx->num_rx = static_cast<uint16_t>(wc.rx.size());
    for (size_t q = 0; q < wc.rx.size(); q++) {
      ctx->rx[q] = RxQueueRuntime{wc.rx[q].port_index, ports_[wc.rx[q].port_index].port_id, wc.rx[q].queue};
    }
    ctx->ports = port_runtime_.data();
    ctx->counters = static_cast<LcoreCounters*>(
        rte_zmalloc_socket("sluice_counters", sizeof(LcoreCounters), RTE_CACHE_LINE_SIZE, socket));
    ctx->service_counters = static_cast<ServiceCounters*>(
        rte_zmalloc_socket("sluice_svc_counters", sizeof(ServiceCounters) * kMaxServices, RTE_CACHE_LINE_SIZE, socket));
    ctx->backend_counters = static_cast<BackendCounters*>(rte_zmalloc_socket(
        "sluice_be_counters", sizeof(BackendCounters) * kMaxBackendIds, RTE_CACHE_LINE_SIZE, socket));
    if (ctx->counters == nullptr || ctx->service_counters == nullptr || ctx->backend_counters == nullptr) {
      throw CodedError(codes::kResourceExhausted, "cannot allocate worker counters");
    }
    for (size_t p = 0; p < ports_.size(); p++) {
      ctx->tx[p] = static_cast<struct rte_eth_dev_tx_buffer*>(
          rte_zmalloc_socket("sluice_txbuf", RTE_ETH_TX_BUFFER_SIZE(kRxBurst), RTE_CACHE_LINE_SIZE, socket));
      if (ctx->tx[p] == nullptr) throw CodedError(codes::kResourceExhausted, "cannot allocate tx buffers");
      rte_eth_tx_buffer_init(ctx->tx[p], kRxBurst);
      rte_eth_tx_buffer_set_err_callback(ctx->tx[p], CountUnsentPackets, ctx->counters);
    }
    char name[RTE_RING_NAMESIZE];
    snprintf(name, sizeof(name), "sl%u_flows_%u", instance_, wc.lcore);
    ctx->flows = FlowTable::Create(name, config_.flow_table.entries_per_lcore, socket, timeouts);
    if (ctx->flows == nullptr) {
      throw CodedError(codes::kResourceExhausted,
                       "flowTable.entriesPerLcore: cannot allocate a flow table of " +
                           std::to_string(config_.flow_table.entries_per_lcore) + " entries (" +
                           Mib(FlowTable::MemoryBytes(config_.flow_table.entries_per_lcore)) + ") for lcore " +
                           std::to_string(wc.lcore) + ": " + rte_strerror(rte_errno) +
                           " (fewer entries, more hugepages, or eal.memoryMb with hugepages: false)");
    }
    if (AnyIpv6Port(config_.ports)) {
      snprintf(name, sizeof(name), "sl%u_flows6_%u", instance_, wc.lcore);
      ctx->flows6 = FlowTable6::Create(name, Ipv6FlowCapacity(config_.flow_table.entries_per_lcore), socket, timeouts);
      if (ctx->flows6 == nullptr) {
        throw CodedError(codes::kResourceExhausted,
                         "flowTable.entriesPerLcore: cannot allocate the IPv6 flow table (" +
                             Mib(FlowTable6::MemoryBytes(Ipv6FlowCapacity(config_.flow_table.entries_per_lcore))) +
                             ") for lcore " + std::to_string(wc.lcore) + ": " + rte_strerror(rte_errno) +
                             " (fewer entries, more hugepages, or eal.memoryMb with hugepages: false)");
      }
    }
    if (config_.fragments.enabled) {
      snprintf(name, sizeof(name), "sl%u_frags_%u", instance_, wc.lcore);
      ctx->fragments = FragmentTable::Create(name, FragmentLimitsOf(config_.fragments), socket);
      if (ctx->fragments == nullptr) {
        throw CodedError(codes::kResourceExhausted,
                         "fragments.entriesPerLcore: cannot allocate a fragment table of " +
                             std::to_string(config_.fragments.entries_per_lcore) + " entries (" +
                             Mib(FragmentTable::MemoryBytes(FragmentLimitsOf(config_.fragments))) + ") for lcore " +
                             std::to_string(wc.lcore) + ": " + rte_strerror(rte_errno));
      }
    }
    snprintf(name, sizeof(name), "sl%u_learn_%u", instance_, wc.lcore);
    ctx->learn_ring = rte_ring_create_elem(name, sizeof(NeighborLearn), kLearnRingSize, socket,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(name, sizeof(name), "sl%u_send_%u", instance_, wc.lcore);
    ctx->send_ring = rte_ring_create(name, kSendRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ctx->learn_ring == nullptr || ctx->send_ring == nullptr) {
      throw CodedError(codes::kResourceExhausted, "cannot create worker rings");
    }
    ctx->snapshot = publisher_->current();
    ctx->rcu = rcu_;
    ctx->stop = &stop_;
    ctx->idle_sleep_max_us = config_.idle_sleep_max_us;
    ctx->nat = nat_ ? nat_->lcore(i) : nullptr;
    void* mailbox = rte_zmalloc_socket("sluice_mailbox", sizeof(WorkerMailbox), RTE_CACHE_LINE_SIZE, socket);
    if (mailbox == nullptr) throw CodedError(codes::kResourceExhausted, "cannot allocate a worker's mailbox");
    ctx->mailbox = new (mailbox) WorkerMailbox();
    ctx->tsc_per_ms = std::max<uint64_t>(1, tsc_hz / 1000);
    ctx->tsc_base = tsc_base;
    ctx->admission.Configure(config_.flow_table.new_flows_per_sec, config_.flow_table.new_flow_burst, tsc_hz, tsc_base);
    if (AnyKernelInterface(config_.ports)) CreateKernelRings(*ctx, socket, tsc_hz, tsc_base);
  }
}

void Dataplane::CreateKernelRings(WorkerContext& ctx, int socket, uint64_t tsc_hz, uint64_t tsc_base) {
  char name[RTE_RING_NAMESIZE];
  snprintf(name, sizeof(name), "sl%u_kern_%u", instance_, ctx.lcore);
  ctx.kernel_ring = rte_ring_create(name, kKernelRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  snprintf(name, sizeof(name), "sl%u_kern_tx_%u", instance_, ctx.lcore);
  ctx.kernel_tx_ring = rte_ring_create(name, kKernelRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ctx.kernel_ring == nullptr || ctx.kernel_tx_ring == nullptr) {
    throw CodedError(codes::kResourceExhausted, "cannot create the kernel interface rings");
  }
  // Each port's rate is shared evenly by the workers: RSS spreads the node's flows over them.
  uint32_t workers = static_cast<uint32_t>(config_.workers.size());
  for (size_t p = 0; p < config_.ports.size(); p++) {
    if (config_.ports[p].kernel_interface.empty()) continue;
    uint32_t rate = std::max<uint32_t>(1, config_.ports[p].kernel_packets_per_sec / workers);
    ctx.kernel_rate[p].Configure(rate, std::max<uint32_t>(16, rate / 20), tsc_hz, tsc_base);
  }
}

// A neighbour's MAC changed: the same services, each view's MAC looked up again.
void Dataplane::Republish() {
  const Unchanged unchanged{std::vector<bool>(services_.size(), true), {}};
  const SnapshotBase base{publisher_->get(), &services_, &unchanged, false};
  const uint64_t neighbors = neighbors_->version();
  std::unique_ptr<Snapshot> snap = BuildSnapshot(services_, port_addressing_, *neighbors_, tables_, ++generation_,
                                                 static_cast<uint32_t>(workers_.size()), &base);
  snapshot_neighbors_ = neighbors;
  publisher_->Publish(std::move(snap));
}

SetServicesResult Dataplane::SetServices(std::vector<ServiceConfig> services, const Unchanged* unchanged) {
  RequireRunning();
  SetServicesResult result = Apply(std::move(services), unchanged);
  Poll();  // ask for new next hops now rather than at the next timer tick
  return result;
}

std::vector<std::unique_ptr<LookupTableCache::Ahead>> Dataplane::PlanTablesAhead(
    const std::vector<ServiceConfig>& services) {
  RequireRunning();
  std::vector<std::unique_ptr<LookupTableCache::Ahead>> planned;
  for (size_t i = 0; i < services.size(); i++) {
    auto ahead = tables_.PlanAhead(services[i], "services[" + std::to_string(i) + "].lookupTableSize");
    if (ahead) planned.push_back(std::move(ahead));
  }
  return planned;
}

void Dataplane::OfferTables(std::vector<std::unique_ptr<LookupTableCache::Ahead>> built) {
  // Stopped meanwhile: the tables go, and with them their reservations.
  if (state_ != State::kRunning) return;
  for (auto& ahead : built) tables_.Offer(std::move(ahead));
}

SetServicesResult Dataplane::Apply(std::vector<ServiceConfig> services, const Unchanged* unchanged) {
  uint64_t builds_before = tables_.builds();
  // What runs now: services_ made it (Start, Apply and Republish publish nothing else).
  const Snapshot* before = publisher_ ? publisher_->get() : nullptr;
  if (before == nullptr || (unchanged != nullptr && unchanged->services.size() != services.size())) unchanged = nullptr;
  const uint64_t neighbors = neighbors_->version();
  const SnapshotBase base{before, &services_, unchanged, neighbors == snapshot_neighbors_};
  // Build first: an invalid set throws here and nothing changes.
  std::unique_ptr<Snapshot> snap = BuildSnapshot(services, port_addressing_, *neighbors_, tables_, generation_ + 1,
                                                 static_cast<uint32_t>(workers_.size()),
                                                 unchanged != nullptr ? &base : nullptr);

  // Ids are reused after removal; counters restart from zero for the new
  // owner. An unchanged service and its backends ran before, under the same ids.
  // Ids are below kMaxServices and kMaxBackendIds: BuildSnapshot checked them.
  std::vector<bool> old_services(kMaxServices, false);
  for (const ServiceConfig& s : services_) old_services[s.id] = true;
  for (size_t i = 0; i < services.size(); i++) {
    if (unchanged != nullptr && unchanged->services[i]) continue;
    const ServiceConfig& s = services[i];
    if (!old_services[s.id]) {
      service_baseline_[s.id] = SumOverWorkers<ServiceCounters>(
          [&](const WorkerContext& w) { return w.service_counters[s.id]; });
    }
    for (const BackendConfig& b : s.backends) {
      // A view of the running snapshot that was made for a backend (family 4 or 6, never 0).
      const BackendView* ran = before != nullptr ? before->Backend(b.id) : nullptr;
      if (ran == nullptr || ran->family == 0) {
        backend_baseline_[b.id] = SumOverWorkers<BackendCounters>(
            [&](const WorkerContext& w) { return w.backend_counters[b.id]; });
      }
    }
  }
  SetNeighborTargets(services, *snap, unchanged, before);
  snapshot_neighbors_ = neighbors;
  {
    std::lock_guard<std::mutex> lock(telemetry_mutex_);
    services_ = std::move(services);
  }
  generation_++;
  // Rebuilt against the moved-into services_: the snapshot keeps no pointers into
  // the config, only into the shared lookup tables.
  publisher_->Publish(std::move(snap));
  return SetServicesResult{generation_, tables_.builds() - builds_before};
}

namespace {

// The neighbours a service's backends need (those without a configured MAC), in order.
void NextHopsOf(const ServiceConfig& s, const Snapshot& snap, std::vector<NeighborTarget>* out) {
  for (const BackendConfig& b : s.backends) {
    if (b.has_static_mac) continue;
    const BackendView& view = snap.backends[b.id];
    IpAddr next_hop = view.family == 6 ? MakeIpv6(view.next_hop6) : MakeIpv4(view.next_hop);
    out->push_back({next_hop, view.port_index});
  }
}

// Whether NextHopsOf would give the same for `a` in `in_a` and `b` in `in_b`.
bool SameNextHops(const ServiceConfig* a, const Snapshot& in_a, const ServiceConfig& b, const Snapshot& in_b) {
  static const std::vector<BackendConfig> kNone;
  const std::vector<BackendConfig>& from = a != nullptr ? a->backends : kNone;
  auto x = from.begin();
  auto y = b.backends.begin();
  for (;;) {
    while (x != from.end() && x->has_static_mac) ++x;
    while (y != b.backends.end() && y->has_static_mac) ++y;
    if (x == from.end() || y == b.backends.end()) return x == from.end() && y == b.backends.end();
    const BackendView& u = in_a.backends[x->id];
    const BackendView& v = in_b.backends[y->id];
    if (u.family != v.family || u.port_index != v.port_index) return false;
    if (u.family == 6 ? std::memcmp(u.next_hop6, v.next_hop6, 16) != 0 : u.next_hop != v.next_hop) return false;
    ++x;
    ++y;
  }
}

}  // namespace

// The resolver is told the whole list again only when some service's next hops
// changed: a change of weights keeps them, and the list has one entry per backend.
void Dataplane::SetNeighborTargets(const std::vector<ServiceConfig>& services, const Snapshot& snap,
                                   const Unchanged* unchanged, const Snapshot* before) {
  bool same = unchanged != nullptr && before != nullptr;
  if (same) {
    std::vector<const ServiceConfig*> old_by_id(kMaxServices, nullptr);
    for (const ServiceConfig& s : services_) old_by_id[s.id] = &s;
    size_t kept = 0;
    for (size_t i = 0; i < services.size() && same; i++) {
      const ServiceConfig* old = old_by_id[services[i].id];
      kept += old != nullptr;
      same = unchanged->services[i] || SameNextHops(old, *before, services[i], snap);
    }
    // A service removed takes its next hops with it.
    same = same && kept == services_.size();
  }
  if (same) return;
  std::vector<NeighborTarget> targets;
  for (size_t p = 0; p < config_.ports.size(); p++) {
    if (config_.ports[p].has_gateway) targets.push_back({config_.ports[p].gateway, static_cast<uint16_t>(p)});
    if (config_.ports[p].has_gateway6) targets.push_back({config_.ports[p].gateway6, static_cast<uint16_t>(p)});
  }
  for (const ServiceConfig& s : services) NextHopsOf(s, snap, &targets);
  neighbors_->SetTargets(targets);
}

bool Dataplane::SendNeighborRequest(uint16_t port_index, const IpAddr& target) {
  if (workers_.empty() || port_index >= ports_.size()) return false;
  const PortRuntime& port = port_runtime_[port_index];
  if (target.family == 6 && !port.has_address6) return false;
  struct rte_mbuf* m = rte_pktmbuf_alloc(pools_.at(ports_[port_index].socket));
  if (m == nullptr) return false;
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = target.family == 6
                     ? BuildNeighborSolicit(data, rte_pktmbuf_tailroom(m), port.mac.addr_bytes, port.address6,
                                            target.bytes.data())
                     : BuildArpRequest(data, rte_pktmbuf_tailroom(m), port.mac.addr_bytes, port.address, Ipv4Of(target));
  if (len == 0 || rte_pktmbuf_append(m, static_cast<uint16_t>(len)) == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  m->port = port_index;
  // Worker 0 transmits for the control thread: it owns a tx queue on every port.
  if (rte_ring_sp_enqueue(workers_[0].context->send_ring, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

void Dataplane::Poll() {
  RequireRunning();
  uint64_t now = NowMs();
  bool changed = false;
  NeighborLearn learned[64];
  for (Worker& w : workers_) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(w.context->learn_ring, learned, sizeof(NeighborLearn), 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; i++) changed |= neighbors_->Learn(learned[i], now);
    }
  }
  if (changed) Republish();
  neighbors_->Tick(now, [this](uint16_t port, const IpAddr& target) { return SendNeighborRequest(port, target); });
  publisher_->Reclaim();
}

void Dataplane::Stop() {
  if (state_ != State::kRunning) return;
  Teardown();
}

void Dataplane::Teardown() {
  {
    std::lock_guard<std::mutex> lock(telemetry_mutex_);
    telemetry_ready_ = false;
  }
  stop_.store(true, std::memory_order_relaxed);
  rte_eal_mp_wait_lcore();
  kernel_.reset();  // its thread first: it feeds worker 0's ring, which goes below
  for (size_t i = 0; i < nat_steering_.size(); i++) RemoveNatSteering(ports_[i].port_id, nat_steering_[i]);
  nat_steering_.clear();
  for (PortState& p : ports_) {
    for (struct rte_ring* r : p.capture_rings) {
      void* m;
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<struct rte_mbuf*>(m));
    }
    StopPort(p);
  }
  for (Worker& w : workers_) {
    WorkerContext* ctx = w.context;
    void* m;
    while (ctx->send_ring != nullptr && rte_ring_dequeue(ctx->send_ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<struct rte_mbuf*>(m));
    }
    rte_ring_free(ctx->send_ring);
    for (struct rte_ring* r : {ctx->kernel_ring, ctx->kernel_tx_ring}) {
      while (r != nullptr && rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<struct rte_mbuf*>(m));
      rte_ring_free(r);
    }
    rte_ring_free(ctx->learn_ring);
    FlowTable::Destroy(ctx->flows);
    FlowTable6::Destroy(ctx->flows6);
    if (ctx->fragments != nullptr) ClearFragments(*ctx->fragments);
    FragmentTable::Destroy(ctx->fragments);
    rte_free(ctx->mailbox);
    for (size_t p = 0; p < ports_.size(); p++) rte_free(ctx->tx[p]);
    rte_free(ctx->counters);
    rte_free(ctx->service_counters);
    rte_free(ctx->backend_counters);
    rte_free(ctx);
  }
  workers_.clear();
  nat_.reset();
  if (publisher_) publisher_->ReclaimAll();
  publisher_.reset();
  rte_free(rcu_);
  rcu_ = nullptr;
  for (auto& [socket, pool] : pools_) rte_mempool_free(pool);
  pools_.clear();
  std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  RemoveRuntimeDir(runtime_dir);
  state_ = State::kStopped;
}

template <typename T, typename F>
T Dataplane::SumOverWorkers(F&& read) const {
  T sum{};
  for (const Worker& w : workers_) {
    T v = read(*w.context);
    auto* dst = reinterpret_cast<uint64_t*>(&sum);
    const auto* src = reinterpret_cast<const uint64_t*>(&v);
    static_assert(sizeof(T) % sizeof(uint64_t) == 0, "counter blocks are arrays of 64-bit counters");
    for (size_t i = 0; i < sizeof(T) / sizeof(uint64_t); i++) dst[i] += src[i];
  }
  return sum;
}

std::vector<LcoreStatsView> Dataplane::LcoreStats() const {
  RequireRunning();
  std::vector<LcoreStatsView> out;
  for (const Worker& w : workers_) {
    const FlowTable& flows = *w.context->flows;
    uint32_t nat_capacity = nat_ ? nat_->sessions_capacity(out.size()) : 0;
    out.push_back(LcoreStatsView{w.context->lcore, flows.capacity(), FlowTable::MemoryBytes(flows.capacity()),
                                 nat_capacity, *w.context->counters});
  }
  return out;
}

size_t Dataplane::FlowTableBytes() const {
  size_t bytes = FlowTable::MemoryBytes(config_.flow_table.entries_per_lcore);
  if (AnyIpv6Port(config_.ports)) bytes += FlowTable6::MemoryBytes(Ipv6FlowCapacity(config_.flow_table.entries_per_lcore));
  if (config_.fragments.enabled) bytes += FragmentTable::MemoryBytes(FragmentLimitsOf(config_.fragments));
  return bytes;
}

namespace {

void AddChunk(struct rte_mempool*, void* bytes, struct rte_mempool_memhdr* chunk, unsigned) {
  *static_cast<uint64_t*>(bytes) += chunk->len;
}

}  // namespace

MemoryView Dataplane::Memory() const {
  RequireRunning();
  MemoryView out;
  out.limits = config_.limits;
  const Snapshot* snap = publisher_->get();
  for (const auto& table : snap->tables) out.lookup_table_bytes += table->size() * sizeof(uint32_t);
  out.lookup_tables = snap->tables.size();
  out.lookup_live_bytes = tables_.live_bytes();
  for (size_t i = 0; i < workers_.size(); i++) {
    const WorkerContext& w = *workers_[i].context;
    LcoreMemoryView l{};
    l.lcore = w.lcore;
    l.flow_bytes = FlowTable::MemoryBytes(w.flows->capacity());
    if (w.flows6 != nullptr) l.flow6_bytes = FlowTable6::MemoryBytes(Ipv6FlowCapacity(config_.flow_table.entries_per_lcore));
    if (w.fragments != nullptr) l.fragment_bytes = FragmentTable::MemoryBytes(w.fragments->limits());
    if (nat_) {
      l.nat_bytes = NatSessions::MemoryBytes(nat_->lcore(i)->sessions->capacity());
      l.nat6_bytes = NatSessions6::MemoryBytes(nat_->lcore(i)->sessions6->capacity());
    }
    out.lcores.push_back(l);
  }
  for (const auto& [socket, pool] : pools_) {
    MempoolMemoryView m{pool->name, socket, pool->size, 0};
    rte_mempool_mem_iter(pool, AddChunk, &m.bytes);
    out.mempools.push_back(m);
  }
  return out;
}

std::vector<ServiceStatsView> Dataplane::ServiceStats(const std::string* only, const BackendRef* backend) const {
  RequireRunning();
  std::vector<ServiceStatsView> out;
  for (const ServiceConfig& s : services_) {
    if (only != nullptr && s.name != *only) continue;
    ServiceStatsView view{&s, SumOverWorkers<ServiceCounters>([&](const WorkerContext& w) { return w.service_counters[s.id]; }), {}};
    const ServiceCounters& base = service_baseline_[s.id];
    view.counters.packets -= base.packets;
    view.counters.bytes -= base.bytes;
    view.counters.new_flows -= base.new_flows;
    if (view.counters.active_flows < 0) view.counters.active_flows = 0;
    for (const BackendConfig& b : s.backends) {
      if (backend != nullptr && !(b.port == backend->port && b.address == backend->address)) continue;
      BackendCounters c = SumOverWorkers<BackendCounters>([&](const WorkerContext& w) { return w.backend_counters[b.id]; });
      const BackendCounters& bb = backend_baseline_[b.id];
      c.packets -= bb.packets;
      c.bytes -= bb.bytes;
      c.new_flows -= bb.new_flows;
      if (c.active_flows < 0) c.active_flows = 0;
      view.backends.push_back(BackendStatsView{&b, c});
      // The first is the one: a service's backends have distinct addresses and ports (validated in TypeScript).
      if (backend != nullptr) break;
    }
    out.push_back(std::move(view));
    // Likewise the first service of the name: names are unique.
    if (only != nullptr) break;
  }
  return out;
}

std::vector<NeighborInfo> Dataplane::Neighbors() const {
  RequireRunning();
  return neighbors_->List(NowMs());
}

void Dataplane::StallLcore(uint32_t lcore, uint32_t ms) {
  RequireRunning();
  for (Worker& w : workers_) {
    if (w.context->lcore != lcore) continue;
    w.context->mailbox->stall_ms.store(ms, std::memory_order_relaxed);
    return;
  }
  throw CodedError(codes::kInvalidArgument, "lcore " + std::to_string(lcore) + " is not a worker lcore");
}

PortState& Dataplane::RingPort(const std::string& name) {
  RequireRunning();
  for (PortState& p : ports_) {
    if (p.name != name) continue;
    if (p.inject_rings.empty()) throw CodedError(codes::kInvalidArgument, "port " + name + " is not a ring port");
    return p;
  }
  throw CodedError(codes::kInvalidArgument, "no port named " + name);
}

// One frame as an mbuf chain of segments of at most `segment_bytes` (each
// segment also at most one mbuf's data room); nullptr when the pool runs out.
static struct rte_mbuf* FrameToMbufs(struct rte_mempool* pool, const uint8_t* data, size_t len,
                                     uint32_t segment_bytes) {
  struct rte_mbuf* head = nullptr;
  size_t off = 0;
  do {
    struct rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    uint16_t n = static_cast<uint16_t>(std::min<size_t>({len - off, rte_pktmbuf_tailroom(seg), segment_bytes}));
    std::memcpy(rte_pktmbuf_append(seg, n), data + off, n);
    off += n;
    if (head == nullptr) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      throw CodedError(codes::kInvalidArgument, "a frame of " + std::to_string(len) + " bytes needs too many segments");
    }
  } while (off < len);
  return head;
}

uint32_t Dataplane::Inject(const std::string& port, const std::vector<std::pair<const uint8_t*, size_t>>& frames,
                           uint16_t queue, uint32_t segment_bytes) {
  PortState& p = RingPort(port);
  if (queue >= p.inject_rings.size()) throw CodedError(codes::kInvalidArgument, "queue " + std::to_string(queue) + " does not exist");
  if (segment_bytes == 0) throw CodedError(codes::kInvalidArgument, "segmentBytes must be at least 1");
  struct rte_mempool* pool = pools_.at(p.socket);
  uint32_t injected = 0;
  for (const auto& [data, len] : frames) {
    if (len > UINT16_MAX) {
      throw CodedError(codes::kInvalidArgument, "a frame of " + std::to_string(len) + " bytes does not fit a packet (at most 65535)");
    }
    struct rte_mbuf* m = FrameToMbufs(pool, data, len, segment_bytes);
    if (m == nullptr) break;  // pool empty: the caller sees fewer frames taken
    if (rte_ring_sp_enqueue(p.inject_rings[queue], m) != 0) {
      rte_pktmbuf_free(m);
      break;
    }
    injected++;
  }
  return injected;
}

std::vector<std::vector<uint8_t>> Dataplane::Capture(const std::string& port, uint32_t max) {
  PortState& p = RingPort(port);
  std::vector<std::vector<uint8_t>> out;
  for (struct rte_ring* r : p.capture_rings) {
    void* obj;
    while (out.size() < max && rte_ring_sc_dequeue(r, &obj) == 0) {
      auto* m = static_cast<struct rte_mbuf*>(obj);
      std::vector<uint8_t> frame(m->pkt_len);
      const void* data = rte_pktmbuf_read(m, 0, m->pkt_len, frame.data());
      if (data != frame.data()) std::memcpy(frame.data(), data, m->pkt_len);
      rte_pktmbuf_free(m);
      out.push_back(std::move(frame));
    }
  }
  return out;
}

int Dataplane::TelemetryStats(struct rte_tel_data* d) const {
  std::lock_guard<std::mutex> lock(telemetry_mutex_);
  if (!telemetry_ready_) return -1;
  LcoreCounters sum = SumOverWorkers<LcoreCounters>([](const WorkerContext& w) { return *w.counters; });
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "generation", generation_);
  rte_tel_data_add_dict_u64(d, "workers", workers_.size());
  rte_tel_data_add_dict_u64(d, "rx_packets", sum.rx_packets);
  rte_tel_data_add_dict_u64(d, "rx_bytes", sum.rx_bytes);
  rte_tel_data_add_dict_u64(d, "tx_packets", sum.tx_queued - sum.drops[static_cast<uint32_t>(DropReason::kTxFull)]);
  rte_tel_data_add_dict_u64(d, "forwarded", sum.forwarded);
  rte_tel_data_add_dict_u64(d, "local_replies", sum.local_replies);
  rte_tel_data_add_dict_u64(d, "flows_active", sum.flow_active);
  rte_tel_data_add_dict_u64(d, "flow_hits", sum.flow_hits);
  rte_tel_data_add_dict_u64(d, "flow_misses", sum.flow_misses);
  rte_tel_data_add_dict_u64(d, "flow_evictions", sum.flow_evictions);
  for (uint32_t r = 0; r < kDropReasonCount; r++) {
    std::string name = std::string("drop_") + DropReasonName(static_cast<DropReason>(r));
    rte_tel_data_add_dict_u64(d, name.c_str(), sum.drops[r]);
  }
  return 0;
}

int Dataplane::TelemetryServices(struct rte_tel_data* d) const {
  std::lock_guard<std::mutex> lock(telemetry_mutex_);
  if (!telemetry_ready_) return -1;
  rte_tel_data_start_dict(d);
  size_t shown = 0;
  for (const ServiceConfig& s : services_) {
    // A telemetry dict holds at most RTE_TEL_MAX_DICT_ENTRIES; the REST API has the rest.
    if (++shown >= RTE_TEL_MAX_DICT_ENTRIES) {
      rte_tel_data_add_dict_u64(d, "more_services", services_.size() - shown + 1);
      break;
    }
    std::string text = FormatIp(s.vip) + ":" + std::to_string(s.port) + "/" +
                       (s.protocol == IPPROTO_TCP ? "tcp" : "udp") +
                       (s.forwarding == Forwarding::kTunnel ? " tunnel" : s.forwarding == Forwarding::kNat ? " nat" : " dsr") +
                       " backends=" + std::to_string(s.backends.size());
    rte_tel_data_add_dict_string(d, s.name.c_str(), text.c_str());
  }
  return 0;
}

}  // namespace sluice
