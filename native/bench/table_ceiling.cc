// The ceiling of a forwarder that remembers flows, on this machine (issue #6: where
// a target is missed, say what limits it). Each packet's 5-tuple is looked up in a
// per-lcore FlowTable (Sluice's own, its buckets prefetched a burst ahead as the
// worker does), inserted when missing, its last-seen time written on a hit, and
// its MACs rewritten to its backend's; then the burst is sent. Nothing else: no
// validation, no service lookup, no expiry, no lookup table, no counters but the packet
// count. It runs on the same net_pcap replay, core and pool sizes that npm run
// bench gives Sluice and testpmd, so its rate bounds what Sluice's dsr can reach
// there. --no-table skips the table (the backend is taken from the hash): a
// forwarder that rewrites MACs and keeps no state, testpmd's kind. --floor
// replaces the table with what any table costs at least: one random 64-byte
// line per packet, from an array as large as the table's buckets, prefetched as
// the table's primary bucket is, its first word read (the backend) and written
// when its coarse time changes; no key compared, no second bucket. What a
// table-only forwarder loses against it is the table's layout; what it loses
// against --no-table, any table's.
//
//   table_ceiling EAL-ARGS -- --flows N --mbufs N [--seconds S] [--no-table | --floor]
//
// The EAL arguments must give one net_pcap port and two lcores (main, worker).
// --mbufs sizes the pool, which the pcap PMD fills with every frame of an
// infinite_rx pcap: npm run bench passes what it gives Sluice and testpmd.
// Waits until every flow has been inserted (or, without the table, seen), settles
// for a second, then prints one line of JSON: the packets a second over S seconds,
// and the inserts made (from the start).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tables/flow_table.h"
#include "common/lcore_counters.h"

namespace {

using namespace sluice;

constexpr uint16_t kBurst = 64;  // the worker's kRxBurst (worker/context.h)
constexpr uint16_t kDescriptors = 1024;
constexpr unsigned kMempoolCache = 256;  // as the addon's pool (control/dataplane.cc)
constexpr uint32_t kBackends = 8;        // as npm run bench's service
constexpr uint32_t kWarmTimeoutSec = 120;
// Where ParseFastIpv4 finds them in an untagged IPv4 frame without options.
constexpr uint32_t kProtoOffset = 23, kAddrsOffset = 26, kPortsOffset = 34;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "table_ceiling: %s\n", what.c_str());
  std::exit(1);
}

struct Options {
  uint32_t flows = 0;
  uint32_t mbufs = 0;
  uint32_t seconds = 5;
  bool table = true;
  bool floor = false;
};

// A whole number of at least 1 and at most 2^26 (the flow table's limit), or 0.
uint32_t Count(const char* text) {
  char* end = nullptr;
  unsigned long value = std::strtoul(text, &end, 10);
  bool digits = *text >= '0' && *text <= '9' && *end == '\0';
  return digits && value <= (1ul << 26) ? static_cast<uint32_t>(value) : 0;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--flows") o.flows = Count(next());
    else if (a == "--mbufs") o.mbufs = Count(next());
    else if (a == "--seconds") o.seconds = Count(next());
    else if (a == "--no-table") o.table = false;
    else if (a == "--floor") o.floor = true;
    else Fail("unknown argument " + a + "; usage: table_ceiling EAL-ARGS -- --flows N --mbufs N [--seconds S] [--no-table | --floor]");
  }
  if (o.floor && !o.table) Fail("--floor and --no-table exclude each other");
  if (o.flows == 0 || o.mbufs == 0 || o.seconds == 0) {
    Fail("--flows, --mbufs and --seconds take whole numbers from 1 to 2^26");
  }
  return o;
}

// Written by the worker, read by the main lcore.
struct alignas(RTE_CACHE_LINE_SIZE) Progress {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> inserts{0};
};

struct Worker {
  uint16_t port_id = 0;
  FlowTable* table = nullptr;  // nullptr: --no-table
  // --floor: the lines read instead of the table's buckets (the table only sizes them and hashes)
  FlowBucket* lines = nullptr;
  uint8_t macs[kBackends][2 * RTE_ETHER_ADDR_LEN];
  std::atomic<bool> stop{false};
  Progress progress;
};

// One received burst, its keys hashed and their primary buckets prefetched.
struct Burst {
  struct rte_mbuf* mbufs[kBurst];
  FlowKey4 keys[kBurst];
  FlowHash hashes[kBurst];
  FlowTable::PrimaryProbe probes[kBurst];
  uint16_t n = 0;
};

