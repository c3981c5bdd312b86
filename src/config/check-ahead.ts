// A large service body's backends checked before the change that takes it, a
// slice per turn of the event loop: checking thousands of backends at once
// would hold the loop (and every other request) for as long. What passes is
// registered as known valid, so the change's own synchronous check (the
// store's check-and-commit) runs only the rules between backends and services.
import { Value } from '@sinclair/typebox/value';
import { ServiceSchema, type BackendConfig, type ServiceConfig, type SluiceConfig } from './schema';
import { applyDefaults } from './schema-defaults';
import { protoKeyProblems, schemaProblems } from './schema-errors';
import { backendProblems, type KnownValid } from './semantics';

/** One backend, as the service schema takes it. */
const BACKEND = ServiceSchema.properties.backends.items;

/** Backends checked in one turn of the event loop. */
export const BACKENDS_PER_SLICE = 256;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `spec` (a service as a request gives it; `name` the service's name when the
 * URL gives it) with its backends replaced by checked copies, defaults filled,
 * each registered in `known` for the service's forwarding, port and VIP family,
 * as validateServices would register it. Only a body of more than one slice of
 * backends is checked ahead. Anything that does not pass (the service's own
 * fields, or any backend) gives back `spec` itself: the change then checks it
 * whole and refuses it with exactly the problems it always did. Never throws
 * for what the body holds, and decides nothing: the change checks everything
 * again, with these backends taken as known. `onChecked` sees each backend
 * that passes, in its slice: for what the change would otherwise derive from
 * every backend at once.
 */
export async function checkBackendsAhead(cfg: SluiceConfig, spec: unknown, known: KnownValid, name?: string,
                                         onChecked?: (b: BackendConfig) => void): Promise<unknown> {
  if (!isObject(spec) || !Array.isArray(spec.backends) || spec.backends.length <= BACKENDS_PER_SLICE) return spec;
  const raw: unknown[] = spec.backends;
  const shell = { ...spec, ...(name === undefined ? {} : { name }), backends: [] };
  if (protoKeyProblems(shell).length > 0) return spec;
  const svc = applyDefaults(ServiceSchema, Value.Clone(shell));
  if (schemaProblems(ServiceSchema, svc).length > 0) return spec;
  const checked: BackendConfig[] = [];
  while (checked.length < raw.length) {
    await nextTurn();
    const end = Math.min(raw.length, checked.length + BACKENDS_PER_SLICE);
    for (let j = checked.length; j < end; j++) {
      const b = checkedBackend(cfg, svc as ServiceConfig, raw[j], known);
      if (b === undefined) return spec;
      onChecked?.(b);
      checked.push(b);
    }
  }
  return { ...spec, backends: checked };
}

/** A copy of `raw` with its defaults, registered in `known`, or undefined when it breaks a rule of its own. */
function checkedBackend(cfg: SluiceConfig, svc: ServiceConfig, raw: unknown, known: KnownValid): BackendConfig | undefined {
  if (!isObject(raw) || protoKeyProblems(raw).length > 0) return undefined;
  const b = applyDefaults(BACKEND, Value.Clone(raw)) as BackendConfig;
  if (schemaProblems(BACKEND, b).length > 0) return undefined;
  // The path names nothing: a backend with problems is left to the change to report.
  return backendProblems(cfg, svc, b, '', known).problems.length === 0 ? b : undefined;
}
