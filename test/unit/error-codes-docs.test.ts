// The error-code registry (src/errors.ts) and docs/api.md stay in step: every
// code the registry holds is documented there with its HTTP status, and every
// code the page names exists in the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, type ErrorCode } from '../../src/errors';

// Compiled to dist/test/unit/, so the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const API_DOC = path.join(ROOT, 'docs', 'api.md');

const doc = readFileSync(API_DOC, 'utf8');
const registry = Object.keys(ErrorCodes) as ErrorCode[];

/** The docs' table rows, `| \`CODE\` | status | meaning |`, by code. */
function documentedRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(SLUICE_[A-Z_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m) rows.set(m[1], m[2].split('|').map((cell) => cell.trim()));
  }
  return rows;
}

test('every registry code appears in docs/api.md', () => {
  const missing = registry.filter((code) => !new RegExp(`\\b${code}\\b`).test(doc));
  assert.deepEqual(missing, [], `add these codes to docs/api.md: ${missing.join(', ')}`);
});

test('every registry code has a row in the error-code table of docs/api.md, with its status', () => {
  const rows = documentedRows();
  for (const code of registry) {
    const row = rows.get(code);
    assert.ok(row !== undefined, `docs/api.md has no table row | \`${code}\` | status | meaning |`);
    assert.equal(row[0], String(ErrorCodes[code].status), `${code}: docs/api.md gives status ${row[0]}`);
    assert.ok((row[1] ?? '') !== '', `${code}: docs/api.md gives no meaning`);
  }
});

test('every SLUICE_ code named in docs/api.md exists in the registry', () => {
  const named = new Set(doc.match(/\bSLUICE_[A-Z_]+\b/g) ?? []);
  // Environment variables documented beside the codes are not error codes.
  const environment = new Set(['SLUICE_API', 'SLUICE_TOKEN', 'SLUICE_API_TOKEN', 'SLUICE_LOG_LEVEL',
    'SLUICE_ADDON_PATH', 'SLUICE_HUGEPAGES_MB', 'SLUICE_FUZZ_SECONDS']);
  const unknown = [...named].filter((code) => !environment.has(code) && !Object.hasOwn(ErrorCodes, code));
  assert.deepEqual(unknown, [], `docs/api.md names codes the registry lacks: ${unknown.join(', ')}`);
});
