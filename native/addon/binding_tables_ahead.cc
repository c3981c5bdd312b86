// prebuildTables(services): the lookup tables a change about to be applied will
// need, built on a libuv worker thread so the event loop is not held by a
// 65,537-slot table (LookupTableCache::Ahead); setServices then finds them made.
#include "addon/bindings.h"
#include "addon/config_from_js.h"
#include "addon/js_errors.h"

namespace sluice {

namespace {

class TablesAhead : public Napi::AsyncWorker {
 public:
  TablesAhead(Napi::Env env, std::vector<std::unique_ptr<LookupTableCache::Ahead>> planned)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), planned_(std::move(planned)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Touches only the planned tables' own inputs: nothing the main thread uses.
  void Execute() override {
    for (auto& ahead : planned_) ahead->Build();
  }

  void OnOK() override {
    const size_t count = planned_.size();
    Dataplane::Instance().OfferTables(std::move(planned_));
    deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(count)));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::unique_ptr<LookupTableCache::Ahead>> planned_;
};

}  // namespace

Napi::Value PrebuildTablesBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    Dataplane& dataplane = Dataplane::Instance();
    auto planned = dataplane.PlanTablesAhead(ServicesFromJs(info[0], &dataplane.services()));
    if (planned.empty()) {
      Napi::Promise::Deferred none = Napi::Promise::Deferred::New(env);
      none.Resolve(Napi::Number::New(env, 0));
      return none.Promise();
    }
    auto* worker = new TablesAhead(env, std::move(planned));  // deletes itself once settled
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

}  // namespace sluice
