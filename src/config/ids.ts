// Global service and backend ids. The data path keys per-lcore counters and flow
// table entries by id, so an id must stay with its backend while it exists, and a
// freed id should come back as late as possible: flows still pinned to the old
// backend then age out before a new backend could inherit them.
import { SluiceError } from '../errors';
import { normalizeIp } from '../net/addr';

/** native kMaxServices */
export const MAX_SERVICE_IDS = 1024;
/** native kMaxBackendIds */
export const MAX_BACKEND_IDS = 65536;

/** Ids 0..size-1: never-used ids first, then freed ids oldest-freed first. */
export class IdAllocator {
  private nextFresh = 0;
  private freed: number[] = [];
  private freedHead = 0;
  private readonly inUse = new Set<number>();

  constructor(readonly size: number) {}

  get available(): number {
    return this.size - this.inUse.size;
  }

  has(id: number): boolean {
    return this.inUse.has(id);
  }

  allocate(): number {
    let id: number;
    if (this.nextFresh < this.size) id = this.nextFresh++;
    else if (this.freedHead < this.freed.length) id = this.freed[this.freedHead++];
    else throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED', `all ${this.size} ids are in use`);
    // Keeps dequeue O(1) without letting the consumed prefix grow forever.
    if (this.freedHead > 1024 && this.freedHead * 2 > this.freed.length) {
      this.freed = this.freed.slice(this.freedHead);
      this.freedHead = 0;
    }
    this.inUse.add(id);
    return id;
  }

  release(id: number): void {
    if (!this.inUse.delete(id)) throw new SluiceError('SLUICE_INTERNAL', `id ${id} released but not in use`);
    this.freed.push(id);
  }
}

export interface IdentifiedService {
  name: string;
  backends: readonly { address: string; port: number }[];
}

/**
 * Ids by service name and by backend (service name + address:port), kept across
 * sync() calls so an unchanged service or backend keeps its id when others change.
 */
export class ServiceIdMap {
  private readonly serviceAlloc: IdAllocator;
  private readonly backendAlloc: IdAllocator;
  private readonly services = new Map<string, number>();
  private readonly backends = new Map<string, number>();

  constructor(maxServices = MAX_SERVICE_IDS, maxBackends = MAX_BACKEND_IDS) {
    this.serviceAlloc = new IdAllocator(maxServices);
    this.backendAlloc = new IdAllocator(maxBackends);
  }

  private static backendKey(service: string, address: string, port: number): string {
    return `${service}/${normalizeIp(address) ?? address}:${port}`;
  }

  /**
   * Makes the map hold exactly `services`: new ones get ids, missing ones give
   * theirs back. Throws SLUICE_RESOURCE_EXHAUSTED, changing nothing, when they do not fit.
   */
  sync(services: readonly IdentifiedService[]): void {
    const wantServices = new Set(services.map((s) => s.name));
    const wantBackends = new Set(
      services.flatMap((s) => s.backends.map((b) => ServiceIdMap.backendKey(s.name, b.address, b.port))),
    );
    if (wantServices.size > this.serviceAlloc.size) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED',
        `${wantServices.size} services; at most ${this.serviceAlloc.size} fit`);
    }
    if (wantBackends.size > this.backendAlloc.size) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED',
        `${wantBackends.size} backends; at most ${this.backendAlloc.size} fit`);
    }
    ServiceIdMap.reconcile(this.services, wantServices, this.serviceAlloc);
    ServiceIdMap.reconcile(this.backends, wantBackends, this.backendAlloc);
  }

  private static reconcile(ids: Map<string, number>, want: Set<string>, alloc: IdAllocator): void {
    for (const [key, id] of ids) {
      if (want.has(key)) continue;
      ids.delete(key);
      alloc.release(id);
    }
    for (const key of want) if (!ids.has(key)) ids.set(key, alloc.allocate());
  }

  serviceId(name: string): number | undefined {
    return this.services.get(name);
  }

  backendId(service: string, address: string, port: number): number | undefined {
    return this.backends.get(ServiceIdMap.backendKey(service, address, port));
  }
}
