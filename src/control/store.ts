// The desired state: services with their backends, weights and admin states,
// plus the health verdicts that decide which backends take traffic. Every change
// is validated whole when it is made; the data plane takes the changes of one
// turn of the event loop in one step, and the state file takes them in groups.
// A change is acknowledged only once it runs and its group is on disk
// (persisted()). If validation or the data plane refuses, nothing of it stays;
// if a group's write fails, its changes are rolled back.
import { EventEmitter } from 'node:events';
import { knownValid, nativeAddresses, validateBackendChange, validateConfig, validateServices, type BackendConfig,
  type ServiceConfig, type SluiceConfig } from '../config';
import { checkBackendsAhead } from '../config/check-ahead';
import { effectiveCheck } from '../config/effective-check';
import type { Dataplane, ServiceHealth } from '../dataplane';
import { SluiceError, type ConfigProblem } from '../errors';
import { normalizeIp } from '../net/addr';
import { backendKey } from './backend-key';
import { cachedBackendKey, sameKeysAs, serviceKeys } from './service-keys';
import type { StateFile } from './state-file';

export type BackendPatch = Partial<Pick<BackendConfig, 'weight' | 'state' | 'mac' | 'healthCheck'>>;

export interface StoreEvents {
  /** the services the data plane now runs: once per turn that changed them, and after a roll-back */
  change: [services: readonly ServiceConfig[]];
}

/**
 * Changes are serialised by construction: each one reads the current services,
 * is checked and becomes the desired state in one synchronous call, so
 * concurrent requests run one after another and a conflict is seen as a 409,
 * never lost. Keep it so: an await between the check and the commit would let
 * two changes interleave. A large body's backends may be checked ahead, over
 * several turns (checkAhead): that decides nothing, it only spares the
 * synchronous check the backends' own rules.
 *
 * The data plane is given the desired state once per turn of the event loop
 * (setImmediate), whatever number of changes that turn made, or, while a state
 * file write is in flight, once for all the changes the next group writes:
 * with thousands of backends a snapshot costs milliseconds, and 50 clients
 * changing at once would otherwise queue behind 50 of them. Should the data
 * plane refuse the whole, the changes are tried one at a time in order, from what runs: those
 * before the first it refuses stay, that one is refused with the data plane's
 * error, and those after it (checked against it) are refused as conflicts.
 *
 * The state file write is asynchronous and grouped: while one write is in
 * flight, every change committed meanwhile joins the next group, written once
 * (one journal append and fdatasync, or the whole file: state-file.ts) when
 * the one in flight ends, and only what runs is written. A caller acknowledges a change only after `await persisted()`,
 * called right after the change.
 *
 * A failed group write rolls back rather than retrying: the services return to
 * the last state on disk, the data plane with them, and every change not yet
 * on disk (the failed group's, and those made since, which were checked
 * against it) is refused with SLUICE_STATE_WRITE. Keeping them and retrying
 * would answer "error" for a change that is in force and may reach the disk
 * later; rolling back keeps "acknowledged" meaning "on disk" and "refused"
 * meaning "not in force", as when every change was written alone.
 */
