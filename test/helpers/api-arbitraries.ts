// fast-check arbitraries for fuzzing the REST API and the config loader
// (test/api/rest-fuzz, test/dataplane/rest-fuzz-daemon, test/unit/config-fuzz):
// requests over the real routes with near-valid bodies (a valid shape with one
// field mutated against its TypeBox schema), hostile path parameters, tokens and
// content types; and the checks every answer must pass. Runs are reproducible:
// a fixed seed unless SLUICE_FUZZ_SEED says otherwise, SLUICE_FUZZ_RUNS scales them.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TSchema } from '@sinclair/typebox';
import { CreateBackendBody, CreateServiceBody, PatchBackendBody, ReplaceServiceBody } from '../../src/api/schemas/services';
import { ErrorCodes } from '../../src/errors';

// --- reproducibility -------------------------------------------------------

/**
 * fc.assert's seed and run count: `defaultRuns` runs from `defaultSeed`, unless
 * SLUICE_FUZZ_SEED (an integer) or SLUICE_FUZZ_RUNS (a positive integer) say
 * otherwise. fast-check prints the seed and the path of a failing run, so a
 * failure is replayed with SLUICE_FUZZ_SEED=<seed>.
 */
export function fuzzParams(defaultRuns: number, defaultSeed: number): { seed: number; numRuns: number } {
  const seedEnv = process.env.SLUICE_FUZZ_SEED;
  const runsEnv = process.env.SLUICE_FUZZ_RUNS;
  const seed = seedEnv === undefined || seedEnv === '' ? defaultSeed : Number(seedEnv);
  const numRuns = runsEnv === undefined || runsEnv === '' ? defaultRuns : Number(runsEnv);
  if (!Number.isInteger(seed)) throw new Error(`SLUICE_FUZZ_SEED must be an integer, not "${seedEnv}"`);
  if (!Number.isInteger(numRuns) || numRuns < 1) throw new Error(`SLUICE_FUZZ_RUNS must be a positive integer, not "${runsEnv}"`);
  return { seed, numRuns };
}

// --- values ----------------------------------------------------------------

/** Where the fuzzed configs and services live: port p0 is 10.99.0.2/24 and fd00:99::2/64. */
export const V4_BACKENDS = Array.from({ length: 8 }, (_, i) => `10.99.0.${11 + i}`);
export const V4_VIPS = Array.from({ length: 6 }, (_, i) => `10.99.0.${100 + i}`);
export const V6_BACKENDS = Array.from({ length: 4 }, (_, i) => `fd00:99::${(0x11 + i).toString(16)}`);
export const V6_VIPS = Array.from({ length: 3 }, (_, i) => `fd00:99::${(0x100 + i).toString(16)}`);

/** Addresses that are wrong in every way an operator or attacker might try, IPv6 forms among them. */
export const BAD_ADDRESSES = [
  '', ' ', '10.99.0', '10.99.0.256', '010.99.0.11', '10.99.0.11/24', ' 10.99.0.11', '10.99.0.11 ', '0.0.0.0',
  '255.255.255.255', '127.0.0.1', '224.0.0.1', '10.99.0.255', '10.99.0.0', '10.99.0.2', '1.2.3.4', '::', '::1',
  'fd00:99::', 'fd00:99::11%eth0', 'fe80::1', '::ffff:10.99.0.11', 'ff02::1', '2001:db8::1', 'fd00:99:0:0:0:0:0:11',
  'FD00:99::11', 'fd00:99::11/64', '1::2::3', 'fd00:99::11:80', '[fd00:99::11]', 'localhost', 'example.com',
  '0x0a.0x63.0.11', '10.99.11', '4294967295', '١٠.٩٩.٠.١١', '10.99.0.11\u0000', '10.99.0.11\n', 'ｆｄ00::1',
];

export const BAD_MACS = ['', '02:00:00:00:00', '02:00:00:00:00:zz', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01',
  '00:00:00:00:00:00', '02-00-00-00-00-11', '0200.0000.0011', '02:00:00:00:00:11:22'];

