// From file or parsed value to a SluiceConfig the rest of the control plane can
// trust: schema (with defaults), then cross-field rules, each failure with its path.
import { readFileSync } from 'node:fs';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { configErrors, SluiceError, type ConfigProblem } from '../errors';
import { Type } from '@sinclair/typebox';
import { ConfigSchema, ServiceSchema, type BackendConfig, type ServiceConfig, type SluiceConfig } from './schema';
import { memoryProblems } from './memory';
import { applyDefaults } from './schema-defaults';
import { pointerToPath, protoKeyProblems, schemaProblems } from './schema-errors';
import { backendProblems, semanticProblems, type KnownValid } from './semantics';

/** What checkConfig found, and how far its checks could go. */
export interface ConfigCheck {
  /** the config with its defaults, when it holds every rule (the memory budget is not checked) */
  config?: SluiceConfig;
  /** schema problems first, then the rules' problems, each path in the file's own numbering */
  problems: ConfigProblem[];
  /** how many of `problems` are the schema's */
  schemaCount: number;
  /** false when the schema problems left too little to check the rules between fields on (see wellFormed) */
  rulesChecked: boolean;
}

/**
 * Every problem of `raw` in one pass: the schema's, and the rules' between
 * fields run on what is well-formed (wellFormed below), so a file with both
 * kinds of mistakes is fixed in one round. A field that failed the schema gets
 * no second, rule-made problem. The input is not modified.
 */
