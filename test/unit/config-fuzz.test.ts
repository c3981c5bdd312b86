// Property-based fuzzing of the config loader (issue #24): config files made
// from the schema (test/helpers/api-arbitraries.ts configArb) with one field
// mutated against it, the same files mangled as text (truncated, tags such as
// !!js/function, duplicate keys, anchors and aliases: billion laughs and alias
// cycles, huge numbers, deep nesting, several documents), and raw random text.
// The loader either returns a config or throws a SluiceError with a registered
// code: never another exception, never a hang (each load runs in a worker with
// a time bound). A config it returns is a fixed point: validated again, and
// written as YAML and loaded again, it is the same. An unknown key anywhere in
// a valid config is refused. Reproducible: SLUICE_FUZZ_SEED, SLUICE_FUZZ_RUNS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigSchema, validateConfig } from '../../src/config';
import { ErrorCodes } from '../../src/errors';
import { configArb, fuzzParams, mutated, toJsonText } from '../helpers/api-arbitraries';
import type { LoadVerdict } from '../helpers/config-load-worker';

/** A load slower than this is a hang (the slowest legitimate case, deep nesting, takes well under a second). */
const LOAD_BOUND_MS = 5000;

type Verdict = LoadVerdict | { outcome: 'timeout' };

/**
 * loadConfigFile in a worker thread, one file at a time, each bounded: a load
 * that does not answer in time is reported and the worker replaced. The worker's
 * stack is the size of the main thread's (about 1 MiB), where the daemon loads.
 */
class BoundedLoader {
  private worker!: Worker;
  private next = 0;
  private waiting = new Map<number, (v: Verdict) => void>();
  private n = 0;

  constructor(private readonly dir: string) {
    this.spawn();
  }

  private spawn(): void {
    this.worker = new Worker(path.join(__dirname, '..', 'helpers', 'config-load-worker.js'), {
      resourceLimits: { stackSizeMb: 1 },
    });
    this.worker.on('message', ({ id, verdict }: { id: number; verdict: LoadVerdict }) => {
      this.waiting.get(id)?.(verdict);
      this.waiting.delete(id);
    });
    this.worker.on('error', (err) => {
      for (const done of this.waiting.values()) done({ outcome: 'other-error', name: 'WorkerError', message: String(err), stack: '' });
      this.waiting.clear();
      this.spawn();
    });
  }

  async load(text: string): Promise<Verdict> {
    const file = path.join(this.dir, `case-${this.n++}.yaml`);
    fs.writeFileSync(file, text);
    const id = this.next++;
    let timer: NodeJS.Timeout | undefined;
    const verdict = await new Promise<Verdict>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => {
        this.waiting.delete(id);
        void this.worker.terminate();
        this.spawn();
        resolve({ outcome: 'timeout' });
      }, LOAD_BOUND_MS);
      this.worker.postMessage({ id, file });
    });
    clearTimeout(timer);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.again.yaml`, { force: true });
    return verdict;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

let dir: string;
let loader: BoundedLoader;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-config-fuzz-'));
  loader = new BoundedLoader(dir);
});

after(async () => {
  await loader?.close();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

/** The loader's contract for any input at all. */
function checkVerdict(v: Verdict, text: string): void {
  const what = `input (${text.length} chars): ${JSON.stringify(text.slice(0, 400))}`;
  assert.notEqual(v.outcome, 'timeout', `the loader took over ${LOAD_BOUND_MS} ms: ${what}`);
  if (v.outcome === 'other-error') {
    assert.fail(`the loader threw ${v.name} (not a SluiceError): ${v.message}\n${v.stack}\n${what}`);
  }
  if (v.outcome === 'sluice-error') {
    assert.ok(Object.hasOwn(ErrorCodes, v.code), `unregistered code ${v.code}: ${what}`);
  }
  if (v.outcome === 'config') {
    assert.equal(v.roundTrip, null, `a loaded config is not a fixed point: ${v.roundTrip}\n${what}`);
  }
}

// --- inputs ----------------------------------------------------------------

const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

const deepYaml = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** Whole lines to add at the top level: tags, aliases, numbers and nesting YAML allows. */
const ODD_LINES = [
  'stateFile: !!js/function "function () { return 1 }"', 'stateFile: !!js/undefined ""', 'stateFile: !!binary aGVsbG8=',
  'stateFile: !!timestamp 2001-12-14', 'stateFile: !foo bar', 'stateFile: !!int "12"', 'stateFile: !<tag:yaml.org,2002:str> x',
  'services: !!set {a, b}', 'services: !!omap [{a: 1}]', 'services: !!pairs [{a: 1}]', 'stateFile: 1e400', 'stateFile: .nan',
  'stateFile: 123456789012345678901234567890', 'stateFile: 0x10', 'stateFile: ~', 'stateFile: [*nope]',
  'x: &x {a: *x}', 'x: &x [*x]', 'x: &x [1, [2, *x]]', 'stateFile: &s a\nx: *s', 'x: {<<: {a: 1}}',
  `x: ${deepYaml(100)}`, `x: ${deepYaml(700)}`, `x: ${deepYaml(5000)}`, `x: ${deepYaml(50000)}`,
  `x: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
  BILLION_LAUGHS, '? [a, b]\n: c', '? {a: 1}\n: c', '"\\ud800": x', '? !!null\n: x', '__proto__: {x: 1}',
  'constructor: {prototype: {x: 1}}', '%YAML 1.1\n---', '---', '...', '--- !!map', '&a', '*a', '!!str', 'x: "unterminated',
];

