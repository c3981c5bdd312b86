// Errors the control-path C++ raises on purpose, each with a code from the
// registry in src/errors.ts. Free of N-API, so code that raises them builds
// without Node's headers (fuzzers, benches, unit tests); addon/js_errors.h turns
// them into JS errors at the boundary.
#pragma once

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
// An allocation would take a kind of memory beyond the limit the caller gave
// (DataplaneConfig::limits); refused before anything is allocated.
constexpr const char* kLimitExceeded = "SLUICE_LIMIT_EXCEEDED";
constexpr const char* kNotFound = "SLUICE_NOT_FOUND";
// A worker lcore has not answered a request the control thread made of it.
constexpr const char* kLcoreTimeout = "SLUICE_LCORE_TIMEOUT";
constexpr const char* kInternal = "SLUICE_INTERNAL";
}  // namespace codes

}  // namespace sluice
