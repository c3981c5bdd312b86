// The N-API boundary: C++ errors become JS errors carrying a `code` from the
// registry in src/errors.ts, so callers branch on codes, never on message text.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "common/coded_error.h"

namespace sluice {

Napi::Error MakeJsError(Napi::Env env, const char* code, const std::string& message);

// Runs `body`, converting CodedError and std::exception into coded JS errors.
template <typename F>
auto WithJsErrors(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const CodedError& e) {
    throw MakeJsError(env, e.code(), e.what());
  } catch (const std::invalid_argument& e) {
    throw MakeJsError(env, codes::kInvalidArgument, e.what());
  } catch (const std::bad_alloc&) {
    throw MakeJsError(env, codes::kResourceExhausted, "out of memory");
  } catch (const std::exception& e) {
    throw MakeJsError(env, codes::kInternal, e.what());
  }
}

}  // namespace sluice
