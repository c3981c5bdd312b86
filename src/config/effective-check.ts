// A backend's health check: its service's, with the backend's own fields laid
// over it. One rule, read by the health checker (what to probe) and the store
// (whether a new backend waits for its first probe).
import type { BackendConfig, HealthCheckConfig, ServiceConfig } from './schema';

/** The service's check with the backend's override laid over it, field by field. */
export function effectiveCheck(svc: ServiceConfig, b: BackendConfig): HealthCheckConfig {
  const merged: Record<string, unknown> = { ...svc.healthCheck };
  for (const [field, value] of Object.entries(b.healthCheck ?? {})) {
    if (value !== undefined) merged[field] = value;
  }
  return merged as HealthCheckConfig;
}
