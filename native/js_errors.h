// Errors thrown into JS carry a `code` from the registry in src/errors.ts, so
// callers branch on codes, never on message text.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace sluice {

// Raised by control-path C++ (never by the data path) and turned into a JS error
// with this code at the N-API boundary.
class CodedError : public std::runtime_error {
 public:
  CodedError(const char* code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

namespace codes {
constexpr const char* kInvalidArgument = "SLUICE_INVALID_ARGUMENT";
constexpr const char* kEalInitFailed = "SLUICE_EAL_INIT_FAILED";
constexpr const char* kAlreadyStarted = "SLUICE_ALREADY_STARTED";
constexpr const char* kNotRunning = "SLUICE_NOT_RUNNING";
constexpr const char* kPortSetupFailed = "SLUICE_PORT_SETUP_FAILED";
constexpr const char* kResourceExhausted = "SLUICE_RESOURCE_EXHAUSTED";
constexpr const char* kInternal = "SLUICE_INTERNAL";
}  // namespace codes

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
