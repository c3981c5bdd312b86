// Config joined with what only the running system knows: health verdicts and
// live counters. A service's counters are found by its name (the data plane
// lists services in its own order); a backend's at its place in the service
// when the backend there is the same one (the data plane lists a service's
// backends in the config's order), else by normalized backend key.
import type { BackendConfig, ServiceConfig } from '../config';
import { backendKey, writtenBackendKey } from '../control/backend-key';
import { flattened } from '../control/flat-text';
import { cachedBackendKey, cachedBackendNames } from '../control/service-keys';
import { NO_DRAIN_WATCH, type DrainView } from '../control/drain-watch';
import type { HealthView } from '../control/health-view';
import { NO_RATES, type RatesView } from '../control/rates';
import type { DataplaneStats, ServiceStats } from '../native/addon';
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../native/counters';
import type { Static } from '@sinclair/typebox';
import { BackendView, ServiceView } from './schemas/services';

export type BackendBody = Static<typeof BackendView>;
export type ServiceBody = Static<typeof ServiceView>;

type BackendStats = ServiceStats['backends'][number];

/**
 * A service's live backend counters, found for a backend of its config. The
 * addon lists a service's backends in the config's order, so the one at the
 * backend's place is tried first and taken when its address and port are the
 * backend's; only a backend found elsewhere makes the index key them all.
 */
export interface BackendStatsIndex {
  /** `at`: the backend's place in its service's backends, when known */
  get(b: BackendConfig, at?: number): BackendStats | undefined;
}

/** The key backendKey gives, taking the address as written: the addon writes them normalized. */
const writtenKey = (x: BackendStats): string => writtenBackendKey(x);

/**
 * Keyed, when a backend is not at its place, by the addresses as the addon
 * writes them, which are normalized, so no address is parsed; only a key not
 * found that way (an IPv6 address the addon spells otherwise) makes the index
 * parse every address, once.
 */
export function backendStatsIndex(svcStats: ServiceStats | undefined): BackendStatsIndex {
  return new StatsByPlace(svcStats?.backends ?? []);
}

/** A class, not a closure per service: one call target for every service's lookups, so V8 keeps them optimised. */
class StatsByPlace implements BackendStatsIndex {
  private written: Map<string, BackendStats> | undefined;
  private normalized: Map<string, BackendStats> | undefined;

  constructor(private readonly list: readonly BackendStats[]) {}

  get(b: BackendConfig, at?: number): BackendStats | undefined {
    // The names, not `b`: config objects differ in shape by the optional fields they have.
    const names = cachedBackendNames(b);
    const x = at === undefined ? undefined : this.list[at];
    if (x !== undefined && x.port === names.port && x.address === names.address) return x;
    const key = names.key;
    this.written ??= new Map(this.list.map((y) => [writtenKey(y), y]));
    return this.written.get(key) ?? (this.normalized ??= new Map(this.list.map((y) => [backendKey(y), y]))).get(key);
  }
}

export function backendView(
  service: string,
  b: BackendConfig,
  health: HealthView,
  stats: BackendStatsIndex,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
  at?: number,
): BackendBody {
  const key = cachedBackendKey(b);
  const s = stats.get(b, at);
  const r = rates.backend(service, key, at);
  const emptySince = drains.emptySince(service, key);
  return {
    ...b,
    key,
    health: { ...health.backend(service, key, at) },
    ...(s === undefined ? {} : { stats: countsOf(s, BACKEND_COUNTERS) }),
    ...(r === undefined ? {} : { rates: r }),
    ...(emptySince === undefined ? {} : { emptySince }),
  };
}

/**
 * The index backendView needs for one backend alone: its counters found by
 * comparing addresses as the addon writes them (normalized) before normalizing
 * any, so a view of one backend of thousands costs a scan, not a parse of each.
 */
export function backendStatsFor(svcStats: ServiceStats | undefined, b: BackendConfig): BackendStatsIndex {
  const key = cachedBackendKey(b);
  const found = svcStats?.backends.find((x) => x.port === b.port && writtenKey(x) === key) ??
    svcStats?.backends.find((x) => x.port === b.port && backendKey(x) === key);
  return { get: (x) => (cachedBackendKey(x) === key ? found : undefined) };
}

export function backendViews(
  service: string,
  backends: readonly BackendConfig[],
  health: HealthView,
  svcStats: ServiceStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): BackendBody[] {
  const index = backendStatsIndex(svcStats);
  return backends.map((b, j) => backendView(service, b, health, index, drains, rates, j));
}

