// Big views go out a chunk a turn of the event loop (json-stream.ts): a reply of
// one chunk keeps its length; more are streamed, each made only once the one
// before is taken; a chunk that cannot be made cuts the reply short rather than
// ending it as if whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Fastify from 'fastify';
import { sendJsonChunks } from '../../src/api/json-stream';
import { turnCounter } from '../helpers/turns';

/** An app whose /chunks answers with `make()`'s chunks. */
async function appWith(make: () => Iterator<string, void>) {
  const app = Fastify();
  app.get('/chunks', async (_req, reply) => sendJsonChunks(reply, make()));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}/chunks` };
}

test('one chunk is sent whole with its length; several are streamed and join into the text', async () => {
  const one = await appWith(() => ['{"a":1}'][Symbol.iterator]());
  try {
    const r = await fetch(one.url);
    assert.equal(r.headers.get('content-length'), '7');
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await r.json(), { a: 1 });
  } finally {
    await one.app.close();
  }
  const parts = ['[', '1', ',2', ',3', ',"x"', ']'];
  const many = await appWith(() => parts[Symbol.iterator]());
  try {
    const r = await fetch(many.url);
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await r.text(), '[1,2,3,"x"]');
  } finally {
    await many.app.close();
  }
});

test('after the first two, each chunk is made in a turn of the event loop of its own', async () => {
  const turns = turnCounter();
  const madeAt: number[] = [];
  function* chunks(): Generator<string, void> {
    for (let i = 0; i < 6; i++) {
      madeAt.push(turns.turn);
      yield i === 0 ? `[${i}` : `,${i}`;
    }
    madeAt.push(turns.turn);
    yield ']';
  }
  const { app, url } = await appWith(chunks);
  try {
    assert.deepEqual(await (await fetch(url)).json(), [0, 1, 2, 3, 4, 5]);
  } finally {
    turns.stop();
    await app.close();
  }
  assert.equal(madeAt.length, 7);
  assert.equal(madeAt[0], madeAt[1], 'the first two chunks are made at once');
  for (let i = 2; i < madeAt.length; i++) assert.ok(madeAt[i] > madeAt[i - 1], `chunk ${i} made in turn ${madeAt[i]} after ${madeAt[i - 1]}`);
});

test('a chunk that cannot be made cuts the reply short: the client sees an error, not a JSON text that ends', async () => {
  function* chunks(): Generator<string, void> {
    yield '[1';
    yield ',2';
    throw new Error('the view broke');
  }
  const { app, url } = await appWith(chunks);
  try {
    const body = await new Promise<{ text: string; error?: Error }>((resolve) => {
      http.get(url, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ text }));
        res.on('error', (error) => resolve({ text, error }));
        res.on('aborted', () => resolve({ text, error: new Error('aborted') }));
      });
    });
    assert.ok(body.error !== undefined, `the reply ended normally: ${body.text}`);
    assert.equal(body.text, '[1,2');
  } finally {
    await app.close();
  }
});
