// Validated config -> the shapes the addon takes (src/native/types.ts). Addresses
// go out normalized, queue ownership fully spelled out, ports referenced by index.
import { configError } from '../errors';
import { normalizeIp, normalizeMac, parseCidr, parseIp } from '../net/addr';
import type { NativeBackend, NativeService, NativeStartConfig, NativePort, NativeTunnel, NativeWorker } from '../native/types';
import { defaultWorkers } from './defaults-workers';
import { nativeDevice, parseDevice } from './device';
import { buildEalArgs } from './eal-args';
import { cachedBackendAddress } from '../control/service-keys';
import type { ServiceIdMap } from './ids';
import { parseLcores } from './lcores';
import { nativeLimits } from './memory';
import { natPoolAddresses, natPoolAddresses6 } from './nat-pool';
import { GUE_DEFAULT_PORT, KERNEL_PPS_DEFAULT, TUNNEL_SOURCE_NETWORK_DEFAULT, TUNNEL_SOURCE_NETWORK6_DEFAULT } from './schema';
import type { BackendConfig, PortConfig, ServiceConfig, SluiceConfig, TunnelConfig } from './schema';

export { IdAllocator, ServiceIdMap } from './ids';

function toNativePort(port: PortConfig, i: number): NativePort {
  const device = parseDevice(port.device);
  const cidr = parseCidr(port.address);
  // validateConfig guarantees both; reaching here unvalidated is a caller bug.
  if (device === undefined) throw configError(`ports[${i}].device`, 'is not a valid device');
  if (cidr === undefined) throw configError(`ports[${i}].address`, 'is not a valid address/prefix');
  const out: NativePort = {
    name: port.name,
    device: nativeDevice(device),
    queues: port.queues,
    address: cidr.address,
    prefixLength: cidr.prefixLength,
    mtu: port.mtu,
    rxDescriptors: port.rxDescriptors,
    txDescriptors: port.txDescriptors,
  };
  if (port.gateway !== undefined) out.gateway = normalizeIp(port.gateway) ?? port.gateway;
  if (port.natPool !== undefined) {
    const [portMin, portMax] = port.natPool.portRange;
    out.natPool = { addresses: natPoolAddresses(port.natPool.addresses), portMin, portMax };
    if (port.natPool.addresses6 !== undefined) out.natPool.addresses6 = natPoolAddresses6(port.natPool.addresses6);
  }
  if (port.address6 !== undefined) {
    const cidr6 = parseCidr(port.address6);
    if (cidr6 === undefined) throw configError(`ports[${i}].address6`, 'is not a valid address/prefix');
    out.address6 = cidr6.address;
    out.prefixLength6 = cidr6.prefixLength;
  }
  if (port.gateway6 !== undefined) out.gateway6 = normalizeIp(port.gateway6) ?? port.gateway6;
  if (port.kernelInterface !== undefined) {
    out.kernelInterface = { name: port.kernelInterface, packetsPerSec: port.kernelPacketsPerSec ?? KERNEL_PPS_DEFAULT };
  }
  return out;
}

/** Every worker lcore, in eal.lcores order, including any the config gives no queue. */
function toNativeWorkers(cfg: SluiceConfig): NativeWorker[] {
  const workerLcores = parseLcores(cfg.eal.lcores).slice(1);
  if (cfg.workers === undefined) return defaultWorkers(workerLcores, cfg.ports.map((p) => p.queues));
  const portIndex = new Map(cfg.ports.map((p, i) => [p.name, i]));
  const rxByLcore = new Map(cfg.workers.map((w, i) => [w.lcore, { rx: w.rx, path: `workers[${i}].rx` }]));
  return workerLcores.map((lcore) => {
    const { rx, path } = rxByLcore.get(lcore) ?? { rx: [], path: '' };
    return {
      lcore,
      rx: rx.map((r, j) => {
        const port = portIndex.get(r.port);
        if (port === undefined) throw configError(`${path}[${j}].port`, `no port named "${r.port}"`);
        return { port, queue: r.queue };
      }),
    };
  });
}

function toNativeTunnel(t: TunnelConfig, vip: string): NativeTunnel {
  const defaultNetwork = parseIp(vip)?.family === 6 ? TUNNEL_SOURCE_NETWORK6_DEFAULT : TUNNEL_SOURCE_NETWORK_DEFAULT;
  const net = parseCidr(t.sourceNetwork ?? defaultNetwork);
  if (net === undefined) throw configError('tunnel.sourceNetwork', 'is not a valid prefix');
  const out: NativeTunnel = {
    encapsulation: t.encapsulation,
    guePort: t.guePort ?? GUE_DEFAULT_PORT,
    sourceNetwork: net.network,
    sourcePrefixLength: net.prefixLength,
  };
  if (t.source !== undefined) out.source = normalizeIp(t.source) ?? t.source;
  return out;
}