const HUGE = 'x'.repeat(70_000);
const unicodeString = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const binaryString = fc.string({ unit: 'binary', maxLength: 40 });

/**
 * A placeholder for a value nested `depth` levels deep: JSON.stringify would
 * recurse that deep itself, so toJsonText puts the nesting in as text.
 */
const DEEP = /"__deep_(array|object)_(\d+)__"/g;
const deep = (kind: 'array' | 'object', depth: number) => `__deep_${kind}_${depth}__`;
const deepValue = fc.constantFrom(deep('array', 64), deep('object', 64), deep('array', 2_000), deep('object', 2_000),
  deep('array', 20_000));

/** JSON text for `value`, with deep placeholders expanded. */
export function toJsonText(value: unknown): string {
  // A deleted root has no JSON: an empty body.
  return (JSON.stringify(value) ?? '').replace(DEEP, (_all, kind: string, n: string) => {
    const depth = Number(n);
    return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  });
}

/** Keys that are not in any schema: typos, renamed fields, prototype keys. */
const EXTRA_KEYS = ['extra', 'maglevTableSize', '__proto__', 'constructor', 'prototype', 'toString', 'Name', 'name ',
  '', 'id', 'weight\u0000', 'backend'];

/** Values of the wrong kind for any field. */
const wrongKind = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, '', [], {}, [null], { '': null }),
  unicodeString,
  deepValue,
);

function hostileInteger(s: { minimum?: number; maximum?: number }): fc.Arbitrary<unknown> {
  const lo = s.minimum ?? 0;
  const hi = s.maximum ?? 65535;
  return fc.oneof(
    fc.constantFrom<unknown>(lo - 1, hi + 1, lo + 0.5, -0, 1e21, -1e21, 2 ** 31, 2 ** 32, 2 ** 53 + 2, Number.MAX_VALUE,
      String(lo), `${hi}`, '0x10', true, null, [lo]),
    fc.integer({ min: -(2 ** 40), max: lo - 1 }),
    fc.integer({ min: hi + 1, max: 2 ** 40 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
}

function hostileString(s: { pattern?: string; maxLength?: number }): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>('', ' ', HUGE, '\u0000', '../../etc/passwd', '%2e%2e', '.', '..', '-x', 'a'.repeat(33),
      'a'.repeat((s.maxLength ?? 1024) + 1), 42, null, true, ['x'], { x: 'x' }),
    fc.constantFrom(...BAD_ADDRESSES),
    fc.constantFrom(...BAD_MACS),
    unicodeString,
    binaryString,
  );
}

/** One-of-literals: the literals in the wrong case, padded, or of the wrong type. */
function hostileLiteral(options: unknown[]): fc.Arbitrary<unknown> {
  const strings = options.filter((o): o is string => typeof o === 'string');
  return fc.oneof(
    fc.constantFrom<unknown>(...strings.map((o) => o.toUpperCase()), ...strings.map((o) => ` ${o}`), 'other', '', 0, null, true),
    fc.constant(strings),
  );
}

type Schema = TSchema & {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema | Schema[];
  anyOf?: Schema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
};

/** A value the schema refuses, of the kind an operator or attacker would send in its place. */
export function hostileFor(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const specific = ((): fc.Arbitrary<unknown> => {
    if (schema === undefined) return wrongKind;
    if (schema.anyOf !== undefined && schema.anyOf.every((o) => o.const !== undefined)) {
      return hostileLiteral(schema.anyOf.map((o) => o.const));
    }
    switch (schema.type) {
      case 'integer':
      case 'number':
        return hostileInteger(schema);
      case 'string':
        return hostileString(schema as { pattern?: string; maxLength?: number });
      case 'boolean':
        return fc.constantFrom<unknown>('true', 1, 0, 'yes', null);
      case 'array':
        return fc.constantFrom<unknown>({}, 'x', null, [null], [[]], Array.from({ length: (schema.maxItems ?? 64) + 1 }, () => ({})));
      case 'object':
        return fc.constantFrom<unknown>([], 'x', null, 0, { extra: 1 }, [{}]);
      default:
        return wrongKind;
    }
  })();
  return fc.oneof({ weight: 3, arbitrary: specific }, { weight: 1, arbitrary: wrongKind });
}

type Path = (string | number)[];

/** Every place in `value` (and every absent optional field) with the schema that governs it. */
function places(value: unknown, schema: Schema | undefined, at: Path = []): { path: Path; schema: Schema | undefined; present: boolean }[] {
  const out: { path: Path; schema: Schema | undefined; present: boolean }[] = [{ path: at, schema, present: true }];
  if (Array.isArray(value)) {
    const items = Array.isArray(schema?.items) ? undefined : schema?.items;
    value.forEach((v, i) => out.push(...places(v, Array.isArray(schema?.items) ? schema?.items[i] : items, [...at, i])));
  } else if (value !== null && typeof value === 'object') {
    const props = schema?.properties ?? {};
    for (const [k, v] of Object.entries(value)) out.push(...places(v, props[k], [...at, k]));
    for (const [k, s] of Object.entries(props)) if (!(k in value)) out.push({ path: [...at, k], schema: s, present: false });
  }
  return out;
}

function setAt(root: unknown, path: Path, f: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) {
    const box: Record<string, unknown> = { v: copy };
    f(box, 'v');
    return box.v;
  }
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  f(node, path[path.length - 1]);
  return copy;
}

