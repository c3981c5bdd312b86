// The problems of a config that must fail validation, as "path: reason".
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config';
import type { SluiceError } from '../../src/errors';

export function configProblems(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    const e = err as SluiceError;
    assert.equal(e.code, 'SLUICE_CONFIG_INVALID');
    return (e.details as { path: string; reason: string }[]).map((p) => `${p.path}: ${p.reason}`);
  }
  return assert.fail('expected SLUICE_CONFIG_INVALID, nothing was thrown');
}
