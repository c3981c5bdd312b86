// What differs between two configs: the services (added, removed, changed by
// name, and per changed service its fields and backends by address:port), and
// the fields outside services, which only a restart applies. Used at start (the
// config file against the state file), by `sluice check` and by a reload.
import { isDeepStrictEqual } from 'node:util';
import { backendKey } from '../control/backend-key';
import { SluiceError } from '../errors';
import { loadConfigFile } from './load';
import type { BackendConfig, ServiceConfig, SluiceConfig } from './schema';

export interface BackendsDiff {
  added: string[];
  removed: string[];
  /** same address:port, another weight, state, MAC or health check */
  changed: string[];
}

export interface ChangedService {
  name: string;
  /** the service's own fields that differ (backends apart), e.g. ["vip", "healthCheck"] */
  fields: string[];
  backends: BackendsDiff;
}

export interface ServicesDiff {
  added: string[];
  removed: string[];
  changed: ChangedService[];
  unchanged: number;
}

/** `before` -> `after`, services matched by name, backends by address:port; in `after`'s order, removed in `before`'s. */
export function diffServices(before: readonly ServiceConfig[], after: readonly ServiceConfig[]): ServicesDiff {
  const old = new Map(before.map((s) => [s.name, s]));
  const names = new Set(after.map((s) => s.name));
  const out: ServicesDiff = { added: [], removed: before.filter((s) => !names.has(s.name)).map((s) => s.name), changed: [], unchanged: 0 };
  for (const s of after) {
    const prev = old.get(s.name);
    if (prev === undefined) out.added.push(s.name);
    else if (prev === s || isDeepStrictEqual(prev, s)) out.unchanged++;
    else out.changed.push(changedService(prev, s));
  }
  return out;
}

function changedService(prev: ServiceConfig, next: ServiceConfig): ChangedService {
  const keys = [...new Set([...Object.keys(prev), ...Object.keys(next)])].filter((k) => k !== 'backends');
  const fields = keys.filter((k) => !isDeepStrictEqual((prev as unknown as Record<string, unknown>)[k],
    (next as unknown as Record<string, unknown>)[k]));
  return { name: next.name, fields, backends: diffBackends(prev.backends, next.backends) };
}

export function diffBackends(before: readonly BackendConfig[], after: readonly BackendConfig[]): BackendsDiff {
  const old = new Map(before.map((b) => [backendKey(b), b]));
  const keys = new Set(after.map((b) => backendKey(b)));
  const out: BackendsDiff = { added: [], removed: [...old.keys()].filter((k) => !keys.has(k)), changed: [] };
  for (const b of after) {
    const key = backendKey(b);
    const prev = old.get(key);
    if (prev === undefined) out.added.push(key);
    else if (!isDeepStrictEqual(prev, b)) out.changed.push(key);
  }
  return out;
}

export function isEmptyDiff(d: ServicesDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}

/** "2 added (a, b), 1 removed (c), 1 changed (web), 3 unchanged" for a log line or the CLI. */
export function describeDiff(d: ServicesDiff): string {
  const part = (n: string[], what: string) => (n.length === 0 ? [] : [`${n.length} ${what} (${n.join(', ')})`]);
  const parts = [...part(d.added, 'added'), ...part(d.removed, 'removed'), ...part(d.changed.map((c) => c.name), 'changed')];
  return parts.length === 0 ? `no change (${d.unchanged} unchanged)` : `${parts.join(', ')}, ${d.unchanged} unchanged`;
}

/** Most differing paths named; the rest are counted. */
const MAX_PATHS = 20;

/**
 * The fields outside `services` that differ, as paths ("flowTable.entriesPerLcore",
 * "ports[0].mtu", "api"); a list of another length is named as a whole. None of
 * them can change while the data plane runs: the EAL, ports, workers, tables and
 * the memory budget are allocated at start, the API's socket and token are the
 * daemon's, and the store checks every change against these fields.
 */
export function restartFields(running: SluiceConfig, next: SluiceConfig): string[] {
  const out: string[] = [];
  const visit = (a: unknown, b: unknown, path: string): void => {
    if (out.length > MAX_PATHS || isDeepStrictEqual(a, b)) return;
    const object = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (object(a) && object(b) && path !== '') {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) visit(a[k], b[k], `${path}.${k}`);
    } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => visit(x, b[i], `${path}[${i}]`));
    } else {
      out.push(path);
    }
  };
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const k of keys) {
    if (k === 'services') continue;
    visit((running as unknown as Record<string, unknown>)[k], (next as unknown as Record<string, unknown>)[k], k);
  }
  return out.length > MAX_PATHS ? [...out.slice(0, MAX_PATHS), `(and ${out.length - MAX_PATHS} more)`] : out;
}

export interface ReloadPlan {
  /** the file's services, each one that did not change as the running object (not checked again, its tables kept) */
  services: ServiceConfig[];
  diff: ServicesDiff;
}

/**
 * What a reload of `file` would do to the running services, or why it cannot:
 * SLUICE_CONFIG_READ or SLUICE_CONFIG_INVALID (or SLUICE_LIMIT_EXCEEDED) for
 * the file, SLUICE_RELOAD_REFUSED naming the fields that changed outside
 * `services`. Changes nothing.
 */
export function planReload(running: SluiceConfig, current: readonly ServiceConfig[], file: string): ReloadPlan {
  const next = loadConfigFile(file);
  const fields = restartFields(running, next);
  if (fields.length > 0) {
    throw new SluiceError('SLUICE_RELOAD_REFUSED',
      `${file}: ${fields.join(', ')} changed, which only a restart applies; nothing was changed ` +
      '(a reload applies services only)', fields.map((path) => ({ path, reason: 'changes only with a restart' })));
  }
  const byName = new Map(current.map((s) => [s.name, s]));
  const services = next.services.map((s) => {
    const cur = byName.get(s.name);
    return cur !== undefined && isDeepStrictEqual(cur, s) ? cur : s;
  });
  return { services, diff: diffServices(current, services) };
}
