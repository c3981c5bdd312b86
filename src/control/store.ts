// The desired state: services with their backends, weights and admin states,
// plus the health verdicts that decide which backends take traffic. Every change
// is validated whole and applied to the data plane in one step; changes are then
// written to the state file in groups, and a change is acknowledged only once
// its group is on disk (persisted()). If validation or the data plane refuses,
// nothing changes; if a group's write fails, its changes are rolled back.
import { EventEmitter } from 'node:events';
import { validateConfig, type BackendConfig, type ServiceConfig, type SluiceConfig } from '../config';
import type { Dataplane } from '../dataplane';
import { SluiceError, type ConfigProblem } from '../errors';
import { normalizeIp } from '../net/addr';
import { backendKey } from './backend-key';
import type { StateFile } from './state-file';

export type BackendPatch = Partial<Pick<BackendConfig, 'weight' | 'state' | 'mac' | 'healthCheck'>>;

export interface StoreEvents {
  change: [services: readonly ServiceConfig[]];
}

/**
 * Changes are serialised by construction: each one reads the current services,
 * checks and applies in one synchronous call, so concurrent requests run one
 * after another and a conflict is seen as a 409, never lost. Keep it so: an
 * await between the check and the commit would let two changes interleave.
 *
 * Only the state file write is asynchronous, and grouped: while one write is in
 * flight, every change committed meanwhile joins the next group, written once
 * (one write, fsync, rename) when the one in flight ends. A caller acknowledges
 * a change only after `await persisted()`, called right after the change.
 *
 * A failed group write rolls back rather than retrying: the services return to
 * the last state on disk, the data plane with them, and every change not yet
 * on disk (the failed group's, and the group queued behind it, which was checked
 * against the failed one) is refused with SLUICE_STATE_WRITE. Keeping them and
 * retrying would answer "error" for a change that is in force and may reach
 * the disk later; rolling back keeps "acknowledged" meaning "on disk" and
 * "refused" meaning "not in force", as when every change was written alone.
 */
export class ServiceStore extends EventEmitter<StoreEvents> {
  private services: ServiceConfig[] = [];
  /** "service/backendKey" of backends health checks hold down */
  private readonly down = new Set<string>();
  /** "service/backendKey" of every configured backend, built once per change so a verdict is one lookup */
  private live = new Set<string>();
  /** the services the state file holds: what a failed group write rolls back to */
  private durable: ServiceConfig[] = [];
  /** the group being written, if any */
  private writing: Group | undefined;
  /** changes committed since the write in flight began: the next group */
  private queued: Group | undefined;

  constructor(
    private readonly config: SluiceConfig,
    private readonly dataplane: Dataplane,
    private readonly stateFile?: StateFile,
  ) {
    super();
  }

  /** The services to start with: the state file's when it exists, else the config's. */
  initialServices(): ServiceConfig[] {
    this.stateFile?.removeOrphanedTemps();
    const saved = this.stateFile?.read();
    this.services = saved === undefined ? this.config.services : this.validateSaved(saved);
    this.live = liveIds(this.services);
    this.durable = this.services;
    return this.services;
  }

  /** Marks the store as matching what the data plane runs (after Dataplane.start). */
  started(services: ServiceConfig[]): void {
    this.services = services;
    this.live = liveIds(services);
    this.durable = services;
  }

  /**
   * Resolves once every change committed so far is in the state file; rejects
   * with SLUICE_STATE_WRITE when the group holding the latest one failed (it
   * was rolled back). Call it right after a change, before acknowledging it.
   */
  persisted(): Promise<void> {
    return this.queued?.done ?? this.writing?.done ?? Promise.resolve();
  }

  isHealthy = (service: string, backend: { address: string; port: number }): boolean =>
    !this.down.has(`${service}/${backendKey(backend)}`);

  list(): readonly ServiceConfig[] {
    return this.services;
  }

