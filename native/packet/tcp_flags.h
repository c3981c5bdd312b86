// TCP header flag bits, as the data path tests them.
#pragma once

#include <cstdint>

namespace sluice {

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

}  // namespace sluice