void Hash(const Worker& w, Burst& b) {
  for (uint16_t i = 0; i < b.n; i++) {
    const uint8_t* data = rte_pktmbuf_mtod(b.mbufs[i], const uint8_t*);
    uint64_t addrs;
    uint32_t ports;
    std::memcpy(&addrs, data + kAddrsOffset, sizeof(addrs));
    std::memcpy(&ports, data + kPortsOffset, sizeof(ports));
    FlowKeyWords words = MakeFlowKey4(addrs, ports, data[kProtoOffset]);
    std::memcpy(&b.keys[i], &words, sizeof(words));
    if (w.lines != nullptr) {
      b.hashes[i] = w.table->HashOf(words);
      rte_prefetch0(&w.lines[b.hashes[i].primary]);
    } else if (w.table != nullptr) {
      b.hashes[i] = w.table->HashOf(words);
      w.table->PrefetchPrimary(b.hashes[i]);
    } else {
      b.hashes[i].sig = Crc32cKey(words.lo, words.hi, 0);
    }
  }
}

// The backend of each packet (remembered, or chosen and remembered), its MACs
// written, the burst sent; what the queue refuses is freed.
uint64_t Forward(Worker& w, Burst& b, uint32_t now_ms, LcoreCounters& counters, ServiceCounters* services,
                 BackendCounters* backends) {
  FlowTable* table = w.table;
  uint64_t inserts = 0;
  if (table != nullptr) {
    for (uint16_t i = 0; i < b.n; i++) b.probes[i] = table->ProbePrimary(b.keys[i], b.hashes[i]);
  }
  for (uint16_t i = 0; i < b.n; i++) {
    uint32_t backend = b.hashes[i].sig % kBackends;
    if (table != nullptr) {
      int32_t pos = table->Lookup(b.keys[i], b.hashes[i], b.probes[i]);
      if (pos >= 0) {
        backend = table->BackendId(pos);
        table->Touch(pos, now_ms, false);
      } else {
        FlowSlot slot = table->Choose(b.hashes[i], now_ms, counters.flow_active);
        if (slot.position >= 0) {
          table->Occupy(slot, b.keys[i], backend, 0, false, now_ms, counters, services, backends);
          inserts++;
        }
      }
    }
    std::memcpy(rte_pktmbuf_mtod(b.mbufs[i], uint8_t*), w.macs[backend], sizeof(w.macs[backend]));
  }
  uint16_t sent = rte_eth_tx_burst(w.port_id, 0, b.mbufs, b.n);
  if (sent < b.n) rte_pktmbuf_free_bulk(&b.mbufs[sent], b.n - sent);
  return inserts;
}

// --floor: each packet's line read, and written when its time changes; every
// packet counts as an insert, so the warm-up ends once each flow was seen.
uint64_t ForwardFloor(Worker& w, Burst& b, uint32_t now_ms) {
  const uint32_t units = now_ms >> 7;  // the flow table's coarse unit at the default timeouts
  for (uint16_t i = 0; i < b.n; i++) {
    uint32_t& word = w.lines[b.hashes[i].primary].meta[0];
    uint32_t backend = word >> kFlowBackendShift;  // only ever written below kBackends
    uint32_t next = backend << kFlowBackendShift | (units & kFlowTimeMask);
    if (word != next) word = next;
    std::memcpy(rte_pktmbuf_mtod(b.mbufs[i], uint8_t*), w.macs[backend], sizeof(w.macs[backend]));
  }
  uint16_t sent = rte_eth_tx_burst(w.port_id, 0, b.mbufs, b.n);
  if (sent < b.n) rte_pktmbuf_free_bulk(&b.mbufs[sent], b.n - sent);
  return b.n;
}

// As Sluice's worker: a burst is forwarded only after the next one is hashed, so
// its buckets have that burst's work to arrive in.
int WorkerMain(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  static LcoreCounters counters;
  static ServiceCounters services[1];
  static BackendCounters backends[kMaxBackendIds];
  Burst bursts[2];
  uint32_t current = 0;
  uint64_t packets = 0, inserts = 0;
  const uint64_t tsc_per_ms = rte_get_tsc_hz() / 1000;
  const uint64_t tsc_base = rte_rdtsc();
  while (!w.stop.load(std::memory_order_relaxed)) {
    Burst& next = bursts[current];
    Burst& waiting = bursts[current ^ 1];
    next.n = rte_eth_rx_burst(w.port_id, 0, next.mbufs, kBurst);
    uint32_t now_ms = static_cast<uint32_t>((rte_rdtsc() - tsc_base) / tsc_per_ms);
    Hash(w, next);
    if (waiting.n > 0) {
      inserts += w.lines != nullptr ? ForwardFloor(w, waiting, now_ms)
                                    : Forward(w, waiting, now_ms, counters, services, backends);
      packets += waiting.n;
      waiting.n = 0;
    }
    current ^= 1;
    w.progress.packets.store(packets, std::memory_order_relaxed);
    w.progress.inserts.store(inserts, std::memory_order_relaxed);
  }
  if (bursts[current ^ 1].n > 0) rte_pktmbuf_free_bulk(bursts[current ^ 1].mbufs, bursts[current ^ 1].n);
  return 0;
}

