// The data plane as the control plane uses it: a validated config in, the addon
// started, services applied as whole sets, housekeeping on a timer.
import { peekNativeService, ServiceIdMap, toNativeServices, toNativeStart, type ServiceConfig, type SluiceConfig } from './config';
import { checkLcoreCpus } from './host-cpus';
import type { Logger } from 'pino';
import { normalizeIp } from './net/addr';
import { removeStaleRuntimeDirs } from './runtime-dirs';
import { SluiceError } from './errors';
import { addon, type FlowInfo, type FlowListRequest, type DataplaneMemory, type DataplaneStats, type LcoreStats, type NeighborInfo, type PortInfo, type ServiceStats, type SluiceAddon } from './native/addon';
import { unpackService, unpackServices } from './native/service-stats';
import type { NativeBackend, NativeBackendRun, NativeService, NativeServiceChange } from './native/types';

/** How often the control thread learns neighbors, sends ARP requests and frees old snapshots. */
export const POLL_INTERVAL_MS = 100;

/**
 * How long the lcores have to answer a connection listing. A busy lcore scans
 * a 1M-flow table in tens of milliseconds; one that takes this long is stuck.
 */
export const FLOW_LISTING_TIMEOUT_MS = 2000;
/** How often the control thread looks whether every lcore has answered. */
const FLOW_LISTING_POLL_MS = 1;

/** The health marks the data plane reads (the store's, when health checks run). */
export interface ServiceHealth {
  /** whether a backend may take new flows */
  healthy: (service: string, backend: { address: string; port: number }) => boolean;
  /** changes whenever a mark of the service does: a service object at the same version answers as before */
  version: (service: string) => number;
  /** changes whenever any mark does */
  stamp: () => number;
  /** false when every backend of the service is healthy, so none need be asked */
  anyHeld: (service: string) => boolean;
}

export class Dataplane {
  private readonly ids = new ServiceIdMap();
  /**
   * What the addon runs: the services the last successful start or
   * setServices sent, their shapes at the same places, and the health stamp
   * (ServiceHealth.stamp) they were made at; not `reusable` once a set was
   * refused, as the ids may have moved with it
   */
  private last: { services: readonly ServiceConfig[]; natives: NativeService[]; healthStamp?: number; reusable: boolean } =
    { services: [], natives: [], reusable: false };
  /** the same shapes by service id, once asked for */
  private runningById: Map<number, NativeService> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** the connection listing being answered: the next one waits for it, as every lcore has one mailbox */
  private listing: Promise<unknown> = Promise.resolve();

  /**
   * With `log`, DPDK's own log lines (the EAL's, the drivers') go to it as JSON
   * lines with their level and type, instead of raw text on stderr.
   */
  constructor(private readonly native: SluiceAddon = addon(), private readonly log?: Logger) {}

  /**
   * `instanceId` names the EAL's runtime directory: unique per live process, and
   * ending with this process's id so a later start can tell when it is stale.
   */
  start(cfg: SluiceConfig, instanceId = `${process.pid}`): void {
    // The EAL would refuse these with its usage text and no field name.
    checkLcoreCpus(cfg.eal.lcores);
    removeStaleRuntimeDirs();
    const services = toNativeServices(cfg.services, this.ids);
    if (this.log !== undefined) this.native.captureLogs();
    try {
      this.native.start(toNativeStart(cfg, instanceId), services);
    } finally {
      // What the EAL said on the way, also when it failed: the why of a failure.
      this.forwardLogs();
    }
    this.setRunning(services, cfg.services);
    this.timer = setInterval(() => {
      this.native.poll();
      this.forwardLogs();
    }, POLL_INTERVAL_MS);
    // Housekeeping must not keep the process alive on its own.
    this.timer.unref();
  }

  /**
   * Replaces every service at once; an invalid set throws and changes nothing.
   * `health` says which backends may take traffic (health checks); default all.
   */
  applyServices(services: readonly ServiceConfig[], health?: ServiceHealth): { generation: number; tablesBuilt: number } {
    let result: { generation: number; tablesBuilt: number };
    let next: NativeService[];
    try {
      next = this.toNative(services, health);
      result = this.native.setServices(next.map((s, k) => this.asChange(s, k)));
    } catch (err) {
      // The ids may have moved to the refused set: the shapes kept are not reused as they are.
      this.last = { ...this.last, reusable: false };
      throw err;
    }
    this.setRunning(next, services, health);
    return result;
  }

  /**
   * Builds ahead, on a worker thread, the lookup tables applyServices(services)
   * will need, so that applying them does not hold the event loop for a large
   * table; for the services changed since the last apply. The ids `services`
   * need are given out first, as applyServices would give them, so a new
   * service's table (and its native shape) is made ahead too. Changes nothing
   * that runs; resolves to the number of tables built, never rejects
   * (applyServices says what is wrong).
   */
  prebuild(services: readonly ServiceConfig[], health?: ServiceHealth): Promise<number> {
    const changed: NativeServiceChange[] = [];
    try {
      const unsynced = services.map((svc) => !this.ids.isSynced(svc));
      this.ids.sync(services);
      for (const [k, svc] of services.entries()) {
        if (!unsynced[k]) continue;
        const native = peekNativeService(svc, this.ids, health?.healthy ?? (() => true), health?.version, health?.anyHeld);
        if (native === undefined) continue;
        const change = this.asChange(native, k);
        if (typeof change !== 'number') changed.push(change);
      }
      if (changed.length === 0) return Promise.resolve(0);
      return this.native.prebuildTables(changed).catch(() => 0);
    } catch {
      return Promise.resolve(0);
    }
  }