  get(name: string): ServiceConfig {
    const s = this.services.find((x) => x.name === name);
    if (s === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no service named "${name}"`);
    return s;
  }

  backend(service: string, key: string): BackendConfig {
    const b = this.get(service).backends.find((x) => backendKey(x) === key);
    if (b === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    return b;
  }

  createService(spec: unknown): ServiceConfig {
    const name = (spec as { name?: unknown })?.name;
    if (typeof name === 'string' && this.services.some((s) => s.name === name)) {
      throw new SluiceError('SLUICE_CONFLICT', `a service named "${name}" already exists`);
    }
    this.checkListenerFree(spec, undefined);
    const next = this.commit([...this.services, spec as ServiceConfig]);
    return next[next.length - 1];
  }

  /** PUT: the whole service, backends included, replaced in one step. */
  replaceService(name: string, spec: unknown): ServiceConfig {
    const i = this.index(name);
    const body = spec as { name?: unknown };
    if (body?.name !== undefined && body.name !== name) {
      throw new SluiceError('SLUICE_BAD_REQUEST', `body name "${String(body.name)}" differs from "${name}" in the URL`);
    }
    this.checkListenerFree(spec, name);
    const next = [...this.services];
    next[i] = { ...(spec as ServiceConfig), name };
    return this.commit(next)[i];
  }

  deleteService(name: string): void {
    const i = this.index(name);
    this.commit(this.services.filter((_, j) => j !== i));
  }

  addBackend(service: string, spec: unknown): BackendConfig {
    const i = this.index(service);
    const s = this.services[i];
    const b = spec as BackendConfig;
    if (typeof b?.address === 'string' && s.backends.some((x) => sameBackend(x, b))) {
      throw new SluiceError('SLUICE_CONFLICT', `service "${service}" already has backend ${backendKey(b)}`);
    }
    const next = [...this.services];
    next[i] = { ...s, backends: [...s.backends, b] };
    const committed = this.commit(next)[i];
    return committed.backends[committed.backends.length - 1];
  }

  updateBackend(service: string, key: string, patch: BackendPatch): BackendConfig {
    const i = this.index(service);
    const s = this.services[i];
    const j = s.backends.findIndex((x) => backendKey(x) === key);
    if (j < 0) throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    const backends = [...s.backends];
    backends[j] = { ...backends[j], ...patch };
    const next = [...this.services];
    next[i] = { ...s, backends };
    return this.commit(next)[i].backends[j];
  }

  deleteBackend(service: string, key: string): void {
    const i = this.index(service);
    const s = this.services[i];
    if (!s.backends.some((x) => backendKey(x) === key)) {
      throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    }
    const next = [...this.services];
    next[i] = { ...s, backends: s.backends.filter((x) => backendKey(x) !== key) };
    this.commit(next);
  }

  /** Health verdicts change what the data plane does but are not persisted: they are re-learned. */
  setHealth(service: string, key: string, healthy: boolean): void {
    // A verdict for a backend that is gone would otherwise mark a later backend
    // with the same address down before it was ever probed.
    const id = `${service}/${key}`;
    if (!this.live.has(id)) return;
    if (healthy === !this.down.has(id)) return;
    if (healthy) this.down.delete(id);
    else this.down.add(id);
    try {
      this.dataplane.applyServices(this.services, this.isHealthy);
    } catch (err) {
      if (healthy) this.down.add(id);
      else this.down.delete(id);
      throw err;
    }
  }

  /** Another service on the same VIP, port and protocol is a conflict (409), not a malformed request. */
  private checkListenerFree(spec: unknown, except: string | undefined): void {
    const s = spec as { vip?: unknown; port?: unknown; protocol?: unknown } | null;
    if (typeof s?.vip !== 'string' || typeof s.port !== 'number') return;
    const vip = normalizeIp(s.vip) ?? s.vip;
    const protocol = s.protocol ?? 'tcp';
    const other = this.services.find((x) => x.name !== except && (normalizeIp(x.vip) ?? x.vip) === vip &&
      x.port === s.port && x.protocol === protocol);
    if (other !== undefined) {
      throw new SluiceError('SLUICE_CONFLICT', `${vip}:${s.port}/${String(protocol)} is already served by service "${other.name}"`);
    }
  }

  private index(name: string): number {
    const i = this.services.findIndex((s) => s.name === name);
    if (i < 0) throw new SluiceError('SLUICE_NOT_FOUND', `no service named "${name}"`);
    return i;
  }

  /**
   * The state file's services against the config: a problem is the state
   * file's (SLUICE_STATE_READ naming it, each field in details), not the
   * config file's.
   */
  private validateSaved(services: unknown[]): ServiceConfig[] {
    try {
      return this.validate(services);
    } catch (err) {
      if (!(err instanceof SluiceError) || err.code !== 'SLUICE_CONFIG_INVALID') throw err;
      throw new SluiceError('SLUICE_STATE_READ',
        `state file ${this.stateFile?.file} breaks the config's rules (fix or delete it):\n${err.message}`, err.details);
    }
  }

