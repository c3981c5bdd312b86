// stallLcore(): what tests need to make happen that the data plane never does
// by itself on this machine, here a worker lcore that stops (a stuck lcore).
#include <stdexcept>

#include "addon/bindings.h"
#include "addon/js_errors.h"

namespace sluice {

// Long enough for any liveness test, short enough that a mistake cannot hang a run.
constexpr double kMaxStallMs = 10000;

Napi::Value StallLcoreBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    const double lcore = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    const double ms = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(lcore >= 0 && lcore < RTE_MAX_LCORE) || lcore != static_cast<uint32_t>(lcore)) {
      throw std::invalid_argument("stallLcore(lcore, ms): lcore must be an lcore id");
    }
    if (!(ms >= 1 && ms <= kMaxStallMs) || ms != static_cast<uint32_t>(ms)) {
      throw std::invalid_argument("stallLcore(lcore, ms): ms must be a whole number from 1 to 10000");
    }
    Dataplane::Instance().StallLcore(static_cast<uint32_t>(lcore), static_cast<uint32_t>(ms));
    return env.Undefined();
  });
}

}  // namespace sluice
