// Backend health checks. Probes leave through the host's kernel stack, not the
// data plane, and target each backend's own address (a DSR backend's VIP is not
// reachable from the host). Verdicts follow HAProxy: `fall` failures in a row take
// a backend down, `rise` successes bring it back; each verdict goes to the store,
// which takes a down backend out of its service's lookup table.
import http from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import type { BackendConfig, ServiceConfig } from '../config';
import { effectiveCheck } from '../config/effective-check';
import type { HealthCheckConfig } from '../config/schema';
import { flattened } from './flat-text';
import { cachedBackendAddress, cachedBackendKey } from './service-keys';
import { UNCHECKED, type BackendHealth, type HealthView } from './health-view';
import type { ServiceStore } from './store';

/** "200-399" or "204" as inclusive bounds; a reversed range counts as written the other way round. */
export function parseStatusRange(spec: string): [number, number] {
  const [a, b = a] = spec.split('-').map(Number);
  return [Math.min(a, b), Math.max(a, b)];
}

/** Starts one probe; `done` gets undefined on success or why it failed, once, and never after cancel. */
export type ProbeFn = (
  target: { address: string; port: number },
  check: HealthCheckConfig,
  done: (error: string | undefined) => void,
) => () => void;

export const probe: ProbeFn = ({ address, port }, check, done) => {
  let finished = false;
  let release = (): void => {};
  const end = (): boolean => {
    if (finished) return false;
    finished = true;
    clearTimeout(timer);
    release();
    return true;
  };
  const finish = (error?: string): void => {
    if (end()) done(error);
  };
  const timer = setTimeout(() => finish(`no answer within ${check.timeoutMs} ms`), check.timeoutMs);
  timer.unref();

  // Error listeners stay attached after the verdict: destroying a socket or a
  // request mid-flight may still emit 'error', which unheard would crash the process.
  if (check.type === 'http') {
    const [lo, hi] = parseStatusRange(check.expectStatus);
    const req = http.get({
      host: address,
      port,
      path: check.path,
      agent: false,
      headers: { connection: 'close', 'user-agent': 'sluice-health-check' },
    });
    release = () => req.destroy();
    req.on('error', (err) => finish(err.message));
    req.on('response', (res) => {
      res.on('error', () => {});
      const status = res.statusCode ?? 0;
      finish(status >= lo && status <= hi ? undefined : `status ${status}, expected ${check.expectStatus}`);
    });
  } else {
    const socket = net.connect({ host: address, port });
    release = () => socket.destroy();
    socket.on('error', (err) => finish(err.message));
    socket.on('connect', () => finish());
  }
  return () => {
    end();
  };
};

interface Entry {
  service: string;
  key: string;
  target: { address: string; port: number };
  check: HealthCheckConfig;
  /** the settings that, when they change, restart this backend's probing */
  fingerprint: string;
  health: BackendHealth;
  /** the backend object and service check (JSON) the settings came from: the same again changes nothing */
  backend?: BackendConfig;
  serviceCheck?: string;
  timer?: NodeJS.Timeout;
  cancel?: () => void;
}

/** A service object the entries follow, with its backends' entry ids and entries, in its backends' order. */
interface Synced {
  svc: ServiceConfig;
  ids: readonly string[];
  entries: readonly Entry[];
  serviceCheck: string;
}

/** Kept for as long as the entry lives: flat. */
const entryId = (service: string, key: string): string => flattened(`${service}/${key}`);

const checkWithPrint = (check: HealthCheckConfig) => ({ check, print: checkPrint(check) });

/** The part of a fingerprint that is the check's: the same for every backend without an override of its own. */
function checkPrint(c: HealthCheckConfig): string {
  return JSON.stringify([c.type, c.intervalMs, c.timeoutMs, c.rise, c.fall, c.path, c.expectStatus]);
}

/**
 * `checkPrint` ends in a bracket and an address holds no space: no two settings
 * give one fingerprint. Kept for as long as the entry lives: flat, as its id.
 */
const fingerprintOf = (print: string, target: { address: string; port: number }): string =>
  flattened(`${print} ${target.address} ${target.port}`);

export interface HealthCheckerOptions {
  /** probes for tests; the real ones by default */
  probe?: ProbeFn;
  /** where in its interval a backend's first probe runs, 0..1; random by default */
  jitter?: () => number;
}

/**
 * A backend starts `unchecked` and takes traffic, so a restart of the control
 * plane cuts nothing. Its first successful probe makes it `up`; it needs `fall`
 * failures in a row to go `down`, exactly as if it had been up, which is how
 * HAProxy starts its servers. A down backend needs `rise` successes in a row.
 */
export class HealthChecker implements HealthView {
  private readonly entries = new Map<string, Entry>();
  /** the service objects the entries follow, by name, with their entries' ids */
  private synced = new Map<string, Synced>();
  private readonly counts = { up: 0, down: 0, probes: 0, probeFailures: 0 };
  private readonly log: Logger;
  private readonly probe: ProbeFn;
  private readonly jitter: () => number;
  private running = false;