export type Mutation = 'replace' | 'delete' | 'extra' | 'wrap' | 'null';

/**
 * `value` (valid against `schema`) with one thing changed: a field replaced by
 * a value its schema refuses, removed, wrapped in an array, set to null, or an
 * unknown field added next to it. The result may still be valid (a removed
 * optional field); callers check what the server says, not what it should say.
 */
export function mutated(value: unknown, schema: TSchema): fc.Arbitrary<unknown> {
  const all = places(value, schema as Schema);
  return fc.record({
    i: fc.nat({ max: all.length - 1 }),
    op: fc.constantFrom<Mutation>('replace', 'replace', 'replace', 'delete', 'extra', 'wrap', 'null'),
    key: fc.constantFrom(...EXTRA_KEYS),
  }).chain(({ i, op, key }) => {
    const { path, schema: s, present } = all[i];
    if (op === 'replace' || !present) {
      return hostileFor(s).map((h) => setAt(value, path, (p, k) => { p[k] = h; }));
    }
    return hostileFor(undefined).map((h) => setAt(value, path, (p, k) => {
      if (op === 'delete') {
        if (Array.isArray(p)) p.splice(k as number, 1);
        else delete p[k];
      } else if (op === 'wrap') p[k] = [p[k]];
      else if (op === 'null') p[k] = null;
      else {
        const target = p[k];
        // An own property even for "__proto__", as JSON.parse would make it (assignment would set the prototype).
        const own = { value: h, enumerable: true, writable: true, configurable: true };
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, key, own);
        else p[k] = Object.defineProperty({}, key, own);
      }
    }));
  });
}

// --- bodies ----------------------------------------------------------------

