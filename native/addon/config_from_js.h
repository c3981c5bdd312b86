// JS values -> common/config_types.h structs. TypeScript validated them already; these
// checks repeat the ones that protect memory and invariants in C++, and throw
// std::invalid_argument naming the field (SLUICE_INVALID_ARGUMENT in JS).
#pragma once

#include <napi.h>

#include <vector>

#include "common/config_types.h"

namespace sluice {

DataplaneConfig DataplaneConfigFromJs(const Napi::Value& value);
std::vector<ServiceConfig> ServicesFromJs(const Napi::Value& value);
bool ParseIp(const std::string& text, IpAddr* out);

}  // namespace sluice
