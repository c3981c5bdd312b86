// start, stop, setServices, poll: the calls that change the data plane.
#include "addon/bindings.h"
#include "addon/config_from_js.h"
#include "addon/js_errors.h"

namespace sluice {

Napi::Value StartBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    DataplaneConfig config = DataplaneConfigFromJs(info[0]);
    std::vector<ServiceConfig> services = info[1].IsUndefined() ? std::vector<ServiceConfig>{} : ServicesFromJs(info[1]);
    Dataplane::Instance().Start(std::move(config), std::move(services));
    return env.Undefined();
  });
}

Napi::Value StopBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane::Instance().Stop();
    return env.Undefined();
  });
}

Napi::Value SetServicesBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane& dataplane = Dataplane::Instance();
    Unchanged unchanged;
    std::vector<ServiceConfig> services = ServicesFromJs(info[0], &dataplane.services(), &unchanged);
    SetServicesResult r = dataplane.SetServices(std::move(services), &unchanged);
    Napi::Object out = Napi::Object::New(env);
    out.Set("generation", Napi::Number::New(env, static_cast<double>(r.generation)));
    out.Set("tablesBuilt", Napi::Number::New(env, static_cast<double>(r.tables_built)));
    return out;
  });
}

Napi::Value PollBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane::Instance().Poll();
    return env.Undefined();
  });
}

}  // namespace sluice