const macArb = fc.integer({ min: 0x11, max: 0xfe }).map((n) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`);

export function backendArb(family: 4 | 6): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    address: fc.constantFrom(...(family === 4 ? V4_BACKENDS : V6_BACKENDS)),
    port: fc.oneof({ weight: 4, arbitrary: fc.constant(80) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65535 }) }),
    weight: fc.integer({ min: 0, max: 65535 }),
    state: fc.constantFrom('active', 'drain', 'disabled'),
    mac: macArb,
    healthCheck: fc.record({ type: fc.constantFrom('tcp', 'none'), port: fc.integer({ min: 1, max: 65535 }) }, { requiredKeys: [] }),
  }, { requiredKeys: ['address', 'port'] });
}

/** Names: a small pool (so creates conflict and later requests find them), and some random valid ones. */
export const SERVICE_NAMES = ['web', 'api', 'svc-1', 'svc.2', 'S_3'];
export const nameArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SERVICE_NAMES) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/) },
);

export function serviceArb(name: fc.Arbitrary<string> = nameArb): fc.Arbitrary<Record<string, unknown>> {
  return fc.constantFrom<4 | 6>(4, 4, 4, 6).chain((family) => fc.record({
    name,
    vip: fc.constantFrom(...(family === 4 ? V4_VIPS : V6_VIPS)),
    port: fc.oneof(fc.constantFrom(80, 443, 53), fc.integer({ min: 1, max: 65535 })),
    protocol: fc.constantFrom('tcp', 'udp'),
    forwarding: fc.constantFrom('dsr', 'dsr', 'dsr', 'nat', 'tunnel'),
    lookupTableSize: fc.constantFrom(251, 257, 65537, 65537, 65537, 256),
    healthCheck: fc.record({
      type: fc.constantFrom('tcp', 'http', 'none'),
      intervalMs: fc.integer({ min: 100, max: 3_600_000 }),
      rise: fc.integer({ min: 1, max: 100 }),
      path: fc.constantFrom('/', '/health', '/a%20b'),
      expectStatus: fc.constantFrom('200', '200-399', '204'),
    }, { requiredKeys: [] }),
    backends: fc.uniqueArray(backendArb(family), { maxLength: 3, selector: (b) => String(b.address) }),
  }, { requiredKeys: ['name', 'vip', 'port'] }).chain((s) => fc.nat({ max: 4 }).map((keep) => {
    // dsr and tunnel leave ports alone: their backends listen on the service
    // port. Most services keep to that; one in five keeps the random ports.
    if (keep === 0 || s.forwarding === 'nat' || !Array.isArray(s.backends)) return s;
    return { ...s, backends: (s.backends as Record<string, unknown>[]).map((b) => ({ ...b, port: s.port })) };
  })));
}

export const patchArb = fc.record({
  weight: fc.integer({ min: 0, max: 65535 }),
  state: fc.constantFrom('active', 'drain', 'disabled'),
}, { requiredKeys: [] });

/** Near-valid: usually the valid value with one field mutated against `schema`, sometimes left valid. */
function nearValid(valid: fc.Arbitrary<unknown>, schema: TSchema): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: valid.chain((v) => mutated(v, schema)) },
  );
}

export const serviceBodyArb = nearValid(serviceArb(), CreateServiceBody);
export const replaceBodyArb = nearValid(serviceArb().map(({ name: _n, ...rest }) => rest), ReplaceServiceBody);
export const backendBodyArb = nearValid(fc.constantFrom<4 | 6>(4, 6).chain(backendArb), CreateBackendBody);
export const patchBodyArb = nearValid(patchArb, PatchBackendBody);

/** Text that is not one JSON value, or is JSON of a kind no route takes. */
export const badJsonText = fc.oneof(
  fc.constantFrom('', '{', '{"name":', '[1,2', 'null', 'true', '"str"', '{"a":1}{"b":2}', '\u0000', "{'name':'x'}",
    '{"name": NaN}', '{"port": 1e999}', '\ufeff{}', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {"x": 1}}}',
    '{"name":"a","name":"b"}', '[]', '{}', ' ', '\n', '{"name":"\\ud800"}', 'x'.repeat(70_000)),
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
);

// --- requests --------------------------------------------------------------

export interface FuzzRequest {
  method: string;
  /** path and query, already percent-encoded where it should be (or deliberately not) */
  url: string;
  headers: Record<string, string>;
  /** the raw body text, if any */
  body?: string;
}

/** Path segments for a service name: ones that exist, valid ones, and hostile spellings. */
export const nameSegmentArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('web', 'api') },
  { weight: 6, arbitrary: nameArb.map(encodeURIComponent) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('.', '..', '%2e', '%2e%2e', '%2E%2E', '.%2e', 'a'.repeat(33), 'a'.repeat(101), 'a'.repeat(300),
      '-x', '_x', 'a%2Fb', '%', '%zz', '%00', 'web%00', '%C3%A9', '%FF', 'WEB', 'web%20', '%20', 'web.', 'web..', '~web',
      '%252e', '%u002e', 'web;x', 'web%3Fx=1', 'web%23'),
  },
  { weight: 1, arbitrary: unicodeString.map(encodeURIComponent) },
);

/** Path segments for a backend key (address:port): ones that exist, near misses, hostile ones. */
export const backendSegmentArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('10.99.0.11:80', '10.99.0.12:80', encodeURIComponent('[fd00:99::11]:80'), '%5BFD00:99:0::11%5D:80') },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...V4_BACKENDS), fc.constantFrom(80, 8080)).map(([a, p]) => `${a}:${p}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...V6_BACKENDS), fc.constantFrom(80, 8080)).map(([a, p]) => encodeURIComponent(`[${a}]:${p}`)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', ':', ':80', '10.99.0.11', '10.99.0.11:', '10.99.0.11:0', '10.99.0.11:65536', '10.99.0.11:080',
      '10.99.0.11:+80', '10.99.0.11:1e2', '10.99.0.11:-1', '999.0.0.1:80', '%5B10.99.0.11%5D:80', 'fd00:99::11:80',
      '%5Bfd00:99::11%5D', '%5Bfd00:99::11%5D:80%00', '%5B::ffff:10.99.0.11%5D:80', '%5Bfe80::1%25eth0%5D:80',
      '%5BFD00:99:0:0:0:0:0:11%5D:80', '10.99.0.11:80:80', '..', '.', '%2e%2e', 'a'.repeat(101), '10.99.0.11%3A80'),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...BAD_ADDRESSES), fc.integer({ min: -1, max: 70000 })).map(([a, p]) => encodeURIComponent(`${a}:${p}`)) },
);

