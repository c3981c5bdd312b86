// Options to request bodies: each option names one field of the config's
// service or backend (spec.ts says which); the API checks every value and
// answers a coded error naming the field, so nothing here judges a value.
import { BackendSchema, ServiceSchema } from '../config/schema';
import type { OptionValues } from './parse';

type Body = Record<string, unknown>;

const str = (v: OptionValues[string]) => (typeof v === 'string' ? v : undefined);
const num = (v: OptionValues[string]) => (typeof v === 'string' ? Number(v) : undefined);

/** Keeps the fields whose value is given. */
function given(fields: Body): Body | undefined {
  const out = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return Object.keys(out).length === 0 ? undefined : out;
}

/** --health* as a healthCheck object (a service's, or a backend's override). */
export function healthCheckOf(v: OptionValues): Body | undefined {
  return given({
    type: str(v.health),
    path: str(v['health-path']),
    expectStatus: str(v['health-expect-status']),
    port: num(v['health-port']),
    intervalMs: num(v['health-interval-ms']),
    timeoutMs: num(v['health-timeout-ms']),
    rise: num(v['health-rise']),
    fall: num(v['health-fall']),
    initialState: str(v['health-initial-state']),
  });
}

/** The service fields the options give (not the name, not backends). */
export function serviceFields(v: OptionValues): Body {
  return given({
    vip: str(v.vip),
    port: num(v.port),
    protocol: str(v.protocol),
    forwarding: str(v.forwarding),
    lookupTableSize: num(v['lookup-table-size']),
    tunnel: given({
      encapsulation: str(v.encapsulation),
      guePort: num(v['gue-port']),
      source: str(v['tunnel-source']),
      sourceNetwork: str(v['source-network']),
    }),
    healthCheck: healthCheckOf(v),
  }) ?? {};
}

/** The backend fields the options give, besides address and port; `state` from --drain/--disable/--enable. */
export function backendFields(v: OptionValues, state?: string): Body {
  return given({ weight: num(v.weight), mac: str(v.mac), state, healthCheck: healthCheckOf(v) }) ?? {};
}

const isObject = (x: unknown): x is Body => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `patch` over `base`: objects merged field by field, anything else replaced. */
export function merged(base: Body, patch: Body): Body {
  const out: Body = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = isObject(v) && isObject(out[k]) ? merged(out[k] as Body, v) : v;
  return out;
}

const pick = (x: Body, keys: string[]) => Object.fromEntries(Object.entries(x).filter(([k]) => keys.includes(k)));

/**
 * A service as GET answers it, cut to what PUT takes: the config's fields only
 * (the schema's), without the read-only key, health, stats and emptySince.
 */
export function configOf(view: Body): Body {
  const svc = pick(view, Object.keys(ServiceSchema.properties));
  const backends = Array.isArray(view.backends) ? (view.backends as Body[]) : [];
  svc.backends = backends.map((b) => pick(b, Object.keys(BackendSchema.properties)));
  return svc;
}
