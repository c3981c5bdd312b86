// The config module's public surface: load and validate operator config, and turn
// it into what the native addon takes.
export { knownValid, loadConfigFile, parseConfigText, validateBackendChange, validateConfig, validateServices, type KnownValid } from './load';
export { nativeAddresses, peekNativeService, toNativeServices, toNativeStart } from './to-native';
export { IdAllocator, MAX_BACKEND_IDS, MAX_SERVICE_IDS, ServiceIdMap, type IdentifiedService } from './ids';
export { buildEalArgs } from './eal-args';
export { defaultWorkers } from './defaults-workers';
export { MAX_LCORE_ID, parseLcores } from './lcores';
export { parseDevice, type Device } from './device';
export { isPrime } from './semantics';
export { estimateMemory, lookupBudget, MIB, nativeLimits, type LcoreMemory, type MemoryEstimate } from './memory';
export {
  ConfigSchema,
  HEALTH_CHECK_DEFAULTS,
  type ApiConfig,
  type HealthCheckConfig,
  type HealthCheckOverride,
  type LimitsConfig,
  type BackendConfig,
  type EalConfig,
  type PortConfig,
  type ServiceConfig,
  type SluiceConfig,
  type WorkerConfig,
} from './schema';
