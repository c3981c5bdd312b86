// The N-API surface. Types on the TypeScript side: src/native/addon.ts.
#pragma once

#include <napi.h>

#include "control/dataplane.h"

namespace sluice {

Napi::Value StartBinding(const Napi::CallbackInfo& info);
Napi::Value StopBinding(const Napi::CallbackInfo& info);
Napi::Value SetServicesBinding(const Napi::CallbackInfo& info);
/** prebuildTables(services): a promise of how many lookup tables were built ahead for a change. */
Napi::Value PrebuildTablesBinding(const Napi::CallbackInfo& info);
Napi::Value CaptureLogsBinding(const Napi::CallbackInfo& info);
Napi::Value DrainLogsBinding(const Napi::CallbackInfo& info);
Napi::Value PollBinding(const Napi::CallbackInfo& info);
Napi::Value StatsBinding(const Napi::CallbackInfo& info);
/** stats().lcores alone: what a caller polling the workers needs, without every service and backend. */
Napi::Value LcoresBinding(const Napi::CallbackInfo& info);
/** One service's counters packed as stats().services packs them all (undefined for no such service): a view of one service. */
Napi::Value ServiceStatsBinding(const Napi::CallbackInfo& info);
/** askFlows(request): asks every worker for a connection listing; collectFlows(): null until all answered. */
Napi::Value AskFlowsBinding(const Napi::CallbackInfo& info);
Napi::Value CollectFlowsBinding(const Napi::CallbackInfo& info);
/** stallLcore(lcore, ms): a test hook; one worker stops for ms, as a stuck lcore would. */
Napi::Value StallLcoreBinding(const Napi::CallbackInfo& info);
Napi::Value MemoryBinding(const Napi::CallbackInfo& info);
Napi::Value PortsBinding(const Napi::CallbackInfo& info);
Napi::Value NeighborsBinding(const Napi::CallbackInfo& info);
Napi::Value InjectBinding(const Napi::CallbackInfo& info);
Napi::Value CaptureBinding(const Napi::CallbackInfo& info);
Napi::Value LookupTableBinding(const Napi::CallbackInfo& info);
Napi::Value DropReasonsBinding(const Napi::CallbackInfo& info);
/** The counter lists of common/lcore_counters.h, exported as the constant `counters`. */
Napi::Object CounterCatalogue(Napi::Env env);

}  // namespace sluice
