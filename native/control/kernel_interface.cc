#include "control/kernel_interface.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/coded_error.h"
#include "control/port_setup.h"

namespace sluice {
namespace {

constexpr uint16_t kTapDescriptors = 512;
constexpr uint16_t kBurst = 32;
// An idle thread sleeps, doubling from the first to the last, so a quiet node
// costs almost nothing and a BGP keepalive or an SSH keystroke waits at most
// a millisecond.
constexpr uint32_t kFirstSleepUs = 20;
constexpr uint32_t kLastSleepUs = 1000;
// A worker loop iteration takes microseconds, an idle one sleeps at most
// dataplane.idleSleepMaxUs: one whose counter stood still this long is not
// sending, and the kernel's frames go to the next worker that moves.
constexpr uint64_t kStaleMs = 20;

// linux/ipv6.h's in6_ifreq, which cannot be included beside netinet/in.h.
struct Ipv6InterfaceRequest {
  struct in6_addr address;
  uint32_t prefix_len;
  int ifindex;
};

[[noreturn]] void Fail(size_t port_index, const std::string& reason) {
  throw CodedError(codes::kPortSetupFailed, "ports[" + std::to_string(port_index) + "].kernelInterface: " + reason);
}

class Socket {
 public:
  explicit Socket(int family) : fd_(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Best effort: without /proc/sys the kernel's defaults stay.
void WriteIpv6Setting(const std::string& name, const char* setting, const char* value) {
  char path[128];
  std::snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", name.c_str(), setting);
  if (FILE* f = std::fopen(path, "w")) {
    std::fputs(value, f);
    std::fclose(f);
  }
}

struct ifreq RequestFor(const std::string& name) {
  struct ifreq r;
  std::memset(&r, 0, sizeof(r));
  std::snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name.c_str());
  return r;
}

// The kernel's side gets the port's own addresses, so the routes to the port's
// subnets go through the TAP and the node's sockets bind to those addresses.
void ConfigureKernelSide(size_t port_index, const std::string& name, const PortConfig& config,
                         const PortRuntime& port) {
  Socket s4(AF_INET);
  if (s4.fd() < 0) Fail(port_index, std::string("socket: ") + std::strerror(errno));
  struct ifreq r = RequestFor(name);
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&r.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = port.address;
  if (ioctl(s4.fd(), SIOCSIFADDR, &r) != 0) Fail(port_index, "cannot set its address: " + std::string(std::strerror(errno)));
  sin->sin_addr.s_addr = port.netmask;
  if (ioctl(s4.fd(), SIOCSIFNETMASK, &r) != 0) Fail(port_index, "cannot set its netmask: " + std::string(std::strerror(errno)));
  // Without an IPv6 address on the port, the kernel's IPv6 (link-local address,
  // router solicitations, MLD) would only send what nothing answers.
  WriteIpv6Setting(name, "disable_ipv6", config.has_address6 ? "0" : "1");
  // The data plane owns the address and answers for it: duplicate address
  // detection could only delay the kernel's use of it by a second.
  WriteIpv6Setting(name, "accept_dad", "0");
  r = RequestFor(name);
  if (ioctl(s4.fd(), SIOCGIFFLAGS, &r) != 0) Fail(port_index, "cannot read its flags: " + std::string(std::strerror(errno)));
  r.ifr_flags = static_cast<short>(r.ifr_flags | IFF_UP);
  if (ioctl(s4.fd(), SIOCSIFFLAGS, &r) != 0) Fail(port_index, "cannot bring it up: " + std::string(std::strerror(errno)));
  if (!config.has_address6) return;
  Socket s6(AF_INET6);
  Ipv6InterfaceRequest r6{};
  std::memcpy(&r6.address, port.address6, 16);
  r6.prefix_len = port.prefix6;
  r6.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (s6.fd() < 0 || ioctl(s6.fd(), SIOCSIFADDR, &r6) != 0) {
    Fail(port_index, "cannot set its IPv6 address: " + std::string(std::strerror(errno)));
  }
}

}  // namespace

KernelInterfaces::KernelInterfaces(const std::vector<PortConfig>& ports, const std::vector<PortRuntime>& runtime,
                                   const std::map<int, struct rte_mempool*>& pools, uint32_t instance)
    : taps_(ports.size()) {
  for (size_t i = 0; i < ports.size(); i++) {
    const std::string& name = ports[i].kernel_interface;
    if (name.empty()) continue;
    // A TAP of that name owned by another process would be joined, not made.
    if (if_nametoindex(name.c_str()) != 0) Fail(i, "an interface named " + name + " already exists");
    char vdev[64];
    std::snprintf(vdev, sizeof(vdev), "net_tap_sl%u_%zu", instance, i);
    std::string args = "iface=" + name + ",mac=" + FormatMac(runtime[i].mac);
    if (rte_vdev_init(vdev, args.c_str()) != 0) Fail(i, "cannot create the TAP " + name + " (see the DPDK log)");
    Tap& tap = taps_[i];
    tap.name = name;
    tap.mac = runtime[i].mac;
    if (rte_eth_dev_get_port_by_name(vdev, &tap.port_id) != 0) Fail(i, "the TAP " + name + " has no port");
    int socket = rte_eth_dev_socket_id(tap.port_id);
    struct rte_mempool* pool = pools.count(socket) ? pools.at(socket) : pools.begin()->second;
    struct rte_eth_conf conf;
    std::memset(&conf, 0, sizeof(conf));
    int rc = rte_eth_dev_configure(tap.port_id, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(tap.port_id, 0, kTapDescriptors, SOCKET_ID_ANY, nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(tap.port_id, 0, kTapDescriptors, SOCKET_ID_ANY, nullptr);
    if (rc == 0) rc = rte_eth_dev_set_mtu(tap.port_id, runtime[i].mtu);
    if (rc == 0) rc = rte_eth_dev_start(tap.port_id);
    if (rc != 0) Fail(i, "cannot start the TAP " + name + ": " + rte_strerror(-rc));
    ConfigureKernelSide(i, name, ports[i], runtime[i]);
  }
}

KernelInterfaces::~KernelInterfaces() {
  Stop();
  for (Tap& tap : taps_) {
    if (tap.name.empty()) continue;
    rte_eth_dev_stop(tap.port_id);
    rte_eth_dev_close(tap.port_id);  // closing a TAP removes the kernel's interface
  }
}

void KernelInterfaces::Start(std::vector<WorkerRings> workers) {
  uint64_t now = rte_rdtsc();
  for (const WorkerRings& w : workers) workers_.push_back(Sender{w, __atomic_load_n(w.iterations, __ATOMIC_RELAXED), now});
  stale_tsc_ = rte_get_tsc_hz() / 1000 * kStaleMs;
  stop_.store(false, std::memory_order_relaxed);
  int rc = rte_ctrl_thread_create(&thread_, "sluice-kernel", nullptr, ThreadMain, this);
  if (rc != 0) throw CodedError(codes::kResourceExhausted, std::string("cannot start the kernel interface thread: ") + std::strerror(rc));
  // Beside the control thread, off the workers' CPUs.
  rte_cpuset_t main_set = rte_lcore_cpuset(rte_get_main_lcore());
  pthread_setaffinity_np(thread_, sizeof(main_set), &main_set);
  running_ = true;
}

void KernelInterfaces::Stop() {
  if (!running_) return;
  stop_.store(true, std::memory_order_relaxed);
  pthread_join(thread_, nullptr);
  running_ = false;
  struct rte_mbuf* m;
  for (const Sender& s : workers_) {
    while (rte_ring_sc_dequeue(s.rings.from_worker, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
  }
}

void KernelInterfaces::LookAtWorkers() {
  uint64_t now = rte_rdtsc();
  for (Sender& s : workers_) {
    // Written by the worker with plain stores; a relaxed load sees it whole.
    uint64_t it = __atomic_load_n(s.rings.iterations, __ATOMIC_RELAXED);
    if (it != s.seen) {
      s.seen = it;
      s.moved_tsc = now;
    }
  }
  if (now - workers_[sender_].moved_tsc <= stale_tsc_) return;
  for (size_t k = 1; k < workers_.size(); k++) {
    size_t c = (sender_ + k) % workers_.size();
    if (now - workers_[c].moved_tsc <= stale_tsc_) {
      sender_ = c;
      return;
    }
  }
}

void* KernelInterfaces::ThreadMain(void* self) {
  auto& k = *static_cast<KernelInterfaces*>(self);
  uint32_t sleep_us = kFirstSleepUs;
  while (!k.stop_.load(std::memory_order_relaxed)) {
    k.LookAtWorkers();
    if (k.PollOnce()) {
      sleep_us = kFirstSleepUs;
      continue;
    }
    rte_delay_us_sleep(sleep_us);
    sleep_us = std::min(kLastSleepUs, sleep_us * 2);
  }
  return nullptr;
}

bool KernelInterfaces::PollOnce() {
  struct rte_mbuf* mbufs[kBurst];
  bool busy = false;
  for (const Sender& s : workers_) {
    unsigned n = rte_ring_sc_dequeue_burst(s.rings.from_worker, reinterpret_cast<void**>(mbufs), kBurst, nullptr);
    busy |= n > 0;
    for (unsigned i = 0; i < n; i++) {
      struct rte_mbuf* m = mbufs[i];
      uint16_t p = m->port;
      if (p >= taps_.size() || taps_[p].name.empty()) {
        rte_pktmbuf_free(m);  // the workers hand over only ports with a TAP
        continue;
      }
      Tap& tap = taps_[p];
      if (rte_eth_tx_burst(tap.port_id, 0, &m, 1) == 1) {
        tap.counters.to_kernel.fetch_add(1, std::memory_order_relaxed);
      } else {
        rte_pktmbuf_free(m);
        tap.counters.to_kernel_dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  for (size_t p = 0; p < taps_.size(); p++) {
    Tap& tap = taps_[p];
    if (tap.name.empty()) continue;
    uint16_t n = rte_eth_rx_burst(tap.port_id, 0, mbufs, kBurst);
    busy |= n > 0;
    for (uint16_t i = 0; i < n; i++) {
      struct rte_mbuf* m = mbufs[i];
      const auto* eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr*);
      // Only the port's own frames leave: the kernel must not make the port a
      // bridge for whatever else it might send on the TAP.
      bool own = rte_pktmbuf_data_len(m) >= RTE_ETHER_HDR_LEN && rte_is_same_ether_addr(&eth->src_addr, &tap.mac);
      m->port = static_cast<uint16_t>(p);
      if (own && rte_ring_sp_enqueue(workers_[sender_].rings.to_port, m) == 0) {
        tap.counters.from_kernel.fetch_add(1, std::memory_order_relaxed);
      } else {
        rte_pktmbuf_free(m);
        tap.counters.from_kernel_dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  return busy;
}

std::vector<KernelInterfaceStats> KernelInterfaces::Stats() const {
  std::vector<KernelInterfaceStats> out;
  for (const Tap& t : taps_) {
    const KernelInterfaceCounters& c = t.counters;
    out.push_back(KernelInterfaceStats{t.name, c.to_kernel.load(std::memory_order_relaxed),
                                       c.to_kernel_dropped.load(std::memory_order_relaxed),
                                       c.from_kernel.load(std::memory_order_relaxed),
                                       c.from_kernel_dropped.load(std::memory_order_relaxed)});
  }
  return out;
}

}  // namespace sluice
