// The control thread's side of a connection listing: the request handed to
// every worker's mailbox, and the answers joined with the running configuration.
#include <cstring>
#include <unordered_map>

#include "common/coded_error.h"
#include "control/dataplane.h"

namespace sluice {

void Dataplane::AskFlows(const FlowListRequest& request) {
  RequireRunning();
  FlowFilter filter;
  if (request.service != nullptr) {
    const ServiceConfig* service = nullptr;
    for (const ServiceConfig& s : services_) {
      if (s.name == *request.service) service = &s;
    }
    if (service == nullptr) throw CodedError(codes::kNotFound, "no service named " + *request.service);
    filter.service_id = static_cast<int32_t>(service->id);
    if (request.backend_address != nullptr) {
      for (const BackendConfig& b : service->backends) {
        if (b.address == *request.backend_address && b.port == request.backend_port) {
          filter.backend_id = static_cast<int32_t>(b.id);
        }
      }
      if (filter.backend_id < 0) throw CodedError(codes::kNotFound, "no such backend in service " + *request.service);
    }
  } else if (request.backend_address != nullptr) {
    throw CodedError(codes::kInvalidArgument, "a backend is named within its service");
  }
  if (request.client != nullptr) {
    filter.client_family = request.client->family;
    std::memcpy(filter.client, request.client->bytes.data(), 16);
  }
  if (request.limit == 0) throw CodedError(codes::kInvalidArgument, "limit: at least 1");
  // Room is resized only while no worker may write into it.
  for (const Worker& w : workers_) {
    if (w.context->mailbox->flows.state.load(std::memory_order_acquire) == FlowQuery::kAsked) {
      throw CodedError(codes::kLcoreTimeout, "lcore " + std::to_string(w.context->lcore) +
                                                 " has not answered the last connection listing yet");
    }
  }
  for (Worker& w : workers_) {
    FlowQuery& q = w.context->mailbox->flows;
    w.listed.resize(request.limit);
    q.filter = filter;
    q.limit = request.limit;
    q.entries = w.listed.data();
    q.count = 0;
    q.truncated = false;
    q.stage = FlowQueryStage::kFlows;
    q.cursor = 0;
    q.state.store(FlowQuery::kAsked, std::memory_order_release);
  }
  flow_limit_ = request.limit;
}

bool Dataplane::CollectFlows(FlowListing& out) const {
  RequireRunning();
  for (const Worker& w : workers_) {
    uint32_t state = w.context->mailbox->flows.state.load(std::memory_order_acquire);
    if (state == FlowQuery::kAsked) return false;
    if (state == FlowQuery::kIdle) throw CodedError(codes::kInvalidArgument, "no connection listing was asked for");
  }
  // Ids to what they name now: the services and backends running at this moment.
  std::unordered_map<uint32_t, const ServiceConfig*> services;
  std::unordered_map<uint32_t, const BackendConfig*> backends;
  for (const ServiceConfig& s : services_) {
    services.emplace(s.id, &s);
    for (const BackendConfig& b : s.backends) backends.emplace(b.id, &b);
  }
  out.rows.clear();
  out.truncated = false;
  for (const Worker& w : workers_) {
    const FlowQuery& q = w.context->mailbox->flows;
    out.truncated = out.truncated || q.truncated;
    for (uint32_t i = 0; i < q.count; i++) {
      if (out.rows.size() == flow_limit_) {
        out.truncated = true;
        break;
      }
      const FlowEntry& e = q.entries[i];
      auto service = services.find(e.service_id);
      auto backend = backends.find(e.backend_id);
      out.rows.push_back(FlowRow{w.context->lcore, e, service == services.end() ? nullptr : service->second,
                                 backend == backends.end() ? nullptr : backend->second});
    }
  }
  return true;
}

}  // namespace sluice
