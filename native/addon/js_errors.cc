#include "addon/js_errors.h"

namespace sluice {

Napi::Error MakeJsError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

}  // namespace sluice
