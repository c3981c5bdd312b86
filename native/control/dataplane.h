// The process's one data plane: the EAL, its ports and worker lcores, and the
// control-side state that feeds them. Only the thread that started it (Node's
// main thread, which the EAL made the main lcore) calls into it.
#pragma once

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_telemetry.h>

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "common/config_types.h"
#include "common/lcore_counters.h"
#include "modes/nat/nat_forward.h"
#include "control/kernel_interface.h"
#include "control/nat_steering.h"
#include "control/neighbor_resolver.h"
#include "control/port_setup.h"
#include "common/snapshot.h"
#include "control/snapshot_publisher.h"
#include "worker/context.h"

namespace sluice {

struct LcoreStatsView {
  uint32_t lcore;
  uint32_t flow_capacity;
  uint64_t flow_memory_bytes;
  uint32_t nat_capacity;  // sessions (pool pairs) the lcore can hold; 0 without nat pools
  LcoreCounters counters;
};

struct BackendStatsView {
  const BackendConfig* config;
  BackendCounters counters;
};

struct ServiceStatsView {
  const ServiceConfig* config;
  ServiceCounters counters;
  std::vector<BackendStatsView> backends;
};

// What the data plane allocated, by kind (GET /api/v1/node).
struct LcoreMemoryView {
  uint32_t lcore;
  uint64_t flow_bytes;   // the IPv4 flow table
  uint64_t flow6_bytes;  // the IPv6 flow table; 0 without an address6 port
  uint64_t nat_bytes;    // the IPv4 nat sessions; 0 without a nat pool
  uint64_t nat6_bytes;
  uint64_t fragment_bytes;  // the fragment table; 0 with fragments off
};

struct MempoolMemoryView {
  std::string name;
  int socket;
  uint32_t mbufs;
  uint64_t bytes;  // the pool's memory chunks: mbufs with their headers and data rooms
};

struct MemoryView {
  uint64_t lookup_table_bytes = 0;  // the published snapshot's tables, 4 bytes a slot
  uint64_t lookup_tables = 0;
  uint64_t lookup_live_bytes = 0;   // every table alive, retired snapshots' included
  std::vector<LcoreMemoryView> lcores;
  std::vector<MempoolMemoryView> mempools;
  MemoryLimits limits;
};

// A connection listing's request, resolved to ids by the caller's names.
struct FlowListRequest {
  const std::string* service = nullptr;  // nullptr: every service
  const IpAddr* backend_address = nullptr;  // with backend_port: one backend of `service`
  uint16_t backend_port = 0;
  const IpAddr* client = nullptr;        // nullptr: every client
  uint32_t limit = 0;
};

// One listed connection with what its ids name now; a backend or service
// removed since the flow was seen is nullptr (its next packet goes elsewhere).
struct FlowRow {
  uint32_t lcore;
  FlowEntry entry;
  const ServiceConfig* service;
  const BackendConfig* backend;
};

struct FlowListing {
  std::vector<FlowRow> rows;  // valid until the next SetServices
  bool truncated = false;     // more connections matched than `limit`
};

struct SetServicesResult {
  uint64_t generation;
  uint64_t tables_built;
};

class Dataplane {
 public:
  static Dataplane& Instance();

  // `services` are in force before the first packet is received.
  void Start(DataplaneConfig config, std::vector<ServiceConfig> services);
  // `unchanged` (optional): what of `services` is exactly as services() holds
  // it, whose part of the snapshot is copied (SnapshotBase).
  SetServicesResult SetServices(std::vector<ServiceConfig> services, const Unchanged* unchanged = nullptr);
  // Control-thread housekeeping, called on a timer: neighbor learning, ARP and
  // neighbor solicitations, and freeing snapshots whose grace period is over.
  void Poll();
  void Stop();

  bool running() const { return state_ == State::kRunning; }
  const std::vector<PortState>& ports() const { return ports_; }
  // By port index; only ports with a nat pool have rules or a reason.
  const std::vector<NatSteering>& nat_steering() const { return nat_steering_; }
  const DataplaneConfig& config() const { return config_; }
  const std::map<int, struct rte_mempool*>& mempools() const { return pools_; }  // by NUMA socket
  std::vector<LcoreStatsView> LcoreStats() const;
  // Every service's counters, or only the one named `only` (a view of one
  // service), and of its backends only `backend` (a view of one backend).
  struct BackendRef {
    IpAddr address;
    uint16_t port;
  };
  std::vector<ServiceStatsView> ServiceStats(const std::string* only = nullptr,
                                             const BackendRef* backend = nullptr) const;
  MemoryView Memory() const;
  std::vector<NeighborInfo> Neighbors() const;
  // Lookup tables `services` (changed ones, about to be applied) will need,
  // to be built off the event loop and offered back: LookupTableCache::Ahead.
  std::vector<std::unique_ptr<LookupTableCache::Ahead>> PlanTablesAhead(const std::vector<ServiceConfig>& services);
  void OfferTables(std::vector<std::unique_ptr<LookupTableCache::Ahead>> built);
  // What runs now, as the last SetServices (or Start) gave it.
  const std::vector<ServiceConfig>& services() const { return services_; }
  uint64_t generation() const { return generation_; }
  // By port index; a port without a kernel interface has an empty name.
  std::vector<KernelInterfaceStats> KernelInterfaceStatsByPort() const {
    return kernel_ ? kernel_->Stats() : std::vector<KernelInterfaceStats>(ports_.size());
  }
  size_t retired_snapshots() const { return publisher_ ? publisher_->retired() : 0; }