/** `cfg` must come from validateConfig. `instanceId` must be unique among live instances. */
export function toNativeStart(cfg: SluiceConfig, instanceId: string): NativeStartConfig {
  return {
    ealArgs: buildEalArgs(cfg, instanceId),
    ports: cfg.ports.map(toNativePort),
    workers: toNativeWorkers(cfg),
    flowTable: { ...cfg.flowTable, admission: { ...cfg.flowTable.admission } },
    fragments: { ...cfg.fragments },
    mbufsPerSocket: cfg.dataplane.mbufsPerSocket,
    idleSleepMaxUs: cfg.dataplane.idleSleepMaxUs,
    neighborRefreshSec: cfg.dataplane.neighborRefreshSec,
    limits: nativeLimits(cfg.limits),
  };
}

interface NativeEntry {
  owner: ServiceIdMap;
  serviceId: number;
  backendIds: readonly number[];
  healthy: readonly boolean[];
  /** the caller's health version of the service when this shape was made */
  healthVersion?: number;
  native: NativeService;
}

/**
 * The last native shape of each validated service object: while the object,
 * its ids and its backends' health stay the same, the same shape serves again,
 * so a change converts the services it touches, not every backend of every one.
 */
const nativeCache = new WeakMap<ServiceConfig, NativeEntry>();

/**
 * The last native shape made for each service name (toNativeServices keeps it
 * to the current names): a changed service object reuses its previous
 * backends' shapes by position, one comparison each, where a WeakMap lookup
 * per backend cost a large service's change more than the rest of it.
 */
interface LastShape {
  svc: ServiceConfig;
  backendIds: readonly number[];
  healthy: readonly boolean[];
  native: NativeService;
}
const lastByName = new Map<string, LastShape>();

function toNativeService(svc: ServiceConfig, id: number, backendIds: readonly number[], healthy: readonly boolean[]): NativeService {
  const last = lastByName.get(svc.name);
  const before = last?.svc.backends;
  const reuse = (b: BackendConfig, j: number): NativeBackend | undefined =>
    before?.[j] === b && last!.backendIds[j] === backendIds[j] && last!.healthy[j] === healthy[j]
      ? last!.native.backends[j] : undefined;
  const backends = svc.backends.map((b, j) => reuse(b, j) ?? toNativeBackend(b, backendIds[j], healthy[j]));
  const native = last !== undefined && sameServiceFields(last.svc, svc)
    ? { ...last.native, id, backends }
    : { ...serviceFields(svc), id, backends };
  lastByName.set(svc.name, { svc, backendIds, healthy, native });
  return native;
}

/** Everything of a service's native shape but its id and backends. */
function serviceFields(svc: ServiceConfig): Omit<NativeService, 'id' | 'backends'> {
  return {
    name: svc.name,
    vip: normalizeIp(svc.vip) ?? svc.vip,
    port: svc.port,
    protocol: svc.protocol,
    forwarding: svc.forwarding,
    ...(svc.forwarding === 'tunnel' ? { tunnel: toNativeTunnel(svc.tunnel ?? { encapsulation: 'ipip' }, svc.vip) } : {}),
    ...(svc.quicLb === undefined ? {} : {
      quicLb: { ...svc.quicLb, ...(svc.quicLb.key === undefined ? {} : { key: svc.quicLb.key.toLowerCase() }) },
    }),
    lookupTableSize: svc.lookupTableSize,
  };
}

/** Whether serviceFields would give the same for both (a change of backends only keeps the rest as it was). */
const sameServiceFields = (a: ServiceConfig, b: ServiceConfig): boolean =>
  a.vip === b.vip && a.port === b.port && a.protocol === b.protocol && a.forwarding === b.forwarding &&
  a.tunnel === b.tunnel && a.quicLb === b.quicLb && a.lookupTableSize === b.lookupTableSize;

/**
 * A backend's native shape, the same object while its config object, id and
 * health stay the same: the data plane sends such a backend as its id alone
 * (NativeServiceChange).
 */
const backendCache = new WeakMap<BackendConfig, NativeBackend>();
function toNativeBackend(b: BackendConfig, id: number, healthy: boolean): NativeBackend {
  const cached = backendCache.get(b);
  if (cached !== undefined && cached.id === id && cached.healthy === healthy) return cached;
  const { address, mac } = nativeAddresses(b);
  const native: NativeBackend = {
    id,
    address,
    port: b.port,
    weight: b.weight,
    state: b.state,
    healthy,
    ...(mac === undefined ? {} : { mac }),
    ...(b.serverId === undefined ? {} : { serverId: b.serverId.toLowerCase() }),
  };
  backendCache.set(b, native);
  return native;
}

