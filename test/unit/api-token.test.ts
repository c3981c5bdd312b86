// Where the API token and listen address come from, and how a bad source fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLoopbackHost } from '../../src/config/listen';
import { parseListen, readApiToken } from '../../src/control/api-token';

const api = (extra: { tokenFile?: string; tokenEnv?: string }) => extra;

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

test('a token file others may read: read, with a warning naming the field and the mode', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-token-'));
  try {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'abc123\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const warnings: string[] = [];
    assert.equal(readApiToken(api({ tokenFile: file }), {}, (m) => warnings.push(m)), 'abc123');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /api\.tokenFile .*token is readable by every user \(mode 644\); chmod 600 it/);
    fs.chmodSync(file, 0o600);
    warnings.length = 0;
    assert.equal(readApiToken(api({ tokenFile: file }), {}, (m) => warnings.push(m)), 'abc123');
    assert.deepEqual(warnings, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a token file that is not a regular file (a FIFO) is refused at once, not waited on', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-token-'));
  try {
    const fifo = path.join(dir, 'token');
    execFileSync('mkfifo', [fifo]);
    expectInvalid(() => readApiToken(api({ tokenFile: fifo })), 'api.tokenFile', /is not a regular file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenFile and tokenEnv together: refused, neither silently wins', () => {
  expectInvalid(() => readApiToken(api({ tokenFile: '/nonexistent', tokenEnv: 'T' }), { T: 'x' }), 'api',
    /tokenFile and tokenEnv/);
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

test('loopback hosts: 127/8, ::1, ::ffff:127.x, localhost; nothing else', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '::2', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '128.0.0.1']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});