export class ServiceStore extends EventEmitter<StoreEvents> {
  private services: ServiceConfig[] = [];
  /** each service's index in `services`, by name, built once per change */
  private positions = new Map<string, number>();
  /**
   * Service objects validated against this config and unchanged since: a change
   * checks only what it adds or alters (validateServices), and everything keyed
   * per backend (service-keys.ts) is computed once per object.
   */
  private readonly valid = knownValid();
  /**
   * Backends that take no new flows for their health, by service name and
   * backendKey: 'down' by a health verdict, 'unknown' when added while running
   * with a check whose initialState is down, until its first probe passes.
   */
  private readonly held = new Map<string, Map<string, Hold>>();
  /** see healthVersion */
  private readonly healthVersions = new Map<string, number>();
  private healthChanges = 0;
  /** the services the data plane runs */
  private applied: ServiceConfig[] = [];
  /** changes made since the data plane was last given the desired state */
  private unapplied: Change[] = [];
  /** the latest change's acknowledgement: persisted() */
  private latest: Promise<void> = Promise.resolve();
  /** the services the state file holds: what a failed group write rolls back to */
  private durable: ServiceConfig[] = [];
  /** the group being written, if any */
  private writing: Group | undefined;
  /** changes committed since the write in flight began: the next group */
  private queued: Group | undefined;
  /** the lookup tables being built ahead for the next step (step), if any */
  private building: Promise<void> | undefined;

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
    this.setServices(saved === undefined ? this.config.services : this.validateSaved(saved));
    for (const s of this.services) this.valid.services.add(s);
    this.durable = this.services;
    this.applied = this.services;
    return this.services;
  }

  /**
   * The services a start would restore from `stateFile`, checked against
   * `config` as initialServices checks them (SLUICE_STATE_READ naming what
   * breaks its rules), or undefined when the file does not exist. Reads only:
   * for `sluice check`, which starts nothing.
   */
  static savedServices(config: SluiceConfig, stateFile: StateFile): ServiceConfig[] | undefined {
    const saved = stateFile.read();
    if (saved === undefined) return undefined;
    // validateSaved reads the config and the state file's name, never the data plane.
    return new ServiceStore(config, undefined as unknown as Dataplane, stateFile).validateSaved(saved);
  }

  /**
   * Every service replaced at once (a reload of the config file): validated
   * whole as one change, it reaches the data plane as one snapshot and the
   * state file as one write, like any other change; if it is refused nothing
   * changes. Services kept as the same objects are not checked again.
   */
  replaceAll(services: readonly unknown[]): ServiceConfig[] {
    return this.commit([...services]);
  }

  /** Marks the store as matching what the data plane runs (after Dataplane.start). */
  started(services: ServiceConfig[]): void {
    this.setServices(services);
    for (const s of services) this.valid.services.add(s);
    this.durable = services;
    this.applied = services;
  }

  /**
   * Resolves once the latest change runs in the data plane and is in the state
   * file; rejects with the data plane's error when it refused it, and with
   * SLUICE_STATE_WRITE when its group's write failed (it was rolled back).
   * Call it right after a change, before acknowledging it.
   */
  persisted(): Promise<void> {
    return this.latest;
  }

  /**
   * Changes whenever a health mark of `service` changes: while it and the
   * service object stay the same, the data plane's shape of the service does
   * too, and a change elsewhere need not ask isHealthy of its every backend.
   */
  healthVersion = (service: string): number => this.healthVersions.get(service) ?? 0;

  isHealthy = (service: string, backend: { address: string; port: number }): boolean => {
    const held = this.held.get(service);
    return held === undefined || !held.has(cachedBackendKey(backend));
  };

  /** The health marks as the data plane reads them (ServiceHealth). */
  readonly health: ServiceHealth = {
    healthy: this.isHealthy,
    version: this.healthVersion,
    stamp: () => this.healthChanges,
    anyHeld: (service) => this.held.has(service),
  };

  /** Why a backend takes no new flows for its health, if it does not: `key` as backendKey gives it. */
  heldAs(service: string, key: string): Hold | undefined {
    return this.held.get(service)?.get(key);
  }

  list(): readonly ServiceConfig[] {
    return this.services;
  }

  get(name: string): ServiceConfig {
    return this.services[this.index(name)];
  }

  /** `key` normalized, as backendKey gives it. */
  backend(service: string, key: string): BackendConfig {
    const s = this.get(service);
    const j = serviceKeys(s).index.get(key);
    if (j === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    return s.backends[j];
  }

  /**
   * `spec`, a body for createService or replaceService (`name` for the latter),
   * with its backends checked ahead over several turns of the event loop
   * (check-ahead.ts), so that the change's own check, synchronous with its
   * commit, does not hold the loop for every backend of a large body. Decides
   * and commits nothing: the change still checks against the services as they
   * are when it is made, so changes made meanwhile are seen. What the commit
   * and the data plane's step derive from each backend (its key, its native
   * address) is made in its slice too.
   */
  checkAhead(spec: unknown, name?: string): Promise<unknown> {
    return checkBackendsAhead(this.config, spec, this.valid, name, deriveAhead);
  }

  createService(spec: unknown): ServiceConfig {
    const name = (spec as { name?: unknown })?.name;
    if (typeof name === 'string' && this.positions.has(name)) {
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
    if (typeof b?.address === 'string' && typeof b.port === 'number' && serviceKeys(s).index.has(backendKey(b))) {
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
    const j = serviceKeys(s).index.get(key);
    if (j === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    const next = this.accept(this.services,
      () => validateBackendChange(this.config, this.services, i, j, { ...s.backends[j], ...patch }, this.valid), true);
    // The same addresses and ports at the same places: the same keys.
    if (next[i].backends[j].address === s.backends[j].address && next[i].backends[j].port === s.backends[j].port) {
      sameKeysAs(next[i], s);
    }
    return next[i].backends[j];
  }

  deleteBackend(service: string, key: string): void {
    const i = this.index(service);
    const s = this.services[i];
    const j = serviceKeys(s).index.get(key);
    if (j === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `service "${service}" has no backend ${key}`);
    const next = [...this.services];
    next[i] = { ...s, backends: s.backends.filter((_, k) => k !== j) };
    this.commit(next);
  }

  /** Health verdicts change what the data plane does but are not persisted: they are re-learned. */
  setHealth(service: string, key: string, healthy: boolean): void {
    // A verdict for a backend that is gone would otherwise mark a later backend
    // with the same address down before it was ever probed.
    const i = this.positions.get(service);
    if (i === undefined || !serviceKeys(this.services[i]).index.has(key)) return;
    const was = this.heldAs(service, key);
    const next: Hold | undefined = healthy ? undefined : 'down';
    if (was === next) return;
    // unknown -> down: still no new flows, nothing for the data plane.
    if (was !== undefined && next !== undefined) {
      this.hold(service, key, next);
      return;
    }
    // Changes waiting for this turn's apply go first, settled as they would be.
    this.applyUnapplied();
    this.hold(service, key, next);
    try {
      this.dataplane.applyServices(this.services, this.health);
    } catch (err) {
      this.hold(service, key, was);
      throw err;
    }
  }

  private hold(service: string, key: string, as: Hold | undefined): void {
    this.healthVersions.set(service, ++this.healthChanges);
    const keys = this.held.get(service) ?? new Map<string, Hold>();
    if (as === undefined) keys.delete(key);
    else keys.set(key, as);
    if (keys.size === 0) this.held.delete(service);
    else this.held.set(service, keys);
  }

  /**
   * Backends that `next` adds while running, with a check whose initialState is
   * down, take no new flows until their first probe passes (HAProxy's
   * init-state): one that does not answer yet must not get clients first.
   */
  private holdNewBackends(next: readonly ServiceConfig[]): void {
    for (const svc of next) {
      const i = this.positions.get(svc.name);
      const prev = i === undefined ? undefined : this.services[i];
      if (prev === svc) continue;
      const before = prev === undefined ? undefined : serviceKeys(prev).index;
      for (const b of svc.backends) {
        const key = cachedBackendKey(b);
        if (before?.has(key)) continue;
        // Without an override of its own, a backend's check is the service's: no copy of it each.
        const check = b.healthCheck === undefined ? svc.healthCheck : effectiveCheck(svc, b);
        if (check.type !== 'none' && check.initialState === 'down') this.hold(svc.name, key, 'unknown');
      }
    }
  }

  /** Another service on the same VIP, port and protocol is a conflict (409), not a malformed request. */
  private checkListenerFree(spec: unknown, except: string | undefined): void {
    const s = spec as { vip?: unknown; port?: unknown; protocol?: unknown } | null;
    if (typeof s?.vip !== 'string' || typeof s.port !== 'number') return;
    const vip = normalizeIp(s.vip) ?? s.vip;
    const protocol = s.protocol ?? 'tcp';
    const other = this.services.find((x) => x.port === s.port && x.protocol === protocol && x.name !== except &&
      serviceKeys(x).vip === vip);
    if (other !== undefined) {
      throw new SluiceError('SLUICE_CONFLICT', `${vip}:${s.port}/${String(protocol)} is already served by service "${other.name}"`);
    }
  }

  private index(name: string): number {
    const i = this.positions.get(name);
    if (i === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no service named "${name}"`);
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
    return this.accept(draft, () => {
      const next = validateServices(this.config, draft, this.valid);
      // A change of one backend's weight or state (accept's other caller) adds none.
      this.holdNewBackends(next);
      return next;
    });
  }

  /** Makes what `check` returns for `draft` the desired state, for the data plane to take at the end of the turn. */
  private accept(draft: readonly unknown[], check: () => ServiceConfig[], samePlaces = false): ServiceConfig[] {
    let next: ServiceConfig[];
    try {
      next = check();
    } catch (err) {
      throw renameServicePaths(err, draft);
    }
    this.adopt(next, samePlaces);
    const change = deferred();
    if (this.unapplied.length === 0) setImmediate(() => this.flush());
    this.unapplied.push({ services: next, ...change });
    if (this.stateFile === undefined) {
      this.latest = change.done;
    } else {
      const group = this.schedulePersist();
      const acknowledged = Promise.all([change.done, group.done]).then(() => undefined);
      acknowledged.catch(() => undefined);
      this.latest = acknowledged;
    }
    return next;
  }

  /**
   * The end of a turn that made changes: the data plane takes them, then the
   * state file. While a write is in flight they wait for it to end and go with
   * the next group: its changes are acknowledged only then anyway, and one
   * snapshot for the group costs less than one for each turn.
   */
  private flush(): void {
    this.step();
  }

  /**
   * The next step, once no other is in flight: the lookup tables the changes
   * waiting need are built ahead, off the event loop (Dataplane.prebuild: a
   * 4,096-backend service's table would hold the loop for milliseconds), then
   * those changes go to the data plane and their group to the state file.
   * Changes made while the tables are built wait for the step after, in a
   * group of their own: applied now, they would need a table not built ahead.
   */
  private step(): void {
    if (this.writing !== undefined || this.building !== undefined) return;
    const upTo = this.unapplied.at(-1);
    const group = this.queued;
    // The group is taken whatever comes next: a change made during its write
    // (or its build) joins a group of its own, acknowledged once that is on disk.
    this.queued = undefined;
    if (upTo === undefined) {
      this.write(group);
      return;
    }
    // In the turn after at the earliest: the change's check and the work
    // ahead are each long for a large service, and requests are served between them.
    const turnAfter = new Promise<void>((resolve) => setImmediate(resolve));
    // A health verdict meanwhile may have applied it already (setHealth): the
    // work ahead gives out ids, never for a set behind what runs.
    const ahead = () => (this.unapplied.includes(upTo) ? this.dataplane.prebuild(upTo.services, this.health) : 0);
    this.building = turnAfter.then(ahead).then(() => {
      this.building = undefined;
      this.applyUnapplied(upTo);
      this.write(group);
    });
  }

  /**
   * Gives the data plane the changes made since it was last given any (see the
   * class comment), or those up to `upTo` when it still waits.
   */
  private applyUnapplied(upTo?: Change): void {
    const end = upTo === undefined ? this.unapplied.length : this.unapplied.indexOf(upTo) + 1;
    if (end === 0) return;
    const changes = this.unapplied.slice(0, end);
    const later = this.unapplied.slice(end);
    const target = later.length === 0 ? this.services : changes[end - 1].services;
    this.unapplied = later;
    try {
      this.dataplane.applyServices(target, this.health);
      this.applied = target;
      // The health checker follows in a turn of its own (its sync of a large
      // service is long too), and the changes are acknowledged once it has.
      afterNextPoll(() => {
        this.emit('change', this.applied);
        for (const c of changes) c.resolve();
      });
      return;
    } catch {
      // One at a time below, so that only the change the data plane refuses is.
    }
    let k = 0;
    for (; k < changes.length; k++) {
      try {
        this.dataplane.applyServices(changes[k].services, this.health);
      } catch (err) {
        changes[k].reject(err);
        break;
      }
      this.applied = changes[k].services;
      changes[k].resolve();
    }
    if (k < changes.length) {
      // Those after the refused one, waiting ones too, were checked against it.
      for (const c of [...changes.slice(k + 1), ...this.unapplied]) {
        c.reject(new SluiceError('SLUICE_CONFLICT',
          'not applied: it was checked against an earlier change that the data plane refused; send it again'));
      }
      this.unapplied = [];
    }
    if (this.applied !== this.services && this.unapplied.length === 0) this.adopt(this.applied);
    this.emit('change', this.applied);
  }

  /**
   * Makes `services` the current desired state (already running in the data
   * plane); `samePlaces` when the caller knows every name stays at its index.
   */
  private adopt(services: ServiceConfig[], samePlaces = false): void {
    this.setServices(services, samePlaces);
    // Health marks of backends that no longer exist must not linger.
    for (const [service, keys] of this.held) {
      const i = this.positions.get(service);
      const index = i === undefined ? undefined : serviceKeys(this.services[i]).index;
      for (const key of keys.keys()) {
        if (index !== undefined && index.has(key)) continue;
        keys.delete(key);
        this.healthVersions.set(service, ++this.healthChanges);
      }
      if (keys.size === 0) this.held.delete(service);
    }
    for (const service of this.healthVersions.keys()) {
      if (!this.positions.has(service)) this.healthVersions.delete(service);
    }
  }

  private setServices(services: ServiceConfig[], known = false): void {
    const before = this.services;
    this.services = services;
    // A change of one service keeps every name where it was: the index stands.
    // (Comparing 1,024 names costs more than the rest of a backend's PATCH: a
    // caller that knows says so.)
    const samePlaces = known || (services.length === before.length && services.every((s, i) => s.name === before[i].name));
    if (!samePlaces) this.positions = new Map(services.map((s, i) => [s.name, i]));
  }

  /** The group the latest change joins: written once the write in flight, if any, ends. */
  private schedulePersist(): Group {
    // Changes committed in the same turn of the event loop join it too; the
    // turn's flush starts its write when none is in flight.
    this.queued ??= deferred();
    return this.queued;
  }

  /** Writes `group` (what runs now); the next step follows once it is on disk. */
  private write(group: Group | undefined): void {
    if (group === undefined) {
      if (this.unapplied.length > 0) this.step();
      return;
    }
    this.writing = group;
    const services = this.applied;
    this.stateFile!.writeAsync(services).then(() => {
      this.durable = services;
      this.writing = undefined;
      group.resolve();
      this.step();
    }, (err: unknown) => {
      this.writing = undefined;
      const behind = this.queued;
      this.queued = undefined;
      const unapplied = this.unapplied;
      this.unapplied = [];
      this.rollBack();
      group.reject(err);
      const notSaved = new SluiceError('SLUICE_STATE_WRITE',
        `not saved: an earlier change it was checked against could not be written (${(err as Error).message})`);
      behind?.reject(notSaved);
      for (const c of unapplied) c.reject(notSaved);
    });
  }

  /** After a failed write: back to what the state file holds, the data plane with it. */
  private rollBack(): void {
    try {
      this.dataplane.applyServices(this.durable, this.health);
      this.applied = this.durable;
    } catch {
      // The data plane refused a state it ran before (it stopped): the store still
      // says what is on disk, which is what a restart brings back.
    }
    this.adopt(this.durable);
    this.emit('change', this.durable);
  }
}

/** Why a backend takes no new flows for its health (ServiceStore.heldAs). */
export type Hold = 'down' | 'unknown';

interface Group {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A change waiting for the data plane: the services it made. */
interface Change extends Group {
  services: ServiceConfig[];
}

/**
 * Runs `fn` once the event loop has polled for I/O again, so that requests
 * waiting are served first: from the poll phase (an addon's callback, a
 * request's handler) one setImmediate would run before that poll.
 */
function afterNextPoll(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

function deriveAhead(b: BackendConfig): void {
  cachedBackendKey(b);
  nativeAddresses(b);
}

function deferred(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // One nobody awaits (a change made outside the API) must not crash the process.
  done.catch(() => undefined);
  return { done, resolve, reject };
}

/** "services[2].backends[0].port" reads better as "services.web.backends[0].port" to an API user. */
function renameServicePaths(err: unknown, services: readonly unknown[]): unknown {
  if (!(err instanceof SluiceError) || !Array.isArray(err.details)) return err;
  const rename = (p: string) =>
    p.replace(/^services\[(\d+)\]/, (whole, i: string) => {
      const name = (services[Number(i)] as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? `services.${name}` : whole;
    });
  const problems = (err.details as ConfigProblem[]).map((p) => ({ path: rename(p.path), reason: p.reason }));
  return new SluiceError(err.code, problems.map((p) => `${p.path}: ${p.reason}`).join('\n'), problems);
}
