// The state file's journal: what each group of changes altered, appended to
// `<stateFile>.journal` with one fdatasync, so a change of one backend of
// thousands writes that backend, not the whole state. The journal names the
// state file it applies to (that file's savedAt); a start reads the state file
// and replays the journal on top when it names that file. The file is lines:
//
//   {"sluiceJournal":1,"base":"<savedAt of the state file>"}
//   [op, op, ...]            one line per group, written whole or torn
//
// ops: ["s", service] (put a whole service: replaced where it stands, or
// appended), ["d", name] (delete a service), ["b", name, backend] (put a
// backend: replaced where it stands by its key, or appended), ["x", name, key]
// (delete a backend by its key). A last line without its newline or that does
// not parse is a group a crash cut mid-append: it was never acknowledged, and
// is ignored.
import type { BackendConfig, ServiceConfig } from '../config';
import { SluiceError } from '../errors';
import { backendKey } from './backend-key';
import { cachedBackendKey } from './service-keys';

export const JOURNAL_VERSION = 1;

export type JournalOp =
  | ['s', ServiceConfig]
  | ['d', string]
  | ['b', string, BackendConfig]
  | ['x', string, string];

export function journalHeader(base: string): string {
  return `${JSON.stringify({ sluiceJournal: JOURNAL_VERSION, base })}\n`;
}

const shells = new WeakMap<ServiceConfig, string>();

/** A service's fields but its backends, as text: two services with the same shell differ in backends only. */
function shellOf(s: ServiceConfig): string {
  let text = shells.get(s);
  if (text === undefined) {
    text = JSON.stringify({ ...s, backends: undefined });
    shells.set(s, text);
  }
  return text;
}

/**
 * The ops that turn `from` into `to`, or undefined when replaying ops would not
 * give `to` in its order (services or backends reordered, or new ones placed
 * before old ones): the caller then writes the whole state file instead.
 * Objects kept from `from` (the store keeps unchanged services and backends as
 * the same objects) cost nothing.
 */
export function journalOps(from: readonly ServiceConfig[], to: readonly ServiceConfig[]): JournalOp[] | undefined {
  const ops: JournalOp[] = [];
  const fromAt = new Map<string, number>();
  for (let i = 0; i < from.length; i++) fromAt.set(from[i].name, i);
  const kept = new Set<string>();
  const puts: JournalOp[] = [];
  let last = -1;
  let added = false;
  for (let i = 0; i < to.length; i++) {
    const n = to[i];
    const at = fromAt.get(n.name);
    if (at === undefined) {
      added = true;
      puts.push(['s', n]);
      continue;
    }
    // Replaying appends new services and keeps old ones where they stand.
    if (added || at < last) return undefined;
    last = at;
    kept.add(n.name);
    const o = from[at];
    if (o === n) continue;
    if (shellOf(o) !== shellOf(n)) {
      puts.push(['s', n]);
      continue;
    }
    if (o.backends === n.backends) continue;
    const b = backendOps(n.name, o.backends, n.backends);
    if (b === undefined) puts.push(['s', n]);
    else puts.push(...b);
  }
  for (const o of from) if (!kept.has(o.name)) ops.push(['d', o.name]);
  ops.push(...puts);
  return ops;
}

function backendOps(name: string, from: readonly BackendConfig[], to: readonly BackendConfig[]): JournalOp[] | undefined {
  // The usual change: backends in the same places, one or a few of them new objects.
  if (from.length === to.length) {
    const ops: JournalOp[] = [];
    let same = true;
    for (let j = 0; j < to.length && same; j++) {
      if (from[j] === to[j]) continue;
      if (cachedBackendKey(from[j]) !== cachedBackendKey(to[j])) same = false;
      else ops.push(['b', name, to[j]]);
    }
    if (same) return ops;
  }
  const fromAt = new Map<string, number>();
  for (let j = 0; j < from.length; j++) fromAt.set(cachedBackendKey(from[j]), j);
  const kept = new Set<string>();
  const ops: JournalOp[] = [];
  const puts: JournalOp[] = [];
  let last = -1;
  let added = false;
  for (const b of to) {
    const key = cachedBackendKey(b);
    const at = fromAt.get(key);
    if (at === undefined) {
      added = true;
      puts.push(['b', name, b]);
      continue;
    }
    if (added || at < last) return undefined;
    last = at;
    kept.add(key);
    if (from[at] !== b) puts.push(['b', name, b]);
  }
  for (const b of from) {
    const key = cachedBackendKey(b);
    if (!kept.has(key)) ops.push(['x', name, key]);
  }
  ops.push(...puts);
  return ops;
}