export function checkConfig(raw: unknown): ConfigCheck {
  const hidden = protoKeyProblems(raw);
  if (hidden.length > 0) return { problems: hidden, schemaCount: hidden.length, rulesChecked: false };
  const value = applyDefaults(ConfigSchema, Value.Clone(raw));
  const shapeProblems = schemaProblems(ConfigSchema, value);
  if (shapeProblems.length === 0) {
    const cfg = value as SluiceConfig;
    const problems = semanticProblems(cfg);
    return { config: problems.length === 0 ? cfg : undefined, problems, schemaCount: 0, rulesChecked: true };
  }
  const formed = shapeProblems.length > MAX_PROBLEMS_TO_REPAIR ? undefined : wellFormed(value);
  if (formed === undefined) return { problems: shapeProblems, schemaCount: shapeProblems.length, rulesChecked: false };
  const covered = (path: string) => formed.failed.some((f) => path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`));
  const rules = semanticProblems(formed.config)
    .map((p) => ({ path: formed.originalPath(p.path), reason: p.reason }))
    .filter((p) => !covered(p.path));
  const seen = new Set(shapeProblems.map((p) => p.path));
  return {
    problems: [...shapeProblems, ...rules.filter((p) => !seen.has(p.path))],
    schemaCount: shapeProblems.length,
    rulesChecked: true,
  };
}

/**
 * Throws SLUICE_CONFIG_INVALID listing every problem (checkConfig's). The
 * input is not modified. The memory budget is checked only once every rule
 * holds, and is SLUICE_LIMIT_EXCEEDED naming the limit.
 */
export function validateConfig(raw: unknown): SluiceConfig {
  const { config, problems } = checkConfig(raw);
  if (config === undefined) throw configErrors(problems);
  const overBudget = memoryProblems(config);
  if (overBudget.length > 0) throw limitErrors(overBudget);
  return config;
}

/** Beyond this many schema problems the file is not worth repairing to check its rules (a hostile one). */
const MAX_PROBLEMS_TO_REPAIR = 1000;

/** A schema-valid stand-in for a config that is not, for the rules between fields. */
interface WellFormed {
  config: SluiceConfig;
  /** the paths (in the file's numbering) whose schema problems are reported: no rule speaks of them again */
  failed: string[];
  /** a path of `config` in the file's numbering (services and backends left out shift the others) */
  originalPath(path: string): string;
}

const isServicePointer = /^\/services\/(\d+)(?:\/backends\/(\d+))?/;

/**
 * What of a config is well-formed, as a config that passes the schema, or
 * undefined when too little is. In two steps: every field that fails the
 * schema is left out (it takes its default, if it has one, or is absent if
 * optional); then a service or backend still failing (a required field was
 * bad) is left out whole. Anything else still failing (a port's address, a
 * worker's rx, eal.lcores: what every rule rests on) leaves the rules
 * unchecked: their problems would be guesses.
 */
function wellFormed(value: unknown): WellFormed | undefined {
  if (!isObject(value)) return undefined;
  const work = Value.Clone(value) as Record<string, unknown>;
  const failed = new Set<string>();
  const removed: string[] = [];
  // Step 1: each failing field out.
  for (const e of [...Value.Errors(ConfigSchema, work)]) {
    // A required field is filled by nothing; a service or backend that is not a mapping is left out whole (step 2).
    if (e.type === ValueErrorType.ObjectRequiredProperty || /^\/services\/\d+(\/backends\/\d+)?$/.test(e.path)) continue;
    if (removed.some((r) => e.path === r || e.path.startsWith(`${r}/`))) continue;
    const segments = e.path.split('/').slice(1).map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
    // The nearest field of an object at or above the failure (an entry of a list is not a field).
    let k = segments.length;
    let parent: unknown;
    for (; k > 0; k--) {
      parent = segments.slice(0, k - 1).reduce<unknown>((v, s) => (v as Record<string, unknown> | undefined)?.[s], work);
      if (isObject(parent)) break;
    }
    if (k === 0) return undefined;
    const pointer = `/${segments.slice(0, k).map((x) => x.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
    removed.push(pointer);
    failed.add(pointerToPath(pointer));
    delete (parent as Record<string, unknown>)[segments[k - 1]];
  }
  applyDefaults(ConfigSchema, work);
  // Step 2: services and backends still failing, out whole.
  const dropServices = new Set<number>();
  const dropBackends = new Map<number, Set<number>>();
  for (const e of Value.Errors(ConfigSchema, work)) {
    const m = isServicePointer.exec(e.path);
    if (m === null) return undefined;
    if (m[2] === undefined) dropServices.add(Number(m[1]));
    else dropBackends.set(Number(m[1]), (dropBackends.get(Number(m[1])) ?? new Set()).add(Number(m[2])));
  }
  const services = work.services as Record<string, unknown>[];
  const serviceAt: number[] = [];
  const backendAt: number[][] = [];
  work.services = services.flatMap((s, i) => {
    if (dropServices.has(i)) return [];
    serviceAt.push(i);
    const drop = dropBackends.get(i);
    const kept = (s.backends as unknown[]).map((_, j) => j).filter((j) => !drop?.has(j));
    backendAt.push(kept);
    return drop === undefined ? [s] : [{ ...s, backends: kept.map((j) => (s.backends as unknown[])[j]) }];
  });
  if (!Value.Check(ConfigSchema, work)) return undefined;
  return {
    config: work as unknown as SluiceConfig,
    failed: [...failed],
    originalPath: (path) => path.replace(/^services\[(\d+)\](?:\.backends\[(\d+)\])?/, (whole, i: string, j?: string) => {
      const si = serviceAt[Number(i)];
      if (si === undefined) return whole;
      return j === undefined ? `services[${si}]` : `services[${si}].backends[${backendAt[Number(i)][Number(j)] ?? j}]`;
    }),
  };
}

/** The services list itself (its length), its entries left to ServiceSchema one by one. */
const SERVICE_LIST = Type.Array(Type.Unknown(), { maxItems: ConfigSchema.properties.services.maxItems });
/** A service's backends list itself, its entries left to BackendSchema one by one. */
const BACKEND_LIST = Type.Array(Type.Unknown(), { maxItems: ServiceSchema.properties.backends.maxItems });
/** One backend. */
const BACKEND = ServiceSchema.properties.backends.items;

export type { KnownValid } from './semantics';

/** An empty KnownValid: what validateServices fills as changes are accepted. */
export function knownValid(): KnownValid {
  return { services: new WeakSet(), backends: new WeakMap() };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A service `services[i]` not known valid: cloned and defaulted as
 * validateConfig does, but its backends that are known valid (a change of one
 * backend keeps the others' objects) are taken as they are rather than cloned
 * and checked again. Problems are those of a whole-service check, in its order.
 */
function freshService(s: unknown, i: number, known: KnownValid): { value: unknown; problems: ConfigProblem[] } {
  const at = `/services/${i}`;
  if (!isObject(s) || !Array.isArray(s.backends)) {
    const value = applyDefaults(ServiceSchema, Value.Clone(s));
    return { value, problems: schemaProblems(ServiceSchema, value, at) };
  }
  const hidden = protoKeyProblems({ ...s, backends: [] }, at);
  if (hidden.length > 0) return { value: s, problems: hidden };
  const fresh: number[] = [];
  const hiding: number[] = [];
  const backends = s.backends.map((b: unknown, j: number) => {
    if (isObject(b) && known.backends.has(b)) return b;
    fresh.push(j);
    if (protoKeyProblems(b).length > 0) {
      hiding.push(j);  // reported below, as schemaProblems cannot see it
      return b;
    }
    return applyDefaults(BACKEND, Value.Clone(b));
  });
  const value = applyDefaults(ServiceSchema, Value.Clone({ ...s, backends: [] })) as Record<string, unknown>;
  const shell = schemaProblems(ServiceSchema, value, at);
  value.backends = backends;
  const problems = [...shell, ...schemaProblems(BACKEND_LIST, backends, `${at}/backends`),
    ...hiding.flatMap((j) => protoKeyProblems(backends[j], `${at}/backends/${j}`)),
    ...fresh.flatMap((j) => schemaProblems(BACKEND, backends[j], `${at}/backends/${j}`))];
  // Only a refused service pays for the whole check, for its problems in the order it gives them.
  return { value, problems: problems.length === 0 ? [] : schemaProblems(ServiceSchema, value, at) };
}

/**
 * validateConfig({ ...cfg, services }) for a change of services against a config
 * validated before: the same result, the same problems in the same order (the
 * validate-services unit test compares them), without the work for what did not
 * change. A service in `known` (an object an earlier call returned for this
 * config, unchanged since) is neither cloned nor checked again, and neither is a
 * backend known valid in a service of the same forwarding, port and VIP family;
 * they take part only in the rules between services or backends (names,
 * listeners, duplicates, totals, memory). What the accepted set adds is added to
 * `known`. So a change costs work for what it touches, not for every backend of
 * every service.
 */
export function validateServices(cfg: SluiceConfig, services: readonly unknown[], known: KnownValid): ServiceConfig[] {
  const fresh: number[] = [];
  const byPath = new Map<string, ConfigProblem>();
  const add = (problems: readonly ConfigProblem[]) => {
    for (const p of problems) if (!byPath.has(p.path)) byPath.set(p.path, p);
  };
  add(schemaProblems(SERVICE_LIST, services, '/services'));
  const value = services.map((s, i) => {
    if (isObject(s) && known.services.has(s)) return s;
    fresh.push(i);
    const f = freshService(s, i, known);
    add(f.problems);
    return f.value;
  });
  // A refused draft pays for the whole check: every problem, the rules' on what is
  // well-formed included, as validateConfig lists them.
  if (byPath.size > 0) throw configErrors(checkConfig({ ...cfg, services }).problems);
  const next: SluiceConfig = { ...cfg, services: value as ServiceConfig[] };
  const problems = semanticProblems(next, known);
  if (problems.length > 0) throw configErrors(problems);
  const overBudget = memoryProblems(next);
  if (overBudget.length > 0) throw limitErrors(overBudget);
  for (const i of fresh) known.services.add(next.services[i]);
  return next.services;
}

/**
 * validateServices for a change of one backend that keeps its address and port
 * (a PATCH of its weight or state): `backend` replaces services[i].backends[j].
 * When services[i] is known valid, only the backend's own rules can change
 * their verdict: those between backends read their keys and number, those of
 * the service and between services read neither weights nor states, and the
 * memory budget reads the number of backends. So only it is checked, and a
 * change of one backend of 4,096 costs one backend. Otherwise (or if the key
 * changes), validateServices checks as usual.
 */
export function validateBackendChange(cfg: SluiceConfig, services: readonly ServiceConfig[], i: number, j: number,
                                      backend: unknown, known: KnownValid): ServiceConfig[] {
  const svc = services[i];
  const withBackend = (b: unknown) => {
    const backends: unknown[] = [...svc.backends];
    backends[j] = b;
    return { ...svc, backends };
  };
  const prev = svc.backends[j];
  const hidden = protoKeyProblems(backend, `/services/${i}/backends/${j}`);
  if (hidden.length > 0) throw configErrors(hidden);
  const b = isObject(backend) ? applyDefaults(BACKEND, Value.Clone(backend)) : undefined;
  if (!known.services.has(svc) || !isObject(b) || b.address !== prev.address || b.port !== prev.port) {
    const draft: unknown[] = [...services];
    draft[i] = withBackend(backend);
    return validateServices(cfg, draft, known);
  }
  if (schemaProblems(BACKEND, b, `/services/${i}/backends/${j}`).length > 0) {
    const draft: unknown[] = [...services];
    draft[i] = withBackend(backend);
    throw configErrors(checkConfig({ ...cfg, services: draft }).problems);
  }
  const next = withBackend(b) as ServiceConfig;
  const { problems } = backendProblems(cfg, next, b as unknown as BackendConfig, `services[${i}].backends[${j}]`, known);
  if (problems.length > 0) throw configErrors(problems);
  known.services.add(next);
  const out = [...services];
  out[i] = next;
  return out;
}

/** Every limit exceeded, one `path: reason` per line, like configErrors. */
function limitErrors(problems: readonly ConfigProblem[]): SluiceError {
  return new SluiceError('SLUICE_LIMIT_EXCEEDED', problems.map((p) => `${p.path}: ${p.reason}`).join('\n'),
    problems.map((p) => ({ ...p })));
}

/** The parse errors a SLUICE_CONFIG_READ lists: enough to fix the first ones, not one per byte of a hostile file. */
const PARSE_ERRORS_LISTED = 10;

/** Parses YAML or JSON (JSON is YAML); throws SLUICE_CONFIG_READ naming the file. */
export function parseConfigText(text: string, file: string): unknown {
  // yaml's pretty errors cost a pass over the text each: a file of 100,000
  // errors took 21 s. Lines and columns come from one LineCounter instead.
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const listed = doc.errors.slice(0, PARSE_ERRORS_LISTED).map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { code: e.code, message: `${e.message.trim()} at line ${line}, column ${col}`, linePos: [{ line, col }] };
    });
    const more = doc.errors.length - listed.length;
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: ${listed[0].message}${more > 0 ? ` (and ${doc.errors.length - 1} more errors)` : ''}`, {
      file,
      errors: listed,
    });
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // toJS is where yaml enforces its alias limit (the "billion laughs" guard).
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: ${(err as Error).message}`, { file });
  }
  let cycle: string | undefined;
  try {
    cycle = aliasCycle(value);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: nested too deeply to be a Sluice config`, { file });
  }
  if (cycle !== undefined) {
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: ${cycle || 'the document'} contains itself (an alias of an enclosing node)`, { file, path: cycle });
  }
  return value;
}

/**
 * The path of the first node that contains itself (a YAML alias to one of its
 * enclosing nodes makes a circular value no check could walk), or undefined.
 * Aliases shared without a cycle are fine.
 */
function aliasCycle(value: unknown): string | undefined {
  const enclosing = new Set<object>();
  const visit = (v: unknown, path: string): string | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    if (enclosing.has(v)) return path;
    enclosing.add(v);
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [`${path}[${i}]`, x])
      : Object.entries(v).map(([k, x]) => [path === '' ? k : `${path}.${k}`, x]);
    for (const [p, x] of entries) {
      const found = visit(x, p);
      if (found !== undefined) return found;
    }
    enclosing.delete(v);
    return undefined;
  };
  return visit(value, '');
}

/** Reads, parses and validates; read and syntax errors are SLUICE_CONFIG_READ. */
export function loadConfigFile(file: string): SluiceConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: cannot read config file: ${e.message}`, {
      file,
      errno: e.code,
    });
  }
  return validateConfig(parseConfigText(text, file));
}