  /** The services' native shapes; those unchanged since the last apply, with no health mark changed, as they were. */
  private toNative(services: readonly ServiceConfig[], health?: ServiceHealth): NativeService[] {
    const stamp = health?.stamp();
    const previous = this.last.reusable && stamp === this.last.healthStamp ? this.last : undefined;
    return toNativeServices(services, this.ids, health?.healthy, health?.version, { previous, anyHeld: health?.anyHeld });
  }

  private setRunning(natives: NativeService[], services: readonly ServiceConfig[], health?: ServiceHealth): void {
    this.last = { services, natives, healthStamp: health?.stamp(), reusable: true };
    this.runningById = undefined;
  }

  /**
   * toNativeServices hands back the same object for a service, or a backend, it
   * did not have to convert again: the addon already holds that one, so only
   * its id goes, and a stretch of such backends as one run. `k` is the
   * service's place, where it usually was last time too.
   */
  private asChange(s: NativeService, k: number): NativeServiceChange | number {
    const at = this.last.natives[k];
    if (at === s) return s.id;
    const was = at?.id === s.id ? at : this.running().get(s.id);
    if (was === s) return s.id;
    if (was === undefined) return s;
    return { ...s, backends: backendRuns(was.backends, s.backends) };
  }

  /** What the addon runs, by service id; made when a service is not found at its place. */
  private running(): Map<number, NativeService> {
    return (this.runningById ??= new Map(this.last.natives.map((s) => [s.id, s])));
  }

  stats(): DataplaneStats {
    const s = this.native.stats();
    return { ...s, services: unpackServices(s.services) };
  }

  /** The worker lcores' counters only: as cheap with 65,536 backends as with one. */
  lcores(): LcoreStats[] {
    return this.native.lcores();
  }

  /** One service's counters, for a view of that service: its own backends' cost, not every one's. */
  serviceStats(name: string): ServiceStats | undefined {
    return unpackService(this.native.serviceStats(name));
  }

  /** One backend's counters with its service's: a view of one backend costs one backend, not 4,096. */
  backendStats(name: string, backend: { address: string; port: number }): ServiceStats | undefined {
    return unpackService(this.native.serviceStats(name, normalizeIp(backend.address) ?? backend.address, backend.port));
  }

  /**
   * The connections of every lcore that match, at most `limit`: asked of the
   * lcores, which answer between bursts, and collected without blocking the
   * event loop. Listings run one at a time.
   */
  listFlows(request: FlowListRequest, timeoutMs = FLOW_LISTING_TIMEOUT_MS): Promise<{ flows: FlowInfo[]; truncated: boolean }> {
    const backendAddress = request.backendAddress === undefined ? undefined : normalizeIp(request.backendAddress) ?? request.backendAddress;
    const run = async () => {
      this.native.askFlows({ ...request, ...(backendAddress === undefined ? {} : { backendAddress }) });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answer = this.native.collectFlows();
        if (answer !== null) return answer;
        if (Date.now() > deadline) {
          throw new SluiceError('SLUICE_LCORE_TIMEOUT', `the worker lcores did not answer the connection listing within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, FLOW_LISTING_POLL_MS));
      }
    };
    const next = this.listing.then(run, run);
    this.listing = next.catch(() => undefined);
    return next;
  }

  memory(): DataplaneMemory {
    return this.native.memory();
  }

  ports(): PortInfo[] {
    return this.native.ports();
  }

  neighbors(): NeighborInfo[] {
    return this.native.neighbors();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.native.stop();
    this.forwardLogs();
  }

  /** DPDK's captured lines to the log: errors as errors, notices as info, DPDK's info and debug as debug. */
  private forwardLogs(): void {
    if (this.log === undefined) return;
    const { lines, dropped } = this.native.drainLogs();
    for (const { level, type, message } of lines) {
      // "EAL: Detected ..." -> type "EAL"; a line without a prefix continues the one before.
      const prefix = /^([A-Za-z0-9_.]+): /.exec(message);
      const entry = { dpdkLevel: level, dpdkType: prefix?.[1] ?? type };
      const msg = prefix === null ? message : message.slice(prefix[0].length);
      if (level <= 4) this.log.error(entry, msg);
      else if (level === 5) this.log.warn(entry, msg);
      else if (level === 6) this.log.info(entry, msg);
      else this.log.debug(entry, msg);
    }
    if (dropped > 0) this.log.warn({ dropped }, 'DPDK log lines lost: more came between two drains than the capture holds');
  }
}

/**
 * `next` as runs of `was` (the backends the addon runs) and the backends it
 * does not hold: one pass comparing objects, as a change usually replaces or
 * adds a few backends in place; only a backend found out of place looks `was`
 * up by object (built once, on the first such).
 */
export function backendRuns(was: readonly NativeBackend[], next: readonly NativeBackend[]):
  (NativeBackend | NativeBackendRun)[] {
  const out: (NativeBackend | NativeBackendRun)[] = [];
  let run: NativeBackendRun | undefined;
  let index: Map<NativeBackend, number> | undefined;
  let i = 0;  // where in `was` the next backend is expected
  for (const b of next) {
    let at = was[i] === b ? i : -1;
    // A backend changed in place (the same id) is new to the addon; else look.
    if (at < 0 && was[i]?.id !== b.id) {
      index ??= new Map(was.map((x, k) => [x, k]));
      at = index.get(b) ?? -1;
    }
    if (at < 0) {
      run = undefined;
      out.push(b);
      i++;
      continue;
    }
    if (run !== undefined && run[1] === at) run[1]++;
    else out.push((run = [at, at + 1]));
    i = at + 1;
  }
  return out;
}