  // Called on the EAL's telemetry thread; 0 on success, negative when stopped.
  int TelemetryStats(struct rte_tel_data* d) const;
  int TelemetryServices(struct rte_tel_data* d) const;

  // "ring" ports only. Each frame becomes a chain of segments of at most
  // `segment_bytes` (and at most one mbuf's data room); stops early when the
  // mempool or the rx ring is full and returns how many frames were taken.
  // A connection listing: every worker is asked, and answers between bursts
  // (common/flow_query.h). Throws SLUICE_LCORE_TIMEOUT while an earlier listing
  // is still being answered, SLUICE_NOT_FOUND for a service or backend that
  // does not run.
  void AskFlows(const FlowListRequest& request);
  // The listing once every worker answered, its rows in lcore order, at most
  // `limit`; false until then.
  bool CollectFlows(FlowListing& out) const;

  // A test hook: worker lcore `lcore` stops for `ms` milliseconds between two
  // loop iterations, as a stuck lcore would. Throws SLUICE_INVALID_ARGUMENT for
  // an lcore that is not a worker.
  void StallLcore(uint32_t lcore, uint32_t ms);

  uint32_t Inject(const std::string& port, const std::vector<std::pair<const uint8_t*, size_t>>& frames,
                  uint16_t queue, uint32_t segment_bytes);
  std::vector<std::vector<uint8_t>> Capture(const std::string& port, uint32_t max);

 private:
  enum class State { kIdle, kRunning, kStopped };
  struct Worker {
    WorkerContext* context = nullptr;
    std::vector<FlowEntry> listed;  // the room its flow query writes into
  };

  void RequireRunning() const;
  size_t FlowTableBytes() const;  // one worker's flow tables, IPv4 and IPv6, and its fragment table
  void Teardown();
  void CreateMempools();
  void CreateWorkers();
  void CreateKernelRings(WorkerContext& ctx, int socket, uint64_t tsc_hz, uint64_t tsc_base);
  void Republish();
  SetServicesResult Apply(std::vector<ServiceConfig> services, const Unchanged* unchanged);
  void SetNeighborTargets(const std::vector<ServiceConfig>& services, const Snapshot& snap,
                          const Unchanged* unchanged, const Snapshot* before);
  uint64_t NowMs() const;
  bool SendNeighborRequest(uint16_t port_index, const IpAddr& target);
  PortState& RingPort(const std::string& name);
  template <typename T, typename F>
  T SumOverWorkers(F&& read) const;

  State state_ = State::kIdle;
  DataplaneConfig config_;
  uint32_t instance_ = 0;
  std::vector<PortState> ports_;
  std::vector<PortRuntime> port_runtime_;
  std::vector<PortAddressing> port_addressing_;
  std::map<int, struct rte_mempool*> pools_;  // by NUMA socket
  std::vector<Worker> workers_;
  std::unique_ptr<NatRuntime> nat_;  // when some port has a nat pool
  std::vector<NatSteering> nat_steering_;
  std::unique_ptr<KernelInterfaces> kernel_;  // when some port has a kernel interface
  struct rte_rcu_qsbr* rcu_ = nullptr;
  std::unique_ptr<SnapshotPublisher> publisher_;
  std::atomic<bool> stop_{false};
  std::vector<ServiceConfig> services_;  // written under telemetry_mutex_
  // The telemetry thread reads services_ and the workers' counters; the control
  // thread takes this lock to replace the former and to free the latter.
  mutable std::mutex telemetry_mutex_;
  bool telemetry_ready_ = false;
  LookupTableCache tables_;
  std::unique_ptr<NeighborResolver> neighbors_;
  uint64_t generation_ = 0;
  uint64_t snapshot_neighbors_ = 0;  // the resolver's version() the published snapshot's MACs are of
  uint32_t flow_limit_ = 0;  // of the listing asked last
  std::vector<ServiceCounters> service_baseline_;
  std::vector<BackendCounters> backend_baseline_;
};

}  // namespace sluice