type TextOp =
  | { op: 'keep' }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; s: string }
  | { op: 'line'; line: string; where: 'end' | 'start' }
  | { op: 'dup' }
  | { op: 'crlf' }
  | { op: 'tabs' }
  | { op: 'twice' }
  | { op: 'number'; n: string };

const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<TextOp>({ op: 'keep' }) },
  { weight: 2, arbitrary: fc.nat().map((at): TextOp => ({ op: 'truncate', at })) },
  {
    weight: 3,
    arbitrary: fc.record({
      at: fc.nat(),
      s: fc.oneof(
        fc.constantFrom(':', '- ', '&a ', '*a', '!!js/function ', '\t', '\u0000', '{', '[', '"', "'", '#', '%', '@', '`', '|', '>',
          '\ufeff', '\r', '\n', '\n  ', '? ', '<<: ', '!!binary ', '\\', '\u2028', '\ud800'),
        fc.string({ unit: 'binary', maxLength: 8 }),
      ),
    }).map(({ at, s }): TextOp => ({ op: 'insert', at, s })),
  },
  { weight: 4, arbitrary: fc.constantFrom(...ODD_LINES).chain((line) => fc.constantFrom<'end' | 'start'>('end', 'start').map((where): TextOp => ({ op: 'line', line, where }))) },
  { weight: 1, arbitrary: fc.constantFrom<TextOp>({ op: 'dup' }, { op: 'crlf' }, { op: 'tabs' }, { op: 'twice' }) },
  { weight: 1, arbitrary: fc.constantFrom('123456789012345678901234567890', '1e400', '-1e400', '.inf', '-.inf', '.nan', '0x40', '0o100', '1_000', '+80', '080', '-0', '1.0')
    .map((n): TextOp => ({ op: 'number', n })) },
);

function applyTextOp(text: string, t: TextOp): string {
  switch (t.op) {
    case 'keep': return text;
    case 'truncate': return text.slice(0, t.at % (text.length + 1));
    case 'insert': {
      const at = t.at % (text.length + 1);
      return text.slice(0, at) + t.s + text.slice(at);
    }
    case 'line': {
      // The added line replaces a top-level key of the same name, else YAML refuses the duplicate first.
      const key = /^([A-Za-z_]\w*):/.exec(t.line)?.[1];
      let skipping = false;
      const rest = key === undefined ? text : text.split('\n').filter((l) => {
        if (l.startsWith(`${key}:`)) skipping = true;
        else if (skipping && !/^[\s-]/.test(l)) skipping = false;
        return !skipping;
      }).join('\n');
      return t.where === 'end' ? `${rest}\n${t.line}\n` : `${t.line}\n${rest}`;
    }
    case 'dup': return `${text}\n${text.split('\n')[0]}\n`;
    case 'crlf': return text.replace(/\n/g, '\r\n');
    case 'tabs': return text.replace(/^ {2}/gm, '\t');
    case 'twice': return `${text}\n---\n${text}`;
    case 'number': return text.replace(/: \d+$/m, `: ${t.n}`);
  }
}

