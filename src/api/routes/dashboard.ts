// The dashboard: its page at / with its two assets, built by
// scripts/build-dashboard.js into dist/dashboard/ and served from memory, and
// the live stream the page reads, GET /api/v1/dashboard/stream (server-sent
// events, one snapshot a second from one shared sampler). The page and assets
// hold no data and are served without the token (auth's openRoutes); the
// stream and every REST call the page makes need it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { SluiceError } from '../../errors';
import type { ApiContext } from '../context';
import { SnapshotBuilder } from '../dashboard-snapshot';
import { DASHBOARD_MAX_STREAMS, SnapshotHub } from '../dashboard-stream';
import { ALWAYS, errorResponses } from '../schemas/common';

/** Compiled to dist/src/api/routes/; the bundle is dist/dashboard/. */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', '..', '..', 'dashboard');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** What auth lets through without the token. */
export const DASHBOARD_OPEN_ROUTES: readonly string[] = Object.keys(ASSETS);

// Everything the page loads comes from this origin; uPlot sizes its canvas
// through element styles, hence style-src 'unsafe-inline'.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
  + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface DashboardPageOptions {
  /** where the built assets are; tests point it elsewhere */
  dir?: string;
}

export const dashboardPage: FastifyPluginAsyncTypebox<DashboardPageOptions> = async (app, { dir = DASHBOARD_DIR }) => {
  const cache = new Map<string, Buffer>();
  const load = (file: string): Buffer => {
    let body = cache.get(file);
    if (body === undefined) {
      try {
        body = readFileSync(path.join(dir, file));
      } catch {
        throw new SluiceError('SLUICE_NOT_FOUND', `the dashboard is not built (${file} missing): run \`npm run build:ts\``);
      }
      cache.set(file, body);
    }
    return body;
  };
  for (const [url, { file, type }] of Object.entries(ASSETS)) {
    app.get(url, {
      schema: { hide: true, response: { ...errorResponses(404, ...ALWAYS) } },
    }, async (_req, reply) => {
      reply.header('content-type', type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache');
      return reply.send(load(file));
    });
  }
};

/** A few snapshots of 4,096 backends. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

export const dashboardStream: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const builder = new SnapshotBuilder(ctx);
  const hub = new SnapshotHub(() => builder.build(), (err) => app.log.error({ err }, 'dashboard snapshot failed'));
  const open = new Set<() => void>();
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
    hub.stop();
  });

  app.get('/dashboard/stream', {
    // A HEAD would open a stream that never ends.
    exposeHeadRoute: false,
    schema: {
      tags: ['dashboard'],
      summary: 'The dashboard\'s live snapshot, once a second, as server-sent events',
      description: `text/event-stream: each event's data is one JSON snapshot (node, ports, lcores, drops by reason as rates, `
        + `admission, services with their backends, BGP). One sampler serves every stream; at most ${DASHBOARD_MAX_STREAMS} `
        + 'streams at once, 503 SLUICE_RESOURCE_EXHAUSTED beyond.',
      response: {
        200: { description: 'one event a second', content: { 'text/event-stream': { schema: Type.String() } } },
        ...errorResponses(503, ...ALWAYS),
      },
    },
  }, async (_req, reply) => {
    const raw = reply.raw;
    // Checked (and refused with a coded body) before any byte of the stream is written.
    let close: (() => void) | undefined;
    const end = () => {
      close?.();
      open.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    const pending: string[] = [];
    let started = false;
    close = hub.open((frame) => {
      if (!started) pending.push(frame);
      // A reader that stopped reading is let go (it reconnects) rather than
      // buffered for without end.
      else if (raw.writableLength > MAX_UNSENT_BYTES) end();
      else raw.write(frame);
    });
    open.add(end);
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    started = true;
    // The retry hint: how long a client waits before it reconnects after a drop.
    raw.write('retry: 2000\n\n');
    for (const frame of pending) raw.write(frame);
    // The response's close, not the request's: a request without a body may
    // close as soon as it is read, while its stream still has a reader.
    raw.on('close', end);
  });
};