  constructor(
    private readonly store: ServiceStore,
    logger: Logger,
    options: HealthCheckerOptions = {},
  ) {
    // The daemon hands in a logger already bound to the component: binding it
    // again would write the key twice on every line.
    this.log = logger.bindings().component === 'health' ? logger : logger.child({ component: 'health' });
    this.probe = options.probe ?? probe;
    this.jitter = options.jitter ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.store.on('change', this.sync);
    this.sync(this.store.list());
    const checked = [...this.entries.values()].filter((e) => e.check.type !== 'none').length;
    this.log.info({ backends: this.entries.size, checked }, 'health checks started');
  }

  /**
   * Cancels every timer and probe in flight. Verdicts already handed to the store
   * stay: a backend that is down keeps no traffic until a checker says otherwise.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.store.off('change', this.sync);
    for (const e of this.entries.values()) this.halt(e);
    this.entries.clear();
    this.synced.clear();
  }

  backend(service: string, backendKey: string, at?: number): Readonly<BackendHealth> {
    // By place, a list of thousands asks without making an id for each.
    const placed = at === undefined ? undefined : this.synced.get(service)?.entries[at];
    const e = placed?.key === backendKey ? placed : this.entries.get(entryId(service, backendKey));
    return e === undefined ? UNCHECKED : e.health;
  }

  totals(): { up: number; down: number; probes: number; probeFailures: number } {
    return { ...this.counts };
  }

  /**
   * Follows the store: new backends get probes, removed ones stop, changed
   * settings restart. A service object seen last time is unchanged (the store
   * never changes one in place), so a change costs work for the services it
   * touches, not for every backend of every service.
   */
  private readonly sync = (services: readonly ServiceConfig[]): void => {
    const next = new Map<string, Synced>();
    for (const svc of services) {
      const prev = this.synced.get(svc.name);
      if (prev !== undefined && prev.svc === svc) {
        next.set(svc.name, prev);
        continue;
      }
      const ids: string[] = [];
      const entries: Entry[] = [];
      const serviceCheck = JSON.stringify(svc.healthCheck);
      // Backends without an override of their own (most) share the service's check and its print.
      let shared: { check: HealthCheckConfig; print: string } | undefined;
      // A backend object at the same place as in the previous service object, under
      // the same service check, has the same settings: nothing to look at.
      const same = prev !== undefined && prev.serviceCheck === serviceCheck ? prev : undefined;
      for (const [j, b] of svc.backends.entries()) {
        if (same !== undefined && same.svc.backends[j] === b) {
          ids.push(same.ids[j]);
          entries.push(same.entries[j]);
          continue;
        }
        const key = cachedBackendKey(b);
        const id = entryId(svc.name, key);
        ids.push(id);
        const e = this.entries.get(id);
        if (e !== undefined && e.backend === b && e.serviceCheck === serviceCheck) {
          entries.push(e);
          continue;
        }
        const own = b.healthCheck === undefined ? (shared ??= checkWithPrint(effectiveCheck(svc, b)))
          : checkWithPrint(effectiveCheck(svc, b));
        const { check } = own;
        const target = { address: cachedBackendAddress(b), port: check.port ?? b.port };
        const fingerprint = fingerprintOf(own.print, target);
        if (e === undefined) {
          entries.push(this.add(id, svc.name, key, check, target, fingerprint, b, serviceCheck));
          continue;
        }
        if (e.fingerprint !== fingerprint) this.reconfigure(e, check, target, fingerprint);
        e.backend = b;
        e.serviceCheck = serviceCheck;
        entries.push(e);
      }
      next.set(svc.name, { svc, ids, entries, serviceCheck });
    }
    // Probes of backends no longer there stop: those of services gone or changed.
    for (const [name, prev] of this.synced) {
      const now = next.get(name);
      if (now === prev || (now !== undefined && sameIds(now.ids, prev.ids))) continue;
      const kept = new Set(now?.ids);
      for (const id of prev.ids) {
        if (kept.has(id)) continue;
        const e = this.entries.get(id);
        if (e === undefined) continue;
        this.halt(e);
        this.entries.delete(id);
      }
    }
    this.synced = next;
  };

  private add(id: string, service: string, key: string, check: HealthCheckConfig, target: Entry['target'],
              fingerprint: string, backend: BackendConfig, serviceCheck: string): Entry {
    // A verdict the store still holds (this checker was stopped and started again)
    // stays in force; a backend added while running may wait for its first probe.
    const held = this.store.heldAs(service, key);
    // Every field from the start: one shape for thousands of entries.
    const e: Entry = {
      service, key, target, check, fingerprint,
      health: { status: held ?? 'unchecked', streak: 0, transitions: 0 },
      backend, serviceCheck, timer: undefined, cancel: undefined,
    };
    this.entries.set(id, e);
    if (check.type === 'none') this.release(e);
    else this.scheduleFirst(e);
    return e;
  }

