// memory(): what the data plane allocated, by kind, and the limits it was given.
#include "addon/bindings.h"
#include "addon/js_errors.h"

namespace sluice {
namespace {

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

}  // namespace

Napi::Value MemoryBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    MemoryView m = Dataplane::Instance().Memory();
    Napi::Object out = Napi::Object::New(env);
    Napi::Object lookup = Napi::Object::New(env);
    lookup.Set("tables", Num(env, m.lookup_tables));
    lookup.Set("bytes", Num(env, m.lookup_table_bytes));
    lookup.Set("liveBytes", Num(env, m.lookup_live_bytes));
    out.Set("lookupTables", lookup);
    Napi::Array lcores = Napi::Array::New(env);
    for (uint32_t i = 0; i < m.lcores.size(); i++) {
      const LcoreMemoryView& l = m.lcores[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("lcore", Num(env, l.lcore));
      o.Set("flowTableBytes", Num(env, l.flow_bytes));
      o.Set("flowTable6Bytes", Num(env, l.flow6_bytes));
      o.Set("natSessionBytes", Num(env, l.nat_bytes));
      o.Set("natSession6Bytes", Num(env, l.nat6_bytes));
      o.Set("fragmentTableBytes", Num(env, l.fragment_bytes));
      lcores.Set(i, o);
    }
    out.Set("lcores", lcores);
    Napi::Array pools = Napi::Array::New(env);
    for (uint32_t i = 0; i < m.mempools.size(); i++) {
      const MempoolMemoryView& p = m.mempools[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", p.name);
      o.Set("socket", Num(env, static_cast<uint64_t>(p.socket)));
      o.Set("mbufs", Num(env, p.mbufs));
      o.Set("bytes", Num(env, p.bytes));
      pools.Set(i, o);
    }
    out.Set("mempools", pools);
    Napi::Object limits = Napi::Object::New(env);
    limits.Set("lookupTableBytes", Num(env, m.limits.lookup_table_bytes));
    limits.Set("flowTableBytes", Num(env, m.limits.flow_table_bytes));
    limits.Set("natSessionBytes", Num(env, m.limits.nat_session_bytes));
    out.Set("limits", limits);
    return out;
  });
}

}  // namespace sluice
