// inject and capture: frames in and out of "ring" ports, so tests drive the real
// worker lcores packet by packet, with configuration changes in between.
#include "addon/bindings.h"
#include "addon/js_errors.h"

namespace sluice {

Napi::Value InjectBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    if (!info[0].IsString() || !info[1].IsArray()) {
      throw CodedError(codes::kInvalidArgument,
                       "inject(port: string, frames: Buffer[], queue?: number, segmentBytes?: number)");
    }
    uint32_t queue = 0;
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      if (!info[2].IsNumber()) throw CodedError(codes::kInvalidArgument, "queue must be a number");
      queue = info[2].As<Napi::Number>().Uint32Value();
    }
    // Segments no longer than this make chained mbufs, as a NIC that scatters
    // does; by default a frame fills one mbuf before a second is chained.
    uint32_t segment_bytes = UINT16_MAX;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      if (!info[3].IsNumber()) throw CodedError(codes::kInvalidArgument, "segmentBytes must be a number");
      segment_bytes = info[3].As<Napi::Number>().Uint32Value();
    }
    Napi::Array list = info[1].As<Napi::Array>();
    std::vector<std::pair<const uint8_t*, size_t>> frames;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsBuffer()) throw CodedError(codes::kInvalidArgument, "frames[" + std::to_string(i) + "] must be a Buffer");
      auto b = v.As<Napi::Buffer<uint8_t>>();
      frames.emplace_back(b.Data(), b.Length());
    }
    uint32_t n = Dataplane::Instance().Inject(info[0].As<Napi::String>().Utf8Value(), frames,
                                              static_cast<uint16_t>(std::min<uint32_t>(queue, UINT16_MAX)),
                                              segment_bytes);
    return Napi::Number::New(env, n);
  });
}

Napi::Value CaptureBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WithJsErrors(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw CodedError(codes::kInvalidArgument, "capture(port: string, max?: number)");
    uint32_t max = 1u << 20;
    if (info.Length() > 1 && info[1].IsNumber()) max = info[1].As<Napi::Number>().Uint32Value();
    auto frames = Dataplane::Instance().Capture(info[0].As<Napi::String>().Utf8Value(), max);
    Napi::Array out = Napi::Array::New(env, frames.size());
    for (uint32_t i = 0; i < frames.size(); i++) {
      out.Set(i, Napi::Buffer<uint8_t>::Copy(env, frames[i].data(), frames[i].size()));
    }
    return out;
  });
}

}  // namespace sluice
