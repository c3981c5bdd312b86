// Sluice's commands in DPDK telemetry, so dpdk-telemetry.py shows them beside the
// ethdev ones: /sluice/stats and /sluice/services. The callbacks run on the
// EAL's telemetry thread, so they read through Dataplane's telemetry accessors,
// which take the lock the control thread holds while it replaces the config.
#include "control/telemetry.h"

#include <rte_telemetry.h>

#include "control/dataplane.h"

namespace sluice {
namespace {

int StatsCommand(const char*, const char*, struct rte_tel_data* d) {
  return Dataplane::Instance().TelemetryStats(d);
}

int ServicesCommand(const char*, const char*, struct rte_tel_data* d) {
  return Dataplane::Instance().TelemetryServices(d);
}

}  // namespace

void RegisterTelemetryCommands() {
  // Registration is process-wide and survives the data plane; the callbacks
  // answer with an error once it has stopped.
  static bool registered = false;
  if (registered) return;
  registered = true;
  rte_telemetry_register_cmd("/sluice/stats", StatsCommand,
                             "Returns Sluice's data-plane totals: packets, drops by reason, flows. Takes no parameters");
  rte_telemetry_register_cmd("/sluice/services", ServicesCommand,
                             "Returns Sluice's services: VIP, port, protocol, backends. Takes no parameters");
}

}  // namespace sluice
