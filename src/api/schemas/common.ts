// Shapes every route shares: the error body and the path parameters.
import { Type, type TInteger, type TSchema } from '@sinclair/typebox';
import { ServiceSchema } from '../../config/schema';
import { ErrorCodes, type ErrorCode } from '../../errors';

export const strict = { additionalProperties: false } as const;

const codes = Object.keys(ErrorCodes) as ErrorCode[];

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer({ description: 'the HTTP status again, for clients that only keep the body' }),
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: codes, description: 'branch on this, never on message' }),
    error: Type.String({ description: 'the HTTP reason phrase' }),
    message: Type.String({ description: 'for people; names the offending field where there is one' }),
    details: Type.Optional(
      Type.Unknown({ description: 'for validation errors: [{path, reason}], one per offending field' }),
    ),
  },
  { ...strict, title: 'Error' },
);

/** The error responses a route can give, by status, each documented with the codes that produce it. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of statuses) {
    const which = codes.filter((c) => ErrorCodes[c].status === status);
    out[status] = Type.Object(ErrorSchema.properties, { ...strict, title: 'Error', description: which.join(', ') });
  }
  return out;
}

/** Every route can fail these ways: a token problem or a bug. */
export const ALWAYS = [401, 500] as const;

/** A name no service can have is a malformed URL (400), not an unknown service (404). */
const ServiceName = ServiceSchema.properties.name;

export const ServiceParams = Type.Object({ name: ServiceName }, strict);

export const BackendParams = Type.Object(
  {
    name: ServiceName,
    backend: Type.String({
      description: 'address:port, IPv6 address in brackets ([2001:db8::1]:80), URL-encoded',
    }),
  },
  strict,
);

export const NoQuery = Type.Object({}, { ...strict, description: 'no query parameters' });

export const NoContent = Type.Null({ description: 'done; no body' });

/**
 * One property per counter of native/common/lcore_counters.h's lists (through
 * src/native/counters.ts): a count, described by the counter's help.
 */
export function counterProperties<E extends { readonly name: string; readonly help: string }>(entries: readonly E[]):
  { [K in E['name']]: TInteger } {
  return Object.fromEntries(entries.map((e) => [e.name, Type.Integer({ minimum: 0, description: e.help })])) as
    { [K in E['name']]: TInteger };
}
