#!/usr/bin/env node
// Writes src/native/counters.generated.ts from the counter lists of
// native/common/lcore_counters.h (SLUICE_LCORE_COUNTERS, SLUICE_LCORE_DERIVED,
// SLUICE_SERVICE_COUNTERS, SLUICE_BACKEND_COUNTERS), so the TypeScript side
// (types, totals, REST schemas, Prometheus metrics) has the header's lists as
// constants and types that tsc checks statically.
//
//   node scripts/gen-counters.js           write the module when it differs
//   node scripts/gen-counters.js --check   exit 1 when it is stale, write nothing
//
// npm run build:ts runs it before tsc. test/unit/counters-catalogue.test.ts
// requires this file for parse() and render(), and compares what parse() reads
// with the catalogue the addon compiled from the same lists.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const HEADER = 'native/common/lcore_counters.h';
const OUTPUT = 'src/native/counters.generated.ts';

const LCORE_KINDS = ['counter', 'gauge', 'gauge_i64', 'internal', 'drops'];
const DERIVED_KINDS = ['counter', 'gauge'];
const SCOPED_KINDS = ['counter', 'gauge', 'gauge_i64'];
const GROUPS = ['top', 'icmp', 'loop', 'flows', 'nat'];
const APIS = ['stats', 'none'];

// Each list's columns: an identifier column takes one of `of`, or any
// identifier; a string column takes C string literals.
const LISTS = {
  lcore: {
    macro: 'SLUICE_LCORE_COUNTERS',
    columns: [['field'], ['name'], ['kind', LCORE_KINDS], ['group', GROUPS], ['metric', 'string'], ['api', APIS],
      ['help', 'string']],
  },
  lcoreDerived: {
    macro: 'SLUICE_LCORE_DERIVED',
    columns: [['name'], ['kind', DERIVED_KINDS], ['group', GROUPS], ['metric', 'string'], ['api', APIS],
      ['help', 'string']],
  },
  service: {
    macro: 'SLUICE_SERVICE_COUNTERS',
    columns: [['field'], ['name'], ['kind', SCOPED_KINDS], ['metric', 'string'], ['help', 'string']],
  },
  backend: {
    macro: 'SLUICE_BACKEND_COUNTERS',
    columns: [['field'], ['name'], ['kind', SCOPED_KINDS], ['metric', 'string'], ['help', 'string']],
  },
};

// Keys the addon's objects hold besides the listed counters.
const RESERVED = {
  lcore: ['lcore', 'flows', 'nat'],
  lcoreDerived: ['lcore', 'flows', 'nat'],
  service: ['id', 'name', 'backends'],
  backend: ['id', 'address', 'port'],
};

/** The text of `#define MACRO(X) ...` with its line continuations joined and its comments gone. */
function macroBody(text, macro) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#define ${macro}\\(X\\)`).test(l));
  if (start < 0) throw new Error(`${HEADER}: no #define ${macro}(X)`);
  const body = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i];
    const more = line.endsWith('\\');
    body.push(more ? line.slice(0, -1) : line);
    if (!more) break;
  }
  const joined = body.join(' ').replace(/^#define \w+\(X\)/, '');
  if (/\/\//.test(joined.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) {
    throw new Error(`${HEADER}: ${macro} holds a // comment; use /* */ inside the list`);
  }
  return joined.replace(/\/\*[\s\S]*?\*\//g, ' ');
}

/** The X(...) invocations of a list body, each as its raw arguments. */
function invocations(body, macro) {
  const out = [];
  let i = 0;
  const skipSpace = () => {
    while (i < body.length && /\s/.test(body[i])) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= body.length) return out;
    if (!body.startsWith('X(', i)) throw new Error(`${HEADER}: ${macro}: expected X( at "${body.slice(i, i + 40)}"`);
    i += 2;
    const args = [];
    let arg = '';
    let depth = 0;
    for (;;) {
      if (i >= body.length) throw new Error(`${HEADER}: ${macro}: unterminated X(`);
      const c = body[i];
      if (c === '"') {
        const m = /^"(?:[^"\\]|\\.)*"/.exec(body.slice(i));
        if (!m) throw new Error(`${HEADER}: ${macro}: unterminated string`);
        arg += m[0];
        i += m[0].length;
        continue;
      }
      i++;
      if (c === '(') depth++;
      if (c === ')' && depth-- === 0) break;
      if (c === ',' && depth === 0) {
        args.push(arg.trim());
        arg = '';
      } else {
        arg += c;
      }
    }
    args.push(arg.trim());
    out.push(args);
  }
}

/** A C string argument: one or more adjacent literals, concatenated. */
function cString(arg, where) {
  if (!/^(?:"(?:[^"\\]|\\.)*"\s*)+$/.test(arg)) throw new Error(`${where}: expected a string literal, got ${arg}`);
  return arg.match(/"(?:[^"\\]|\\.)*"/g).map((p) => JSON.parse(p)).join('');
}

function check(ok, message) {
  if (!ok) throw new Error(`${HEADER}: ${message}`);
}

/**
 * The lists as written in the header: { lcore, lcoreDerived, service, backend },
 * each an array of entries whose keys are the list's columns, every value text.
 */
