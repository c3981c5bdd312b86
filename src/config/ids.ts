// Global service and backend ids. The data path keys per-lcore counters and flow
// table entries by id, so an id must stay with its backend while it exists, and a
// freed id should come back as late as possible: flows still pinned to the old
// backend then age out before a new backend could inherit them.
import { backendKey } from '../control/backend-key';
import { cachedBackendKey } from '../control/service-keys';
import { SluiceError } from '../errors';

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

interface Synced {
  svc: IdentifiedService;
  /** "service/backendKey" of each backend, in order */
  keys: readonly string[];
  /** the backends' ids, in order, once asked for (they stay while the entry does) */
  ids?: readonly number[];
}

/**
 * Ids by service name and by backend (service name + address:port), kept across
 * sync() calls so an unchanged service or backend keeps its id when others change.
 * A service object sync() saw last time is taken as unchanged (validated services
 * are never changed in place), so a change costs work for the services it
 * touches, not for every backend of every service.
 */
export class ServiceIdMap {
  private readonly serviceAlloc: IdAllocator;
  private readonly backendAlloc: IdAllocator;
  private readonly services = new Map<string, number>();
  private readonly backends = new Map<string, number>();
  /** what the last sync() was given, by service name */
  private synced = new Map<string, Synced>();
  /** the list the last sync() was given, and how many backends it had */
  private lastList: readonly IdentifiedService[] = [];
  private backendCount = 0;

  constructor(maxServices = MAX_SERVICE_IDS, maxBackends = MAX_BACKEND_IDS) {
    this.serviceAlloc = new IdAllocator(maxServices);
    this.backendAlloc = new IdAllocator(maxBackends);
  }

  /** Each backend's key; those at the same place in the service's previous object as before are not made again. */
  private static keysOf(s: IdentifiedService, prev?: Synced): string[] {
    const before = prev?.svc.backends;
    return s.backends.map((b, j) => (before?.[j] === b ? prev!.keys[j] : `${s.name}/${cachedBackendKey(b)}`));
  }

  /** The entry for `s`: the previous one when `s` is that object, or its keys when they did not change. */
  private static entryOf(s: IdentifiedService, prev: Synced | undefined): Synced {
    if (prev !== undefined && prev.svc === s) return prev;
    const keys = ServiceIdMap.keysOf(s, prev);
    const same = prev !== undefined && keys.length === prev.keys.length && keys.every((k, j) => k === prev.keys[j]);
    return same ? { svc: s, keys: prev.keys, ids: prev.ids } : { svc: s, keys };
  }

