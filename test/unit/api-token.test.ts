// Where the API token and listen address come from, and how a bad source fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseListen, readApiToken } from '../../src/control/api-token';

const api = (extra: object) => ({ listen: '127.0.0.1:9090', bodyLimitBytes: 1048576, ...extra });

function expectInvalid(fn: () => unknown, pathText: string, reason: RegExp) {
  assert.throws(fn, (err: Error & { code?: string; details?: { path: string }[] }) => {
    assert.equal(err.code, 'SLUICE_CONFIG_INVALID');
    assert.equal(err.details?.[0].path, pathText);
    assert.match(err.message, reason);
    return true;
  });
}

test('no token source: the API is open', () => {
  assert.equal(readApiToken(api({})), undefined);
});

test('tokenFile: trimmed contents; missing or empty file is an error naming the field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-token-'));
  try {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, '  abc123\n');
    assert.equal(readApiToken(api({ tokenFile: file })), 'abc123');
    fs.writeFileSync(file, '\n');
    expectInvalid(() => readApiToken(api({ tokenFile: file })), 'api.tokenFile', /is empty/);
    expectInvalid(() => readApiToken(api({ tokenFile: path.join(dir, 'nope') })), 'api.tokenFile', /cannot read/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenEnv: the variable named; unset or blank is an error naming the field', () => {
  assert.equal(readApiToken(api({ tokenEnv: 'T' }), { T: 'xyz' }), 'xyz');
  expectInvalid(() => readApiToken(api({ tokenEnv: 'T' }), {}), 'api.tokenEnv', /T is not set or empty/);
  expectInvalid(() => readApiToken(api({ tokenEnv: 'T' }), { T: '  ' }), 'api.tokenEnv', /not set or empty/);
});

test('listen addresses: IPv4, bracketed IPv6, hostnames; anything else is an error', () => {
  assert.deepEqual(parseListen('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9090', '::1:80', '127.0.0.1:99999', '127.0.0.1:', 'host:port']) {
    expectInvalid(() => parseListen(bad), 'api.listen', /is not host:port/);
  }
});
