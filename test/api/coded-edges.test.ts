// The API's answers outside its routes are coded too: the OpenAPI UI behind the
// token (401, not a 500 with a stack in the log), what Node's HTTP parser
// refuses (400, 431) over a raw socket, requests that arrive while the API
// closes (503), 5xx bodies without paths or errno text, and an api.listen that
// cannot be bound refused before anything starts. The data plane is a stand-in
// (test/helpers/fake-addon.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { toErrorBody } from '../../src/api/errors';
import { checkListen } from '../../src/daemon';
import { SluiceError, isSluiceError } from '../../src/errors';
import { captureLog } from '../helpers/captured-log';
import { fakeApp } from '../helpers/fake-app';

const TOKEN = 'edge-token';
const apps: FastifyInstance[] = [];
after(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

/** `token` null: an API without a token. */
function makeApp(logger: pino.Logger | false = false, token: string | null = TOKEN): FastifyInstance {
  const app = fakeApp({ token: token ?? undefined, logger });
  apps.push(app);
  return app;
}

/** Sends `raw` on a fresh connection and returns everything the server wrote before it closed. */
async function rawExchange(port: number, raw: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let data = '';
  socket.on('data', (d) => (data += d));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(raw);
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return data;
}

function parseResponse(text: string): { status: number; body: { code?: string; statusCode?: number; message?: string } } {
  const [head, ...rest] = text.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 \d{3} /, text);
  assert.match(head, /content-type: application\/json/i);
  return { status: Number(head.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n')) };
}

test('/docs without the token: 401 with a code, nothing logged at warn or above', async () => {
  const { logger, lines } = captureLog();
  const app = makeApp(logger);
  for (const url of ['/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 401, `${url}: ${res.body}`);
    assert.equal(res.json().code, 'SLUICE_UNAUTHORIZED', url);
  }
  assert.deepEqual(lines.filter((l) => l.level >= 40).map((l) => l.msg), [], 'no warning or error per request');
  const ok = await app.inject({ method: 'GET', url: '/docs/', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz stays open');
});

test('Node-level refusals over a raw socket: not HTTP 400, oversized headers 431, each with a code', async () => {
  const app = makeApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;

  const garbage = parseResponse(await rawExchange(port, 'HELLO THERE\r\n\r\n'));
  assert.equal(garbage.status, 400);
  assert.equal(garbage.body.code, 'SLUICE_BAD_REQUEST');
  assert.equal(garbage.body.statusCode, 400);

  const big = parseResponse(await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`));
  assert.equal(big.status, 431);
  assert.equal(big.body.code, 'SLUICE_HEADERS_TOO_LARGE');
});

test('a request that arrives while the API closes gets a coded 503', async () => {
  const app = makeApp(false, null);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  const socket = net.connect({ host: '127.0.0.1', port });
  let data = '';
  socket.on('data', (d) => (data += d));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // Half a request: the connection is busy, not idle, when the close begins.
  socket.write('GET /api/v1/services HTTP/1.1\r\nHost: x\r\n');
  await new Promise((r) => setTimeout(r, 50));
  const closed = app.close();
  await new Promise((r) => setTimeout(r, 50));
  socket.write('\r\n');
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await closed;
  const res = parseResponse(data);
  assert.equal(res.status, 503);
  assert.equal(res.body.code, 'SLUICE_SHUTTING_DOWN');
});

test('a SLUICE_STATE_WRITE body names neither the path nor the errno text', () => {
  const err = new SluiceError('SLUICE_STATE_WRITE', '/var/lib/sluice/.state.json.123.tmp: EACCES: permission denied, open');
  const out = toErrorBody(err, 1024);
  assert.ok(out !== undefined);
  assert.equal(out.statusCode, 500);
  assert.equal(out.code, 'SLUICE_STATE_WRITE');
  assert.doesNotMatch(out.message, /\/var|EACCES|permission|tmp/);
  assert.match(out.message, /server log/);
});

test('an api.listen that cannot be bound: SLUICE_LISTEN_FAILED naming api.listen', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    for (const [listen, host] of [[`127.0.0.1:${port}`, '127.0.0.1'], [`192.0.2.1:${port}`, '192.0.2.1']]) {
      await assert.rejects(checkListen(listen, host, port), (err: unknown) => {
        assert.ok(isSluiceError(err, 'SLUICE_LISTEN_FAILED'), String(err));
        assert.match(err.message, new RegExp(`api\\.listen: cannot listen on ${listen.replace(/\./g, '\\.')}: E[A-Z]+`));
        return true;
      });
    }
  } finally {
    busy.close();
  }
  // Free again: the check binds and lets go.
  await checkListen(`127.0.0.1:${port}`, '127.0.0.1', port);
  await checkListen(`127.0.0.1:${port}`, '127.0.0.1', port);
});

test('service names "." and "..": refused when made (400 naming body/name)', async () => {
  const app = makeApp(false, null);
  for (const name of ['.', '..', '-x']) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/services', payload: { name, vip: '10.99.0.101', port: 80 } });
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    assert.equal(res.json().code, 'SLUICE_BAD_REQUEST');
    assert.match(res.json().message, /body\/name must be .*starting with a letter or digit/);
  }
});