/** Every service's view, the live counters matched by name through one map rather than a scan per service. */
export function serviceViews(
  services: readonly ServiceConfig[],
  health: HealthView,
  stats: DataplaneStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): ServiceBody[] {
  const byName = new Map((stats?.services ?? []).map((x) => [x.name, x]));
  return services.map((s) => serviceViewOf(s, health, byName.get(s.name), drains, rates));
}

function serviceViewOf(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined, drains: DrainView,
                       rates: RatesView): ServiceBody {
  const r = rates.service(s.name);
  return {
    ...s,
    backends: backendViews(s.name, s.backends, health, live, drains, rates),
    ...(live === undefined ? {} : { stats: countsOf(live, SERVICE_COUNTERS) }),
    ...(r === undefined ? {} : { rates: r }),
  };
}

// The same views as JSON text, for the big reads (GET of a service and of the
// list): each backend's and service's configured fields are written once per
// (never changed) object and kept, as the state file keeps its texts, and the
// live parts (health, counters, rates) are written straight to text, without a
// view object per backend for the response schema's serializer to walk. A
// route sends the text as application/json: Fastify sends a string of a JSON
// type as it is. The text holds the fields the response schema has, as its
// serializer would write them (test/api/views-json.test.ts compares the two).

type Schema = { properties?: Record<string, Schema>; required?: string[]; items?: Schema; anyOf?: Schema[] };

