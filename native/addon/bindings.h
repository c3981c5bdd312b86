// The N-API surface. Types on the TypeScript side: src/native/addon.ts.
#pragma once

#include <napi.h>

#include "control/dataplane.h"

namespace sluice {

Napi::Value StartBinding(const Napi::CallbackInfo& info);
Napi::Value StopBinding(const Napi::CallbackInfo& info);
Napi::Value SetServicesBinding(const Napi::CallbackInfo& info);
Napi::Value PollBinding(const Napi::CallbackInfo& info);
Napi::Value StatsBinding(const Napi::CallbackInfo& info);
Napi::Value PortsBinding(const Napi::CallbackInfo& info);
Napi::Value NeighborsBinding(const Napi::CallbackInfo& info);
Napi::Value InjectBinding(const Napi::CallbackInfo& info);
Napi::Value CaptureBinding(const Napi::CallbackInfo& info);
Napi::Value MaglevTableBinding(const Napi::CallbackInfo& info);
Napi::Value DropReasonsBinding(const Napi::CallbackInfo& info);

}  // namespace sluice
