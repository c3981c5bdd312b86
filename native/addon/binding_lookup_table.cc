// lookupTable: the control-path table build, exposed for tests and benchmarks:
// the data path's (bounded-load rendezvous) by default, classic Maglev on request.
#include "addon/bindings.h"
#include "addon/js_errors.h"
#include "tables/classic_maglev.h"
#include "tables/lookup_table.h"

namespace sluice {

Napi::Value LookupTableBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsNumber()) {
      throw CodedError(codes::kInvalidArgument,
                       "lookupTable(backends: {key, weight}[], size: number, algorithm?: 'rendezvous' | 'maglev')");
    }
    bool classic = false;
    if (!info[2].IsUndefined()) {
      const std::string algorithm = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
      if (algorithm != "rendezvous" && algorithm != "maglev") {
        throw CodedError(codes::kInvalidArgument, "algorithm must be 'rendezvous' or 'maglev'");
      }
      classic = algorithm == "maglev";
    }
    // Each property read by a C string name creates a JS string first; with
    // 1000 backends that cost more than the build itself, so the names are made
    // once and each property is read once.
    Napi::Array list = info[0].As<Napi::Array>();
    const Napi::String key_name = Napi::String::New(env, "key");
    const Napi::String weight_name = Napi::String::New(env, "weight");
    std::vector<LookupBackend> backends;
    backends.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsObject()) throw CodedError(codes::kInvalidArgument, "backends[" + std::to_string(i) + "] must be an object");
      Napi::Object o = v.As<Napi::Object>();
      const Napi::Value key = o.Get(key_name);
      const Napi::Value weight = o.Get(weight_name);
      if (!key.IsString() || !weight.IsNumber()) {
        throw CodedError(codes::kInvalidArgument, "backends[" + std::to_string(i) + "] needs key: string and weight: number");
      }
      backends.push_back(LookupBackend{key.As<Napi::String>().Utf8Value(), weight.As<Napi::Number>().Uint32Value()});
    }
    const uint32_t size = info[1].As<Napi::Number>().Uint32Value();
    std::vector<uint32_t> table =
        classic ? BuildClassicMaglevTable(backends, size, "size") : BuildLookupTable(backends, size, "size");
    Napi::Uint32Array out = Napi::Uint32Array::New(env, table.size());
    std::copy(table.begin(), table.end(), out.Data());
    return out;
  });
}

}  // namespace sluice
