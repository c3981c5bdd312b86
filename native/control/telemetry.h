#pragma once

namespace sluice {

// Adds /sluice/stats and /sluice/services to DPDK telemetry; once per process.
void RegisterTelemetryCommands();

}  // namespace sluice
