// The data plane as the control plane uses it: a validated config in, the addon
// started, services applied as whole sets, housekeeping on a timer.
import { ServiceIdMap, toNativeServices, toNativeStart, type ServiceConfig, type SluiceConfig } from './config';
import { checkLcoreCpus } from './host-cpus';
import { removeStaleRuntimeDirs } from './runtime-dirs';
import { addon, type DataplaneMemory, type DataplaneStats, type LcoreStats, type NeighborInfo, type PortInfo, type SluiceAddon } from './native/addon';

/** How often the control thread learns neighbors, sends ARP requests and frees old snapshots. */
export const POLL_INTERVAL_MS = 100;

export class Dataplane {
  private readonly ids = new ServiceIdMap();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly native: SluiceAddon = addon()) {}

  /**
   * `instanceId` names the EAL's runtime directory: unique per live process, and
   * ending with this process's id so a later start can tell when it is stale.
   */
  start(cfg: SluiceConfig, instanceId = `${process.pid}`): void {
    // The EAL would refuse these with its usage text and no field name.
    checkLcoreCpus(cfg.eal.lcores);
    removeStaleRuntimeDirs();
    this.native.start(toNativeStart(cfg, instanceId), toNativeServices(cfg.services, this.ids));
    this.timer = setInterval(() => this.native.poll(), POLL_INTERVAL_MS);
    // Housekeeping must not keep the process alive on its own.
    this.timer.unref();
  }

  /**
   * Replaces every service at once; an invalid set throws and changes nothing.
   * `healthy` says which backends may take traffic (health checks); default all.
   */
  applyServices(
    services: readonly ServiceConfig[],
    healthy?: (service: string, backend: { address: string; port: number }) => boolean,
  ): { generation: number; tablesBuilt: number } {
    return this.native.setServices(toNativeServices(services, this.ids, healthy));
  }

  stats(): DataplaneStats {
    return this.native.stats();
  }

  /** The worker lcores' counters only: as cheap with 65,536 backends as with one. */
  lcores(): LcoreStats[] {
    return this.native.lcores();
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
  }
}