/** The order the schema's serializer writes an object's fields in: the required ones, then the others, each in the schema's order. */
function fieldOrder(schema: Schema): string[] {
  const keys = Object.keys(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  return [...keys.filter((k) => required.has(k)), ...keys.filter((k) => !required.has(k))];
}

/** A field as fieldsJson writes it: its name already as JSON, and its schema for nested objects. */
interface Field {
  key: string;
  /** '"key":' */
  name: string;
  schema: Schema | undefined;
}

function fields(keys: readonly string[], props: Record<string, Schema>): Field[] {
  return keys.map((key) => ({ key, name: `${JSON.stringify(key)}:`, schema: props[key] }));
}

/**
 * The JSON of `value`'s `fields` (those it has), in that order, without braces;
 * nested objects in their schemas' order (the CLI shows an object's fields in
 * the order the API gives them). Fields the schema does not have are left out,
 * as its serializer leaves them. Names are written once per schema and
 * strings and numbers directly: a new service of thousands of backends writes
 * each backend's fields once.
 */
function fieldsJson(value: Record<string, unknown>, list: readonly Field[]): string {
  let text = '';
  for (const f of list) {
    const v = value[f.key];
    if (v === undefined) continue;
    const json = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? num(v)
      : JSON.stringify(inSchemaOrder(v, f.schema));
    text += text === '' ? f.name + json : `,${f.name}${json}`;
  }
  return text;
}

function inSchemaOrder(value: unknown, schema: Schema | undefined): unknown {
  if (schema === undefined || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return schema.items === undefined ? value : value.map((v) => inSchemaOrder(v, schema.items));
  const alt = schema.properties !== undefined ? schema
    : schema.anyOf?.find((x) => x.properties !== undefined && Object.keys(value).every((k) => k in x.properties!));
  if (alt?.properties === undefined) return value;
  const out: Record<string, unknown> = {};
  for (const k of fieldOrder(alt)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = inSchemaOrder(v, alt.properties[k]);
  }
  return out;
}

/**
 * A view's fields in its serializer's order, cut where the live parts go: the
 * configured fields before `at` and those after it (up to the first live one
 * that follows them all).
 */
function split(schema: Schema, at: string, live: readonly string[]): { before: Field[]; after: Field[] } {
  const order = fieldOrder(schema).filter((k) => k === at || !live.includes(k));
  const i = order.indexOf(at);
  const props = schema.properties ?? {};
  return { before: fields(order.slice(0, i), props), after: fields(order.slice(i + 1), props) };
}
// Required first: address, port, weight, state, key, health; then mac, healthCheck, stats, rates, emptySince.
const BACKEND_ORDER = split(BackendView as Schema, 'health', ['key', 'stats', 'rates', 'emptySince']);
const SERVICE_ORDER = split(ServiceView as Schema, 'backends', ['stats', 'rates']);

interface Cut {
  /** '{<fields before the live part>' */
  head: string;
  /** ',<fields after it>' or '' */
  tail: string;
}

function cut(value: object, order: { before: Field[]; after: Field[] }, headEnd: string): Cut {
  const before = fieldsJson(value as Record<string, unknown>, order.before);
  const after = fieldsJson(value as Record<string, unknown>, order.after);
  return { head: flattened(`{${before}${before === '' ? '' : ','}${headEnd}`), tail: after === '' ? '' : flattened(`,${after}`) };
}

const backendCuts = new WeakMap<BackendConfig, Cut>();
const serviceCuts = new WeakMap<ServiceConfig, Cut>();

/** The parts of a backend's view its (never changed) object decides: '{…,"key":"…","health":' and ',<optional fields>'. */
function backendCut(b: BackendConfig): Cut {
  let c = backendCuts.get(b);
  if (c === undefined) {
    c = cut(b, BACKEND_ORDER, `"key":${JSON.stringify(cachedBackendKey(b))},"health":`);
    backendCuts.set(b, c);
  }
  return c;
}

/** The parts of a service's view its object decides: '{…,"backends":[' and ',<fields after backends>'. */
function serviceCut(s: ServiceConfig): Cut {
  let c = serviceCuts.get(s);
  if (c === undefined) {
    c = cut(s, SERVICE_ORDER, '"backends":[');
    serviceCuts.set(s, c);
  }
  return c;
}

const UNCHECKED = '{"status":"unchecked","streak":0,"transitions":0}';

function healthJson(h: ReturnType<HealthView['backend']>): string {
  if (h.status === 'unchecked' && h.lastProbeAt === undefined && h.lastError === undefined && h.streak === 0 &&
      h.transitions === 0) return UNCHECKED;
  // Required fields first, as the serializer writes them.
  let text = `{"status":${JSON.stringify(h.status)},"streak":${num(h.streak)},"transitions":${num(h.transitions)}`;
  if (h.lastProbeAt !== undefined) text += `,"lastProbeAt":${JSON.stringify(h.lastProbeAt)}`;
  if (h.lastError !== undefined) text += `,"lastError":${JSON.stringify(h.lastError)}`;
  return `${text}}`;
}

/** A number as JSON.stringify writes it (a counter or a rate is always finite). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** '"name":' for each counter, the first without its comma. */
function counterNames(entries: readonly { readonly name: string }[]): { name: string; text: string }[] {
  return entries.map((e, i) => ({ name: e.name, text: `${i === 0 ? '' : ','}${JSON.stringify(e.name)}:` }));
}
const BACKEND_NAMES = counterNames(BACKEND_COUNTERS);
const SERVICE_NAMES = counterNames(SERVICE_COUNTERS);

function countsJson(from: object, names: readonly { name: string; text: string }[]): string {
  const counts = from as Record<string, number>;
  let text = '{';
  for (const n of names) text += n.text + num(counts[n.name]);
  return `${text}}`;
}

function ratesJson(r: { packetsPerSec: number; bytesPerSec: number; newFlowsPerSec: number }): string {
  return `{"packetsPerSec":${num(r.packetsPerSec)},"bytesPerSec":${num(r.bytesPerSec)},"newFlowsPerSec":${num(r.newFlowsPerSec)}}`;
}

// A response's pieces are gathered in order and handed out as texts of about
// CHUNK_CHARS each (JsonPieces): a whole text of megabytes (a list of 1,024
// services and 5,119 backends is about 2 MB) takes fresh memory to join and
// again to encode, and on some machines first-touching fresh memory costs more
// than writing the text; chunks of this size reuse memory, and a route can
// send them a turn of the event loop apart (json-stream.ts).

/** A response's chunks are about this many characters (64 KiB). */
export const CHUNK_CHARS = 64 * 1024;

class JsonPieces {
  private pieces: string[] = [];
  /** characters in `pieces` */
  chars = 0;

  add(text: string): void {
    this.pieces.push(text);
    this.chars += text.length;
  }

  full(): boolean {
    return this.chars >= CHUNK_CHARS;
  }

  /** The pieces so far as one text; empty afterwards. */
  take(): string {
    const text = this.pieces.join('');
    this.pieces = [];
    this.chars = 0;
    return text;
  }
}

/** `at`: the backend's place in its service's backends, when known (the live parts are found faster). */
function backendJson(out: JsonPieces, service: string, b: BackendConfig, health: HealthView, stats: BackendStatsIndex,
                     drains: DrainView, rates: RatesView, at?: number): void {
  const key = cachedBackendKey(b);
  const c = backendCut(b);
  out.add(c.head);
  out.add(healthJson(health.backend(service, key, at)));
  out.add(c.tail);
  const s = stats.get(b, at);
  if (s !== undefined) out.add(`,"stats":${countsJson(s, BACKEND_NAMES)}`);
  const r = rates.backend(service, key, at);
  if (r !== undefined) out.add(`,"rates":${ratesJson(r)}`);
  const emptySince = drains.emptySince(service, key);
  if (emptySince !== undefined) out.add(`,"emptySince":${JSON.stringify(emptySince)}`);
  out.add('}');
}

/** Backends' views into `out`, comma-separated, a chunk handed out whenever `out` is full. */
function* backendsJson(out: JsonPieces, service: string, backends: readonly BackendConfig[], health: HealthView,
                       stats: BackendStatsIndex, drains: DrainView, rates: RatesView): Generator<string, void, undefined> {
  for (let j = 0; j < backends.length; j++) {
    if (j > 0) out.add(',');
    backendJson(out, service, backends[j], health, stats, drains, rates, j);
    if (out.full()) yield out.take();
  }
}

/** A service's view into `out`, a chunk handed out whenever `out` is full. */
function* serviceJson(out: JsonPieces, s: ServiceConfig, health: HealthView, live: ServiceStats | undefined,
                      drains: DrainView, rates: RatesView): Generator<string, void, undefined> {
  const cut = serviceCut(s);
  out.add(cut.head);
  yield* backendsJson(out, s.name, s.backends, health, backendStatsIndex(live), drains, rates);
  out.add(']');
  out.add(cut.tail);
  if (live !== undefined) out.add(`,"stats":${countsJson(live, SERVICE_NAMES)}`);
  const r = rates.service(s.name);
  if (r !== undefined) out.add(`,"rates":${ratesJson(r)}`);
  out.add('}');
}

/**
 * One service's view as JSON text in chunks of about CHUNK_CHARS (see above);
 * `live` is its counters (liveServiceStats), absent while the data plane is
 * not running. The chunks joined are serviceViewJson's text.
 */
export function* serviceViewChunks(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined,
                                   drains: DrainView = NO_DRAIN_WATCH, rates: RatesView = NO_RATES): Generator<string, void, undefined> {
  const out = new JsonPieces();
  yield* serviceJson(out, s, health, live, drains, rates);
  yield out.take();
}

/**
 * One backend's view (backendView) as JSON text, from the same kept texts as a
 * list's: a route that answers with one backend sends this rather than have
 * the schema serializer write it, whose first use in a process compiled the
 * view's schema for tens of milliseconds, on the first PATCH's answer.
 */
export function backendViewJson(service: string, b: BackendConfig, health: HealthView, stats: BackendStatsIndex,
                                drains: DrainView = NO_DRAIN_WATCH, rates: RatesView = NO_RATES): string {
  const out = new JsonPieces();
  backendJson(out, service, b, health, stats, drains, rates);
  return out.take();
}

/** backendViews as JSON text in chunks of about CHUNK_CHARS (see above). */
export function* backendViewsChunks(service: string, backends: readonly BackendConfig[], health: HealthView,
                                    live: ServiceStats | undefined, drains: DrainView = NO_DRAIN_WATCH,
                                    rates: RatesView = NO_RATES): Generator<string, void, undefined> {
  const out = new JsonPieces();
  out.add('[');
  yield* backendsJson(out, service, backends, health, backendStatsIndex(live), drains, rates);
  out.add(']');
  yield out.take();
}

/** serviceViews as JSON text in chunks of about CHUNK_CHARS (see above). */
export function* serviceViewsChunks(
  services: readonly ServiceConfig[],
  health: HealthView,
  stats: DataplaneStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): Generator<string, void, undefined> {
  const byName = new Map((stats?.services ?? []).map((x) => [x.name, x]));
  const out = new JsonPieces();
  out.add('[');
  for (let i = 0; i < services.length; i++) {
    if (i > 0) out.add(',');
    yield* serviceJson(out, services[i], health, byName.get(services[i].name), drains, rates);
    if (out.full()) yield out.take();
  }
  out.add(']');
  yield out.take();
}

/** One service's view as one JSON text (serviceViewChunks joined). */
export function serviceViewJson(s: ServiceConfig, health: HealthView, live: ServiceStats | undefined,
                                drains: DrainView = NO_DRAIN_WATCH, rates: RatesView = NO_RATES): string {
  return [...serviceViewChunks(s, health, live, drains, rates)].join('');
}

/** serviceViews as one JSON text (serviceViewsChunks joined). */
export function serviceViewsJson(
  services: readonly ServiceConfig[],
  health: HealthView,
  stats: DataplaneStats | undefined,
  drains: DrainView = NO_DRAIN_WATCH,
  rates: RatesView = NO_RATES,
): string {
  return [...serviceViewsChunks(services, health, stats, drains, rates)].join('');
}