  /**
   * Makes the map hold exactly `services` (unique names, unique backends within
   * a service, as validation guarantees): new ones get ids, missing ones give
   * theirs back. Throws SLUICE_RESOURCE_EXHAUSTED, changing nothing, when they do not fit.
   */
  sync(services: readonly IdentifiedService[]): void {
    if (this.syncInPlace(services)) return;
    const next = new Map<string, Synced>();
    let backendCount = 0;
    for (const s of services) {
      const entry = ServiceIdMap.entryOf(s, this.synced.get(s.name));
      backendCount += entry.keys.length - (next.get(s.name)?.keys.length ?? 0);
      next.set(s.name, entry);
    }
    if (next.size > this.serviceAlloc.size) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED', `${next.size} services; at most ${this.serviceAlloc.size} fit`);
    }
    if (backendCount > this.backendAlloc.size) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED', `${backendCount} backends; at most ${this.backendAlloc.size} fit`);
    }
    // Ids of what is gone are freed first, so the allocations below always fit.
    for (const [name, prev] of this.synced) {
      const now = next.get(name);
      if (now !== undefined && now.keys === prev.keys) continue;
      if (now === undefined) this.release(this.services, name, this.serviceAlloc);
      const kept = new Set(now?.keys);
      for (const key of prev.keys) if (!kept.has(key)) this.release(this.backends, key, this.backendAlloc);
    }
    for (const [name, entry] of next) {
      if (this.synced.get(name)?.keys === entry.keys) continue;
      if (!this.services.has(name)) this.services.set(name, this.serviceAlloc.allocate());
      for (const key of entry.keys) if (!this.backends.has(key)) this.backends.set(key, this.backendAlloc.allocate());
    }
    this.synced = next;
    this.lastList = services;
    this.backendCount = backendCount;
  }

  /**
   * sync() when `services` names the same services in the same order as last
   * time (a change of some services' backends): only the service objects not
   * seen last time are looked at, not a map entry per service. False, having
   * done nothing, otherwise.
   */
  private syncInPlace(services: readonly IdentifiedService[]): boolean {
    const last = this.lastList;
    if (last.length !== services.length || last.length === 0) return false;
    const changed: Synced[] = [];
    let backendCount = this.backendCount;
    for (const [i, s] of services.entries()) {
      if (s === last[i]) continue;
      if (s.name !== last[i].name) return false;
      const prev = this.synced.get(s.name)!;
      const entry = ServiceIdMap.entryOf(s, prev);
      backendCount += entry.keys.length - prev.keys.length;
      changed.push(entry);
    }
    if (backendCount > this.backendAlloc.size) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED', `${backendCount} backends; at most ${this.backendAlloc.size} fit`);
    }
    // As in sync(): what is gone is freed first, so the allocations always fit.
    for (const entry of changed) {
      const prev = this.synced.get(entry.svc.name)!;
      if (entry.keys === prev.keys) continue;
      const kept = new Set(entry.keys);
      for (const key of prev.keys) if (!kept.has(key)) this.release(this.backends, key, this.backendAlloc);
    }
    for (const entry of changed) {
      if (entry.keys !== this.synced.get(entry.svc.name)!.keys) {
        for (const key of entry.keys) if (!this.backends.has(key)) this.backends.set(key, this.backendAlloc.allocate());
      }
      this.synced.set(entry.svc.name, entry);
    }
    this.lastList = services;
    this.backendCount = backendCount;
    return true;
  }

  private release(ids: Map<string, number>, key: string, alloc: IdAllocator): void {
    const id = ids.get(key);
    if (id === undefined) return;
    ids.delete(key);
    alloc.release(id);
  }

  serviceId(name: string): number | undefined {
    return this.services.get(name);
  }

  backendId(service: string, address: string, port: number): number | undefined {
    return this.backends.get(`${service}/${backendKey({ address, port })}`);
  }

  /** Whether `svc` is the very object the last sync() was given for its name. */
  isSynced(svc: IdentifiedService): boolean {
    return this.synced.get(svc.name)?.svc === svc;
  }

  /**
   * The ids `svc` and its backends would keep, without assigning any; undefined
   * when it or one of its backends has none yet.
   */
  peek(svc: IdentifiedService): { serviceId: number; backendIds: readonly number[] } | undefined {
    const serviceId = this.services.get(svc.name);
    if (serviceId === undefined) return undefined;
    const prev = this.synced.get(svc.name);
    const keys = ServiceIdMap.keysOf(svc, prev);
    // A key at the same place as before has the id it had (the same string
    // object when the backend is: a comparison, not a lookup), and the same
    // keys throughout are the ids sync() would keep, as the same array.
    const prevIds = prev === undefined ? undefined : this.backendIds(prev.svc);
    const backendIds: number[] = [];
    let same = prev !== undefined && keys.length === prev.keys.length;
    for (const [j, key] of keys.entries()) {
      const id = prev?.keys[j] === key ? prevIds![j] : this.backends.get(key);
      if (id === undefined) return undefined;
      same &&= prev!.keys[j] === key;
      backendIds.push(id);
    }
    return { serviceId, backendIds: same ? prevIds! : backendIds };
  }

  /** The ids of `svc`'s backends, in order; the same array while the service is unchanged. */
  backendIds(svc: IdentifiedService): readonly number[] {
    const entry = this.synced.get(svc.name);
    if (entry === undefined || entry.svc !== svc) {
      return ServiceIdMap.keysOf(svc).map((key) => this.backends.get(key)!);
    }
    return (entry.ids ??= entry.keys.map((key) => this.backends.get(key)!));
  }
}