  private validate(services: unknown[]): ServiceConfig[] {
    try {
      return validateConfig({ ...this.config, services }).services;
    } catch (err) {
      throw renameServicePaths(err, services);
    }
  }

  private commit(draft: unknown[]): ServiceConfig[] {
    const next = this.validate(draft);
    this.dataplane.applyServices(next, this.isHealthy);
    this.adopt(next);
    if (this.stateFile !== undefined) this.schedulePersist();
    return next;
  }

  /** Makes `services` the current desired state (already running in the data plane). */
  private adopt(services: ServiceConfig[]): void {
    this.services = services;
    this.live = liveIds(services);
    // Health marks of backends that no longer exist must not linger.
    for (const id of this.down) if (!this.live.has(id)) this.down.delete(id);
    this.emit('change', services);
  }

  private schedulePersist(): void {
    if (this.queued === undefined) {
      this.queued = newGroup();
      // Changes committed in the same turn of the event loop join this group too.
      if (this.writing === undefined) setImmediate(() => this.writeNext());
    }
  }

  private writeNext(): void {
    const group = this.queued;
    if (group === undefined || this.writing !== undefined) return;
    this.queued = undefined;
    this.writing = group;
    const services = this.services;
    this.stateFile!.writeAsync(services).then(() => {
      this.durable = services;
      this.writing = undefined;
      group.resolve();
      this.writeNext();
    }, (err: unknown) => {
      this.writing = undefined;
      const behind = this.queued;
      this.queued = undefined;
      this.rollBack();
      group.reject(err);
      behind?.reject(new SluiceError('SLUICE_STATE_WRITE',
        `not saved: an earlier change it was checked against could not be written (${(err as Error).message})`));
    });
  }

  /** After a failed write: back to what the state file holds, the data plane with it. */
  private rollBack(): void {
    try {
      this.dataplane.applyServices(this.durable, this.isHealthy);
    } catch {
      // The data plane refused a state it ran before (it stopped): the store still
      // says what is on disk, which is what a restart brings back.
    }
    this.adopt(this.durable);
  }
}

interface Group {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A group nobody awaits (a change made outside the API) must not crash the process.
  done.catch(() => undefined);
  return { done, resolve, reject };
}

function liveIds(services: readonly ServiceConfig[]): Set<string> {
  return new Set(services.flatMap((s) => s.backends.map((b) => `${s.name}/${backendKey(b)}`)));
}

function sameBackend(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  return a.port === b.port && (normalizeIp(a.address) ?? a.address) === (normalizeIp(b.address) ?? b.address);
}

/** "services[2].backends[0].port" reads better as "services.web.backends[0].port" to an API user. */
function renameServicePaths(err: unknown, services: unknown[]): unknown {
  if (!(err instanceof SluiceError) || !Array.isArray(err.details)) return err;
  const rename = (p: string) =>
    p.replace(/^services\[(\d+)\]/, (whole, i: string) => {
      const name = (services[Number(i)] as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? `services.${name}` : whole;
    });
  const problems = (err.details as ConfigProblem[]).map((p) => ({ path: rename(p.path), reason: p.reason }));
  return new SluiceError(err.code, problems.map((p) => `${p.path}: ${p.reason}`).join('\n'), problems);
}
