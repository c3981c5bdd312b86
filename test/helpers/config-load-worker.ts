// A worker thread for test/unit/config-fuzz: loads config files one message at
// a time, so the test can bound each load and terminate the worker on a hang.
// For each file it says what the loader did (a config, a SluiceError with its
// code, or some other exception) and, for a config, whether it survives a
// round trip: validated again, and written as YAML and loaded again, it must be
// the same, prototypes included.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { stringify } from 'yaml';
import { loadConfigFile, validateConfig } from '../../src/config';
import { isSluiceError } from '../../src/errors';

export type LoadVerdict =
  | { outcome: 'config'; roundTrip: string | null; keys: string[] }
  | { outcome: 'sluice-error'; code: string; message: string }
  | { outcome: 'other-error'; name: string; message: string; stack: string };

/** The first object in `v` whose prototype is not Object's or Array's: what deepStrictEqual reports only as "not reference-equal". */
function oddPrototype(v: unknown, at = 'config'): string | null {
  if (v === null || typeof v !== 'object') return null;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== Array.prototype) {
    return `${at} has a prototype other than Object's, inheriting ${JSON.stringify(proto)?.slice(0, 200)}`;
  }
  for (const [k, x] of Object.entries(v)) {
    const found = oddPrototype(x, `${at}.${k}`);
    if (found !== null) return found;
  }
  return null;
}

function roundTrip(cfg: unknown, file: string): string | null {
  const odd = oddPrototype(cfg);
  if (odd !== null) return odd;
  try {
    assert.deepStrictEqual(validateConfig(cfg), cfg, 'validateConfig(config) differs from config');
    const again = `${file}.again.yaml`;
    fs.writeFileSync(again, stringify(cfg));
    assert.deepStrictEqual(loadConfigFile(again), cfg, 'load(stringify(config)) differs from config');
    return null;
  } catch (err) {
    return String((err as Error).message).slice(0, 1000);
  }
}

function load(file: string): LoadVerdict {
  try {
    const cfg = loadConfigFile(file);
    return { outcome: 'config', roundTrip: roundTrip(cfg, file), keys: Object.keys(cfg) };
  } catch (err) {
    if (isSluiceError(err)) return { outcome: 'sluice-error', code: err.code, message: err.message.slice(0, 500) };
    const e = err as Error;
    return { outcome: 'other-error', name: e?.constructor?.name ?? typeof err, message: String(e?.message).slice(0, 500),
      stack: String(e?.stack).split('\n').slice(0, 8).join('\n') };
  }
}

parentPort!.on('message', (msg: { id: number; file: string }) => {
  parentPort!.postMessage({ id: msg.id, verdict: load(msg.file) });
});