void StartPort(uint16_t port_id, uint32_t mbufs) {
  struct rte_mempool* pool =
      rte_pktmbuf_pool_create("ceiling_mbufs", mbufs, kMempoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool == nullptr) Fail("cannot create the mbuf pool");
  struct rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  if (rte_eth_dev_configure(port_id, 1, 1, &conf) != 0) Fail("cannot configure the port");
  int socket = rte_eth_dev_socket_id(port_id);
  if (rte_eth_rx_queue_setup(port_id, 0, kDescriptors, socket, nullptr, pool) != 0) Fail("cannot set up the rx queue");
  if (rte_eth_tx_queue_setup(port_id, 0, kDescriptors, socket, nullptr) != 0) Fail("cannot set up the tx queue");
  if (rte_eth_dev_start(port_id) != 0) Fail("cannot start the port");
}

}  // namespace

int main(int argc, char** argv) {
  int eal_args = rte_eal_init(argc, argv);
  if (eal_args < 0) Fail("rte_eal_init failed");
  Options o = ParseOptions(argc - eal_args - 1, argv + eal_args + 1);
  if (rte_eth_dev_count_avail() != 1) Fail("the EAL arguments must give exactly one port");
  unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);
  if (worker_lcore >= RTE_MAX_LCORE) Fail("the EAL arguments must give a worker lcore");

  static Worker w;
  w.port_id = static_cast<uint16_t>(rte_eth_find_next(0));
  StartPort(w.port_id, o.mbufs);
  struct rte_ether_addr own;
  rte_eth_macaddr_get(w.port_id, &own);
  for (uint32_t b = 0; b < kBackends; b++) {
    uint8_t* mac = w.macs[b];
    const uint8_t backend[RTE_ETHER_ADDR_LEN] = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(0x11 + b)};
    std::memcpy(mac, backend, RTE_ETHER_ADDR_LEN);
    std::memcpy(mac + RTE_ETHER_ADDR_LEN, own.addr_bytes, RTE_ETHER_ADDR_LEN);
  }
  if (o.table) {
    // Sluice's own timeouts: no flow of the run expires.
    w.table = FlowTable::Create("ceiling_flows", o.flows, static_cast<int>(rte_lcore_to_socket_id(worker_lcore)),
                                FlowTimeouts{300000, 10000, 30000});
    if (w.table == nullptr) Fail("cannot create the flow table");
    if (o.floor) {
      w.lines = static_cast<FlowBucket*>(rte_zmalloc_socket("ceiling_floor", sizeof(FlowBucket) * w.table->buckets(),
                                                            RTE_CACHE_LINE_SIZE, static_cast<int>(rte_lcore_to_socket_id(worker_lcore))));
      if (w.lines == nullptr) Fail("cannot allocate the floor's lines");
    }
  }
  if (rte_eal_remote_launch(WorkerMain, &w, worker_lcore) != 0) Fail("cannot launch the worker");

  auto warm = [&] {
    return o.table ? w.progress.inserts.load() >= o.flows : w.progress.packets.load() >= o.flows;
  };
  uint64_t waited_ms = 0;
  while (!warm() && waited_ms < kWarmTimeoutSec * 1000) {
    usleep(50000);
    waited_ms += 50;
  }
  bool warmed = warm();
  uint64_t inserted = w.progress.inserts.load();
  double mpps = 0;
  if (warmed) {
    sleep(1);
    uint64_t before = w.progress.packets.load();
    uint64_t t0 = rte_rdtsc();
    sleep(o.seconds);
    uint64_t after = w.progress.packets.load();
    double elapsed = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(rte_get_tsc_hz());
    mpps = static_cast<double>(after - before) / elapsed / 1e6;
  }
  w.stop.store(true);
  rte_eal_mp_wait_lcore();
  rte_eth_dev_stop(w.port_id);
  rte_eth_dev_close(w.port_id);
  rte_free(w.lines);
  FlowTable::Destroy(w.table);
  rte_eal_cleanup();
  if (!warmed) Fail(std::to_string(inserted) + " of " + std::to_string(o.flows) + " flows inserted after warm-up");
  std::printf("{\"flows\":%u,\"table\":%s,\"floor\":%s,\"seconds\":%u,\"inserts\":%llu,\"mpps\":%.3f}\n", o.flows,
              o.table ? "true" : "false", o.floor ? "true" : "false", o.seconds, static_cast<unsigned long long>(w.progress.inserts.load()), mpps);
  return 0;
}
