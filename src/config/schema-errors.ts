// TypeBox reports "/services/0/port Expected integer to be less or equal to 65535";
// operators read "services[0].port: must be <= 65535". One problem per path: a
// value that fails its type also fails whatever depends on it, and the rest is noise.
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { ConfigProblem } from '../errors';
import { renamedReason } from './renamed-fields';

/** "/services/0/backends/1/port" -> "services[0].backends[1].port"; the root is "config". */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return 'config';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

function literalChoices(schema: TSchema): string | undefined {
  const options: unknown[] = Array.isArray(schema.anyOf) ? schema.anyOf : [];
  if (options.length === 0 || !options.every((o) => (o as TSchema).const !== undefined)) return undefined;
  return options.map((o) => String((o as TSchema).const)).join(', ');
}

/** Levenshtein distance, case-insensitive (a wrong case is one of the likeliest slips); stops early past `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > max) return max + 1;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]);
    }
    if (best > max) return max + 1;
    prev = row;
  }
  return prev[y.length];
}

/**
 * The known name closest to `field` by edit distance, when it is close enough
 * to be a slip rather than another word: at most a third of the longer name's
 * letters (at least 1, at most 3) differ. Ties go to the first known name.
 */
export function closestName(field: string, known: readonly string[]): string | undefined {
  if (field.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(name.length, field.length) / 3)));
    const d = editDistance(field, name, allowed);
    if (d <= allowed && d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

const entries = (n: number): string => (n === 1 ? '1 entry' : `${n} entries`);

function reason(e: ValueError): string {
  const s = e.schema;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      // The error's path ends with the field's name; the schema is its object's.
      const field = e.path.slice(e.path.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
      const renamed = renamedReason(field);
      if (renamed !== undefined) return renamed;
      const known = s.properties === undefined ? [] : Object.keys(s.properties as object);
      const close = closestName(field, known);
      return close === undefined ? 'unknown field' : `unknown field; did you mean "${close}"?`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.Object:
      return 'must be a mapping';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${entries(s.minItems)}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${entries(s.maxItems)}`;
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`;
    case ValueErrorType.StringPattern:
      return typeof s.description === 'string' ? `must be ${s.description}` : `must match ${s.pattern}`;
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be <= ${s.maximum}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be >= ${s.minimum}`;
    case ValueErrorType.Union: {
      const choices = literalChoices(s);
      return choices === undefined ? e.message : `must be one of: ${choices}`;
    }
    default:
      return e.message;
  }
}

/**
 * Empty when `value` matches `schema`. `at` is where `value` sits in the whole
 * config, as a JSON pointer ("/services/3"), for paths as a whole-config check gives.
 */
export function schemaProblems(schema: TSchema, value: unknown, at = ''): ConfigProblem[] {
  if (Value.Check(schema, value)) return [];
  const byPath = new Map<string, ConfigProblem>();
  for (const e of Value.Errors(schema, value)) {
    const path = pointerToPath(at + e.path);
    if (!byPath.has(path)) byPath.set(path, { path, reason: reason(e) });
  }
  return [...byPath.values()];
}

/**
 * An own "__proto__" key anywhere in `value` (JSON.parse and yaml make one):
 * no field of the schema, but cloning assigns it as a prototype, which would
 * hide it from the unknown-field check and let its fields be inherited. One
 * problem per such key, at `pointer` (a JSON pointer, as schemaProblems takes).
 */
export function protoKeyProblems(value: unknown, pointer = ''): ConfigProblem[] {
  const found: ConfigProblem[] = [];
  // The pointer is spelled only for a key found: every config passes through here.
  const segments: string[] = [];
  const at = () => pointer + segments.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        segments.push(String(i));
        visit(v[i]);
        segments.pop();
      }
      return;
    }
    if (Object.hasOwn(v, '__proto__')) found.push({ path: pointerToPath(`${at()}/__proto__`), reason: 'unknown field' });
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      segments.push(k);
      visit((v as Record<string, unknown>)[k]);
      segments.pop();
    }
  };
  visit(value);
  return found;
}
