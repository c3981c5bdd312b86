// captureLogs, drainLogs: DPDK's log lines for the control plane's JSON log.
#include "addon/bindings.h"
#include "addon/js_errors.h"
#include "control/log_capture.h"

namespace sluice {

Napi::Value CaptureLogsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    LogCapture::Instance().Install();
    return env.Undefined();
  });
}

Napi::Value DrainLogsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    uint64_t dropped = 0;
    std::vector<CapturedLog> lines = LogCapture::Instance().Drain(&dropped);
    Napi::Array list = Napi::Array::New(env, lines.size());
    for (uint32_t i = 0; i < lines.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("level", Napi::Number::New(env, lines[i].level));
      o.Set("type", Napi::Number::New(env, lines[i].type));
      o.Set("message", lines[i].message);
      list.Set(i, o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("lines", list);
    out.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped)));
    return out;
  });
}

}  // namespace sluice