export const queryArb = fc.oneof(
  { weight: 15, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('?dryRun=true', '?', '?a=%zz', '?__proto__[x]=1', '?name=web&name=api', `?${'q'.repeat(5000)}=1`) },
);

export type AuthKind = 'good' | 'none' | 'wrong' | 'basic' | 'empty' | 'lower' | 'spaces' | 'trailing';
export const authArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant<AuthKind>('good') },
  { weight: 2, arbitrary: fc.constantFrom<AuthKind>('none', 'wrong', 'basic', 'empty', 'lower', 'spaces', 'trailing') },
);

export function authHeader(kind: AuthKind, token: string): Record<string, string> {
  switch (kind) {
    case 'good': return { authorization: `Bearer ${token}` };
    case 'none': return {};
    case 'wrong': return { authorization: `Bearer ${token}x` };
    case 'basic': return { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` };
    case 'empty': return { authorization: 'Bearer ' };
    case 'lower': return { authorization: `bearer ${token}` };
    case 'spaces': return { authorization: `Bearer    ${token}` };
    case 'trailing': return { authorization: `Bearer ${token} ` };
  }
}

export const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x', 'application/xml', '', 'application/JSON', 'application/json; charset=latin1',
      'application/vnd.api+json', 'application/json, text/plain', '*/*', 'none'),
  },
);

type Route = { method: string; path: fc.Arbitrary<string>; body?: fc.Arbitrary<unknown> };

const svc = nameSegmentArb.map((n) => `/api/v1/services/${n}`);
const backendPath = fc.tuple(nameSegmentArb, backendSegmentArb).map(([n, b]) => `/api/v1/services/${n}/backends/${b}`);

/** Every route of the API, with the bodies it takes. */
export const ROUTES: Route[] = [
  ...['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/json'].map((p) => ({ method: 'GET', path: fc.constant(p) })),
  ...['ports', 'neighbors', 'lcores', 'stats', 'node', 'services'].map((p) => ({ method: 'GET', path: fc.constant(`/api/v1/${p}`) })),
  { method: 'POST', path: fc.constant('/api/v1/services'), body: serviceBodyArb },
  { method: 'GET', path: svc },
  { method: 'PUT', path: svc, body: replaceBodyArb },
  { method: 'PUT', path: svc, body: serviceBodyArb },
  { method: 'DELETE', path: svc },
  { method: 'GET', path: svc.map((p) => `${p}/backends`) },
  { method: 'POST', path: svc.map((p) => `${p}/backends`), body: backendBodyArb },
  { method: 'GET', path: backendPath },
  { method: 'PATCH', path: backendPath, body: patchBodyArb },
  { method: 'DELETE', path: backendPath },
  // A connection listing, its filters right or wrong (the fuzzer may add another query after these).
  {
    method: 'GET',
    path: fc.tuple(fc.option(nameSegmentArb, { nil: undefined }), fc.option(backendSegmentArb, { nil: undefined }),
      fc.option(fc.constantFrom('10.0.0.1', 'fd00::1', 'FD00:0::1', 'x', ''), { nil: undefined }),
      fc.option(fc.constantFrom('1', '100', '10000', '10001', '0', '-1', '1e3', 'all'), { nil: undefined }))
      .map(([service, backend, client, limit]) => {
        const q = [['service', service], ['backend', backend], ['client', client], ['limit', limit]]
          .filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join('&');
        return `/api/v1/flows${q === '' ? '' : `?${q}`}`;
      }),
  },
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Paths that are almost routes. */
const oddPath = fc.constantFrom('/api/v1', '/api/v1/', '/api/v2/services', '/api/v1/services/', '//api/v1/services',
  '/api/v1/services/web/backends/10.99.0.11:80/x', '/%', '/api/v1/services/web/', '/API/V1/SERVICES', '/api/v1/services/web/../api',
  '/healthz/../api/v1/services', '/api/v1/services/%2e%2e/services', '/api/v1/./services', '/' + 'a'.repeat(5000));

/** A request over the real routes; mostly well-formed, with one thing wrong in many. */
export function requestArb(token: string): fc.Arbitrary<FuzzRequest> {
  const route = fc.oneof(
    // Changes more often than reads: they are what can go wrong.
    ...ROUTES.map((r) => ({
      weight: r.method === 'GET' ? 1 : 4,
      arbitrary: fc.record({ method: fc.constant(r.method), path: r.path, body: r.body ?? fc.constant(undefined) }),
    })),
    // Any route with the wrong method, or an odd path with any method.
    { weight: 6, arbitrary: fc.record({ method: fc.constantFrom(...METHODS), path: fc.oneof(fc.constantFrom(...ROUTES).chain((r) => r.path), oddPath), body: fc.option(serviceBodyArb, { nil: undefined }) }) },
  );
  return fc.record({
    route,
    query: queryArb,
    auth: authArb,
    contentType: contentTypeArb,
    // The body as JSON (mostly), as broken text, or absent.
    text: fc.oneof({ weight: 12, arbitrary: fc.constant<string | undefined>(undefined) }, { weight: 1, arbitrary: badJsonText }),
  }).map(({ route: r, query, auth, contentType, text }) => {
    const headers: Record<string, string> = authHeader(auth, token);
    let body: string | undefined = text ?? (r.body === undefined ? undefined : toJsonText(r.body));
    if (body !== undefined || contentType !== 'application/json') {
      if (contentType !== 'none') headers['content-type'] = contentType;
    }
    if (r.method === 'GET' || r.method === 'HEAD') body = text; // a GET with a body only when deliberately broken
    return { method: r.method, url: r.path + query, headers, ...(body === undefined ? {} : { body }) };
  });
}

export function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? '' : ` body(${req.body.length})=${req.body.slice(0, 300)}`;
  return `${req.method} ${req.url.slice(0, 300)} headers=${JSON.stringify(req.headers)}${body}`;
}

// --- checks ----------------------------------------------------------------

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * No 5xx; every 4xx is a JSON error body {statusCode, code, error, message,
 * details?} whose code is in src/errors.ts and maps to that very status.
 */
export function checkResponse(req: FuzzRequest, res: FuzzResponse): void {
  const what = () => `${describeRequest(req)}\n  -> ${res.status} ${res.body.slice(0, 500)}`;
  assert.ok(res.status < 500, `5xx: ${what()}`);
  if (res.status < 400) return;
  if (req.method === 'HEAD') return;
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/json/, `4xx not JSON: ${what()}`);
  let b: { statusCode?: unknown; code?: unknown; error?: unknown; message?: unknown };
  try {
    b = JSON.parse(res.body);
  } catch {
    assert.fail(`4xx body is not JSON: ${what()}`);
  }
  assert.equal(typeof b.code, 'string', `4xx without a code: ${what()}`);
  assert.ok(Object.hasOwn(ErrorCodes, b.code as string), `4xx with an unknown code: ${what()}`);
  assert.equal(ErrorCodes[b.code as keyof typeof ErrorCodes].status, res.status, `code does not match the status: ${what()}`);
  assert.equal(b.statusCode, res.status, `statusCode differs from the status: ${what()}`);
  assert.equal(typeof b.message, 'string', `4xx without a message: ${what()}`);
  assert.equal(typeof b.error, 'string', `4xx without an error: ${what()}`);
}

/** A request that must not change anything whatever it gets: reads, and every refusal. */
export function mustNotChange(req: FuzzRequest, status: number): boolean {
  return req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || status >= 400;
}

// --- configs ---------------------------------------------------------------

/**
 * A config file's content that is mostly valid: one or two ports (the first
 * 10.99.0.2/24 and fd00:99::2/64, so the service arbitraries fit it), the
 * optional sections with values in range, and up to four services.
 */
export const configArb: fc.Arbitrary<Record<string, unknown>> = fc.record({
  eal: fc.record({
    lcores: fc.constantFrom('0@0,1@1', '0-1', '0,1', '0@0,1@1,2@1', '0,2-3'),
    hugepages: fc.boolean(),
    memoryMb: fc.integer({ min: 64, max: 4096 }),
    extraArgs: fc.constantFrom([], ['--log-level=5']),
  }, { requiredKeys: ['lcores'] }),
  ports: fc.record({
    second: fc.boolean(),
    natPool: fc.boolean(),
    queues: fc.constantFrom(1, 2, 4),
    mtu: fc.integer({ min: 68, max: 9600 }),
  }).map(({ second, natPool, queues, mtu }) => [
    {
      name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64', queues, mtu,
      ...(natPool ? { natPool: { addresses: ['10.99.0.240/30'], addresses6: ['fd00:99::1:0/126'], portRange: [20000, 29999] } } : {}),
    },
    ...(second ? [{ name: 'p1', device: 'net_null0', address: '10.98.0.2/24', gateway: '10.98.0.1' }] : []),
  ]),
  flowTable: fc.record({
    entriesPerLcore: fc.constantFrom(1024, 16384, 65536),
    tcpTimeoutSec: fc.integer({ min: 1, max: 86400 }),
    admission: fc.record({ newFlowsPerSec: fc.integer({ min: 0, max: 1_000_000 }), burst: fc.integer({ min: 1, max: 100_000 }) }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  dataplane: fc.record({ idleSleepMaxUs: fc.integer({ min: 0, max: 100000 }), neighborRefreshSec: fc.integer({ min: 1, max: 3600 }) }, { requiredKeys: [] }),
  limits: fc.record({ lookupTablesMb: fc.integer({ min: 64, max: 4096 }) }, { requiredKeys: [] }),
  api: fc.record({
    listen: fc.constantFrom('127.0.0.1:9090', '[::1]:0', 'localhost:9090'),
    bodyLimitBytes: fc.integer({ min: 1024, max: 16777216 }),
    tokenEnv: fc.constant('SLUICE_TOKEN'),
  }, { requiredKeys: [] }),
  services: fc.uniqueArray(serviceArb(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)), {
    maxLength: 4,
    selector: (s) => String(s.name),
  }).map((services) => {
    // One service per VIP, port and protocol; a clash is still refused, so let a few through.
    const seen = new Set<string>();
    return services.filter((s) => {
      const k = `${String(s.vip)}:${String(s.port)}/${String(s.protocol ?? 'tcp')}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }),
  stateFile: fc.constantFrom('/var/lib/sluice/state.json', 'state.json'),
}, { requiredKeys: ['eal', 'ports'] });
