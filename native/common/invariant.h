// What C++ checks of the configuration it is given: its invariants, not the
// operator's rules. The rules are validated once, in TypeScript (the schema and
// src/config/semantics.ts), before anything reaches the addon, with messages
// and hints for the operator. C++ checks only what it needs to stay memory-safe
// and unambiguous (ids that index fixed arrays, table sizes its builder can
// fill, a backend its data path can reach), each invariant in one place: the
// code that relies on it. A broken one means a caller skipped validation (or
// called the addon directly) and throws CodedError SLUICE_INVALID_ARGUMENT
// "<where>: <what must hold>", where is the field's path ("services[0].id").
// The invariants are named kInvariant...: the snapshot's in
// control/snapshot_invariants.h, the table size's in tables/permutations.cc.
#pragma once

#include <string>
#include <type_traits>

#include "common/coded_error.h"

namespace sluice {

[[noreturn]] inline void FailInvariant(const std::string& where, const std::string& invariant) {
  throw CodedError(codes::kInvalidArgument, where + ": " + invariant);
}

inline void CheckInvariant(bool holds, const std::string& where, const char* invariant) {
  if (!holds) FailInvariant(where, invariant);
}

// The same for a field of `where` (e.g. ".address"), joined only on failure.
inline void CheckInvariant(bool holds, const std::string& where, const char* field, const char* invariant) {
  if (!holds) FailInvariant(where + field, invariant);
}

// The same with `where()` making the path only on failure: for checks made for
// every backend of every service on each change, whose paths would otherwise
// cost more than the checks.
template <typename Where, typename = std::enable_if_t<std::is_invocable_r_v<std::string, const Where&>>>
inline void CheckInvariant(bool holds, const Where& where, const char* invariant) {
  if (!holds) FailInvariant(where(), invariant);
}
template <typename Where, typename = std::enable_if_t<std::is_invocable_r_v<std::string, const Where&>>>
inline void CheckInvariant(bool holds, const Where& where, const char* field, const char* invariant) {
  if (!holds) FailInvariant(where() + field, invariant);
}

}  // namespace sluice
