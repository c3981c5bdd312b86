// Request and response bodies for services and backends. Request bodies reuse
// the config file's schemas, so the API and the config accept exactly the same
// services; responses add what only the running system knows (health, counters).
import { Type, type TSchema } from '@sinclair/typebox';
import { AdminStateSchema, BackendSchema, ServiceSchema } from '../../config/schema';
import { BACKEND_COUNTERS, SERVICE_COUNTERS } from '../../native/counters';
import { counterProperties, strict } from './common';

/** A config schema without its default, for bodies where absence must mean "leave as is". */
function withoutDefault<T extends TSchema>(schema: T): T {
  const { default: _ignored, ...rest } = schema;
  return rest as T;
}

/**
 * The config schemas mark defaulted fields required (validation fills them
 * first); a request may leave them out and the store fills them. Typed as
 * plain TSchema because the static type would claim those fields are present:
 * handlers pass such bodies on as unknown, for the store to validate.
 */
function defaultsOptional(schema: TSchema): TSchema {
  const out: TSchema = { ...schema };
  if (out.properties !== undefined) {
    const props: Record<string, TSchema> = {};
    for (const [k, v] of Object.entries(out.properties as Record<string, TSchema>)) props[k] = defaultsOptional(v);
    out.properties = props;
    const required = ((out.required as string[] | undefined) ?? []).filter((k) => !('default' in props[k]));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (out.items !== undefined) out.items = defaultsOptional(out.items as TSchema);
  return out;
}

export const CreateServiceBody = defaultsOptional(ServiceSchema);

export const ReplaceServiceBody = defaultsOptional(Type.Object(
  {
    ...ServiceSchema.properties,
    name: Type.Optional(ServiceSchema.properties.name),
  },
  { ...strict, description: 'the whole service; backends not listed are removed. name, when given, must match the URL' },
));

export const CreateBackendBody = defaultsOptional(BackendSchema);

export const PatchBackendBody = Type.Object(
  {
    weight: Type.Optional(withoutDefault(BackendSchema.properties.weight)),
    state: Type.Optional(withoutDefault(AdminStateSchema)),
  },
  { ...strict, minProperties: 1, description: 'at least one of weight and state; fields not given stay as they are' },
);

export const BackendHealthSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('unchecked'), Type.Literal('unknown')], {
      description: 'unchecked: the check type is none, or no probe has finished yet (it takes traffic); ' +
        'unknown: added while running with initialState down, it takes no new flows until its first probe passes',
    }),
    lastProbeAt: Type.Optional(Type.String({ description: 'ISO time of the last finished probe' })),
    lastError: Type.Optional(Type.String({ description: 'why the last probe failed' })),
    streak: Type.Integer({ description: 'successes (while down) or failures (while up) in a row so far' }),
    transitions: Type.Integer({ description: 'up<->down changes since the backend was added' }),
  },
  strict,
);

export const BackendCountersSchema = Type.Object(counterProperties(BACKEND_COUNTERS), strict);

const PerSec = (what: string) => Type.Number({ minimum: 0, description: `${what} per second` });

export const RatesSchema = Type.Object(
  {
    packetsPerSec: PerSec('packets forwarded'),
    bytesPerSec: PerSec('bytes forwarded'),
    newFlowsPerSec: PerSec('flows started'),
  },
  {
    ...strict,
    description: 'over the last sampling interval (about a second) of the counters in stats; absent until two ' +
      'samples exist, and for an interval in which the counters started again (removed and added back)',
  },
);

export const BackendView = Type.Object(
  {
    ...BackendSchema.properties,
    key: Type.String({ description: 'address:port as used in URLs, IPv6 in brackets' }),
    health: BackendHealthSchema,
    stats: Type.Optional(BackendCountersSchema),
    rates: Type.Optional(RatesSchema),
    emptySince: Type.Optional(Type.String({
      description: 'while the backend takes no new flows (drain, disabled or weight 0): ISO time since which it has ' +
        'had no active flow, sampled every second; absent while it has flows',
    })),
  },
  { ...strict, title: 'Backend', description: 'stats and rates are absent while the data plane is not running' },
);

export const ServiceCountersSchema = Type.Object(counterProperties(SERVICE_COUNTERS), strict);

export const ServiceView = Type.Object(
  {
    ...ServiceSchema.properties,
    backends: Type.Array(BackendView),
    stats: Type.Optional(ServiceCountersSchema),
    rates: Type.Optional(RatesSchema),
  },
  { ...strict, title: 'Service', description: 'stats and rates are absent while the data plane is not running' },
);

export const ServiceList = Type.Array(ServiceView);
export const BackendList = Type.Array(BackendView);
