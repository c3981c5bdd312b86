// What ships and what does not: the product (src/) never imports the tools
// (tools/: the benchmark, the namespace test bed, the demo) or the tests (test/),
// so dist/src runs without them. Every module specifier counts: static imports
// and re-exports (type-only ones too), require() and import(). Also: no import
// cycles among src/ and tools/ (the benchmark's main.ts and report.ts once had one).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

// Compiled to dist/test/unit/, so the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The relative module specifiers of a file's text, each resolved to a path from the repository root. */
function relativeImports(file: string, text: string): { specifier: string; target: string }[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith('./') || s.startsWith('../'))
    .map((specifier) => ({ specifier, target: path.normalize(path.join(path.dirname(file), specifier)) }));
}

const FORBIDDEN = ['tools', 'test'];

function violations(file: string, text: string): string[] {
  return relativeImports(file, text)
    .filter(({ target }) => FORBIDDEN.some((dir) => target === dir || target.startsWith(dir + path.sep)))
    .map(({ specifier }) => `${file} imports '${specifier}'`);
}

test('the import scanner sees every kind of import (so the check below cannot pass vacuously)', () => {
  const text = [
    "import { a } from '../../tools/bench/main';",
    "import type { B } from '../../test/helpers/packets';",
    "export * from '../../tools/testbed/netns';",
    "const c = require('../../tools/demo');",
    "void import('../../test/helpers/pcap');",
    "import { ok } from '../config';",
    "import fs from 'node:fs';",
  ].join('\n');
  assert.deepEqual(violations(path.join('src', 'api', 'x.ts'), text), [
    "src/api/x.ts imports '../../tools/bench/main'",
    "src/api/x.ts imports '../../test/helpers/packets'",
    "src/api/x.ts imports '../../tools/testbed/netns'",
    "src/api/x.ts imports '../../tools/demo'",
    "src/api/x.ts imports '../../test/helpers/pcap'",
  ]);
});

test('no file under src/ imports from tools/ or test/', () => {
  const files = sourceFiles('src');
  assert.ok(files.length > 20, `only ${files.length} files found under ${path.join(ROOT, 'src')}`);
  let seen = 0;
  const found: string[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    seen += relativeImports(file, text).length;
    found.push(...violations(file, text));
  }
  assert.ok(seen > 50, `only ${seen} relative imports found under src/`);
  assert.deepEqual(found, [], 'the product must not depend on tools/ or test/');
});

test('no import cycles among src/ and tools/', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('tools')];
  const resolve = (target: string) =>
    [`${target}.ts`, path.join(target, 'index.ts')].find((f) => existsSync(path.join(ROOT, f)));
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    edges.set(file, relativeImports(file, text).flatMap(({ target }) => resolve(target) ?? []));
  }
  // Depth-first search; a back edge to a file still on the stack closes a cycle.
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});