/** A config made from the schema, valid or with one field mutated, as YAML or JSON text, then maybe mangled as text. */
const configTextArb: fc.Arbitrary<string> = fc.record({
  value: fc.oneof({ weight: 1, arbitrary: configArb as fc.Arbitrary<unknown> }, { weight: 2, arbitrary: configArb.chain((c) => mutated(c, ConfigSchema)) }),
  json: fc.boolean(),
  ops: fc.array(textOpArb, { maxLength: 2 }),
}).map(({ value, json, ops }) => {
  // YAML for most; JSON (which is YAML) with deep placeholders expanded for the rest.
  const text = json ? toJsonText(value) : (stringify(value, { aliasDuplicateObjects: false }) ?? '');
  return ops.reduce(applyTextOp, text);
});

/** Random text of YAML's own characters, random bytes, and random JSON values. */
const rawTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abc:-[]{}&*!|>\'"#%@`?,\n \t0123456789.~<'.split('')), maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)),
);

// --- properties ------------------------------------------------------------

describe('the config loader under fuzzing', () => {
  test('schema-made configs, mutated and mangled: a config that round-trips, or a coded SluiceError, in bounded time', async () => {
    const { seed, numRuns } = fuzzParams(500, 24_0002);
    const seen = new Map<string, number>();
    const started = Date.now();
    await fc.assert(fc.asyncProperty(configTextArb, async (text) => {
      const v = await loader.load(text);
      const k = v.outcome === 'sluice-error' ? v.code : v.outcome;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      checkVerdict(v, text);
    }), { seed, numRuns });
    console.log(`# config-fuzz (schema): seed ${seed}, ${numRuns} runs in ${Date.now() - started} ms; ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.ok((seen.get('config') ?? 0) > numRuns / 20, 'too few configs loaded: the generators drifted');
  });

  test('raw random text: a config or a coded SluiceError, in bounded time', async () => {
    const { seed, numRuns } = fuzzParams(300, 24_0003);
    await fc.assert(fc.asyncProperty(rawTextArb, async (text) => checkVerdict(await loader.load(text), text)), { seed, numRuns });
  });

  test('an unknown key added anywhere in a valid config is refused as SLUICE_CONFIG_INVALID', async () => {
    const { seed, numRuns } = fuzzParams(150, 24_0004);
    const valid = configArb.filter((c) => {
      try {
        validateConfig(c);
        return true;
      } catch {
        return false;
      }
    });
    const KEYS = ['extra', 'maglevTableSize', '__proto__', 'constructor', 'toString', 'Services', 'port '];
    await fc.assert(fc.asyncProperty(valid, fc.nat(), fc.constantFrom(...KEYS), async (cfg, pick, key) => {
      // Every mapping in the config, the config itself first.
      const objects: Record<string, unknown>[] = [];
      const walk = (v: unknown) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') {
          objects.push(v as Record<string, unknown>);
          Object.values(v).forEach(walk);
        }
      };
      const copy = structuredClone(cfg);
      walk(copy);
      Object.defineProperty(objects[pick % objects.length], key, { value: { x: 1 }, enumerable: true, writable: true, configurable: true });
      const text = stringify(copy);
      const v = await loader.load(text);
      checkVerdict(v, text);
      assert.ok(v.outcome === 'sluice-error' && v.code === 'SLUICE_CONFIG_INVALID',
        `unknown key "${key}" was not refused (${v.outcome}${v.outcome === 'config' ? `, keys ${v.keys.join(',')}` : ''}):\n${text}`);
    }), { seed, numRuns });
  });
});

describe('the config loader on known attacks', () => {
  const base = stringify({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
  });

  test('a valid base config loads', async () => {
    const v = await loader.load(base);
    checkVerdict(v, base);
    assert.equal(v.outcome, 'config');
  });

  test('billion laughs: refused with SLUICE_CONFIG_READ, quickly', async () => {
    const t0 = Date.now();
    const v = await loader.load(`${base}${BILLION_LAUGHS}\n`);
    assert.deepEqual(v.outcome === 'sluice-error' ? v.code : v, 'SLUICE_CONFIG_READ');
    assert.ok(Date.now() - t0 < 2000);
  });

  test('nesting 100,000 deep: refused with SLUICE_CONFIG_READ', async () => {
    for (const text of [`${base}x: ${deepYaml(100_000)}\n`, `${base}x: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`]) {
      const v = await loader.load(text);
      assert.deepEqual(v.outcome === 'sluice-error' ? v.code : v, 'SLUICE_CONFIG_READ');
    }
  });

  // yaml reports one error per unmatched bracket and takes quadratic time over
  // them: 100 KB of brackets after a first node took 18 s to refuse.
  test('a 100 KB file of brackets after a first node: refused within the time bound', async () => {
    const text = `[]\nx: ${deepYaml(50_000)}\n`;
    const t0 = Date.now();
    const v = await loader.load(text);
    checkVerdict(v, text);
    assert.deepEqual(v.outcome === 'sluice-error' ? v.code : v, 'SLUICE_CONFIG_READ');
    assert.ok(Date.now() - t0 < LOAD_BOUND_MS);
  });

  test('duplicate keys and several documents: refused with SLUICE_CONFIG_READ', async () => {
    for (const text of [`${base}eal: {lcores: "0-1"}\n`, `${base}---\n${base}`]) {
      const v = await loader.load(text);
      assert.deepEqual(v.outcome === 'sluice-error' ? v.code : v, 'SLUICE_CONFIG_READ');
    }
  });

  test('!!js/function and other tags are data, never code: a string where a string goes, refused elsewhere', async () => {
    const fn = await loader.load(`${base}stateFile: !!js/function "function () { throw new Error('ran') }"\n`);
    checkVerdict(fn, 'js/function');
    const bin = await loader.load(`${base}stateFile: !!binary aGVsbG8=\n`);
    assert.deepEqual(bin.outcome === 'sluice-error' ? bin.code : bin, 'SLUICE_CONFIG_INVALID');
  });

  // An alias may point at a node that contains it: yaml builds a cyclic object
  // from that, which the loader must refuse with a code, not recurse into.
  for (const [label, text] of [
    ['an unknown top-level key', `${base}x: &x {a: *x}\n`],
    ['eal.extraArgs', 'eal: &e {lcores: "0@0,1@1", hugepages: false, extraArgs: [*e]}\nports: [{name: p0, device: ring, address: 10.99.0.2/24}]\n'],
    ['the whole document', '&a [*a]\n'],
  ]) {
    test(`an alias cycle in ${label}: refused with a coded SluiceError`, async () => {
      const v = await loader.load(text);
      checkVerdict(v, text);
      assert.equal(v.outcome, 'sluice-error');
    });
  }

  // JSON.parse and yaml make "__proto__" an own key; it is no field of the schema.
  for (const [label, text] of [
    ['at the top level', `${base}__proto__: {stateFile: /tmp/x}\n`],
    ['in a service', `${base}services: [{name: a, vip: 10.99.0.100, port: 80, __proto__: {weight: 1}}]\n`],
  ]) {
    test(`a "__proto__" key ${label}: refused as an unknown field, as "constructor" is`, async () => {
      const v = await loader.load(text);
      checkVerdict(v, text);
      assert.ok(v.outcome === 'sluice-error' && v.code === 'SLUICE_CONFIG_INVALID', `not refused: ${JSON.stringify(v)}`);
    });
  }
});
