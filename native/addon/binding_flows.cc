// askFlows() / collectFlows(): a connection listing, asked of every worker
// lcore and collected once all have answered (control/flow_listing.cc).
#include <netinet/in.h>

#include <cstring>
#include <stdexcept>

#include "addon/bindings.h"
#include "addon/config_from_js.h"
#include "addon/js_errors.h"

namespace sluice {
namespace {

IpAddr AddrOf(uint8_t family, const uint8_t* bytes) {
  IpAddr ip;
  ip.family = family;
  std::memcpy(ip.bytes.data(), bytes, family == 6 ? 16 : 4);
  return ip;
}

const char* StateName(FlowEntryState s) {
  switch (s) {
    case FlowEntryState::kOpening: return "opening";
    case FlowEntryState::kClosing: return "closing";
    default: return "open";
  }
}

Napi::Object FlowObject(Napi::Env env, const FlowRow& row) {
  const FlowEntry& e = row.entry;
  Napi::Object o = Napi::Object::New(env);
  o.Set("lcore", row.lcore);
  o.Set("protocol", e.proto == IPPROTO_UDP ? "udp" : "tcp");
  o.Set("clientAddress", FormatIp(AddrOf(e.family, e.client)));
  o.Set("clientPort", e.client_port);
  o.Set("vip", FormatIp(AddrOf(e.family, e.vip)));
  o.Set("vipPort", e.vip_port);
  if (row.service != nullptr) o.Set("service", row.service->name);
  if (row.backend != nullptr) {
    o.Set("backendAddress", FormatIp(row.backend->address));
    o.Set("backendPort", row.backend->port);
  }
  if (e.nat != 0) {
    o.Set("poolAddress", FormatIp(AddrOf(e.family, e.pool)));
    o.Set("poolPort", e.pool_port);
  }
  o.Set("state", StateName(e.state));
  o.Set("ageMs", e.age_ms);
  o.Set("idleMs", e.idle_ms);
  return o;
}

IpAddr IpArg(const Napi::Value& v, const char* what) {
  IpAddr ip;
  if (!v.IsString() || !ParseIp(v.As<Napi::String>().Utf8Value(), &ip)) {
    throw std::invalid_argument(std::string("askFlows: ") + what + " must be an IP address");
  }
  return ip;
}

}  // namespace

Napi::Value AskFlowsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw std::invalid_argument("askFlows(request): request must be an object");
    Napi::Object r = info[0].As<Napi::Object>();
    FlowListRequest request;
    std::string service;
    IpAddr backend, client;
    if (r.Has("service") && !r.Get("service").IsUndefined()) {
      if (!r.Get("service").IsString()) throw std::invalid_argument("askFlows: service must be a string");
      service = r.Get("service").As<Napi::String>().Utf8Value();
      request.service = &service;
    }
    if (r.Has("backendAddress") && !r.Get("backendAddress").IsUndefined()) {
      backend = IpArg(r.Get("backendAddress"), "backendAddress");
      const double port = r.Get("backendPort").IsNumber() ? r.Get("backendPort").As<Napi::Number>().DoubleValue() : -1;
      if (!(port >= 1 && port <= 65535) || port != static_cast<uint16_t>(port)) {
        throw std::invalid_argument("askFlows: backendPort must be 1 to 65535");
      }
      request.backend_address = &backend;
      request.backend_port = static_cast<uint16_t>(port);
    }
    if (r.Has("client") && !r.Get("client").IsUndefined()) {
      client = IpArg(r.Get("client"), "client");
      request.client = &client;
    }
    const double limit = r.Get("limit").IsNumber() ? r.Get("limit").As<Napi::Number>().DoubleValue() : -1;
    if (!(limit >= 1 && limit <= kMaxFlowListing) || limit != static_cast<uint32_t>(limit)) {
      throw std::invalid_argument("askFlows: limit must be 1 to " + std::to_string(kMaxFlowListing));
    }
    request.limit = static_cast<uint32_t>(limit);
    Dataplane::Instance().AskFlows(request);
    return env.Undefined();
  });
}

Napi::Value CollectFlowsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    FlowListing listing;
    if (!Dataplane::Instance().CollectFlows(listing)) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array flows = Napi::Array::New(env, listing.rows.size());
    for (uint32_t i = 0; i < listing.rows.size(); i++) flows.Set(i, FlowObject(env, listing.rows[i]));
    out.Set("flows", flows);
    out.Set("truncated", listing.truncated);
    return out;
  });
}

}  // namespace sluice
