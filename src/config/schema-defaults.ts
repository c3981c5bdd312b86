// Fills schema defaults into a parsed config. TypeBox's Value.Default merges an
// object default with whatever value is present, so `backends: {}` would become []
// and `flowTable: []` would become {} and both would pass; here a default fills
// only a missing field, and a value of the wrong kind is left for Check to report.
import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Mutates `value` in place and returns it; clone first if it is not yours. */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  if (KindGuard.IsObject(schema) && isPlainObject(value)) {
    for (const [key, prop] of Object.entries(schema.properties)) {
      if (value[key] === undefined && 'default' in prop) value[key] = Value.Clone(prop.default);
      if (value[key] !== undefined) applyDefaults(prop, value[key]);
    }
  } else if (KindGuard.IsArray(schema) && Array.isArray(value)) {
    for (const item of value) applyDefaults(schema.items, item);
  }
  return value;
}
