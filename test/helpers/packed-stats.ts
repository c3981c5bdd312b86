// ServiceStats packed as the addon packs them (PackedServiceStats): what a
// stand-in addon hands over, so the control plane unpacks it as it does the
// real one's.
import type { PackedServiceStats, ServiceStats } from '../../src/native/addon';
import { BACKEND_COUNTERS, SERVICE_COUNTERS } from '../../src/native/counters';

export function packServices(services: readonly ServiceStats[]): PackedServiceStats {
  const backends = services.flatMap((s) => s.backends);
  return {
    ids: Uint32Array.from(services, (s) => s.id),
    names: services.map((s) => s.name),
    counters: Float64Array.from(services.flatMap((s) => SERVICE_COUNTERS.map((e) => s[e.name]))),
    backendCounts: Uint32Array.from(services, (s) => s.backends.length),
    backendIds: Uint32Array.from(backends, (b) => b.id),
    addresses: backends.map((b) => b.address).join(','),
    ports: Uint16Array.from(backends, (b) => b.port),
    backendCounters: Float64Array.from(backends.flatMap((b) => BACKEND_COUNTERS.map((e) => b[e.name]))),
  };
}