function parse(text = fs.readFileSync(path.join(ROOT, HEADER), 'utf8')) {
  const lists = {};
  for (const [key, { macro, columns }] of Object.entries(LISTS)) {
    lists[key] = invocations(macroBody(text, macro), macro).map((args) => {
      const where = `${macro} X(${args.join(', ')})`;
      check(args.length === columns.length, `${where}: ${columns.length} columns expected, ${args.length} found`);
      const entry = {};
      columns.forEach(([column, of], c) => {
        const arg = args[c];
        if (of === 'string') {
          entry[column] = cString(arg, `${HEADER}: ${where}`);
        } else {
          check(/^[A-Za-z_]\w*$/.test(arg), `${where}: ${column} must be an identifier`);
          check(of === undefined || of.includes(arg), `${where}: ${column} must be one of ${of?.join(', ')}`);
          entry[column] = arg;
        }
      });
      return entry;
    });
  }
  validate(lists);
  return lists;
}

function validate(lists) {
  const metrics = new Set();
  const lcoreNames = new Set();
  for (const [key, entries] of Object.entries(lists)) {
    const fields = new Set();
    const names = key.startsWith('lcore') ? lcoreNames : new Set();
    check(entries.length > 0, `${LISTS[key].macro} is empty`);
    for (const e of entries) {
      const what = `${LISTS[key].macro}: ${e.name}`;
      if (e.field !== undefined) {
        check(!fields.has(e.field), `${what}: field ${e.field} twice`);
        fields.add(e.field);
      }
      check(e.help.trim() !== '' && !e.help.includes('*/'), `${what}: help must be one line of text`);
      if (e.kind === 'internal') {
        check(e.metric === '' && e.api === 'none', `${what}: an internal counter has no metric and api none`);
        continue;  // never shown, so its name is free
      }
      // Totals over lcores put every group's values side by side: names are unique across groups.
      check(!names.has(e.name), `${what}: name used twice`);
      check(!RESERVED[key].includes(e.name), `${what}: ${e.name} is taken by the addon's object`);
      check(/^[a-z][A-Za-z0-9]*$/.test(e.name), `${what}: name must be camelCase`);
      names.add(e.name);
      if (e.metric === '') continue;
      check(/^sluice_[a-z0-9_]+$/.test(e.metric), `${what}: metric ${e.metric} must be sluice_ and snake_case`);
      check(!metrics.has(e.metric), `${what}: metric ${e.metric} twice`);
      metrics.add(e.metric);
      const counter = e.kind === 'counter' || e.kind === 'drops';
      check(counter === e.metric.endsWith('_total'), `${what}: counters' metrics end in _total, gauges' do not`);
    }
  }
  check(lists.lcore.filter((e) => e.kind === 'drops').length === 1, 'SLUICE_LCORE_COUNTERS has one drops entry');
}

const quote = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function constArray(name, doc, entries) {
  const rows = entries.map((e) => `  { ${Object.entries(e).map(([k, v]) => `${k}: ${quote(v)}`).join(', ')} },`);
  return [`/** ${doc} */`, `export const ${name} = [`, ...rows, '] as const;', ''];
}

function members(entries, indent) {
  return entries.flatMap((e) => [
    `${indent}/** ${e.help} */`,
    `${indent}${e.name}: ${e.kind === 'drops' ? 'Record<string, number>' : 'number'};`,
  ]);
}

/** The TypeScript module for parsed lists. */
function render(lists) {
  const shown = [...lists.lcore.filter((e) => e.kind !== 'internal'), ...lists.lcoreDerived];
  const inGroups = (...groups) => shown.filter((e) => groups.includes(e.group));
  return [
    `// Generated from ${HEADER} by scripts/gen-counters.js: do not edit.`,
    '// Change the lists there and run `node scripts/gen-counters.js` (npm run build:ts',
    '// runs it); test/unit/counters-catalogue.test.ts fails while this file is stale.',
    '// The rest of src/ takes these from src/native/counters.ts.',
    '',
    ...constArray('LCORE_COUNTERS', 'SLUICE_LCORE_COUNTERS: per lcore, in struct order.', lists.lcore),
    ...constArray('LCORE_DERIVED', 'SLUICE_LCORE_DERIVED: per lcore, derived by the addon on read.',
      lists.lcoreDerived),
    ...constArray('SERVICE_COUNTERS', 'SLUICE_SERVICE_COUNTERS: per service, summed over lcores.', lists.service),
    ...constArray('BACKEND_COUNTERS', 'SLUICE_BACKEND_COUNTERS: per backend, summed over lcores.', lists.backend),
    '/** The counters the addon reports for each worker lcore (stats().lcores[i]). */',
    'export interface LcoreCounterValues {',
    ...members(inGroups('top', 'icmp', 'loop'), '  '),
    '  flows: {',
    ...members(inGroups('flows'), '    '),
    '  };',
    '  nat: {',
    ...members(inGroups('nat'), '    '),
    '  };',
    '}',
    '',
    '/** The counters the addon reports for each service (stats().services[i]). */',
    'export interface ServiceCounterValues {',
    ...members(lists.service, '  '),
    '}',
    '',
    '/** The counters the addon reports for each backend (stats().services[i].backends[j]). */',
    'export interface BackendCounterValues {',
    ...members(lists.backend, '  '),
    '}',
    '',
  ].join('\n');
}

function main(argv) {
  const file = path.join(ROOT, OUTPUT);
  const want = render(parse());
  const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (argv.includes('--check')) {
    if (have === want) return 0;
    process.stderr.write(`${OUTPUT} is stale: run node scripts/gen-counters.js\n`);
    return 1;
  }
  if (have !== want) fs.writeFileSync(file, want);
  return 0;
}

module.exports = { parse, render, HEADER, OUTPUT };

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen-counters: ${err.message}\n`);
    process.exitCode = 1;
  }
}
