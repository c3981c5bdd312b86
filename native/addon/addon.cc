// Registers the addon's functions. Each binding_*.cc holds one group of them.
#include <napi.h>

#include "addon/bindings.h"

namespace sluice {

static void CleanupOnExit(void*) {
  // A process that exits without stop() still stops the lcores and releases the
  // ports (af_packet sockets, pcap files) before the EAL's memory goes away.
  Dataplane::Instance().Stop();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("start", Napi::Function::New(env, StartBinding, "start"));
  exports.Set("stop", Napi::Function::New(env, StopBinding, "stop"));
  exports.Set("setServices", Napi::Function::New(env, SetServicesBinding, "setServices"));
  exports.Set("prebuildTables", Napi::Function::New(env, PrebuildTablesBinding, "prebuildTables"));
  exports.Set("poll", Napi::Function::New(env, PollBinding, "poll"));
  exports.Set("stats", Napi::Function::New(env, StatsBinding, "stats"));
  exports.Set("lcores", Napi::Function::New(env, LcoresBinding, "lcores"));
  exports.Set("serviceStats", Napi::Function::New(env, ServiceStatsBinding, "serviceStats"));
  exports.Set("askFlows", Napi::Function::New(env, AskFlowsBinding, "askFlows"));
  exports.Set("collectFlows", Napi::Function::New(env, CollectFlowsBinding, "collectFlows"));
  exports.Set("stallLcore", Napi::Function::New(env, StallLcoreBinding, "stallLcore"));
  exports.Set("memory", Napi::Function::New(env, MemoryBinding, "memory"));
  exports.Set("ports", Napi::Function::New(env, PortsBinding, "ports"));
  exports.Set("neighbors", Napi::Function::New(env, NeighborsBinding, "neighbors"));
  exports.Set("inject", Napi::Function::New(env, InjectBinding, "inject"));
  exports.Set("capture", Napi::Function::New(env, CaptureBinding, "capture"));
  exports.Set("lookupTable", Napi::Function::New(env, LookupTableBinding, "lookupTable"));
  exports.Set("dropReasons", Napi::Function::New(env, DropReasonsBinding, "dropReasons"));
  exports.Set("captureLogs", Napi::Function::New(env, CaptureLogsBinding, "captureLogs"));
  exports.Set("drainLogs", Napi::Function::New(env, DrainLogsBinding, "drainLogs"));
  exports.Set("counters", CounterCatalogue(env));
  napi_add_env_cleanup_hook(env, CleanupOnExit, nullptr);
  return exports;
}

}  // namespace sluice

static Napi::Object InitSluice(Napi::Env env, Napi::Object exports) { return sluice::Init(env, exports); }

NODE_API_MODULE(sluice, InitSluice)
