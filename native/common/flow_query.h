// What the control thread asks of a worker between bursts, chiefly a listing of
// connections. Only the worker may read its tables, so it answers itself:
// between bursts, a bounded number of slots per loop iteration, copying the
// matching flows into room the control thread allocated before asking. The
// worker never waits for the control thread and never allocates; a listing
// costs it a few microseconds per loop iteration until the scan is done
// (docs/architecture.md, "Listing connections").
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

// Most connections one listing returns (src/api/schemas/flows.ts has the same).
constexpr uint32_t kMaxFlowListing = 10000;

// Which flows a listing wants; every condition given must hold.
struct FlowFilter {
  int32_t service_id = -1;  // -1: any
  int32_t backend_id = -1;  // -1: any
  uint8_t client_family = 0;  // 4 or 6; 0: any client
  uint8_t client[16] = {};    // IPv4 in the first 4 bytes, network order
};

enum class FlowEntryState : uint8_t { kOpen, kOpening, kClosing };

// One connection as listed: the client's 5-tuple, where it goes and how old it is.
struct FlowEntry {
  uint8_t family;        // 4 or 6
  uint8_t proto;         // IPPROTO_TCP or IPPROTO_UDP
  FlowEntryState state;
  uint8_t nat;           // 1: a nat session (pool address and port are set)
  uint16_t service_id;
  uint16_t client_port;  // host order, as are the other ports
  uint16_t vip_port;
  uint16_t pool_port;
  uint32_t backend_id;
  uint32_t idle_ms;
  uint32_t age_ms;
  uint8_t client[16];    // IPv4 in the first 4 bytes, network order
  uint8_t vip[16];
  uint8_t pool[16];
};

// The tables a worker scans, in this order.
enum class FlowQueryStage : uint32_t { kFlows, kFlows6, kNat, kNat6, kDone };

// A listing asked of one worker. The control thread writes the request and
// then sets kAsked (release); the worker scans, and when done sets kAnswered
// (release); only then may the control thread read `count` and the entries or
// ask again.
struct FlowQuery {
  enum State : uint32_t { kIdle, kAsked, kAnswered };
  std::atomic<uint32_t> state{kIdle};
  // The request, fixed while kAsked.
  FlowFilter filter;
  uint32_t limit = 0;
  FlowEntry* entries = nullptr;  // room for `limit`
  // The worker's progress, its own while kAsked.
  uint32_t count = 0;
  bool truncated = false;  // a flow matched after `limit` were found
  FlowQueryStage stage = FlowQueryStage::kFlows;
  uint32_t cursor = 0;     // the next bucket, position or session of `stage`
};

// What the control thread asks of one worker, read once per loop iteration:
// a line the control thread writes only when it asks, so reading it costs the
// worker a cache hit.
struct alignas(64) WorkerMailbox {
  FlowQuery flows;
  // A test hook: the worker stops for this many milliseconds without
  // iterating, as a stuck lcore would (its heartbeat, the iterations counter,
  // stands still). 0: nothing asked.
  std::atomic<uint32_t> stall_ms{0};
};

}  // namespace sluice