export interface ReplayResult {
  services: unknown[];
  /** groups replayed */
  groups: number;
  /** a torn last line was ignored */
  torn: boolean;
}

/**
 * The journal's text replayed on `services` (as the state file holds them),
 * or undefined when the journal does not name `base` (an orphan: left by a
 * crash between a compaction's rename and the journal's removal, or a state
 * file replaced by hand). Throws SLUICE_STATE_READ on a journal that breaks
 * its own rules anywhere but its last line.
 */
export function replayJournal(file: string, text: string, base: string, services: unknown[]): ReplayResult | undefined {
  const lines = text.split('\n');
  // A complete journal ends with a newline: the last piece is '' or torn.
  const tail = lines.pop() ?? '';
  let torn = tail !== '';
  let header: { sluiceJournal?: unknown; base?: unknown } | undefined;
  try {
    header = lines.length > 0 ? JSON.parse(lines[0]) : undefined;
  } catch {
    header = undefined;
  }
  if (header === undefined || header === null || header.sluiceJournal !== JOURNAL_VERSION) {
    // A header cut mid-write: the journal had no group yet.
    if (lines.length <= 1) return undefined;
    throw new SluiceError('SLUICE_STATE_READ', `${file}: not a version ${JOURNAL_VERSION} Sluice state journal`);
  }
  if (header.base !== base) return undefined;
  const out = [...services] as Raw[];
  const owned = new WeakMap<Raw, Map<string, number>>();
  let groups = 0;
  for (let i = 1; i < lines.length; i++) {
    let ops: unknown;
    try {
      ops = JSON.parse(lines[i]);
    } catch {
      ops = undefined;
    }
    if (!Array.isArray(ops)) {
      if (i === lines.length - 1 && !torn) {
        // The last line, newline and all, but not whole: a crash between two writes of one append.
        torn = true;
        break;
      }
      throw new SluiceError('SLUICE_STATE_READ', `${file}: line ${i + 1} is not a group of changes`);
    }
    try {
      applyOps(out, ops, owned);
    } catch (err) {
      throw new SluiceError('SLUICE_STATE_READ', `${file}: line ${i + 1}: ${(err as Error).message}`);
    }
    groups++;
  }
  return { services: out, groups, torn };
}

type Raw = Record<string, unknown>;
type RawBackend = { address: string; port: number };

/**
 * Applies one group's ops to `services` in place. Each service a backend op
 * touches is copied once per replay, its backends indexed by key once, so a
 * journal of many changes to one service of thousands of backends replays in
 * time proportional to the ops, not to ops times backends.
 */
function applyOps(services: Raw[], ops: unknown[], owned: WeakMap<Raw, Map<string, number>>): void {
  const find = (name: unknown): number => services.findIndex((s) => s?.name === name);
  for (const op of ops) {
    if (!Array.isArray(op)) throw new Error('an op is not a list');
    const [kind, a, b] = op as [unknown, unknown, unknown];
    if (kind === 's') {
      const s = a as Raw;
      if (s === null || typeof s !== 'object') throw new Error('a service that is not an object');
      const i = find(s.name);
      if (i < 0) services.push(s);
      else services[i] = s;
    } else if (kind === 'd') {
      const i = find(a);
      if (i < 0) throw new Error(`no service "${String(a)}" to delete`);
      services.splice(i, 1);
    } else if (kind === 'b' || kind === 'x') {
      const i = find(a);
      if (i < 0) throw new Error(`no service "${String(a)}"`);
      let s = services[i];
      let index = owned.get(s);
      if (index === undefined) {
        if (!Array.isArray(s.backends)) throw new Error(`service "${String(a)}" has no backends list`);
        s = { ...s, backends: [...(s.backends as RawBackend[])] };
        index = new Map((s.backends as RawBackend[]).map((x, j) => [backendKey(x), j]));
        owned.set(s, index);
        services[i] = s;
      }
      const backends = s.backends as RawBackend[];
      const key = kind === 'b' ? backendKey(b as RawBackend) : String(b);
      const j = index.get(key);
      if (kind === 'b') {
        if (j === undefined) {
          index.set(key, backends.length);
          backends.push(b as RawBackend);
        } else {
          backends[j] = b as RawBackend;
        }
      } else {
        if (j === undefined) throw new Error(`service "${String(a)}" has no backend ${key} to delete`);
        backends.splice(j, 1);
        index.delete(key);
        for (let k = j; k < backends.length; k++) index.set(backendKey(backends[k]), k);
      }
    } else {
      throw new Error(`unknown op ${JSON.stringify(kind)}`);
    }
  }
}