/**
 * A backend's address and MAC as the addon takes them, once per (never changed)
 * backend object: made ahead (in check-ahead's slices) for a large body, so the
 * data plane's step finds them made.
 */
const addressCache = new WeakMap<BackendConfig, { address: string; mac?: string }>();
export function nativeAddresses(b: BackendConfig): { address: string; mac?: string } {
  let a = addressCache.get(b);
  if (a === undefined) {
    a = { address: cachedBackendAddress(b), mac: b.mac === undefined ? undefined : normalizeMac(b.mac) };
    addressCache.set(b, a);
  }
  return a;
}

const sameFlags = (a: readonly boolean[], b: readonly boolean[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The native shape `svc` would have after toNativeServices, where its ids are
 * already known (undefined otherwise), with no id assigned: for work done
 * ahead of a change (Dataplane.prebuild). The shape is kept for
 * toNativeServices, which takes it only if the ids and health it was made
 * with are still the service's.
 */
export function peekNativeService(
  svc: ServiceConfig,
  ids: ServiceIdMap,
  healthy: (service: string, backend: { address: string; port: number }) => boolean,
  healthVersion?: (service: string) => number,
  anyHeld?: (service: string) => boolean,
): NativeService | undefined {
  const known = ids.peek(svc);
  if (known === undefined) return undefined;
  return cachedShape(svc, { owner: ids, serviceId: known.serviceId, backendIds: known.backendIds,
    healthy: healthOf(svc, healthy, anyHeld), healthVersion: healthVersion?.(svc.name) });
}

/** Each backend's health; without a call per backend when `anyHeld` says the service holds none back. */
function healthOf(
  svc: ServiceConfig,
  healthy: (service: string, backend: { address: string; port: number }) => boolean,
  anyHeld?: (service: string) => boolean,
): boolean[] {
  if (anyHeld?.(svc.name) === false) return new Array<boolean>(svc.backends.length).fill(true);
  return svc.backends.map((b) => healthy(svc.name, b));
}

/** The service's shape made from `entry`'s ids and health, and kept with them for toNativeServices. */
function cachedShape(svc: ServiceConfig, entry: Omit<NativeEntry, 'native'>): NativeService {
  const native = toNativeService(svc, entry.serviceId, entry.backendIds, entry.healthy);
  nativeCache.set(svc, { ...entry, native });
  return native;
}

export interface ToNativeOptions {
  /**
   * What the last call returned for the same `ids`, given that no health mark
   * changed since: a service that is the same object at the same place keeps
   * its shape with no lookup (a change of one service among 1,024 costs one
   * comparison for each of the others).
   */
  previous?: { services: readonly ServiceConfig[]; natives: readonly NativeService[] };
  /** False when `healthy` would say true of every backend of the service: it is not asked. */
  anyHeld?: (service: string) => boolean;
}

/**
 * `services` must come from validateConfig (or validateServices) and not be
 * changed afterwards. Updates `ids` to exactly these services and backends, so
 * call it with the whole desired set every time.
 */
export function toNativeServices(
  services: readonly ServiceConfig[],
  ids: ServiceIdMap,
  healthy: (service: string, backend: { address: string; port: number }) => boolean = () => true,
  healthVersion?: (service: string) => number,
  options: ToNativeOptions = {},
): NativeService[] {
  ids.sync(services);
  const { previous, anyHeld } = options;
  const samePlaces = previous !== undefined && previous.services.length === services.length;
  const natives = services.map((svc, k) => {
    // The very object at the same place, no health mark changed since: nothing to look up.
    if (samePlaces && previous.services[k] === svc) return previous.natives[k];
    const serviceId = ids.serviceId(svc.name)!;
    const backendIds = ids.backendIds(svc);
    const version = healthVersion?.(svc.name);
    const cached = nativeCache.get(svc);
    const same = cached !== undefined && cached.owner === ids && cached.serviceId === serviceId &&
      cached.backendIds === backendIds;
    // The same object at the same health version: its every backend answers as before.
    if (same && version !== undefined && cached.healthVersion === version) return cached.native;
    const health = healthOf(svc, healthy, anyHeld);
    if (same && sameFlags(cached.healthy, health)) {
      cached.healthVersion = version;
      return cached.native;
    }
    return cachedShape(svc, { owner: ids, serviceId, backendIds, healthy: health, healthVersion: version });
  });
  if (lastByName.size > services.length) {
    const names = new Set(services.map((s) => s.name));
    for (const name of lastByName.keys()) if (!names.has(name)) lastByName.delete(name);
  }
  return natives;
}
