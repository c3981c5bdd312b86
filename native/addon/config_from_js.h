// JS values -> common/config_types.h structs. TypeScript validated them already
// (the rules, once: src/config/); this converts, and throws std::invalid_argument
// naming the field (SLUICE_INVALID_ARGUMENT in JS) only for what cannot be
// converted (a wrong type, an unparsable address or MAC, an unknown name, a
// number beyond its C++ field) and for the start config's invariants (queues
// polled by exactly one worker, nat pools on their port's subnet). Services'
// invariants are checked where they are relied on, by BuildSnapshot and the
// table builder (common/invariant.h).
#pragma once

#include <napi.h>

#include <vector>

#include "common/config_types.h"

namespace sluice {

DataplaneConfig DataplaneConfigFromJs(const Napi::Value& value);
// An entry that is a number is the service of that id as `running` holds it,
// unchanged: a change sends only the services it touches (src/dataplane.ts).
// Likewise a backend entry that is a number is the backend of that id of the
// running service with the same id, and one that is a pair [start, end) is
// that run of its backends: a PATCH of one backend of 4,096 sends that backend
// and the two runs around it.
// Without `running` (at start) every entry must be a service or a backend.
// `unchanged`, if given, says which services and backends came so.
std::vector<ServiceConfig> ServicesFromJs(const Napi::Value& value,
                                          const std::vector<ServiceConfig>* running = nullptr,
                                          Unchanged* unchanged = nullptr);
bool ParseIp(const std::string& text, IpAddr* out);

}  // namespace sluice
