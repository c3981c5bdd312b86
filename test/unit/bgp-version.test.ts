// gobgpd's version: 3.10.x (the release the .proto files come from) is known;
// any other release, output that is not a version line, and a binary that is
// not there are SLUICE_BGP_UNSUPPORTED, the last naming the Debian package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSluiceError } from '../../src/errors';
import { gobgpdVersion, parseGobgpdVersion } from '../../src/bgp/gobgp-version';

test('3.10.x is known, with what gobgpd appends kept in the text', () => {
  assert.deepEqual(parseGobgpdVersion('gobgpd version 3.10.0\n'), { major: 3, minor: 10, patch: 0, text: '3.10.0' });
  assert.deepEqual(parseGobgpdVersion('gobgpd version 3.10.7-rc1+commit.abc123'),
    { major: 3, minor: 10, patch: 7, text: '3.10.7-rc1+commit.abc123' });
});

test('another release is SLUICE_BGP_UNSUPPORTED naming it and the known one', () => {
  for (const v of ['3.11.0', '3.9.0', '2.34.0', '4.0.0', '3.1.0', '30.10.0']) {
    assert.throws(() => parseGobgpdVersion(`gobgpd version ${v}`), (err: unknown) => {
      assert.ok(isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED'), String(err));
      assert.match(err.message, new RegExp(`gobgpd ${v.replace(/\./g, '\\.')} is not a version Sluice knows`));
      assert.match(err.message, /3\.10\.x/);
      return true;
    });
  }
});

test('output that is not a version line is SLUICE_BGP_UNSUPPORTED quoting it', () => {
  for (const out of ['', 'gobgpd version', 'gobgpd version 3.10', 'gobgp version 3.10.0', 'gobgpd version v3.10.0',
    'gobgpd version 3.10.0 extra', 'gobgpd version 3.10.0\ngobgpd version 3.10.0', '\u0000\u0001 garbage']) {
    assert.throws(() => parseGobgpdVersion(out), (err: unknown) => {
      assert.ok(isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED'), `${JSON.stringify(out)}: ${String(err)}`);
      assert.match(err.message, /not "gobgpd version X\.Y\.Z"/);
      return true;
    });
  }
});

function fakeBinary(script: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bgp-version-'));
  const file = path.join(dir, 'gobgpd');
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return file;
}

test('gobgpdVersion runs the binary with --version', async () => {
  const known = fakeBinary('[ "$1" = --version ] && echo "gobgpd version 3.10.0" && exit 0; exit 3');
  assert.equal((await gobgpdVersion(known)).text, '3.10.0');
  const newer = fakeBinary('echo "gobgpd version 3.11.0"');
  await assert.rejects(gobgpdVersion(newer), (err: unknown) => isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED'));
  const failing = fakeBinary('echo boom >&2; exit 1');
  await assert.rejects(gobgpdVersion(failing), (err: unknown) =>
    isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED') && /--version failed/.test(err.message) && /boom/.test(err.message));
});

test('a missing gobgpd is SLUICE_BGP_UNSUPPORTED naming the Debian package', async () => {
  await assert.rejects(gobgpdVersion('/nonexistent/sluice/gobgpd'), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED'), String(err));
    assert.match(err.message, /install the Debian package gobgpd/);
    return true;
  });
  const notExecutable = fakeBinary('echo "gobgpd version 3.10.0"');
  fs.chmodSync(notExecutable, 0o644);
  // root may still lack the execute bit: EACCES, the same error.
  await assert.rejects(gobgpdVersion(notExecutable), (err: unknown) =>
    isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED') && /Debian package gobgpd/.test(err.message));
});

test('the installed gobgpd, when there is one, is a version Sluice knows', async (t) => {
  let v;
  try {
    v = await gobgpdVersion();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_BGP_UNSUPPORTED') && /cannot be run/.test(err.message)) {
      t.skip('gobgpd is not installed (bash scripts/setup.sh installs it)');
      return;
    }
    throw err;
  }
  assert.equal(`${v.major}.${v.minor}`, '3.10');
});
