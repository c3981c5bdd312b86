// From file or parsed value to a SluiceConfig the rest of the control plane can
// trust: schema (with defaults), then cross-field rules, each failure with its path.
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { configErrors, SluiceError, type ConfigProblem } from '../errors';
import { ConfigSchema, type SluiceConfig } from './schema';
import { memoryProblems } from './memory';
import { applyDefaults } from './schema-defaults';
import { schemaProblems } from './schema-errors';
import { semanticProblems } from './semantics';

/**
 * Throws SLUICE_CONFIG_INVALID listing every problem. The input is not modified.
 * Cross-field rules run only once the schema holds: they rely on its types; the
 * memory budget only once they hold, and is SLUICE_LIMIT_EXCEEDED naming the limit.
 */
export function validateConfig(raw: unknown): SluiceConfig {
  const value = applyDefaults(ConfigSchema, Value.Clone(raw));
  const shapeProblems = schemaProblems(ConfigSchema, value);
  if (shapeProblems.length > 0) throw configErrors(shapeProblems);
  const cfg = value as SluiceConfig;
  const problems = semanticProblems(cfg);
  if (problems.length > 0) throw configErrors(problems);
  const overBudget = memoryProblems(cfg);
  if (overBudget.length > 0) throw limitErrors(overBudget);
  return cfg;
}

/** Every limit exceeded, one `path: reason` per line, like configErrors. */
function limitErrors(problems: readonly ConfigProblem[]): SluiceError {
  return new SluiceError('SLUICE_LIMIT_EXCEEDED', problems.map((p) => `${p.path}: ${p.reason}`).join('\n'),
    problems.map((p) => ({ ...p })));
}

/** Parses YAML or JSON (JSON is YAML); throws SLUICE_CONFIG_READ naming the file. */
export function parseConfigText(text: string, file: string): unknown {
  const doc = parseDocument(text);
  const [first] = doc.errors;
  if (first !== undefined) {
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: ${first.message.trim()}`, {
      file,
      errors: doc.errors.map((e) => ({ code: e.code, message: e.message, linePos: e.linePos })),
    });
  }
  try {
    return doc.toJS();
  } catch (err) {
    // toJS is where yaml enforces its alias limit (the "billion laughs" guard).
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: ${(err as Error).message}`, { file });
  }
}

/** Reads, parses and validates; read and syntax errors are SLUICE_CONFIG_READ. */
export function loadConfigFile(file: string): SluiceConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SluiceError('SLUICE_CONFIG_READ', `${file}: cannot read config file: ${e.message}`, {
      file,
      errno: e.code,
    });
  }
  return validateConfig(parseConfigText(text, file));
}