  /**
   * New settings keep the verdict (a down backend stays down until the new check
   * passes `rise` times) but restart the count. Turning checks off lets traffic in.
   */
  private reconfigure(e: Entry, check: HealthCheckConfig, target: Entry['target'], fingerprint: string): void {
    this.halt(e);
    e.check = check;
    e.target = target;
    e.fingerprint = fingerprint;
    e.health.streak = 0;
    if (check.type === 'none') this.release(e);
    else this.scheduleFirst(e);
  }

  /** An unchecked backend takes traffic; if the store refuses now, try again an interval later. */
  private release(e: Entry): void {
    e.timer = undefined;
    if (e.health.status === 'down' || e.health.status === 'unknown') {
      if (!this.apply(e, true)) {
        this.schedule(e, e.check.intervalMs, () => this.release(e));
        return;
      }
      this.log.info({ service: e.service, backend: e.key, reason: 'health check type set to none' },
        'backend takes traffic again');
    }
    e.health.status = 'unchecked';
    delete e.health.lastError;
  }

  /**
   * Spread over the interval, so backends added together do not probe in
   * lock-step; one waiting for its first probe to take traffic is probed now.
   */
  private scheduleFirst(e: Entry): void {
    if (e.check.type === 'none') return;
    this.schedule(e, e.health.status === 'unknown' ? 0 : Math.floor(this.jitter() * e.check.intervalMs));
  }

  private schedule(e: Entry, delayMs: number, then: () => void = () => this.run(e)): void {
    e.timer = setTimeout(then, delayMs);
    // Probing alone must not keep the process alive; stop() clears it anyway.
    e.timer.unref();
  }

  /** The next probe is due an interval after this one started, and never before it ends. */
  private run(e: Entry): void {
    e.timer = undefined;
    const started = Date.now();
    this.counts.probes++;
    let settled = false;
    const done = (error: string | undefined): void => {
      if (settled) return;
      settled = true;
      e.cancel = undefined;
      this.verdict(e, error);
      if (this.running && this.entries.get(entryId(e.service, e.key)) === e && e.timer === undefined) {
        this.schedule(e, Math.max(0, started + e.check.intervalMs - Date.now()));
      }
    };
    let cancel: (() => void) | undefined;
    try {
      cancel = this.probe(e.target, e.check, done);
    } catch (err) {
      // Node refuses some requests outright (a path with characters beyond Latin-1):
      // a failed probe, not a crash in a timer callback.
      done(`probe could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!settled) e.cancel = cancel;
  }

  private verdict(e: Entry, error: string | undefined): void {
    const h = e.health;
    h.lastProbeAt = new Date().toISOString();
    if (h.status === 'unknown') {
      // The first probe of a backend added while running decides alone.
      if (error === undefined) this.transition(e, 'up', 'its first probe passed');
      else {
        this.counts.probeFailures++;
        h.lastError = error;
        this.transition(e, 'down', `its first probe failed: ${error}`);
      }
      return;
    }
    if (error === undefined) {
      delete h.lastError;
      if (h.status !== 'down') {
        // unchecked -> up changes nothing in the data plane: it already took traffic.
        h.status = 'up';
        h.streak = 0;
        return;
      }
      h.streak++;
      if (h.streak >= e.check.rise) this.transition(e, 'up', `${h.streak} successful probes in a row`);
      return;
    }
    this.counts.probeFailures++;
    h.lastError = error;
    this.log.debug({ service: e.service, backend: e.key, error }, 'probe failed');
    if (h.status === 'down') {
      h.streak = 0;
      return;
    }
    h.streak++;
    if (h.streak >= e.check.fall) this.transition(e, 'down', `${h.streak} failed probes in a row, last: ${error}`);
  }

  /** Changes the status only once the store has taken it; otherwise the next probe tries again. */
  private transition(e: Entry, to: 'up' | 'down', reason: string): void {
    if (!this.apply(e, to === 'up')) return;
    const from = e.health.status;
    e.health.status = to;
    e.health.streak = 0;
    e.health.transitions++;
    this.counts[to]++;
    const fields = { service: e.service, backend: e.key, from, reason, check: e.check.type };
    if (to === 'down') this.log.warn(fields, 'backend down');
    else this.log.info(fields, 'backend up');
  }

  private apply(e: Entry, healthy: boolean): boolean {
    try {
      this.store.setHealth(e.service, e.key, healthy);
      return true;
    } catch (err) {
      this.log.error({ err, service: e.service, backend: e.key, healthy },
        'could not apply health verdict; retrying after the next probe');
      return false;
    }
  }

  private halt(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    e.cancel?.();
    e.cancel = undefined;
  }
}

const sameIds = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((id, i) => id === b[i]);
